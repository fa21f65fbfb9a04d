"""Record a pipeline run and its stages as they happen, one committed transition at a time.

Each transition is its own short transaction that also bumps the status version, so
the live monitor sees a run move through its stages while a large file is processed.
Transitions that happen inside the run's data transaction (the end of ``load`` and
all of ``measure``) are written in that transaction instead: SQLite allows one writer
at a time, and this way a run's final state appears exactly when its data does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from models import PipelineRun, StageRun, bump_version, utcnow
from pipeline.liveness import fail_silent_runs
from pipeline.stages import STAGE_NAMES

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 2_000
SOURCE_FILE_CHARS: int = PipelineRun.__table__.c.source_file.type.length  # type: ignore[attr-defined]


def clip_source_file(name: str | None) -> str | None:
    """Cut a file name to what ``pipeline_runs.source_file`` holds (PostgreSQL refuses longer)."""
    return None if name is None else name.replace("\x00", "")[:SOURCE_FILE_CHARS]


class NotQueued(Exception):
    """A queued run's job began after the run stopped being queued (it was cancelled)."""


def queue_run(session: Session, trigger: str, source_file: str | None, options: str | None,
              stages: Sequence[str] = STAGE_NAMES, **run: object) -> PipelineRun:  # fmt: skip
    """Add a run waiting for its job (status queued, every stage pending) to ``session``; flushed, not committed."""
    row = PipelineRun(status="queued", trigger=trigger, source_file=clip_source_file(source_file), options=options,
                      started_at=utcnow(), **run)  # fmt: skip
    row.stages = [StageRun(name=name, position=i) for i, name in enumerate(stages)]
    session.add(row)
    bump_version(session)
    session.flush()
    return row


class RunRecorder:
    """Writes the pipeline_runs row and its stage_runs rows for one run."""

    def __init__(self, engine: Engine, trigger: str, source_file: str | None,
                 stages: Sequence[str] = STAGE_NAMES, **run: object) -> None:  # fmt: skip
        """``run``: more of the run row's values (dataset, mode, dry_run)."""
        self.engine = engine
        self.run = run
        self.stages = tuple(stages)
        self.trigger = trigger
        self.source_file = clip_source_file(source_file)
        self.run_id: int | None = None
        self.current: str | None = None

    def _commit(self, session: Session | None, changes: Callable[[Session], object]) -> None:
        if session is not None:
            changes(session)
            bump_version(session)
            session.flush()
            return
        with Session(self.engine) as own:
            changes(own)
            bump_version(own)
            own.commit()

    def start(self, run_id: int | None = None) -> int:
        """Create the run (status running) with every stage pending, or start queued run ``run_id``; return its id.

        Runs whose process went silent are closed as failed in the same transaction
        (``pipeline.liveness``), except a job's: the worker may run it again. A queued run that is
        no longer queued (cancelled before its job began) raises ``NotQueued``.
        """
        now = utcnow()
        with Session(self.engine) as session:
            fail_silent_runs(session, now, jobs=False)
            if run_id is not None:
                started = session.execute(
                    update(PipelineRun)
                    .where(PipelineRun.id == run_id, PipelineRun.status == "queued")
                    .values(status="running", started_at=now, heartbeat_at=now, finished_at=None, error=None)
                )
                if started.rowcount != 1:  # type: ignore[attr-defined]
                    raise NotQueued(run_id)
                session.execute(
                    update(StageRun)
                    .where(StageRun.run_id == run_id)
                    .values(status="pending", started_at=None, finished_at=None, items_in=0, items_out=0, error=None)
                )
            else:
                run = PipelineRun(status="running", trigger=self.trigger, source_file=self.source_file,
                                  started_at=now, heartbeat_at=now, **self.run)  # fmt: skip
                run.stages = [StageRun(name=name, position=i) for i, name in enumerate(self.stages)]
                session.add(run)
                session.flush()
                run_id = run.id
            bump_version(session)
            session.commit()
        self.run_id = run_id
        return run_id

    def _stage(self, name: str, session: Session | None, **values: object) -> None:
        stmt = update(StageRun).where(StageRun.run_id == self.run_id, StageRun.name == name).values(**values)
        self._commit(session, lambda s: s.execute(stmt))

    def stage_started(self, name: str, items_in: int, session: Session | None = None) -> None:
        """Mark a stage running with the number of items it received."""
        self.current = name
        self._stage(name, session, status="running", started_at=utcnow(), items_in=items_in)

    def stage_finished(self, name: str, items_out: int, session: Session | None = None) -> None:
        """Mark a stage succeeded with the number of items it produced."""
        self._stage(name, session, status="succeeded", finished_at=utcnow(), items_out=items_out)

    def run_finished(self, session: Session | None = None, **counts: object) -> None:
        """Mark the run succeeded with its counts (and its diff)."""
        stmt = update(PipelineRun).where(PipelineRun.id == self.run_id)
        self._commit(session, lambda s: s.execute(stmt.values(status="succeeded", finished_at=utcnow(), **counts)))

    def run_failed(self, error: str, *, status: str = "failed", **counts: int) -> None:
        """Mark the running stage and the run failed, or ``cancelled`` (in a fresh transaction)."""
        text = error.replace("\x00", "")[:MAX_ERROR_CHARS]  # a reason may quote a cell; PostgreSQL text holds no NUL
        now = utcnow()

        def changes(session: Session) -> None:
            # The failing stage, and any stage whose success was rolled back with the data.
            failing = (StageRun.name == self.current) | (StageRun.status == "running")
            session.execute(
                update(StageRun)
                .where(StageRun.run_id == self.run_id, failing)
                .values(status=status, finished_at=now, error=text)
            )
            session.execute(
                update(PipelineRun)
                .where(PipelineRun.id == self.run_id)
                .values(status=status, finished_at=now, error=text, **counts)
            )

        self._commit(None, changes)
        log.warning("run %s %s in %s: %s", self.run_id, status, self.current, text)
