"""Source health: usual gap, silence, last seen; pure rules and against the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from status import build_snapshot, event_stats
from status.health import SILENCE_FLOOR_DAYS, is_silent, usual_gap_days
from tests.status.builders import add_events, add_metric, commit, every

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (every(2, 10, TODAY), 2.0),
        (every(7, 5, TODAY), 7.0),
        (every(1, 4, TODAY), None),  # too little history
        ((TODAY, TODAY - timedelta(1), TODAY - timedelta(2), TODAY - timedelta(30), TODAY - timedelta(31)), 1.0),
    ],
)
def test_usual_gap_is_the_median_gap(dates, expected) -> None:
    assert usual_gap_days(tuple(dates)) == expected


@pytest.mark.parametrize(
    ("silent_days", "gap", "silent"),
    [
        (SILENCE_FLOOR_DAYS, 1.0, False),  # floor: a daily source may rest a week
        (SILENCE_FLOOR_DAYS + 1, 1.0, True),
        (20, 7.0, False),  # within 3x a weekly gap
        (22, 7.0, True),
        (100, None, False),  # not enough history to judge
    ],
)
def test_silence_rule(silent_days, gap, silent) -> None:
    assert is_silent(silent_days, gap) is silent


def test_silent_source_flagged_and_regular_one_not(engine) -> None:
    with Session(engine) as session:
        add_events(session, [(d, "Daily Trust", "Kano") for d in every(1, 40, TODAY - timedelta(days=1))])
        add_events(session, [(d, "Punch", "Lagos") for d in every(2, 20, TODAY - timedelta(days=30))])
        add_events(session, [(TODAY - timedelta(days=3), "Premium Times", "Abia")])  # too new to judge
        add_events(session, [(TODAY, None, "Lagos"), (None, "Punch", "Lagos")])
        add_metric(session, NOW - timedelta(hours=2), metric_type="source", source="Punch")
        commit(session)
        snap = build_snapshot(session, now=NOW)
    by_name = {s["source"]: s for s in snap["sources"]}
    assert set(by_name) == {"Daily Trust", "Punch", "Premium Times"}
    daily, punch, new = by_name["Daily Trust"], by_name["Punch"], by_name["Premium Times"]
    assert daily["silent"] is False and daily["usual_gap_days"] == 1.0 and daily["silent_days"] == 1
    assert daily["events"] == 40 and daily["last_ingested_at"] is None
    assert punch["silent"] is True and punch["usual_gap_days"] == 2.0 and punch["silent_days"] == 30
    assert punch["events"] == 21 and punch["last_event_date"] == (TODAY - timedelta(days=30)).isoformat()
    assert punch["last_ingested_at"] == "2026-11-29T10:00:00Z"
    assert new["silent"] is False and new["usual_gap_days"] is None
    assert snap["sources"][0]["source"] == "Daily Trust"  # most recently active first
    assert snap["totals"]["events"] == 40 + 21 + 1 + 1
    silent = [a for a in snap["anomalies"] if a["kind"] == "source_silent"]
    assert [a["subject"] for a in silent] == ["Punch"]
    assert snap["status"] == "warning"


def test_future_dated_event_does_not_go_negative(engine) -> None:
    with Session(engine) as session:
        add_events(session, [(d, "Leadership", "Oyo") for d in every(1, 6, TODAY + timedelta(days=3))])
        commit(session)
        snap = build_snapshot(session, now=NOW)
    assert snap["sources"][0]["silent_days"] == 0 and snap["sources"][0]["silent"] is False
    assert snap["sources"][0]["last_event_date"] == date(2026, 12, 2).isoformat()


def test_recent_dates_strategies_agree(engine, monkeypatch) -> None:
    with Session(engine) as session:
        add_events(session, [(d, "Punch", "Lagos") for d in every(1, 40, TODAY)])
        add_events(session, [(d, "Vanguard", "Oyo") for d in every(3, 10, TODAY)] + [(TODAY, "Vanguard", "Oyo")])
        add_events(session, [(None, "Leadership", "Oyo"), (TODAY, None, "Kano")])
        commit(session)
        expected = event_stats.compute_event_stats(session, TODAY)
        monkeypatch.setattr(event_stats, "MAX_UNION_SOURCES", 0)  # SQLite falls back to the window query
        assert event_stats.compute_event_stats(session, TODAY) == expected
    by_name = {s.source: s for s in expected.sources}
    assert len(by_name["Punch"].dates) == event_stats.GAP_SAMPLE_DATES + 1
    assert by_name["Punch"].dates[0] == TODAY and by_name["Punch"].events == 40
    assert by_name["Vanguard"].events == 11 and len(by_name["Vanguard"].dates) == 10
    assert by_name["Leadership"].dates == () and by_name[None].events == 1
    assert expected.events == 53
