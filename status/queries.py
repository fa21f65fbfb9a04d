"""Select builders for the runs and metrics the snapshot shows; each is one indexed query."""

from __future__ import annotations

from sqlalchemy import Select, and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from models import DataQualityMetric, PipelineRun, StageRun, ValidationIssue

ACTIVE_STATUSES = ("running", "pending")


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


def strip_query(
    limit: int, triggers: tuple[str, ...], unfinished: tuple[str, ...], final: tuple[str, ...]
) -> Select[PipelineRun, int]:
    """Select, in one query, the newest ``limit`` unfinished runs of ``triggers`` (part 0, newest started
    first) and, per trigger, the ``limit`` that finished last (part 1, last finished first), with their part.

    One limited branch per trigger reads ``ix_pipeline_runs_trigger_finished_at`` backwards, so the
    last import runs are found at once however many replay runs finished since.
    """
    # Ordered by an expression, not the column: otherwise SQLite walks every run by start time looking
    # for the few unfinished ones (500 ms at 300,000 runs) instead of reading them by status and sorting.
    started = func.coalesce(PipelineRun.started_at, PipelineRun.started_at)
    going = (
        select(PipelineRun.id, literal(0).label("part"))
        .where(PipelineRun.status.in_(unfinished), PipelineRun.trigger.in_(triggers))
        .order_by(started.desc(), PipelineRun.id.desc())
        .limit(limit)
    )
    # A final run always has its finish time; the filter keeps both backends' NULL ordering out of it.
    done = [
        select(PipelineRun.id, literal(1).label("part"))
        .where(PipelineRun.trigger == trigger, PipelineRun.finished_at.is_not(None), PipelineRun.status.in_(final))
        .order_by(PipelineRun.finished_at.desc(), PipelineRun.id.desc())
        .limit(limit)
        for trigger in triggers
    ]
    parts = union_all(*(select(branch.subquery()) for branch in (going, *done))).subquery()
    when = case((parts.c.part == 0, PipelineRun.started_at), else_=PipelineRun.finished_at)
    return (
        select(PipelineRun, parts.c.part)
        .join(parts, parts.c.id == PipelineRun.id)
        .order_by(parts.c.part, when.desc(), PipelineRun.id.desc())
    )


def open_failures_query() -> Select:
    """Select the failed runs that no later run of their kind has made good, newest first (see ``status.runs``).

    Only the newest failure of each kind (and dry-run flag) is a candidate: an older one is made good
    by whatever makes the newer one good, and it is what an operator has to fix.
    """
    failed, later = PipelineRun, aliased(PipelineRun)
    after = or_(later.started_at > failed.started_at, and_(later.started_at == failed.started_at, later.id > failed.id))
    kind = (failed.trigger, failed.dataset, failed.dry_run)
    rank = func.row_number().over(partition_by=kind, order_by=(failed.started_at.desc(), failed.id.desc()))
    newest = select(failed.id, rank.label("rank")).where(failed.status == "failed").subquery()
    made_good = (
        select(later.id)
        .where(
            later.status == "succeeded",
            later.trigger == failed.trigger,
            later.dataset == failed.dataset,
            after,
            or_(failed.dry_run.is_(True), later.dry_run.is_(False)),  # a dry run's success wrote nothing
        )
        .exists()
    )
    return (
        select(failed)
        .join(newest, newest.c.id == failed.id)
        .where(newest.c.rank == 1, ~made_good)
        .order_by(failed.started_at.desc(), failed.id.desc())
    )


def run_issues_query(run_id: int) -> Select[str, str, int]:
    """Select the validation issues a run recorded (and still stored), counted by rule and severity."""
    count = func.count().label("count")
    return (
        select(ValidationIssue.rule, ValidationIssue.severity, count)
        .where(ValidationIssue.run_id == run_id)
        .group_by(ValidationIssue.rule, ValidationIssue.severity)
        .order_by(count.desc(), ValidationIssue.rule, ValidationIssue.severity)
    )
