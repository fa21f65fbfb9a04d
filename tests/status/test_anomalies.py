"""Anomalies from the data: weekly spikes with their guards, quality drops."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from status import build_snapshot
from status.alerts import metric_alerts, overall_status
from status.anomalies import (
    DQ_AGGREGATE_MIN_EVENTS,
    DQ_DROP_ERROR,
    SPIKE_MIN_COUNT,
    SPIKE_TRAILING_WEEKS,
    WeekWindow,
    weekly_spikes,
)
from tests.status.builders import add_events, add_metric, commit

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
LATEST = date(2026, 11, 20)  # newest event date: the latest week is 14..20 November


def weekly(state: str, per_week: int, latest_week: int) -> list[tuple[date, str, str]]:
    """Events in ``state``: ``per_week`` in each trailing week and ``latest_week`` in the latest."""
    rows = [(LATEST - timedelta(days=i % 7), "Punch", state) for i in range(latest_week)]
    for week in range(1, SPIKE_TRAILING_WEEKS + 1):
        rows += [(LATEST - timedelta(days=7 * week + i % 7), "Punch", state) for i in range(per_week)]
    return rows


def spikes(engine) -> list[dict]:
    with Session(engine) as session:
        snap = build_snapshot(session, now=NOW)
    return [a for a in snap["anomalies"] if a["kind"] == "weekly_spike"]


def test_weekly_spike_raised_and_guards_hold(engine) -> None:
    with Session(engine) as session:
        add_events(session, weekly("Benue", 4, 15))  # 15 >= 3 x 4 and >= 10: spike
        add_events(session, weekly("Kano", 1, 5))  # 5x its mean, but below the minimum count
        add_events(session, weekly("Lagos", 6, 15))  # only 2.5x its mean
        add_events(session, [(LATEST + timedelta(days=30), "Punch", "Lagos")])  # future typo: ignored
        add_events(session, [(LATEST - timedelta(days=400), "Punch", "Oyo")])  # history reaches back
        commit(session)
    found = spikes(engine)
    assert [a["subject"] for a in found] == ["Benue"]
    assert found[0]["value"] == 15 and found[0]["baseline"] == pytest.approx(4.0)
    assert "2026-11-14 to 2026-11-20" in found[0]["message"]


def test_no_spike_when_history_does_not_cover_the_trailing_window(engine) -> None:
    with Session(engine) as session:
        add_events(session, [(LATEST - timedelta(days=i % 7), "Punch", "Borno") for i in range(30)])
        commit(session)
    assert spikes(engine) == []


@pytest.mark.parametrize(
    ("counts", "flagged"),
    [
        ([SPIKE_MIN_COUNT] + [0] * SPIKE_TRAILING_WEEKS, True),  # new activity, floor baseline
        ([SPIKE_MIN_COUNT - 1] + [0] * SPIKE_TRAILING_WEEKS, False),
        ([30] + [10] * SPIKE_TRAILING_WEEKS, True),
        ([29] + [10] * SPIKE_TRAILING_WEEKS, False),
    ],
)
def test_spike_rule(counts, flagged) -> None:
    window = WeekWindow(latest=LATEST, oldest=LATEST - timedelta(days=62), covered=True)
    assert bool(weekly_spikes({"Zamfara": counts}, window)) is flagged


def test_quality_drop_against_recent_baseline(engine) -> None:
    with Session(engine) as session:
        for i, geo in enumerate([0.90, 0.92, 0.88, 0.90, 0.90 - DQ_DROP_ERROR - 0.01]):
            add_metric(session, NOW - timedelta(days=10 - i), geo=geo, valid=0.8)
            add_metric(
                session,
                NOW - timedelta(days=10 - i),
                metric_type="source",
                source="Punch",
                valid=0.8 if i < 4 else 0.7,
                events=50,
            )
            add_metric(
                session,
                NOW - timedelta(days=10 - i),
                metric_type="source",
                source="Tiny",
                valid=0.8 if i < 4 else 0.1,
                events=3,
            )  # too small a batch to judge
        commit(session)
        snap = build_snapshot(session, now=NOW)
    drops = [a for a in snap["anomalies"] if a["kind"] == "quality_drop"]
    assert [(a["subject"], a["severity"]) for a in drops] == [("aggregate", "error"), ("source Punch", "warning")]
    assert drops[0]["baseline"] == pytest.approx(0.90)
    assert snap["status"] == "error"
    assert snap["alerts"][0]["severity"] == "error"


def test_no_quality_drop_without_enough_history(engine) -> None:
    with Session(engine) as session:
        add_metric(session, NOW - timedelta(days=2), geo=0.9)
        add_metric(session, NOW - timedelta(days=1), geo=0.3)
        commit(session)
        snap = build_snapshot(session, now=NOW)
    assert snap["anomalies"] == []
    assert snap["data_quality"]["trend"]["geocoding_success_rate"] == pytest.approx(-0.6)


@pytest.mark.parametrize(("events", "judged"), [(10, False), (DQ_AGGREGATE_MIN_EVENTS - 1, False), (200, True)])
def test_whole_run_quality_is_judged_only_on_a_large_enough_batch(engine, events: int, judged: bool) -> None:
    with Session(engine) as session:
        for i in range(4):
            add_metric(session, NOW - timedelta(days=10 - i), geo=0.9, valid=0.9, events=200)
        # Far below the baseline and below the absolute thresholds: its row says "error".
        add_metric(session, NOW - timedelta(days=1), geo=0.5, valid=0.5, events=events, status="error")
        commit(session)
        snap = build_snapshot(session, now=NOW)
    drops = [a for a in snap["anomalies"] if a["kind"] == "quality_drop"]
    quality_alerts = [a for a in snap["alerts"] if a["kind"] in ("quality_drop", "data_quality_status")]
    if judged:
        assert {(a["subject"], a["severity"]) for a in drops} == {("aggregate", "error")}
        assert {a["kind"] for a in quality_alerts} == {"quality_drop", "data_quality_status"}
        assert snap["status"] == "error"
    else:
        assert drops == [] and quality_alerts == []
        assert snap["status"] == "healthy"
    assert snap["data_quality"]["latest"]["events"] == events


def test_tiny_latest_row_does_not_set_the_status() -> None:
    row = {"status": "warning", "events": 12, "geocoding_success_rate": 0.6, "validation_pass_rate": 0.7}
    assert metric_alerts(row) == []
    assert overall_status(None, None, row, [], True) == "healthy"
    big = row | {"events": DQ_AGGREGATE_MIN_EVENTS}
    assert [a["severity"] for a in metric_alerts(big)] == ["warning"]
    assert overall_status(None, None, big, [], True) == "warning"
