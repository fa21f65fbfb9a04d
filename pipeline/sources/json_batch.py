"""JSON batches: a list of objects keyed by the field names in ``pipeline.columns``, parsed or as a file."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from pipeline.errors import InputError
from pipeline.limits import Limits
from pipeline.sources.base import Extracted, wide_encoding
from pipeline.sources.headers import finish, match_header


def _check_value(i: int, key: str, value: object) -> None:
    if value is not None and not isinstance(value, str | int | float | bool):
        raise InputError(f"record {i}, field {match_header(key)!r}: expected a string or number, "
                         f"got {type(value).__name__}")  # fmt: skip


def read_records(records: object) -> Extracted:
    """Read a JSON batch: a list of objects keyed by the field names in ``pipeline.columns``."""
    if isinstance(records, dict) and "records" in records:
        records = records["records"]
    if not isinstance(records, list):
        raise InputError(f"a batch must be a list of records, got {type(records).__name__}")
    if not records:
        raise InputError("the batch has no records")
    rows: list[dict[str, object]] = []
    for i, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise InputError(f"record {i} must be an object, got {type(record).__name__}")
        row = {}
        for key, value in record.items():
            name = match_header(key)
            if name is not None:
                _check_value(i, key, value)
                row[name] = value
        if not row:
            raise InputError(f"record {i} has no known fields (see pipeline/columns.py)",
                             quoted=f"got: {', '.join(map(str, record)) or 'nothing'}")  # fmt: skip
        rows.append(row)
    frame = pd.DataFrame(rows, dtype=object)
    return finish(frame, pd.Series(range(1, len(frame) + 1)), "batch")


def read_json(data: bytes, what: str = "JSON file") -> Extracted:
    """Read a JSON file holding a batch (a list, or an object with ``records``)."""
    wide = wide_encoding(data)
    if wide:
        raise InputError(f"{what} is {wide} text; save it as UTF-8")
    try:
        payload = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} is not valid JSON (line {exc.lineno}, column {exc.colno})") from exc
    return read_records(payload)


@dataclass(frozen=True)
class JsonFile:
    """A JSON file's bytes (a batch) and its file name."""

    data: bytes
    name: str

    def read(self, limits: Limits, sheet: str | None) -> Extracted:
        """Read the batch; a JSON file has no sheet to choose."""
        if sheet is not None:
            raise InputError(f"{self.name}: a sheet can only be chosen in an XLSX workbook")
        return read_json(self.data, self.name)


@dataclass(frozen=True)
class Records:
    """A parsed batch of records (``POST /api/v1/ingest/batch``): no name, never a path."""

    records: list[dict[str, object]]
    name: str | None = None

    def read(self, limits: Limits, sheet: str | None) -> Extracted:
        """Read the records."""
        return read_records(self.records)
