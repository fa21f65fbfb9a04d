"""Small inline event frames (the columns stages hand to dedupe/load/measure) for tests."""

from __future__ import annotations

from datetime import date

import pandas as pd

from pipeline import columns as c

BASE: dict[str, object] = {
    c.EVENT_DATE: date(2024, 5, 31),
    c.STATE: "Kaduna",
    c.LGA: "Chikun",
    c.COMMUNITY: "Kujama",
    c.REGION: "North West",
    c.ACTOR1: "Bandits",
    c.ACTOR2: "Civilian(s)",
    c.CRISIS_TYPE: "Banditry",
    c.ACTION: "attack",
    "civilian_casualties": 3,
    "total_deaths": 3,
    "total_casualties": 3,
    c.IS_DERIVED: False,
    c.DESCRIPTION: "Bandits attack Kujama, kill 3",
    c.SOURCE: "Punch",
    c.SOURCE_URL: "https://punchng.com/bandits-attack-kujama",
    c.DATA_SOURCE: "secondary",
    c.LATITUDE: 10.4,
    c.LONGITUDE: 7.4,
    c.GEO_PRECISION: "lga",
    c.GEO_METHOD: "exact",
    c.GEO_CONFIDENCE: 1.0,
    c.STATE_CODE: "KD",
    c.LGA_CODE: "NG019003",
    c.ERROR_COUNT: 0,
    c.WARNING_COUNT: 0,
}


def events(*rows: dict[str, object]) -> pd.DataFrame:
    """Return an event frame: one row per dict (over BASE), source_row 1..n, counts Int64."""
    records = [{**BASE, **row} for row in rows]
    frame = pd.DataFrame(records).reindex(columns=list(c.EVENT_COLUMNS)).astype(object)
    frame[c.SOURCE_ROW] = [row.get(c.SOURCE_ROW, i) for i, row in enumerate(rows, start=1)]
    for name in (*c.ALL_COUNT_COLUMNS, c.ERROR_COUNT, c.WARNING_COUNT):
        frame[name] = pd.array(frame[name].tolist(), dtype="Int64")
    return frame


def issues(*rows: tuple[int, str, str, str | None, str]) -> pd.DataFrame:
    """Return an issue frame from (source_row, rule, severity, field, detail) tuples."""
    return pd.DataFrame(list(rows), columns=list(c.ISSUE_COLUMNS))
