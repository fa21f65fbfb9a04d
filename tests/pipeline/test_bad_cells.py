"""Awkward cells end to end: a run on either backend stores them or records an issue, never crashes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import ConflictEvent, PipelineRun, ValidationIssue
from pipeline import columns as c
from pipeline.demo.generate import generate_records
from pipeline.normalise import normalise, parse_date, text_limit
from pipeline.rules import RULES_BY_NAME
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


LIMITED = [col for col in c.TEXT_COLUMNS if text_limit(col) and col in c.RAW_COLUMNS]  # source_raw: as source


def test_every_limited_text_column_is_cut_to_the_models_length_with_a_warning() -> None:
    long_cells = {col: "Z" * (text_limit(col) + 5) for col in LIMITED}
    events, issues = normalise(_raw({c.STATE: "Kano", **long_cells}))
    for col in LIMITED:
        assert len(events.loc[0, col]) <= text_limit(col), col
    assert sorted(issues[c.FIELD]) == sorted(LIMITED)
    assert set(issues[c.RULE]) == {"text_too_long"} and set(issues[c.SEVERITY]) == {"warning"}
    assert "text_too_long" in RULES_BY_NAME


def test_text_that_fits_is_left_alone_and_nul_bytes_are_dropped() -> None:
    events, issues = normalise(_raw({c.STATE: "Ka\x00no", c.COMMUNITY: "x" * text_limit(c.COMMUNITY),
                                     c.DESCRIPTION: "a\x00b " * 3, c.SOURCE: "Pun\x00ch"}))  # fmt: skip
    assert events.loc[0, c.STATE] == "Kano" and events.loc[0, c.SOURCE] == "Punch"
    assert events.loc[0, c.COMMUNITY] == "x" * text_limit(c.COMMUNITY)
    assert events.loc[0, c.DESCRIPTION] == "ab ab ab"
    assert issues.empty


def test_long_text_and_nul_bytes_are_stored_on_either_backend(engine) -> None:
    cells = {col: "Q" * (text_limit(col) + 50) for col in (c.LGA, c.COMMUNITY, c.ACTOR1, c.ACTION, c.SOURCE)}
    event, issues = _ingest(engine, **cells, description="before\x00after", confirmation_level="y\x00" * 200)
    assert event.lga == "Q" * text_limit(c.LGA) and event.source == "Q" + "q" * (text_limit(c.SOURCE) - 1)
    assert event.description == "beforeafter" and event.confirmation_level == "y" * text_limit(c.CONFIRMATION_LEVEL)
    cut = sorted(i.field for i in issues if i.rule == "text_too_long")
    assert cut == sorted([*cells, c.CONFIRMATION_LEVEL])


def test_a_very_long_file_name_is_cut_for_the_run_row(engine, tmp_path) -> None:
    record = generate_records(1, seed=22, mess=False, end=TODAY)[0]
    summary = run_pipeline(engine, [record], filename="n" * 700 + ".json", today=TODAY)
    with Session(engine) as session:
        run = session.get(PipelineRun, summary.run_id)
        stored = session.scalars(select(ConflictEvent.source_file)).one()
    assert run.status == "succeeded" and run.source_file == stored == summary.source_file
    assert len(run.source_file) == PipelineRun.__table__.c.source_file.type.length
