"""One run's recording, the same for both executors: stage rows, stage seconds, progress, the run's end.

Each stage's start and end is written by ``pipeline.recorder`` (its own committed transaction, or
inside the run's data transaction when ``session`` is given), timed into the summary's
``stage_seconds`` and reported to the progress callback.
"""

from __future__ import annotations

import json
import logging
import time

from sqlalchemy.orm import Session

from pipeline.recorder import RunRecorder
from pipeline.summary import ProgressFn, RunSummary

log = logging.getLogger(__name__)


class Recording:
    """Time each stage and record its transitions, and the run's success or failure."""

    def __init__(self, recorder: RunRecorder, summary: RunSummary, progress: ProgressFn | None) -> None:
        self.recorder, self.summary, self.progress = recorder, summary, progress
        self.started = 0.0

    def begin(self, name: str, items_in: int, session: Session | None = None) -> None:
        """Record that stage ``name`` started with ``items_in`` items."""
        self.started = time.perf_counter()
        self.recorder.stage_started(name, items_in, session)
        if self.progress:
            self.progress(name, 0, max(items_in, 1))

    def end(self, name: str, items_out: int, session: Session | None = None) -> None:
        """Record that stage ``name`` succeeded with ``items_out`` items, and its seconds."""
        self.recorder.stage_finished(name, items_out, session)
        self.summary.stage_seconds[name] = round(time.perf_counter() - self.started, 4)
        if self.progress:
            self.progress(name, max(items_out, 1), max(items_out, 1))

    def step(self, name: str, done: int, total: int) -> None:
        """Report progress inside stage ``name`` (the load's chunks)."""
        if self.progress:
            self.progress(name, done, total)

    def finished(self, session: Session | None) -> None:
        """Record the run succeeded with its counts and diff, in the run's data transaction (None: its own)."""
        diff = json.dumps(self.summary.diff, default=str) if self.summary.diff is not None else None
        self.recorder.run_finished(session, **self.summary.run_counts(), diff=diff)

    def failed(self, error: str, *, status: str = "failed", **counts: int) -> None:
        """Mark the run failed (or cancelled); if that write fails too (e.g. SQLite busy), log it and go on failing."""
        try:
            self.recorder.run_failed(error, status=status, **counts)
        except Exception:
            log.exception("run %s: could not record the failure", self.recorder.run_id)
