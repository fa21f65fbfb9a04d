"""Run the pipeline: start the run's record, hand it to an executor, record how it ended.

The stages are declared once (``pipeline.stages``); ``pipeline.serial`` runs them in this process,
``pipeline.shards`` over forked workers for a large CSV's first load into PostgreSQL (when it
declines, the serial executor runs). Run and stage rows are committed as progress
(``pipeline.recording``, ``pipeline.recorder``). Every event,
issue and metric write of a run happens in one transaction opened for ``load`` and
committed after ``measure``: a run that fails anywhere leaves those tables as they
were, and its run row says ``failed`` with the reason and the failing stage.

Runs record failures, including unreadable input: a rejected file still leaves a
failed run (with the one-line reason) for the data team to see on the monitor. That reason
is public: it names the input's file name (never a folder) and quotes nothing of its
content; what an ``InputError`` quotes (headers found, sheet names) goes to ``RunFailed.quoted``
for whoever sent the input. ``run_pipeline`` then raises ``RunFailed`` carrying the summary;
``input_error`` tells a bad file (CLI exit 2, HTTP 422; ``too_large``: one over the limits of
``pipeline.limits``, HTTP 413) from a fault of ours, and ``busy`` a run that could not
get the database's write lock in time because another run was writing (HTTP 503; on
SQLite the run may not even be recorded, then ``run_id`` is None).

A source is a local file as a ``Path`` (the CLI only), an upload as ``Upload`` (bytes and its
file name), parsed records, a raw frame or an ``Extracted``, each made a ``Source`` by
``pipeline.sources.registry.as_source``. Anything else, a ``str`` above all, is refused as a bad
batch: a value that came over HTTP never reaches code that opens a path.
"""

from __future__ import annotations

import logging
import time
from datetime import date

import psycopg
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from models.database import is_lock_wait
from pipeline import bulk, load, serial, shards
from pipeline.errors import InputError, LimitExceeded
from pipeline.limits import Limits
from pipeline.liveness import Cancelled, Heartbeat
from pipeline.recorder import RunRecorder, clip_source_file
from pipeline.recording import Recording
from pipeline.sources.base import Source
from pipeline.sources.registry import Input, LocalFile, Upload, as_source
from pipeline.stages import STAGE_NAMES
from pipeline.summary import BUSY, ProgressFn, RunFailed, RunSummary

log = logging.getLogger(__name__)

FAILURE_WRITE_WAIT_S = 60  # how long a run lost with its database keeps trying to record its failure
__all__ = ["BUSY", "Input", "ProgressFn", "RunFailed", "RunSummary", "Upload", "run_pipeline"]


def _sharded(engine: Engine, source: Source, recording: Recording, workers: int, today: date | None,
             lock_wait_s: float | None, dataset: str) -> bool:  # fmt: skip
    """Run a large CSV's first load over ``workers`` processes (``pipeline.shards``); False if it was not."""
    data = shards.suits(engine, source.path, workers) if isinstance(source, LocalFile) else None
    if data is None:
        return False
    return shards.run(engine, data, workers, recording, today=today, lock_wait_s=lock_wait_s, dataset=dataset)


