"""Awkward cells end to end: a run on either backend stores them or records an issue, never crashes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import ConflictEvent, ValidationIssue
from pipeline import columns as c
from pipeline.generate import generate_records
from pipeline.normalise import normalise, parse_date
from pipeline.runner import run_pipeline

TODAY = date(2026, 1, 31)


def _raw(*records: dict[str, object]) -> pd.DataFrame:
    frame = pd.DataFrame(list(records), dtype=object).reindex(columns=list(c.RAW_COLUMNS)).astype(object)
    return frame.assign(**{c.SOURCE_ROW: range(2, len(records) + 2)})


def _ingest(engine: Engine, **cells: object) -> tuple[ConflictEvent, list[ValidationIssue]]:
    """Run one clean generated record with ``cells`` overridden; return its stored event and issues."""
    record = generate_records(1, seed=21, mess=False, end=TODAY)[0] | cells
    run_pipeline(engine, [record], today=TODAY)
    with Session(engine) as session:
        event = session.scalars(select(ConflictEvent)).one()
        issues = list(session.scalars(select(ValidationIssue).where(ValidationIssue.event_id == event.id)))
        session.expunge_all()
    return event, issues


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-04T10:00:00Z", date(2024, 5, 4)),
        ("2024-05-04T23:30:00-05:00", date(2024, 5, 5)),  # 04:30 UTC the next day
        (datetime(2024, 5, 4, 0, 30, tzinfo=timezone(timedelta(hours=1))), date(2024, 5, 3)),
    ],
)
def test_dates_with_a_zone_are_read_in_utc(value: object, expected: date) -> None:
    assert parse_date(value).date() == expected
    events, issues = normalise(_raw({c.STATE: "Kano", c.DATE: value}, {c.STATE: "Kano", c.DATE: "2024-05-01"}))
    assert [d.date() for d in events[c.EVENT_DATE]] == [expected, date(2024, 5, 1)]
    assert issues.empty


def test_a_zoned_json_date_is_stored(engine) -> None:
    event, _ = _ingest(engine, date="2025-05-04T10:00:00Z")
    assert event.event_date == date(2025, 5, 4)


@pytest.mark.parametrize("cell", [10**10, 2**31, "99999999999999999999999", 1e300, -(10**10), "1e300", float("inf")])
def test_counts_too_large_to_store_are_number_format_issues(cell: object) -> None:
    events, issues = normalise(_raw({c.STATE: "Kano", "injured": cell, "kidnapped": 2**31 - 1}))
    assert pd.isna(events.loc[0, "injured"])
    assert events.loc[0, "kidnapped"] == 2**31 - 1
    assert str(events["injured"].dtype) == "Int64"
    assert issues[[c.RULE, c.FIELD]].to_dict("records") == [{c.RULE: "number_format", c.FIELD: "injured"}]


@pytest.mark.parametrize("cell", [10**10, "99999999999999999999999", 1e300])
def test_a_huge_count_is_stored_as_an_issue_on_either_backend(engine, cell: object) -> None:
    event, issues = _ingest(engine, displaced=cell, kidnapped=2**31 - 1)
    assert event.displaced is None and event.kidnapped == 2**31 - 1
    assert [(i.rule, i.field) for i in issues if i.rule == "number_format"] == [("number_format", "displaced")]


def test_a_time_of_day_is_a_date_format_issue_not_today() -> None:
    events, issues = normalise(_raw({c.STATE: "Kano", c.DATE: time(10, 30)}, {c.STATE: "Kano", c.DATE: "2024-05-01"}))
    assert pd.isna(events.loc[0, c.EVENT_DATE])
    assert events.loc[1, c.EVENT_DATE].date() == date(2024, 5, 1)
    assert issues[[c.SOURCE_ROW, c.RULE]].to_dict("records") == [{c.SOURCE_ROW: 2, c.RULE: "date_format"}]


@pytest.mark.parametrize("cell", [True, False])
def test_a_boolean_count_is_a_number_format_issue(cell: bool) -> None:
    events, issues = normalise(_raw({c.STATE: "Kano", "injured": cell, "kidnapped": 1}))
    assert pd.isna(events.loc[0, "injured"]) and events.loc[0, "kidnapped"] == 1
    assert issues[[c.RULE, c.FIELD, c.DETAIL]].to_dict("records") == [
        {c.RULE: "number_format", c.FIELD: "injured", c.DETAIL: f"true/false in number cell: {cell}"}
    ]


def test_a_json_boolean_count_is_stored_as_an_issue(engine) -> None:
    event, issues = _ingest(engine, injured=True)
    assert event.injured is None
    assert [(i.rule, i.field) for i in issues if i.rule == "number_format"] == [("number_format", "injured")]
