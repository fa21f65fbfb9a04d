"""Normalise: trim and canonicalise names, parse dates and casualty counts.

Vague casualty words become NVCD's numbers ("a few" = 3) and are flagged as derived;
a number cell that cannot be read becomes an issue row and an empty count, never a crash.
Work on names is done once per distinct value, so large batches stay fast.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import time

import numpy as np
import pandas as pd

from models import ConflictEvent
from pipeline import columns as c
from pipeline.frames import map_distinct
from pipeline.rules import (
    DATE_AMBIGUOUS,
    DATE_FORMAT,
    DATE_SERIAL,
    NUMBER_FORMAT,
    TEXT_TOO_LONG,
    Rule,
    empty_issues,
    issue_frame,
)
from reference import codebook, gazetteer

log = logging.getLogger(__name__)

DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y", "%B %d, %Y")
# Excel stores dates as days since 1899-12-30; a bare number in a date cell is one of those, read
# only from 2000-01-01 to 2099-12-31 (any other number has no safe reading: the date stays empty).
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
SERIAL_FIRST, SERIAL_LAST = 36_526, 73_050
# dd/mm/yyyy whose day and month are both 12 or less (and differ) could be either: NVCD writes day first.
_DAY_MONTH = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_FULL_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}")
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
_APOSTROPHES = re.compile(r"[\u2018\u2019\u201b\u02bc`´]")
# Counts are stored in 32-bit integer columns (PostgreSQL's int4).
MAX_COUNT = 2**31 - 1


def text_limit(col: str) -> int | None:
    """Return the most characters stored of the event column ``col``: its width, or its free-text limit."""
    return getattr(ConflictEvent.__table__.c[col].type, "length", None) or c.FREE_TEXT_LIMITS.get(col)


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    # NUL is no character PostgreSQL text can hold.
    text = " ".join(str(value).replace("\x00", "").split())
    return text or None


def _name(value: object) -> str | None:
    text = _text(value)
    return None if text is None else _APOSTROPHES.sub("'", _DASHES.sub("-", text))


def _then(func: Callable[[str], object]) -> Callable[[object], object]:
    """Return ``func`` applied to a cell's trimmed text (None for empty), computed once per distinct text."""
    memo: dict[str, object] = {}

    def apply(value: object) -> object:
        text = _text(value)
        if text is None:
            return None
        if text not in memo:
            memo[text] = func(text)
        return memo[text]

    return apply


def free_text(series: pd.Series) -> pd.Series:
    """Trim free text (descriptions, URLs) column-wise; these are mostly distinct, so no per-value work."""
    values = series.to_numpy(dtype=object)
    present = ~pd.isna(values)
    out = np.full(len(values), None, dtype=object)
    # One plain-Python pass beats chained .str calls; numbers or dates in a text column go through _text.
    out[present] = [
        (value.replace("\x00", "").strip() or None) if type(value) is str else _text(value) for value in values[present]
    ]  # fmt: skip
    return pd.Series(out, index=series.index, dtype=object)


def _canonical_state(text: object) -> str | None:
    name = _name(text)
    found = gazetteer.find_state(name) if name else None
    return found.name if found else name


def _region(text: object) -> str | None:
    name = _name(text)
    return name.replace("-", " ") if name else None


def _issues(rows: pd.Series, rule: Rule, field: str, details: pd.Series) -> pd.DataFrame:
    return issue_frame(rows.to_numpy(), rule, field, details.to_numpy())


def _naive_utc(stamp: pd.Timestamp) -> pd.Timestamp:
    # A zone ("...T10:00:00Z", "+01:00") is read as UTC and dropped: the column is zone-less.
    return stamp if stamp.tzinfo is None else stamp.tz_convert("UTC").tz_localize(None)


def parse_date(value: object) -> pd.Timestamp | None:
    """Parse one date cell: a date object, ISO text, dd/mm/yyyy and kin, or an Excel serial."""
    # A time of day (calamine's value for a time-formatted cell) is no date: pandas would make it today.
    if isinstance(value, bool | time) or value is None:
        return None
    if isinstance(value, int | float):
        return EXCEL_EPOCH + pd.Timedelta(days=int(value)) if SERIAL_FIRST <= value < SERIAL_LAST + 1 else None
    if hasattr(value, "isoformat"):
        try:
            return _naive_utc(pd.Timestamp(value.isoformat()))
        except (ValueError, OverflowError):
            return None
    text = str(value).strip()
    # Only full dates: pandas would read a bare "2024" as 1 January.
    formats = ("ISO8601",) if _FULL_ISO.match(text) else DATE_FORMATS
    for fmt in formats:
        try:
            return _naive_utc(pd.to_datetime(text, format=fmt))
        except (ValueError, OverflowError):
            continue
    return None


