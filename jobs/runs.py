"""Runs as jobs: submit one (its run row and input, then its job), run it in the worker, cancel it, retry it.

A submitted run is a ``pipeline_runs`` row in status ``queued`` with its input in ``run_inputs``
(one transaction), then a job naming the run's id. The worker's job starts the run only while it
is still queued, so cancelling a queued run is one guarded UPDATE and its job, when it comes,
does nothing. A running run is asked to stop (``cancel_requested``; its heartbeat picks it up)
and ends ``cancelled`` with nothing written. The input is deleted once the run has ended; while
it is kept, a run whose worker died (``pipeline.liveness``) or whose database went away during
the run can safely run again: its data transaction never committed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from models import FINAL_STATUSES, PipelineRun, RunInput, bump_version, utcnow
from models.database import SQLITE_BUSY_TIMEOUT_MS, is_lock_wait
from pipeline import liveness
from pipeline.limits import Limits
from pipeline.load import Target
from pipeline.recorder import NotQueued, queue_run
from pipeline.runner import RunFailed, run_pipeline

if TYPE_CHECKING:
    from jobs.queue import Jobs

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
# A queued run whose job is in neither the queue nor its schedule for this long lost its job.
LOST_AFTER_SECONDS = 120
DB_LOST = "database unreachable"
RETRY_DELAY_SECONDS = 10.0
# How long a request waits for SQLite's write lock to queue a run, in tries of SQLITE_TRY_MS and naps.
SUBMIT_WAIT_SECONDS = 10.0
SQLITE_TRY_MS, SQLITE_NAP_S = 20, 0.05
T = TypeVar("T")
# What an input error quoted of the input: shown to token holders only, never on the public monitor.
QUOTED = "quoted"


class QueueFull(Exception):
    """The stored inputs of the runs waiting already fill ``MAX_QUEUED_MB``."""


class Busy(Exception):
    """The database's write lock stayed taken (a load on SQLite) for the whole wait."""


@dataclass(frozen=True)
class Submission:
    """What a run is asked to do: its input and how it treats the dataset."""

    trigger: str
    name: str
    data: bytes
    target: Target
    sheet: str | None = None


def submit(engine: Engine, jobs: Jobs, job: Submission, max_queued_bytes: int) -> int:
    """Record the queued run with its input, queue its job, and return the run's id.

    Raises ``QueueFull``, or ``Busy`` when SQLite's write lock stayed taken for ``SUBMIT_WAIT_SECONDS``.
    """
    target = job.target
    options = {"snapshot": target.snapshot, "force": target.force, "sheet": job.sheet}

    def record(session: Session) -> int:
        waiting = session.scalar(select(func.coalesce(func.sum(RunInput.size), 0))) or 0
        if waiting + len(job.data) > max_queued_bytes:
            raise QueueFull(f"{waiting} bytes of inputs already wait")
        run = queue_run(session, job.trigger, job.name, json.dumps(options), dataset=target.dataset,
                        mode="snapshot" if target.snapshot else "import", dry_run=target.dry_run)  # fmt: skip
        session.add(RunInput(run_id=run.id, name=job.name, size=len(job.data), data=job.data))
        return run.id

    run_id = write_without_blocking(engine, record)
    try:
        jobs.enqueue(run_id)
    except Exception:
        _end(engine, run_id, "failed", "the job queue did not take the run")
        raise
    return run_id


def write_without_blocking(engine: Engine, changes: Callable[[Session], T], budget_s: float | None = None) -> T:
    """Run ``changes`` in one committed transaction; on SQLite, wait for the write lock in short naps.

    SQLite's busy handler waits inside C: under gevent it would freeze the web worker, every socket
    on it included, for as long as a load holds the lock. Here each try waits at most
    ``SQLITE_TRY_MS`` and the naps between tries are ``time.sleep`` (a greenlet switch under gevent);
    after ``budget_s`` (default ``SUBMIT_WAIT_SECONDS``) it raises ``Busy``. PostgreSQL row locks are
    not taken by a queued run's insert, and its waits are cooperative already.
    """
    deadline = time.monotonic() + (SUBMIT_WAIT_SECONDS if budget_s is None else budget_s)
    while True:
        with Session(engine) as session:
            sqlite = session.get_bind().dialect.name == "sqlite"
            if sqlite:
                session.connection().exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_TRY_MS}")
            try:
                value = changes(session)
                session.commit()
                return value
            except OperationalError as exc:
                session.rollback()
                if not (sqlite and is_lock_wait(exc)):
                    raise
                if time.monotonic() >= deadline:
                    raise Busy("the database's write lock stayed taken") from exc
            finally:
                if sqlite:
                    session.connection().exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        time.sleep(SQLITE_NAP_S)


def dataset_of(engine: Engine, run_id: int) -> str | None:
    """Return the dataset of run ``run_id`` (None: no such run)."""
    with Session(engine) as session:
        return session.scalar(select(PipelineRun.dataset).where(PipelineRun.id == run_id))


def holds_lock(engine: Engine, run_id: int) -> bool:
    """Tell whether run ``run_id`` may still hold its dataset's lock: queued, or running with a fresh heartbeat."""
    cutoff = utcnow() - timedelta(seconds=liveness.STALE_SECONDS)
    with Session(engine) as session:
        run = session.get(PipelineRun, run_id)
    if run is None:
        return False
    return run.status == "queued" or (run.status == "running" and (run.heartbeat_at or run.started_at) >= cutoff)


