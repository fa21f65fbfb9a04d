"""Ingests for the browser tests: the real pipeline on generated events, and a run caught mid-way."""

from __future__ import annotations

import itertools

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import ConflictEvent, DataQualityMetric, PipelineRun, StageRun, bump_version, utcnow
from pipeline.demo.generate import generate_events
from pipeline.runner import run_pipeline
from pipeline.stages import STAGE_NAMES

_seeds = itertools.count(1000)


def ingest_generated(engine: Engine, n: int) -> int:
    """Run the pipeline on ``n`` freshly generated events; return the events total."""
    run_pipeline(engine, generate_events(n, seed=next(_seeds)), trigger="api")
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(ConflictEvent)) or 0


def latest_geocoding_rate(engine: Engine) -> float:
    """Return the latest aggregate geocoding success rate, as the monitor should show it."""
    with Session(engine) as session:
        return session.scalar(
            select(DataQualityMetric.geocoding_success_rate)
            .where(DataQualityMetric.metric_type == "aggregate")
            .order_by(DataQualityMetric.timestamp.desc(), DataQualityMetric.id.desc())
        )


def record_running_run(engine: Engine, items: int, stages_done: int) -> int:
    """Record a run that has finished ``stages_done`` stages and is in the next; return its id."""
    now = utcnow()
    with Session(engine) as session:
        run = PipelineRun(status="running", trigger="replay", source_file="replay", started_at=now, items_in=items)
        run.stages = [
            StageRun(
                name=name,
                position=i,
                status="succeeded" if i < stages_done else "running",
                started_at=now,
                finished_at=now if i < stages_done else None,
                items_in=items,
                items_out=items if i < stages_done else 0,
            )
            for i, name in enumerate(STAGE_NAMES[: stages_done + 1])
        ]
        session.add(run)
        bump_version(session)
        session.commit()
        return run.id
