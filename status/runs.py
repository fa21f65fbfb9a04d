"""Run history: the strip of recent runs, the last finished run, open failures, and one run in detail.

Everything returned is JSON-ready (times ISO-8601 UTC ending in "Z", plain ints and strings), so the
snapshot, the run page and the runs API answer the same. Each list is one bounded, indexed query.

- **Strip order**: unfinished runs (pending, queued, running) first, newest started first; then
  finished runs (succeeded, failed, cancelled), last finished first. Without replay, only the
  import triggers (``models.IMPORT_TRIGGERS``: cli, api, feed) are shown.
- **Kind** of a run: its trigger and its dataset. A failed run stays open (its alert too) until a
  run of the same kind that started after it succeeds; a dry run's success makes good only a dry
  run's failure, since it wrote nothing. A success of another kind (a replay into ``demo`` after a
  failed ``api`` import into ``nvcd``) leaves it open. Cancelled runs neither open nor close one.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import FINAL_STATUSES, IMPORT_TRIGGERS, RUN_STATUSES, TRIGGERS, PipelineRun, utcnow
from status.queries import open_failures_query, run_issues_query, stages_query, strip_query
from status.shapes import iso, run_dict

log = logging.getLogger(__name__)

STRIP_RUNS = 12
UNFINISHED_STATUSES = tuple(status for status in RUN_STATUSES if status not in FINAL_STATUSES)
RUN_ID_MAX = 2**31 - 1  # pipeline_runs.id is an INTEGER
RUN_ID_TEXT = re.compile(r"[0-9]{1,10}")
DIFF_KINDS = ("created", "updated", "withdrawn", "restored", "unchanged")


def strip_triggers(include_replay: bool) -> tuple[str, ...]:
    """Return the triggers the strip shows: the import triggers, and replay when asked for."""
    return TRIGGERS if include_replay else IMPORT_TRIGGERS


def strip(session: Session, limit: int, include_replay: bool) -> tuple[list[PipelineRun], PipelineRun | None]:
    """Return the strip's runs, in strip order, and the last finished run of the same triggers."""
    rows = session.execute(strip_query(limit, strip_triggers(include_replay), UNFINISHED_STATUSES, FINAL_STATUSES))
    runs = [(run, part) for run, part in rows]
    last = next((run for run, part in runs if part == 1), None)
    return [run for run, _part in runs][:limit], last


def recent_runs(
    session: Session, limit: int = STRIP_RUNS, include_replay: bool = False, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Return up to ``limit`` recent runs in strip order (replay runs only with ``include_replay``)."""
    runs, _last = strip(session, limit, include_replay)
    return [run_dict(run, now or utcnow()) for run in runs]


def list_runs(session: Session, limit: int, before: int | None = None, *,
              now: datetime | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Return up to ``limit`` runs by id, newest first, older than run ``before`` when given (the runs API)."""
    query = select(PipelineRun).order_by(PipelineRun.id.desc()).limit(limit)
    if before is not None:
        query = query.where(PipelineRun.id < before)
    return [run_dict(run, now or utcnow()) for run in session.scalars(query)]


def open_failures(session: Session) -> list[dict[str, Any]]:
    """Return the failed runs not yet made good by a later success of their kind, newest first."""
    return [failure_dict(run) for run in session.scalars(open_failures_query())]


def failure_dict(run: PipelineRun) -> dict[str, Any]:
    """Describe an open failure: which run, of which kind, when, and its public error text."""
    return {
        "id": run.id,
        "trigger": run.trigger,
        "dataset": run.dataset,
        "dry_run": run.dry_run,
        "source_file": run.source_file,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "error": run.error,
    }


def parse_run_id(value: object) -> int | None:
    """Return ``value`` as a run id (an int, or up to 10 ASCII digits, 1..2^31-1), else None."""
    if isinstance(value, str) and RUN_ID_TEXT.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= RUN_ID_MAX else None


def run_detail(session: Session, run_id: object, *, now: datetime | None = None) -> dict[str, Any] | None:
    """Return one run with its stages, its issues by rule and severity and its diff; None if there is none."""
    wanted = parse_run_id(run_id)
    run = session.get(PipelineRun, wanted) if wanted is not None else None
    if run is None:
        return None
    stages = list(session.scalars(stages_query([run.id])))
    issues = [
        {"rule": rule, "severity": severity, "count": int(count)}
        for rule, severity, count in session.execute(run_issues_query(run.id))
    ]
    return {
        **run_dict(run, now or utcnow(), stages),
        "heartbeat_at": iso(run.heartbeat_at),
        "attempts": run.attempts,
        "cancel_requested": run.cancel_requested,
        "issues": issues,
        "diff": diff_dict(run.id, run.diff),
    }


def diff_dict(run_id: int, stored: str | None) -> dict[str, Any] | None:
    """Return a run's stored diff as counts, samples and refusal (None when it has none or it is unreadable)."""
    if not stored:
        return None
    try:
        raw = json.loads(stored)
    except ValueError:
        log.warning("run %s: stored diff is not JSON", run_id)
        return None
    if not isinstance(raw, dict):
        return None
    samples = raw.get("samples")
    listed: dict[str, Any] = samples if isinstance(samples, dict) else {}
    return {
        "counts": {kind: _count(raw.get(kind)) for kind in DIFF_KINDS},
        "samples": {kind: _samples(listed.get(kind)) for kind in DIFF_KINDS if kind != "unchanged"},
        "refused": raw["refused"] if isinstance(raw.get("refused"), str) else None,
    }


def _samples(items: object) -> list[dict[str, Any]]:
    return [_sample(item) for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _sample(item: dict[str, Any]) -> dict[str, Any]:
    """Keep a diff sample's id, date, state and (updates) changed fields, as text."""
    out: dict[str, Any] = {key: _text(item.get(key)) for key in ("event_id", "date", "state")}
    fields = item.get("fields")
    if isinstance(fields, dict):
        out["fields"] = {str(name): _pair(pair) for name, pair in fields.items()}
    return out


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _pair(pair: object) -> list[Any]:
    """Return an update's [old, new] (anything else as [None, value])."""
    if isinstance(pair, list) and len(pair) == 2:
        return [_plain(pair[0]), _plain(pair[1])]
    return [None, _plain(pair)]


def _plain(value: object) -> Any:
    return value if value is None or isinstance(value, int | float | str | bool) else str(value)