def _disconnected(exc: BaseException) -> bool:
    """Tell whether a run's error means the database connection was lost (not a query's own error)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = exc.orig if isinstance(exc, DBAPIError) else exc  # the shards' COPY raises psycopg's own
    state = getattr(orig, "sqlstate", None) or ""
    return isinstance(orig, psycopg.OperationalError) and (not state or state.startswith(("08", "57P")))


def run_pipeline(engine: Engine, given: Input, *, trigger: str = "cli", filename: str | None = None,
                 on_progress: ProgressFn | None = None, today: date | None = None,
                 batch_size: int = load.BATCH_SIZE, lock_wait_s: float | None = None,
                 workers: int = 1, limits: Limits = Limits(), sheet: str | None = None,
                 target: load.Target = load.Target(), run_id: int | None = None) -> RunSummary:  # fmt: skip
    """Run every stage on ``given`` and record it; raise RunFailed when the run fails.

    ``target`` says which dataset the events belong to and how the batch is reconciled with it
    (``pipeline.reconcile``): a plain import (create and update), a snapshot of the full export
    (also withdraw what it no longer holds, refused past ``max_withdraw`` unless ``force``), or
    a dry run (everything but the writes; the run keeps the diff).

    ``limits`` bound what a workbook may unpack to (``pipeline.limits``); ``sheet`` names the
    workbook's events sheet when several visible sheets have event headers.

    ``lock_wait_s`` bounds the wait for another run's write lock on PostgreSQL (None: until it
    is free); SQLite waits its busy timeout. ``workers`` > 1 lets a large CSV file's first load
    into PostgreSQL run over that many forked processes (``pipeline.shards``); only for a
    process that may fork (the CLI), not a web worker.

    ``run_id`` names a queued run (``pipeline.recorder.queue_run``) that this call runs (a job);
    ``NotQueued`` if it was cancelled meanwhile. While it runs, a heartbeat thread marks it alive
    (``pipeline.liveness``) and picks up a cancel request: the run stops at its next stage or load
    chunk, rolls back, and is recorded ``cancelled``.
    """
    began = time.perf_counter()
    source = as_source(given, filename)
    name = clip_source_file(source.name)
    mode = "snapshot" if target.snapshot else "import"
    recorder = RunRecorder(engine, trigger, name, STAGE_NAMES, dataset=target.dataset, mode=mode,
                           dry_run=target.dry_run)  # fmt: skip
    summary = RunSummary(run_id=None, status="running", trigger=trigger, source_file=name, dataset=target.dataset,
                         mode=mode, dry_run=target.dry_run)  # fmt: skip
    try:
        summary.run_id = recorder.start(run_id)
    except OperationalError as exc:
        if not is_lock_wait(exc):
            raise
        summary.status, summary.error = "failed", BUSY
        raise RunFailed(summary, input_error=False, busy=True) from exc
    heartbeat = Heartbeat(engine, summary.run_id)

    def progress(stage: str, done: int, total: int) -> None:
        heartbeat.check()
        if on_progress is not None:
            on_progress(stage, done, total)

    recording = Recording(recorder, summary, progress)
    try:
        with heartbeat:
            if sheet is not None or target.dry_run or not _sharded(engine, source, recording, workers, today,
                                                                   lock_wait_s, target.dataset):  # fmt: skip
                inputs = {"source": source, "limits": limits, "sheet": sheet, "today": today,
                          "batch_size": batch_size, "target": target}  # fmt: skip
                serial.run(engine, inputs, recording, lock_wait_s)
    except Cancelled as exc:
        summary.status, summary.error = "cancelled", "cancelled on request"
        summary.duration_s = round(time.perf_counter() - began, 4)
        recording.failed(summary.error, status="cancelled")
        raise RunFailed(summary, input_error=False) from exc
    except Exception as exc:
        bad_input, busy = isinstance(exc, InputError), is_lock_wait(exc)
        lost = not (bad_input or busy) and _disconnected(exc)
        if not (bad_input or busy):  # the details (SQL, parameters, row values) go to the log only
            log.exception("run %s failed", summary.run_id)
        reason = " ".join(str(exc).split()) or exc.__class__.__name__
        summary.status = "failed"
        summary.error = (reason if bad_input else BUSY if busy
                         else f"database unreachable during {recording.recorder.current}" if lost
                         else f"internal error (run {summary.run_id})")  # fmt: skip
        summary.duration_s = round(time.perf_counter() - began, 4)
        nothing = {"events_new": 0, "events_updated": 0, "events_unchanged": 0, "events_withdrawn": 0,
                   "events_restored": 0, "items_out": 0}  # fmt: skip
        counts = summary.run_counts() | nothing
        # Lost with the database: the failure can only be written once it is back (bounded backoff).
        give_up, pause = time.monotonic() + (FAILURE_WRITE_WAIT_S if lost else 0), 0.5
        while True:
            try:
                recording.recorder.run_failed(summary.error, status="failed", **counts)
                break
            except Exception:
                if time.monotonic() + pause > give_up:
                    log.exception("run %s: could not record the failure", summary.run_id)
                    break
                time.sleep(pause)
                pause = min(pause * 2, 5)
        bulk.ensure_indexes(engine)  # a failed first load's dropped indexes come back
        summary.events_new = summary.events_updated = summary.events_unchanged = 0
        summary.events_withdrawn = summary.events_restored = 0
        quoted = exc.quoted if isinstance(exc, InputError) else None
        raise RunFailed(summary, bad_input, busy, quoted, isinstance(exc, LimitExceeded)) from exc
    except BaseException as exc:  # Ctrl-C or SystemExit: leave no run "running" forever, then go on exiting
        summary.status, summary.error = "failed", f"interrupted ({exc.__class__.__name__})"
        recording.failed(summary.error)
        raise
    bulk.ensure_indexes(engine)  # a first load's unique indexes become constraints again
    summary.status = "succeeded"
    summary.duration_s = round(time.perf_counter() - began, 4)
    log.info("run %s: %d events (%d new, %d updated, %d unchanged) in %.2fs", summary.run_id, summary.events,
             summary.events_new, summary.events_updated, summary.events_unchanged, summary.duration_s)  # fmt: skip
    return summary
