"""What a run reads: a local file as a ``Path`` (the CLI only), an upload's bytes and name, records or a frame.

Anything else, a ``str`` above all, is refused as a bad batch: a value that came over HTTP never
reaches code that opens a path.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline import extract
from pipeline.errors import InputError
from pipeline.limits import Limits

Upload = tuple[bytes, str]  # an uploaded file's bytes and its name (no folder)
Source = Path | Upload | list[dict[str, object]] | pd.DataFrame | extract.Extracted


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Turn a raw frame into JSON-like records (missing values dropped)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return [{k: v for k, v in row.items() if v is not None} for row in clean.to_dict("records")]


def source_name(source: Source, filename: str | None) -> str | None:
    """Return the name a run records for its input."""
    if filename:
        return Path(filename).name
    if isinstance(source, Path):
        return source.name
    if _is_upload(source):
        return Path(source[1]).name  # type: ignore[index]
    return None


def _is_upload(source: object) -> bool:
    return (isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], bytes)
            and isinstance(source[1], str))  # fmt: skip


def read_source(source: Source, filename: str | None = None, limits: Limits = Limits(),
                sheet: str | None = None) -> extract.Extracted:  # fmt: skip
    """Extract raw events from a Path, an Upload, records, a raw frame or an Extracted; refuse anything else."""
    if isinstance(source, extract.Extracted):
        return source
    if isinstance(source, Path):
        return extract.read_file(source, limits, sheet, filename=filename)
    if _is_upload(source):
        data, name = source  # type: ignore[misc]
        return extract.read_bytes(data, Path(filename or name).name, limits, sheet)
    if isinstance(source, pd.DataFrame):
        return extract.read_records(_records(source))
    if isinstance(source, list):
        return extract.read_records(source)
    # A str is never taken for a path here: only the CLI's Path objects are files.
    raise InputError(f"a batch must be a list of records, got {type(source).__name__}")
