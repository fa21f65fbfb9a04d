"""End to end on the real NVCD export (skipped when the file is absent), on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import ConflictEvent, DataQualityMetric, StageRun, ValidationIssue
from pipeline.runner import run_pipeline
from pipeline.stages import STAGE_NAMES

pytestmark = pytest.mark.slow
REAL_EVENTS = 6_580


def test_real_export_end_to_end_and_reimport(engine, real_export):
    first = run_pipeline(engine, real_export)
    assert first.status == "succeeded"
    assert first.rows_read - first.rows_skipped == REAL_EVENTS
    assert first.rows_skipped > 1_000  # the export's empty template rows
    assert first.events + first.duplicates == REAL_EVENTS
    assert first.events_new == first.events and first.duplicates < 50
    assert sum(first.precision.values()) == first.events
    assert first.precision.get("none", 0) == 0
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ConflictEvent)) == first.events
        assert session.scalar(select(func.count()).select_from(ValidationIssue)) == first.issues
        stages = {s.name: s for s in session.scalars(select(StageRun).where(StageRun.run_id == first.run_id))}
        assert set(stages) == set(STAGE_NAMES) and all(s.status == "succeeded" for s in stages.values())
        assert stages["extract"].items_out == REAL_EVENTS
        assert stages["deduplicate"].items_in - stages["deduplicate"].items_out == first.duplicates
        assert stages["load"].items_out == first.events_new + first.events_updated
        aggregate = session.scalars(select(DataQualityMetric).where(DataQualityMetric.metric_type == "aggregate")).one()
        assert aggregate.events == first.events and aggregate.geocoding_success_rate > 0.95
    again = run_pipeline(engine, real_export)
    assert (again.events_new, again.events_updated, again.events_unchanged) == (0, 0, first.events)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ConflictEvent)) == first.events
        assert session.scalar(select(func.count()).select_from(ValidationIssue)) == first.issues
