"""Insert runs, stages, metrics and events through the models, for status tests."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from models import (
    DEFAULT_DATASET,
    FINAL_STATUSES,
    ConflictEvent,
    DataQualityMetric,
    PipelineRun,
    StageRun,
    bump_version,
)
from pipeline.stages import STAGE_NAMES

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
_serial = itertools.count(1)


def add_run(
    session: Session,
    status: str = "succeeded",
    started: datetime = T0,
    *,
    minutes: float = 2,
    stage_status: dict[str, str] | None = None,
    error: str | None = None,
    items: int = 100,
    trigger: str = "cli",
    dataset: str = DEFAULT_DATASET,
    dry_run: bool = False,
    source_file: str = "batch.csv",
) -> PipelineRun:
    """Add a run with all seven stages; stages default to the run's status when finished."""
    finished = started + timedelta(minutes=minutes) if status in FINAL_STATUSES else None
    run = PipelineRun(
        status=status,
        trigger=trigger,
        dataset=dataset,
        dry_run=dry_run,
        source_file=source_file,
        started_at=started,
        finished_at=finished,
        items_in=items,
        items_out=items - 5,
        events_new=items - 5,
        error=error,
    )
    for position, name in enumerate(STAGE_NAMES):
        state = (stage_status or {}).get(name, "succeeded" if finished else "pending")
        begun = started + timedelta(seconds=10 * position) if state != "pending" else None
        done = begun + timedelta(seconds=10) if begun and state in FINAL_STATUSES else None
        run.stages.append(StageRun(
            name=name, position=position, status=state, started_at=begun, finished_at=done,
            items_in=items, items_out=items - position, error="boom" if state == "failed" else None,
        ))  # fmt: skip
    session.add(run)
    session.flush()
    return run


def add_metric(
    session: Session,
    timestamp: datetime,
    *,
    metric_type: str = "aggregate",
    source: str | None = None,
    geo: float = 0.9,
    valid: float = 0.8,
    completeness: float | None = 0.7,
    events: int = 100,
    status: str = "healthy",
    run_id: int | None = None,
) -> DataQualityMetric:
    """Add one data-quality row with consistent attempts/successes."""
    metric = DataQualityMetric(
        timestamp=timestamp,
        metric_type=metric_type,
        source=source,
        status=status,
        run_id=run_id,
        events=events,
        geocoding_attempts=events,
        geocoding_successes=round(events * geo),
        geocoding_success_rate=geo,
        validation_attempts=events,
        validation_passes=round(events * valid),
        validation_pass_rate=valid,
        completeness=completeness,
        precision_lga=events,
    )
    session.add(metric)
    return metric


def add_events(
    session: Session,
    rows: list[tuple[date | None, str | None, str | None]],
    *,
    dataset: str = DEFAULT_DATASET,
    withdrawn_run_id: int | None = None,
) -> None:
    """Add events given as (event_date, source, state), to ``dataset``, withdrawn by ``withdrawn_run_id`` if given."""
    for event_date, source, state in rows:
        key = f"e{next(_serial)}"
        session.add(ConflictEvent(event_id=f"NGA-{key}", fingerprint=key, content_hash=key, event_date=event_date,
                                  source=source, state=state, dataset=dataset, withdrawn_run_id=withdrawn_run_id,
                                  withdrawn_at=T0 if withdrawn_run_id is not None else None))  # fmt: skip


def every(days: int, count: int, last: date) -> list[date]:
    """Return ``count`` dates ``days`` apart, ending at ``last``."""
    return [last - timedelta(days=days * i) for i in range(count)]


def commit(session: Session) -> None:
    """Bump the change counter and commit, as every writer does."""
    bump_version(session)
    session.commit()
