"""CSV exports: NVCD columns in any order, UTF-8 (with or without BOM) or cp1252."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pandas as pd

from pipeline.errors import InputError
from pipeline.limits import Limits
from pipeline.sources.base import Extracted, wide_encoding
from pipeline.sources.headers import finish, is_events_header, map_headers


def _parse_csv(data: bytes, encoding: str, what: str) -> pd.DataFrame:
    try:
        # skipinitialspace turns space-only cells into empty ones, which na_values makes NaN.
        return pd.read_csv(io.BytesIO(data), dtype=object, keep_default_na=False, na_values=[""],
                           skipinitialspace=True, encoding=encoding)  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        # pandas' text says where the CSV breaks; keep only the line number, which quotes nothing.
        line = re.search(r"\bline (\d+)", str(exc))
        where = f" (near line {line.group(1)})" if line else ""
        raise InputError(f"{what} is not valid CSV{where}", quoted=str(exc)) from exc


def read_csv(data: bytes, what: str = "CSV file", *, utf8_only: bool = False) -> Extracted:
    """Read a CSV export with NVCD columns in any order (UTF-8 with or without BOM, or cp1252).

    ``utf8_only``: a part of a larger file (``pipeline.shards``), which is cp1252 only if the whole is.
    """
    wide = wide_encoding(data)
    if wide:
        raise InputError(f"{what} is {wide} text; save it as CSV UTF-8 (Excel: Save As, 'CSV UTF-8 (Comma delimited)')")
    if b"\x00" in data[:4096]:
        raise InputError(f"{what} is binary, not CSV text")
    try:
        frame = _parse_csv(data, "utf-8-sig", what)
    except UnicodeDecodeError as exc:
        if utf8_only:
            raise InputError(f"{what} is not UTF-8 text (byte {exc.start})") from exc
        # Excel on Windows saves "CSV" in the ANSI code page.
        try:
            frame = _parse_csv(data, "cp1252", what)
        except UnicodeDecodeError as exc:
            raise InputError(f"{what} is neither UTF-8 nor cp1252 text (byte {exc.start})") from exc
    mapping = map_headers(list(frame.columns))
    if not is_events_header(mapping):
        shown = ", ".join(str(h) for h in list(frame.columns)[:8])
        raise InputError(f"{what} does not have NVCD columns (needs at least date and state; found "
                         f"{len(frame.columns)} columns)", quoted=f"found: {shown}")  # fmt: skip
    frame = frame.iloc[:, list(mapping)].set_axis(list(mapping.values()), axis=1)
    return finish(frame, pd.Series(range(2, len(frame) + 2)), what, parsed_blanks=True)


@dataclass(frozen=True)
class CsvFile:
    """A CSV export's bytes and its file name."""

    data: bytes
    name: str

    def read(self, limits: Limits, sheet: str | None) -> Extracted:
        """Read the events; a CSV file has no sheet to choose."""
        if sheet is not None:
            raise InputError(f"{self.name}: a sheet can only be chosen in an XLSX workbook")
        return read_csv(self.data, self.name)
