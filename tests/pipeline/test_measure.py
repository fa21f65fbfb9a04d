"""Measure: rates, named thresholds, per-source rows, completeness and the hourly roll-up."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import DataQualityMetric, PipelineRun
from pipeline import columns as c
from pipeline.measure import KEY_FIELDS, UNKNOWN_SOURCE, hour_of, measure, rate_status, write_metrics
from tests.pipeline.event_frames import events

NO_DUPLICATES = pd.Series([], dtype=object)


@pytest.mark.parametrize(
    ("geo", "val", "status"),
    [(1.0, 1.0, "healthy"), (0.95, 0.9, "healthy"), (0.94, 1.0, "warning"), (1.0, 0.89, "warning"),
     (0.79, 1.0, "error"), (1.0, 0.69, "error"), (0.0, 0.0, "error")],
)  # fmt: skip
def test_status_from_named_thresholds(geo, val, status):
    assert rate_status(geo, val) == status


def test_aggregate_rates_and_mix():
    frame = events(
        {c.GEO_PRECISION: "ward"},
        {c.GEO_PRECISION: "lga", c.ERROR_COUNT: 2},
        {c.GEO_PRECISION: "state", c.WARNING_COUNT: 1, c.IS_DERIVED: True},
        {c.GEO_PRECISION: "none", c.SOURCE: "Vanguard", c.COMMUNITY: None},
    )
    aggregate, *sources = measure(frame, pd.Series(["Punch"]))
    assert aggregate["metric_type"] == "aggregate" and aggregate["source"] is None
    assert (aggregate["geocoding_attempts"], aggregate["geocoding_successes"]) == (4, 2)
    assert aggregate["geocoding_success_rate"] == 0.5
    assert (aggregate["validation_attempts"], aggregate["validation_passes"]) == (4, 3)
    assert aggregate["validation_pass_rate"] == 0.75
    assert aggregate["status"] == "error"
    assert [aggregate[f"precision_{p}"] for p in c.PRECISIONS] == [1, 1, 1, 1]
    assert aggregate["duplicates"] == 1 and aggregate["derived_counts"] == 1 and aggregate["events"] == 4
    assert aggregate["completeness_by_field"][c.COMMUNITY] == 0.75
    assert set(aggregate["completeness_by_field"]) == set(KEY_FIELDS)
    assert 0 < aggregate["completeness"] < 1
    by_source = {row["source"]: row for row in sources}
    assert set(by_source) == {"Punch", "Vanguard"}
    assert by_source["Punch"]["events"] == 3 and by_source["Punch"]["duplicates"] == 1
    assert by_source["Vanguard"]["geocoding_successes"] == 0 and by_source["Vanguard"]["duplicates"] == 0


def test_missing_source_is_grouped_as_unknown():
    rows = measure(events({c.SOURCE: None}), NO_DUPLICATES)
    assert rows[1]["source"] == UNKNOWN_SOURCE


def _run(session: Session) -> int:
    run = PipelineRun(status="running", trigger="replay")
    session.add(run)
    session.flush()
    return run.id


def test_hourly_row_accumulates_runs_of_the_same_hour(engine):
    at = datetime(2026, 1, 5, 14, 20, tzinfo=UTC)
    good = events({}, {c.COMMUNITY: "Other"})
    bad = events({c.GEO_PRECISION: "none", c.COMMUNITY: None})
    with Session(engine) as session:
        write_metrics(session, measure(good, NO_DUPLICATES), run_id=_run(session), at=at)
        write_metrics(session, measure(bad, NO_DUPLICATES), run_id=_run(session), at=at.replace(minute=50))
        write_metrics(session, measure(good, NO_DUPLICATES), run_id=_run(session), at=at.replace(hour=15))
        session.commit()
    with Session(engine) as session:
        hourly = list(session.scalars(select(DataQualityMetric).where(DataQualityMetric.metric_type == "hourly")
                                      .order_by(DataQualityMetric.timestamp)))  # fmt: skip
        assert [h.timestamp for h in hourly] == [hour_of(at), hour_of(at.replace(hour=15))]
        first = hourly[0]
        assert (first.events, first.geocoding_attempts, first.geocoding_successes) == (3, 3, 2)
        assert first.geocoding_success_rate == pytest.approx(0.6667)
        assert first.status == "error"
        assert first.completeness_by_field[c.COMMUNITY] == pytest.approx(2 / 3, abs=1e-3)
        aggregates = session.scalars(select(DataQualityMetric).where(DataQualityMetric.metric_type == "aggregate"))
        assert len(list(aggregates)) == 3
