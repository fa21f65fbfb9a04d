"""Select builders for the runs and metrics the snapshot shows; each is one indexed query."""

from __future__ import annotations

from sqlalchemy import Select, func, select

from models import DataQualityMetric, PipelineRun, StageRun

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


def runs_count_query() -> Select:
    """Select the number of runs ever recorded."""
    return select(func.count()).select_from(PipelineRun)


def aggregates_query(limit: int) -> Select:
    """Select the newest aggregate data-quality rows, newest first."""
    return (
        select(DataQualityMetric)
        .where(DataQualityMetric.metric_type == "aggregate")
        .order_by(DataQualityMetric.timestamp.desc(), DataQualityMetric.id.desc())
        .limit(limit)
    )


def source_metrics_query(per_source: int, recent_rows: int) -> Select[DataQualityMetric, int]:
    """Select each source's newest ``per_source`` metric rows with their rank (1 = newest).

    Only the newest ``recent_rows`` per-source rows are looked at, so the cost stays flat
    however many runs have been measured (a source not measured in that long has none).
    """
    recent = (
        select(DataQualityMetric.id, DataQualityMetric.source, DataQualityMetric.timestamp)
        .where(DataQualityMetric.metric_type == "source", DataQualityMetric.source.is_not(None))
        .order_by(DataQualityMetric.timestamp.desc(), DataQualityMetric.id.desc())
        .limit(recent_rows)
        .subquery()
    )
    newest_first = (recent.c.timestamp.desc(), recent.c.id.desc())
    rank = func.row_number().over(partition_by=recent.c.source, order_by=newest_first)
    ranked = select(recent.c.id, rank.label("rn")).subquery()
    return (
        select(DataQualityMetric, ranked.c.rn)
        .join(ranked, ranked.c.id == DataQualityMetric.id)
        .where(ranked.c.rn <= per_source)
        .order_by(DataQualityMetric.source, ranked.c.rn)
    )
