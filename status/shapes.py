"""Turn model rows into the JSON-ready dicts of the pipeline-status snapshot (its shape: ``api.monitoring_schemas``)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from models import DataQualityMetric, PipelineRun, StageRun

RUN_FIELDS = (
    "id", "status", "trigger", "source_file", "dataset", "mode", "dry_run", "items_in", "items_out", "rows_skipped",
    "events_new", "events_updated", "events_unchanged", "events_withdrawn", "events_restored", "duplicates_in_batch",
    "error",
)  # fmt: skip
DQ_COUNT_FIELDS = (
    "run_id", "events", "geocoding_attempts", "geocoding_successes", "geocoding_success_rate",
    "validation_attempts", "validation_passes", "validation_pass_rate", "completeness",
)  # fmt: skip
TREND_RATES = ("geocoding_success_rate", "validation_pass_rate", "completeness")


def iso(value: datetime | date | None) -> str | None:
    """Format an instant as ISO-8601 UTC ending in "Z" (a date as YYYY-MM-DD)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.isoformat().replace("+00:00", "Z")
    return value.isoformat()


def duration_s(started: datetime | None, finished: datetime | None, now: datetime) -> float | None:
    """Return seconds from start to finish, or to now while still going."""
    if started is None:
        return None
    return round(max(((finished or now) - started).total_seconds(), 0.0), 3)


def stage_dict(stage: StageRun, now: datetime) -> dict:
    """Describe one stage run."""
    return {
        "name": stage.name,
        "position": stage.position,
        "status": stage.status,
        "started_at": iso(stage.started_at),
        "finished_at": iso(stage.finished_at),
        "duration_s": duration_s(stage.started_at, stage.finished_at, now),
        "items_in": stage.items_in,
        "items_out": stage.items_out,
        "error": stage.error,
    }


def run_dict(run: PipelineRun, now: datetime, stages: list[StageRun] | None = None) -> dict:
    """Describe one run; with ``stages`` given, include them (RUN), else not (RUN_SHORT)."""
    out = {name: getattr(run, name) for name in RUN_FIELDS}
    out.update(
        started_at=iso(run.started_at),
        finished_at=iso(run.finished_at),
        duration_s=duration_s(run.started_at, run.finished_at, now),
    )
    if stages is not None:
        out["stages"] = [stage_dict(stage, now) for stage in sorted(stages, key=lambda s: s.position)]
    return out


def dq_dict(metric: DataQualityMetric) -> dict:
    """Describe one data-quality metric row (DQ)."""
    out: dict = {"timestamp": iso(metric.timestamp), "metric_type": metric.metric_type, "source": metric.source}
    out.update({name: getattr(metric, name) for name in DQ_COUNT_FIELDS})
    out["precision"] = {
        "ward": metric.precision_ward,
        "lga": metric.precision_lga,
        "state": metric.precision_state,
        "none": metric.precision_none,
    }
    out.update(duplicates=metric.duplicates, derived_counts=metric.derived_counts, status=metric.status)
    return out


def trend(
    latest: DataQualityMetric | None, previous: DataQualityMetric | None, rates: tuple[str, ...] = TREND_RATES
) -> dict[str, float | None]:
    """Return latest minus previous for each rate (None when either side lacks it)."""
    out: dict[str, float | None] = {}
    for name in rates:
        new = getattr(latest, name, None) if latest is not None else None
        old = getattr(previous, name, None) if previous is not None else None
        out[name] = None if new is None or old is None else round(new - old, 6)
    return out
