"""A running run's heartbeat, and the sweep that ends the runs whose process went silent.

The process running a run (the CLI, a job worker) writes ``pipeline_runs.heartbeat_at`` every
``HEARTBEAT_SECONDS`` from a thread of its own, and reads ``cancel_requested`` in the same beat.
A run still ``running`` whose last beat is older than ``STALE_SECONDS`` lost its process (killed,
out of memory, its machine gone) or its database connection: the sweep marks it failed with the
reason, or hands it back to the queue when its caller says a retry is safe (``jobs.runs.tend``).

A run's end is written inside its data transaction, which then holds its row: on PostgreSQL the beat
gives up after ``BEAT_LOCK_WAIT_MS`` and the sweep skips locked rows. On SQLite the whole data
transaction holds the write lock: beats fail until it commits (a long SQLite load may look silent),
and the sweep's guarded UPDATE waits for the writer and then finds the run ended.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, func, select, update
from sqlalchemy.orm import Session

from models import PipelineRun, RunInput, StageRun, bump_version, utcnow

log = logging.getLogger(__name__)
# From the environment, so that a test (or an operator) can shorten them for every process at once.
HEARTBEAT_SECONDS = float(os.environ.get("RUN_HEARTBEAT_SECONDS", "5"))
STALE_SECONDS = float(os.environ.get("RUN_STALE_SECONDS", "30"))
BEAT_LOCK_WAIT_MS = 1_000
SILENT = ("running", "pending")


class Cancelled(Exception):
    """The run was cancelled on request (``POST /api/v1/runs/<id>/cancel``); nothing was written."""


class Heartbeat:
    """Beat for run ``run_id`` from a daemon thread while the block runs; ``cancelled`` turns True on request."""

    def __init__(self, engine: Engine, run_id: int, every: float | None = None) -> None:
        self.engine, self.run_id, self.every = engine, run_id, every or HEARTBEAT_SECONDS
        self.cancelled = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(self.every + 2)

    def check(self) -> None:
        """Raise ``Cancelled`` if a cancel was asked for (called between stages and load chunks)."""
        if self.cancelled:
            raise Cancelled(f"run {self.run_id} cancelled")

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - a missed beat is only late; the sweep decides
                log.info("run %s: heartbeat missed (%s)", self.run_id, exc.__class__.__name__)

    def beat(self) -> None:
        """Write one beat and read whether the run should stop."""
        with Session(self.engine) as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(select(func.set_config("lock_timeout", f"{BEAT_LOCK_WAIT_MS}ms", True)))
            asked = session.scalar(select(PipelineRun.cancel_requested).where(PipelineRun.id == self.run_id))
            self.cancelled = self.cancelled or bool(asked)
            session.execute(
                update(PipelineRun)
                .where(PipelineRun.id == self.run_id, PipelineRun.status == "running")
                .values(heartbeat_at=utcnow())
            )
            session.commit()


@dataclass
class Swept:
    """What a sweep did: runs marked failed, runs handed back to the queue."""

    failed: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)


def _last_sign(run: PipelineRun) -> datetime:
    return run.heartbeat_at or run.started_at


def silent_runs(session: Session, now: datetime, stale_s: float | None = None,
                jobs: bool = True) -> list[PipelineRun]:  # fmt: skip
    """Return the running runs with no heartbeat for ``stale_s`` (rows locked by a live writer are skipped).

    ``jobs=False`` leaves out the runs whose input is kept (a job's): the worker decides on those.
    """
    cutoff = now - timedelta(seconds=stale_s or STALE_SECONDS)
    last = func.coalesce(PipelineRun.heartbeat_at, PipelineRun.started_at)
    query = select(PipelineRun).where(PipelineRun.status.in_(SILENT), last < cutoff).order_by(PipelineRun.id)
    if not jobs:
        query = query.where(~select(RunInput.run_id).where(RunInput.run_id == PipelineRun.id).exists())
    return list(session.scalars(query.with_for_update(skip_locked=True)))


def _still_silent(run_id: int, cutoff: datetime) -> ColumnElement[bool]:
    last = func.coalesce(PipelineRun.heartbeat_at, PipelineRun.started_at)
    return (PipelineRun.id == run_id) & PipelineRun.status.in_(SILENT) & (last < cutoff)


def fail_silent_runs(session: Session, now: datetime, stale_s: float | None = None,
                     retry: Callable[[PipelineRun], bool] | None = None, jobs: bool = True) -> Swept:  # fmt: skip
    """End every silent run in ``session``'s transaction: back to ``queued`` when ``retry`` says so, else failed.

    ``jobs=False`` (a run's start) leaves the jobs' runs to the worker, which may run them again.

    The caller bumps the status version (``sweep`` does; a run's start does anyway).
    """
    swept = Swept()
    stale_s = stale_s or STALE_SECONDS
    cutoff = now - timedelta(seconds=stale_s)
    for run in silent_runs(session, now, stale_s, jobs):
        since = _last_sign(run).strftime("%Y-%m-%d %H:%M:%S UTC")
        if retry is not None and retry(run):
            reason = f"retrying: its worker stopped (no heartbeat since {since})"
            values: dict[str, object] = {"status": "queued", "attempts": run.attempts + 1, "heartbeat_at": None,
                                         "error": reason}  # fmt: skip
            stages: dict[str, object] = {"status": "pending", "started_at": None, "finished_at": None, "error": None}
            kind = swept.requeued
        else:
            values = {"status": "failed", "finished_at": now,
                      "error": f"worker stopped: no heartbeat since {since}"}  # fmt: skip
            stages = {"status": "failed", "finished_at": now, "error": values["error"]}
            kind = swept.failed
        done = session.execute(update(PipelineRun).where(_still_silent(run.id, cutoff)).values(**values))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            continue
        moving = StageRun.status == "running" if kind is swept.failed else StageRun.status != "pending"
        session.execute(update(StageRun).where(StageRun.run_id == run.id, moving).values(**stages))
        kind.append(run.id)
    if swept.failed or swept.requeued:
        log.warning("silent runs: failed %s, requeued %s", swept.failed, swept.requeued)
    return swept


def sweep(engine: Engine, now: datetime | None = None, stale_s: float | None = None,
          retry: Callable[[PipelineRun], bool] | None = None) -> Swept:  # fmt: skip
    """Run ``fail_silent_runs`` in its own transaction."""
    with Session(engine) as session:
        swept = fail_silent_runs(session, now or utcnow(), stale_s, retry)
        if swept.failed or swept.requeued:
            bump_version(session)
        session.commit()
    return swept
