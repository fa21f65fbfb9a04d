"""Select builders for the runs and metrics the snapshot shows; each is one indexed query."""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from models import DataQualityMetric, PipelineRun, StageRun, ValidationIssue

ACTIVE_STATUSES = ("running", "pending")
FINISHED_STATUSES = ("succeeded", "failed")


def recent_runs_query(limit: int) -> Select:
    """Select the newest runs, newest first."""
    return select(PipelineRun).order_by(PipelineRun.started_at.desc(), PipelineRun.id.desc()).limit(limit)


def latest_run_query(statuses: tuple[str, ...]) -> Select:
    """Select the newest run whose status is one of ``statuses``."""
    return (
        select(PipelineRun)
        .where(PipelineRun.status.in_(statuses))
        .order_by(PipelineRun.started_at.desc(), PipelineRun.id.desc())
        .limit(1)
    )


def stages_query(run_ids: list[int]) -> Select:
    """Select the stage runs of the given runs, in pipeline order."""
    return select(StageRun).where(StageRun.run_id.in_(run_ids)).order_by(StageRun.run_id, StageRun.position)


def totals_query() -> Select:
    """Select the number of runs and of stored validation failures in one row."""
    runs = select(func.count()).select_from(PipelineRun).scalar_subquery()
    issues = select(func.count()).select_from(ValidationIssue).scalar_subquery()
    return select(runs.label("runs"), issues.label("validation_failures"))


def aggregates_query(limit: int) -> Select:
    """Select the newest aggregate data-quality rows, newest first."""
    return (
        select(DataQualityMetric)
        .where(DataQualityMetric.metric_type == "aggregate")
        .order_by(DataQualityMetric.timestamp.desc(), DataQualityMetric.id.desc())
        .limit(limit)
    )


def source_metrics_query(per_source: int) -> Select:
    """Select each source's newest ``per_source`` metric rows with their rank (1 = newest)."""
    rank = func.row_number().over(
        partition_by=DataQualityMetric.source,
        order_by=(DataQualityMetric.timestamp.desc(), DataQualityMetric.id.desc()),
    )
    ranked = (
        select(DataQualityMetric, rank.label("rn"))
        .where(DataQualityMetric.metric_type == "source", DataQualityMetric.source.is_not(None))
        .subquery()
    )
    metric = aliased(DataQualityMetric, ranked)
    return select(metric, ranked.c.rn).where(ranked.c.rn <= per_source).order_by(ranked.c.source, ranked.c.rn)