def _end(engine: Engine, run_id: int, status: str, error: str | None) -> None:
    with Session(engine) as session:
        session.execute(
            update(PipelineRun)
            .where(PipelineRun.id == run_id, PipelineRun.status.not_in(FINAL_STATUSES))
            .values(status=status, finished_at=utcnow(), error=error)
        )
        session.execute(delete(RunInput).where(RunInput.run_id == run_id))
        bump_version(session)
        session.commit()


def _drop_input(engine: Engine, run_id: int, quoted: str | None = None) -> None:
    """Delete the ended run's input; keep what its input error quoted (for the sender only) in its options."""
    with Session(engine) as session:
        session.execute(delete(RunInput).where(RunInput.run_id == run_id))
        if quoted:
            run = session.get(PipelineRun, run_id)
            if run is not None:
                run.options = json.dumps(json.loads(run.options or "{}") | {QUOTED: quoted})
        session.commit()


def quoted_detail(session: Session, run_id: int) -> str | None:
    """Return what run ``run_id``'s input error quoted of the input (headers found, sheet names), if anything."""
    options = session.scalar(select(PipelineRun.options).where(PipelineRun.id == run_id))
    return json.loads(options).get(QUOTED) if options else None


def run_job(jobs: Jobs, run_id: int) -> str:
    """Run queued run ``run_id`` to its end; return its status (``skipped`` when it was no longer queued)."""
    engine = jobs.engine
    with Session(engine) as session:
        run = session.get(PipelineRun, run_id)
        stored = session.get(RunInput, run_id)
        if run is None or run.status != "queued":
            return "skipped"
        if stored is None:
            _end(engine, run_id, "failed", "its input was not kept")
            return "failed"
        options = json.loads(run.options or "{}")
        data, name, attempts = stored.data, stored.name, run.attempts
        target = Target.from_settings(jobs.settings, dataset=run.dataset, snapshot=bool(options.get("snapshot")),
                                      dry_run=run.dry_run, force=bool(options.get("force")))  # fmt: skip
    try:
        summary = run_pipeline(engine, (data, name), trigger=run.trigger, filename=name, run_id=run_id,
                               limits=Limits.from_settings(jobs.settings), sheet=options.get("sheet"),
                               target=target)  # fmt: skip
    except NotQueued:
        return "skipped"
    except RunFailed as exc:
        if (exc.summary.error or "").startswith(DB_LOST) and attempts + 1 < MAX_ATTEMPTS:
            requeue(engine, run_id, exc.summary.error or DB_LOST)
            jobs.enqueue(run_id, delay=RETRY_DELAY_SECONDS)
            return "requeued"
        _drop_input(engine, run_id, quoted=exc.quoted)
        return exc.summary.status
    _drop_input(engine, run_id)
    return summary.status


def requeue(engine: Engine, run_id: int, reason: str) -> bool:
    """Put an ended or silent run back in the queue for one more attempt; False if it has none left."""
    with Session(engine) as session:
        done = session.execute(
            update(PipelineRun)
            .where(PipelineRun.id == run_id, PipelineRun.attempts + 1 < MAX_ATTEMPTS)
            .values(
                status="queued",
                attempts=PipelineRun.attempts + 1,
                finished_at=None,
                heartbeat_at=None,
                error=f"retrying after: {reason}",
            )
        )
        bump_version(session)
        session.commit()
    return bool(done.rowcount)  # type: ignore[attr-defined]


def cancel(engine: Engine, run_id: int) -> tuple[str, bool] | None:
    """Cancel run ``run_id``; return its status after (``cancelled`` if it was queued, ``cancelling`` if running)
    and whether the request changed anything (False: it had ended); None if there is no such run."""
    with Session(engine) as session:
        status = session.scalar(select(PipelineRun.status).where(PipelineRun.id == run_id))
        if status is None or status in FINAL_STATUSES:
            return None if status is None else (status, False)
        queued = session.execute(
            update(PipelineRun)
            .where(PipelineRun.id == run_id, PipelineRun.status == "queued")
            .values(status="cancelled", finished_at=utcnow(), error="cancelled on request")
        )
        if queued.rowcount:  # type: ignore[attr-defined]
            session.execute(delete(RunInput).where(RunInput.run_id == run_id))
            outcome = "cancelled"
        else:
            session.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(cancel_requested=True))
            outcome = "cancelling"
        bump_version(session)
        session.commit()
    return outcome, True


def retryable(engine: Engine) -> Callable[[PipelineRun], bool]:
    """Return the sweep's test of whether a silent run may run again: a job's run (its input kept), attempts left."""

    def may_retry(run: PipelineRun) -> bool:
        if run.attempts + 1 >= MAX_ATTEMPTS:
            return False
        with Session(engine) as session:
            return session.scalar(select(RunInput.run_id).where(RunInput.run_id == run.id)) is not None

    return may_retry


def tend(jobs: Jobs) -> liveness.Swept:
    """The worker's periodic care: end or requeue silent runs, and queue again the queued runs that lost their job."""
    engine = jobs.engine
    swept = liveness.sweep(engine, retry=retryable(engine))
    for run_id in swept.requeued:
        jobs.enqueue(run_id)
    cutoff = utcnow() - timedelta(seconds=LOST_AFTER_SECONDS)
    with Session(engine) as session:
        queued = set(session.scalars(
            select(PipelineRun.id).where(PipelineRun.status == "queued", PipelineRun.started_at < cutoff)
        ))  # fmt: skip
    lost = queued - jobs.waiting()
    for run_id in sorted(lost):
        log.warning("run %s lost its job: queued again", run_id)
        jobs.enqueue(run_id)
    swept.requeued.extend(sorted(lost))
    return swept
