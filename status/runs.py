"""One run and the list of runs, as JSON-ready data: ``GET /api/v1/runs`` and ``/api/v1/runs/<id>``."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import PipelineRun, StageRun, ValidationIssue

COUNTS = ("items_in", "items_out", "rows_skipped", "events_new", "events_updated", "events_unchanged",
          "events_withdrawn", "events_restored", "duplicates_in_batch")  # fmt: skip


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def run_row(run: PipelineRun) -> dict[str, Any]:
    """Return a run's row: status, trigger, input, dataset, times, counts, error."""
    return {
        "id": run.id, "status": run.status, "trigger": run.trigger, "source_file": run.source_file,
        "dataset": run.dataset, "mode": run.mode, "dry_run": run.dry_run, "attempts": run.attempts,
        "cancel_requested": run.cancel_requested, "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at), "heartbeat_at": _iso(run.heartbeat_at),
        "duration_s": (round((run.finished_at - run.started_at).total_seconds(), 3)
                       if run.finished_at and run.started_at else None),
        "counts": {name: getattr(run, name) for name in COUNTS}, "error": run.error,
    }  # fmt: skip


def list_runs(session: Session, limit: int, before: int | None = None) -> list[dict[str, Any]]:
    """Return up to ``limit`` runs, newest first, older than run ``before`` when given."""
    query = select(PipelineRun).order_by(PipelineRun.id.desc()).limit(limit)
    if before is not None:
        query = query.where(PipelineRun.id < before)
    return [run_row(run) for run in session.scalars(query)]


def run_detail(session: Session, run_id: int) -> dict[str, Any] | None:
    """Return run ``run_id`` with its stages, progress, issues by rule and diff; None if there is no such run."""
    run = session.get(PipelineRun, run_id)
    if run is None:
        return None
    stages = list(session.scalars(select(StageRun).where(StageRun.run_id == run_id).order_by(StageRun.position)))
    issues = session.execute(
        select(ValidationIssue.rule, ValidationIssue.severity, func.count())
        .where(ValidationIssue.run_id == run_id)
        .group_by(ValidationIssue.rule, ValidationIssue.severity)
        .order_by(ValidationIssue.rule, ValidationIssue.severity)
    ).all()
    current = next((s.name for s in stages if s.status == "running"), None)
    return run_row(run) | {
        "stages": [
            {
                "name": s.name,
                "status": s.status,
                "items_in": s.items_in,
                "items_out": s.items_out,
                "started_at": _iso(s.started_at),
                "finished_at": _iso(s.finished_at),
                "error": s.error,
            }
            for s in stages
        ],
        "progress": {"stage": current, "done": sum(s.status == "succeeded" for s in stages), "total": len(stages)},
        "issues": [{"rule": rule, "severity": severity, "count": count} for rule, severity, count in issues],
        "diff": json.loads(run.diff) if run.diff else None,
    }
