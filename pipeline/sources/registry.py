"""The formats a run reads, and their suffixes, in one place; what a run's input becomes as a ``Source``.

Adding a format is one module with a ``Source`` class and one ``Format`` line here. The suffixes
listed here are the only ones extract reads (``.txt`` or none: by content), the upload endpoint
takes (``uploads``) and the CLI's help names.

``as_source`` is the boundary: a local file as a ``Path`` (the CLI only), an upload as ``Upload``
(bytes and its file name), parsed records, a raw frame or an ``Extracted``. Anything else, a
``str`` above all, is refused as a bad batch when read: a value that came over HTTP never
reaches code that opens a path. Nothing is read before the run's extract stage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias, TypeGuard

import pandas as pd

from pipeline.errors import InputError
from pipeline.limits import Limits
from pipeline.sources.base import Extracted, Source
from pipeline.sources.csv_file import CsvFile
from pipeline.sources.generated import GeneratedFrame
from pipeline.sources.json_batch import JsonFile, Records
from pipeline.sources.xlsx_file import XlsxFile

Upload = tuple[bytes, str]  # an uploaded file's bytes and its name (no folder)
Input: TypeAlias = Path | Upload | list[dict[str, object]] | pd.DataFrame | Extracted


@dataclass(frozen=True)
class Format:
    """A file format: its name, its suffixes, its source, and whether the upload endpoint takes it."""

    name: str
    suffixes: tuple[str, ...]
    opens: Callable[[bytes, str], Source]
    uploads: bool


FORMATS: tuple[Format, ...] = (
    Format("XLSX", (".xlsx", ".xlsm"), XlsxFile, uploads=True),
    Format("CSV", (".csv",), CsvFile, uploads=True),
    Format("JSON", (".json",), JsonFile, uploads=False),
)
SNIFFED = (".txt", "")  # read by content: a zip is a workbook, a bracket a JSON batch, the rest CSV
SUFFIXES: tuple[str, ...] = tuple(s for f in FORMATS for s in f.suffixes)
UPLOAD_SUFFIXES: tuple[str, ...] = tuple(s for f in FORMATS if f.uploads for s in f.suffixes)
_BY_SUFFIX = {suffix: f for f in FORMATS for suffix in f.suffixes}


def described(formats: tuple[Format, ...] = FORMATS) -> str:
    """Name the formats by their first suffixes: ".xlsx, .csv or .json"."""
    names = [f.suffixes[0] for f in formats]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _sniff(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        return ".xlsx"
    if data.lstrip()[:1] in (b"[", b"{"):
        return ".json"
    return ".csv"


def open_bytes(data: bytes, name: str) -> Source:
    """Return the source of an export's bytes, by its name's suffix (or by content when the suffix says nothing)."""
    # isspace stops at the first character (strip would copy the whole file); b"".isspace() is False.
    if not data or data.isspace():
        raise InputError(f"{name} is empty")
    suffix = Path(name).suffix.lower()
    if suffix not in (*SUFFIXES, *SNIFFED):
        raise InputError(f"{name}: unsupported file type {suffix!r} (use {described()})")
    return _BY_SUFFIX[suffix if suffix in _BY_SUFFIX else _sniff(data)].opens(data, name)


def read_bytes(data: bytes, name: str, limits: Limits = Limits(), sheet: str | None = None) -> Extracted:
    """Read an export's bytes by its name's extension (or by content when the extension says nothing)."""
    return open_bytes(data, name).read(limits, sheet)


def read_path(path: Path) -> bytes:
    """Return a local file's bytes (the CLI's ``Path`` only: nothing that came over HTTP is ever a path)."""
    if not isinstance(path, Path):
        raise TypeError(f"read_path takes a pathlib.Path, not {type(path).__name__}")
    try:
        # A FIFO or a device would block or never end: only regular files are read.
        if not path.is_file():
            raise InputError(f"cannot read {path.name}: not a regular file")
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path.name}: {exc.strerror or exc.__class__.__name__}") from exc


def read_file(path: Path, limits: Limits = Limits(), sheet: str | None = None,
              filename: str | None = None) -> Extracted:  # fmt: skip
    """Read a local export file (a ``Path``; the run records only its name, never the folder)."""
    return read_bytes(read_path(path), filename or path.name, limits, sheet)


@dataclass(frozen=True)
class LocalFile:
    """A local export file (the CLI's ``Path``), read when the run's extract stage starts."""

    path: Path
    name: str | None
    filename: str | None = None

    def read(self, limits: Limits, sheet: str | None) -> Extracted:
        """Read the file by its suffix."""
        return read_file(self.path, limits, sheet, filename=self.filename)


@dataclass(frozen=True)
class Uploaded:
    """An uploaded file's bytes and its name, read by its suffix when the extract stage starts."""

    data: bytes
    name: str | None
    filename: str

    def read(self, limits: Limits, sheet: str | None) -> Extracted:
        """Read the upload by its suffix."""
        return read_bytes(self.data, self.filename, limits, sheet)


@dataclass(frozen=True)
class Given:
    """Events already extracted (a replay's slices of one file)."""

    extracted: Extracted
    name: str | None = None

    def read(self, limits: Limits, sheet: str | None) -> Extracted:
        """Return the events as given."""
        return self.extracted


@dataclass(frozen=True)
class Refused:
    """An input of no accepted kind (a ``str`` above all): refused as a bad batch when read."""

    kind: str
    name: str | None = None

    def read(self, limits: Limits, sheet: str | None) -> Extracted:
        """Refuse the input."""
        # A str is never taken for a path here: only the CLI's Path objects are files.
        raise InputError(f"a batch must be a list of records, got {self.kind}")


def _is_upload(value: object) -> TypeGuard[Upload]:
    return (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], bytes)
            and isinstance(value[1], str))  # fmt: skip


def as_source(value: Input, filename: str | None = None) -> Source:
    """Return the source a run reads for ``value``; ``filename`` is the name it records (and reads by)."""
    named = Path(filename).name if filename else None
    if isinstance(value, Extracted):
        return Given(value, named)
    if isinstance(value, Path):
        return LocalFile(value, named or value.name, filename)
    if _is_upload(value):
        data, name = value
        return Uploaded(data, named or Path(name).name, Path(filename or name).name)
    if isinstance(value, pd.DataFrame):
        return GeneratedFrame(value, named)
    if isinstance(value, list):
        return Records(value, named)
    return Refused(type(value).__name__, named)
