"""A source: what a run reads. It says what it is (the name a run records) and reads into raw event frames.

One module per format (``xlsx_file``, ``csv_file``, ``json_batch``, ``generated``), each a small
class satisfying ``Source``; ``registry`` lists the formats and their suffixes, the one place
that says what a file may be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from pipeline.limits import Limits


@dataclass(frozen=True)
class Extracted:
    """Raw events (canonical columns, object dtype, plus source_row), skipped rows, villages."""

    events: pd.DataFrame
    rows_skipped: int
    villages: pd.DataFrame | None = None


class Source(Protocol):
    """Something a run reads: its name for the run's record (None: a batch), and its raw events."""

    @property
    def name(self) -> str | None:
        """Return the name the run records (a file name, never a folder), or None."""
        ...

    def read(self, limits: Limits, sheet: str | None) -> Extracted:
        """Return the raw events (``sheet``: the workbook's events sheet, where there is a choice)."""
        ...


def wide_encoding(data: bytes) -> str | None:
    """Name the encoding of UTF-16/UTF-32 text (by its BOM, or the NUL bytes of ASCII in it), else None."""
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                      (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):  # fmt: skip
        if data.startswith(bom):
            return name
    head = data[:4096]
    # ASCII text in UTF-16 without a BOM: every other byte is NUL.
    if len(head) >= 4 and head[1::2].count(0) > len(head) // 4 and head[0::2].count(0) == 0:
        return "UTF-16"
    if len(head) >= 4 and head[0::2].count(0) > len(head) // 4 and head[1::2].count(0) == 0:
        return "UTF-16"
    return None
