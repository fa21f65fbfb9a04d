"""Build the pipeline-status snapshot: one function, a fixed number of queries.

The HTTP fallback and the WebSocket broadcaster both serve what ``build_snapshot``
returns; its shape is ``api.monitoring_schemas.Snapshot``, published in /openapi.json and
checked against what is served (JSON-ready, times as ISO-8601 UTC ending in "Z", durations
in seconds). The number of queries does not depend on how many runs, sources, events or
viewers there are: every list is a grouped or limited query.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime

from sqlalchemy.orm import Session

from models import DataQualityMetric, PipelineRun, StageRun, current_version, utcnow
from status import anomalies as anomaly_rules
from status.alerts import build_alerts, feed_alerts, overall_status
from status.event_stats import load_event_stats
from status.feeds import feed_dict, feeds_query
from status.health import source_health
from status.queries import (
    ACTIVE_STATUSES,
    aggregates_query,
    latest_run_query,
    runs_count_query,
    source_metrics_query,
    stages_query,
)
from status.runs import STRIP_RUNS, open_failures, strip
from status.shapes import dq_dict, iso, run_dict, trend

log = logging.getLogger(__name__)

QUALITY_HISTORY = 20
SOURCE_TREND_RATES = ("geocoding_success_rate", "validation_pass_rate")
SOURCE_METRIC_ROWS = 1000  # newest per-source metric rows examined (about 25 runs of 40 sources)


def build_snapshot(session: Session, *, clients: int = 0, now: datetime | None = None) -> dict:
    """Read the database once through and return the pipeline-status snapshot."""
    now = now or utcnow()
    version = current_version(session)
    runs = _runs(session, now)
    quality, aggregates, by_source_rows, last_ingested = _data_quality(session)
    event_stats = load_event_stats(session, now.date(), running=runs["current_run"] is not None)
    sources = source_health(event_stats.sources, last_ingested, now.date())
    found = (
        anomaly_rules.quality_drops(aggregates, "aggregate")
        + anomaly_rules.source_quality_drops(by_source_rows)
        + anomaly_rules.weekly_spikes(event_stats.weeks, event_stats.window)
        + anomaly_rules.silent_sources(sources)
    )
    runs_total = session.scalar(runs_count_query()) or 0
    feeds = list(session.scalars(feeds_query()))
    findings = found + feed_alerts(feeds, now)  # feed alerts count towards the status, as anomalies do
    latest = quality["latest"]
    has_data = bool(runs_total or event_stats.events or latest)
    return {
        "version": version,
        "timestamp": iso(now),
        "status": overall_status(runs["current_run"], runs["open_failures"], latest, findings, has_data),
        **runs,
        "data_quality": quality,
        "sources": sources,
        "anomalies": found,
        "alerts": build_alerts(runs["current_run"], runs["open_failures"], latest, findings),
        "feeds": [feed_dict(feed) for feed in feeds],
        "totals": {
            "events": event_stats.events,
            "runs": int(runs_total),
            "validation_failures": event_stats.validation_failures,
        },
        "system": {"database": "reachable", "clients": clients, "pid": os.getpid()},
    }


def _runs(session: Session, now: datetime) -> dict:
    """Return the running run, the last finished one (of any trigger, and of an import trigger) with their
    stages, the strip of recent runs (with and without replay, ``status.runs``) and the open failures."""
    current = session.scalars(latest_run_query(ACTIVE_STATUSES)).first()
    recent, last = strip(session, STRIP_RUNS, include_replay=True)
    recent_imports, last_import = strip(session, STRIP_RUNS, include_replay=False)
    stages: dict[int, list[StageRun]] = {}
    shown = sorted({run.id for run in (current, last, last_import) if run is not None})
    if shown:
        for stage in session.scalars(stages_query(shown)):
            stages.setdefault(stage.run_id, []).append(stage)

    def full(run: PipelineRun | None) -> dict | None:
        return None if run is None else run_dict(run, now, stages.get(run.id, []))

    return {
        "current_run": full(current),
        "last_run": full(last),
        "last_import_run": full(last_import),
        "recent_runs": [run_dict(run, now) for run in recent],
        "recent_import_runs": [run_dict(run, now) for run in recent_imports],
        "open_failures": open_failures(session),
    }


def _data_quality(
    session: Session,
) -> tuple[dict, list[DataQualityMetric], dict[str, list[DataQualityMetric]], dict[str, datetime]]:
    """Return the data-quality section, its aggregate rows (newest first), the latest run's
    per-source rows (newest first per source) and when each source was last measured."""
    aggregates = list(session.scalars(aggregates_query(QUALITY_HISTORY + 1)))
    latest = aggregates[0] if aggregates else None
    previous = aggregates[1] if len(aggregates) > 1 else None
    per_source: dict[str, list[DataQualityMetric]] = {}
    for metric, _rank in session.execute(source_metrics_query(anomaly_rules.DQ_BASELINE_RUNS + 1, SOURCE_METRIC_ROWS)):
        if metric.source is not None:  # always (the query keeps named sources only); narrows the type
            per_source.setdefault(metric.source, []).append(metric)
    last_ingested = {source: rows[0].timestamp for source, rows in per_source.items()}
    current = _latest_batch(per_source)
    quality = {
        "latest": dq_dict(latest) if latest else None,
        "previous": dq_dict(previous) if previous else None,
        "trend": trend(latest, previous),
        "history": [_history_point(m) for m in reversed(aggregates[:QUALITY_HISTORY])],
        "by_source": [
            {**dq_dict(rows[0]), "trend": trend(rows[0], rows[1] if len(rows) > 1 else None, SOURCE_TREND_RATES)}
            for _source, rows in sorted(current.items())
        ],
    }
    return quality, aggregates, current, last_ingested


def _latest_batch(per_source: dict[str, list[DataQualityMetric]]) -> dict[str, list[DataQualityMetric]]:
    """Keep the sources measured by the newest run that wrote per-source rows."""
    if not per_source:
        return {}
    newest = max((rows[0] for rows in per_source.values()), key=lambda m: (m.timestamp, m.id))

    def same_batch(metric: DataQualityMetric) -> bool:
        if newest.run_id is not None:
            return metric.run_id == newest.run_id
        return metric.timestamp == newest.timestamp

    return {source: rows for source, rows in per_source.items() if same_batch(rows[0])}


def _history_point(metric: DataQualityMetric) -> dict:
    """Describe one aggregate row for the history chart."""
    return {
        "timestamp": iso(metric.timestamp),
        "geocoding_success_rate": metric.geocoding_success_rate,
        "validation_pass_rate": metric.validation_pass_rate,
        "completeness": metric.completeness,
    }
