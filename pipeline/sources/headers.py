"""Header matching and raw frames, shared by every format: events headers found by meaning, template rows dropped.

Headers are matched by meaning, not by exact text: case, spacing, punctuation and the
export's own misspellings ("Communiity") are folded, so any column order works. Empty
template rows (only pre-filled month/year/country/region, formula totals or a stray date)
are skipped and counted, never reported as errors.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from pipeline import columns as c
from pipeline.sources.base import Extracted

log = logging.getLogger(__name__)

HEADER_SCAN_ROWS = 30
# A row is the events header when it names the date, the state and this many known fields.
MIN_HEADER_MATCHES = 5
HEADER_FUZZY_CUTOFF = 90
# Template rows carry these pre-filled values without being events.
TEMPLATE_COLUMNS = (c.DATE, c.MONTH, c.YEAR, c.COUNTRY, c.REGION, "total_deaths", "total_casualties",
                    c.CONFIRMATION_LEVEL)  # fmt: skip
VILLAGE_COLUMNS = ("state", "lga", "village")


def header_key(text: object) -> str:
    """Fold a header to a comparison key: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", str(text).casefold())


_HEADER_INDEX: dict[str, str] = {header_key(name): name for name in c.RAW_COLUMNS}
for _name, _variants in c.HEADER_VARIANTS.items():
    _HEADER_INDEX.update({header_key(v): _name for v in _variants})


def match_header(text: object) -> str | None:
    """Return the canonical field a header names, or None."""
    key = header_key(text)
    if not key:
        return None
    if key in _HEADER_INDEX:
        return _HEADER_INDEX[key]
    # Short keys (M-GC, F-IV) are too close to each other to fuzz safely.
    if len(key) < 6:
        return None
    found = process.extractOne(key, list(_HEADER_INDEX), scorer=fuzz.ratio, score_cutoff=HEADER_FUZZY_CUTOFF)
    return _HEADER_INDEX[found[0]] if found else None


def map_headers(headers: list[object]) -> dict[int, str]:
    """Map column positions to canonical fields (first occurrence of a field wins)."""
    mapping: dict[int, str] = {}
    for pos, text in enumerate(headers):
        name = match_header(text)
        if name is not None and name not in mapping.values():
            mapping[pos] = name
    return mapping


def is_events_header(mapping: dict[int, str]) -> bool:
    """Return whether a header row names the date, the state and enough other known fields."""
    names = set(mapping.values())
    return c.DATE in names and c.STATE in names and len(names) >= MIN_HEADER_MATCHES


def _is_blank(value: object) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, float) and value != value)


def _blank(series: pd.Series) -> np.ndarray:
    """Return a mask of cells that hold nothing (None, NaN, empty or whitespace text)."""
    # Cells repeat a lot (empty strings, counts, names): test each distinct value once.
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    blank = np.array([_is_blank(u) for u in uniques] + [True], dtype=bool)
    return blank[codes]


def _all_missing(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Return a mask of rows missing every one of ``columns`` (cells already parsed to NaN)."""
    rows = np.arange(len(frame))
    for col in columns:
        # Nearly every row fills an early column: only the rows still empty are checked further.
        rows = rows[pd.isna(frame[col].to_numpy()[rows])]
        if not len(rows):
            break
    empty = np.zeros(len(frame), dtype=bool)
    empty[rows] = True
    return empty


def finish(frame: pd.DataFrame, rows: pd.Series, what: str, *, parsed_blanks: bool = False) -> Extracted:
    """Add missing columns and source_row, then drop and count template rows.

    ``parsed_blanks``: the reader already turned empty cells into NaN (CSV), so skip the scan.
    """
    frame = frame.reindex(columns=list(c.RAW_COLUMNS)).astype(object)
    content_columns = [col for col in c.RAW_COLUMNS if col not in TEMPLATE_COLUMNS]
    if parsed_blanks:
        empty = _all_missing(frame, content_columns)
    else:
        blanks = {col: _blank(frame[col]) for col in frame.columns}
        frame = frame.assign(**{col: frame[col].where(~mask, None) for col, mask in blanks.items() if mask.any()})
        empty = np.logical_and.reduce([blanks[col] for col in content_columns])
    is_event = pd.Series(~empty, index=frame.index)
    events = frame.loc[is_event].assign(**{c.SOURCE_ROW: rows[is_event].astype(int)}).reset_index(drop=True)
    skipped = int((~is_event).sum())
    log.info("extracted %d events from %s, skipped %d template rows", len(events), what, skipped)
    return Extracted(events=events, rows_skipped=skipped)


def frame_from_rows(rows: list[list[Any]], header_at: int, mapping: dict[int, str]) -> pd.DataFrame:
    """Return the rows under the header as a frame of the mapped fields."""
    body = rows[header_at + 1 :]
    width = max(mapping) + 1
    padded = [r[:width] + [None] * (width - len(r)) for r in body]
    frame = pd.DataFrame(padded, dtype=object) if padded else pd.DataFrame(columns=range(width), dtype=object)
    return frame[list(mapping)].set_axis(list(mapping.values()), axis=1)


def find_header(rows: list[list[Any]]) -> tuple[int, dict[int, str]] | None:
    """Return where the events header is among the first rows, and its mapping; None if nowhere."""
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        mapping = map_headers(row)
        if is_events_header(mapping):
            return i, mapping
    return None