def _number(value: int | float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


def date_note(value: object) -> tuple[Rule, str] | None:
    """Return the warning for a date cell read by a guess (an ambiguous day/month, a serial number), else None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        stamp = parse_date(value)
        return None if stamp is None else (DATE_SERIAL, f"the number {_number(value)} read as Excel day {int(value)}: "
                                                        f"{stamp.day} {stamp:%B %Y}")  # fmt: skip
    if not isinstance(value, str):
        return None
    text = value.strip()
    found = _DAY_MONTH.match(text)
    if not found:
        return None
    day, month, year = (int(part) for part in found.groups())
    if day == month or day > 12 or month > 12 or parse_date(text) is None:
        return None
    chosen, other = pd.Timestamp(year, month, day), pd.Timestamp(year, day, month)
    return (DATE_AMBIGUOUS, f"{text!r} read day first as {chosen.day} {chosen:%B %Y}; "
                            f"month first it would be {other.day} {other:%B %Y}")  # fmt: skip


def _date_issues(values: pd.Series, rows: pd.Series) -> list[pd.DataFrame]:
    """Return a warning issue per date cell read by a guess (computed once per distinct cell)."""
    notes = map_distinct(values, date_note)
    found = notes.notna()
    if not found.any():
        return []
    noted = notes[found]
    rules = noted.map(lambda note: note[0].name)
    return [_issues(rows[found][rules == rule.name], rule, c.EVENT_DATE, noted[rules == rule.name].map(lambda n: n[1]))
            for rule in (DATE_AMBIGUOUS, DATE_SERIAL) if (rules == rule.name).any()]  # fmt: skip


def _unreadable_date(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"the number {_number(value)} is no date (as an Excel serial day it would have to be 2000-2099)"
    return f"unreadable date: {str(value).strip()!r}"


def parse_dates(values: pd.Series) -> pd.Series:
    """Parse date cells to datetime64 (midnight); NaT where unreadable."""
    parsed = map_distinct(values, parse_date)
    return pd.to_datetime(parsed, errors="coerce").dt.normalize().astype("datetime64[s]")


def parse_count(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Return (Int64 counts, derived mask, unreadable mask) for one count column."""
    # Counts repeat a lot: parse each distinct cell once.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    numbers, derived, bad = _parse_distinct_counts(pd.Series(uniques, dtype=object))
    take = np.where(codes < 0, len(uniques), codes)

    def spread(parsed: pd.Series, fill: object) -> pd.Series:
        padded = pd.concat([parsed, pd.Series([fill], dtype=parsed.dtype)], ignore_index=True)
        return pd.Series(padded.array.take(take), index=values.index)

    return spread(numbers, pd.NA), spread(derived, False), spread(bad, False)


def _parse_distinct_counts(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    # true/false is no count, though pandas reads it as 1/0.
    boolean = values.map(lambda v: isinstance(v, bool | np.bool_)).astype(bool)
    numbers = pd.to_numeric(values.where(~boolean), errors="coerce").astype("float64")
    leftover = values.notna() & numbers.isna() & ~boolean
    derived = pd.Series(False, index=values.index)
    if leftover.any():
        texts = values[leftover].astype(str).str.strip()
        blank = texts.eq("")
        plain = pd.to_numeric(texts.str.replace(",", "", regex=False), errors="coerce")
        vague = texts.map(codebook.vague_amount)
        numbers.loc[texts.index] = plain.fillna(vague.astype(float))
        derived.loc[texts.index] = plain.isna() & vague.notna()
        leftover.loc[texts.index] = ~blank & plain.isna() & vague.isna()
    fractional = numbers.notna() & (numbers % 1 != 0)
    # Beyond the database's integer column (or Int64) the count cannot be stored: a bad cell, not a crash.
    # Negatives that fit stay, for validate's count_negative error.
    out_of_range = numbers.notna() & ((numbers > MAX_COUNT) | (numbers < -MAX_COUNT - 1))
    unusable = fractional | out_of_range
    numbers = numbers.where(~unusable)
    return numbers.astype("Int64"), derived, leftover | unusable | boolean


def _count_detail(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return f"true/false in number cell: {value}"
    text = str(value).strip()
    number = pd.to_numeric(text.replace(",", ""), errors="coerce")
    if pd.notna(number) and float(number).is_integer():
        return f"number out of range (at most {MAX_COUNT}): {text[:40]!r}"
    return f"text in number cell: {text!r}"


def _longest(values: pd.Series) -> int:
    cells = values.to_numpy()
    try:
        # Cells are text or None here; filter(None) drops None and "" at C speed. Only a pre-check:
        # _clip_texts measures each cell again before cutting anything.
        return max(map(len, filter(None, cells)), default=0)
    except TypeError:  # a number or other odd cell
        return max(map(len, [v for v in cells if type(v) is str]), default=0)


def _longer_than(limit: int) -> Callable[[object], bool]:
    return lambda v: len(str(v)) > limit


def _clip_texts(out: dict[str, pd.Series], rows: pd.Series) -> list[pd.DataFrame]:
    """Cut text longer than its column in place (PostgreSQL refuses it); return an issue per cut cell."""
    issues: list[pd.DataFrame] = []
    for col in c.TEXT_COLUMNS:
        limit = text_limit(col)
        if limit is None:
            continue
        values = out[col]
        if _longest(values) <= limit:  # the usual case, in one cheap pass
            continue
        long = map_distinct(values, _longer_than(limit)).fillna(False).astype(bool)
        details = values[long].map(lambda v, limit=limit: f"{len(str(v))} characters cut to {limit}: {str(v)[:40]!r}")
        out[col] = values.where(~long, values[long].map(lambda v, limit=limit: str(v)[:limit].rstrip()))
        issues.append(_issues(rows[long], TEXT_TOO_LONG, col, details))
    return issues


def _counts(raw: pd.DataFrame) -> tuple[dict[str, pd.Series], pd.Series, list[pd.DataFrame]]:
    counts: dict[str, pd.Series] = {}
    derived_names = np.full(len(raw), "", dtype=object)
    issues: list[pd.DataFrame] = []
    for col in c.ALL_COUNT_COLUMNS:
        values, derived, bad = parse_count(raw[col])
        counts[col] = values
        if derived.any():
            # Only the few derived cells are touched, not every row.
            mask = derived.to_numpy(dtype=bool)
            derived_names[mask] = [f"{names},{col}" if names else col for names in derived_names[mask]]
        if bad.any():
            details = raw.loc[bad, col].map(_count_detail)
            issues.append(_issues(raw.loc[bad, c.SOURCE_ROW], NUMBER_FORMAT, col, details))
    return counts, pd.Series(derived_names, index=raw.index, dtype=object), issues


def source_texts(raw: pd.DataFrame) -> pd.Series:
    """Return the raw events' source names, trimmed (kept as ``source_raw``)."""
    return map_distinct(raw[c.SOURCE], _text)


def normalise(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return canonical events (see ``columns.NORMALISED_COLUMNS``) and issues for unreadable cells.

    Names (sources, actors, crisis types, states) come from the codebook and gazetteer shipped with
    the product, never from what a database holds, so two instances fed the same data agree.
    """
    raw = raw.reindex(columns=[*c.RAW_COLUMNS, c.SOURCE_ROW])
    out: dict[str, pd.Series] = {}
    event_date = parse_dates(raw[c.DATE])
    out[c.EVENT_DATE] = event_date
    out[c.STATE] = map_distinct(raw[c.STATE], _canonical_state)
    out[c.LGA] = map_distinct(raw[c.LGA], _name)
    out[c.COMMUNITY] = map_distinct(raw[c.COMMUNITY], _name)
    out[c.REGION] = map_distinct(raw[c.REGION], _region)
    for col in c.ACTORS:
        out[col] = map_distinct(raw[col], _then(codebook.canonical_actor))
    out[c.CRISIS_TYPE] = map_distinct(raw[c.CRISIS_TYPE], _then(codebook.canonical_crisis_type))
    out[c.DATA_SOURCE] = map_distinct(raw[c.DATA_SOURCE], _then(codebook.canonical_data_source))
    sources = source_texts(raw)
    out[c.SOURCE] = codebook.canonical_sources(sources)
    out[c.SOURCE_RAW] = sources
    out[c.EVENT_ID] = free_text(raw[c.EVENT_ID])
    for col in (c.ACTION, c.CONFIRMATION_LEVEL):
        out[col] = map_distinct(raw[col], _text)
    for col in (c.LOCATION_TEXT, c.DESCRIPTION, c.VERIFICATION, c.SOURCE_URL, c.OTHER_SOURCES):
        out[col] = free_text(raw[col])
    counts, derived_fields, issues = _counts(raw)
    issues += _clip_texts(out, raw[c.SOURCE_ROW])
    out.update(counts)
    out[c.DERIVED_FIELDS] = derived_fields.astype(object).where(derived_fields != "", None)
    out[c.IS_DERIVED] = derived_fields != ""
    rows = raw[c.SOURCE_ROW]
    numbered = pd.Series(range(1, len(raw) + 1), index=raw.index)  # a frame built by hand may lack row numbers
    out[c.SOURCE_ROW] = rows.astype("int64") if rows.notna().all() else numbered
    bad_date = raw[c.DATE].notna() & event_date.isna()
    if bad_date.any():
        details = raw.loc[bad_date, c.DATE].map(_unreadable_date)
        issues.append(_issues(raw.loc[bad_date, c.SOURCE_ROW], DATE_FORMAT, c.EVENT_DATE, details))
    issues += _date_issues(raw[c.DATE], raw[c.SOURCE_ROW])
    # The columns are fresh arrays made here: no need to copy them into the frame.
    events = pd.DataFrame({col: out[col] for col in c.NORMALISED_COLUMNS}, index=raw.index, copy=False)
    cell_issues = pd.concat(issues, ignore_index=True) if issues else empty_issues()
    log.info("normalised %d events, %d cell issues", len(events), len(cell_issues))
    return events, cell_issues
