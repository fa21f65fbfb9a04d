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
from datetime import datetime, timedelta

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from models import PipelineRun, StageRun, bump_version, utcnow
from pipeline.stages import STAGE_NAMES

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 2_000
# A run whose row and stages show no change for this long was killed (SIGKILL, OOM, worker timeout).
STALE_RUN_MINUTES = 30
SOURCE_FILE_CHARS: int = PipelineRun.__table__.c.source_file.type.length  # type: ignore[attr-defined]


def clip_source_file(name: str | None) -> str | None:
    """Cut a file name to what ``pipeline_runs.source_file`` holds (PostgreSQL refuses longer)."""
    return None if name is None else name.replace("\x00", "")[:SOURCE_FILE_CHARS]


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

    def start(self) -> int:
        """Create the run (status running) with every stage pending; return its id.

        Runs abandoned by a killed process are closed as failed in the same transaction.
        """
        with Session(self.engine) as session:
            fail_abandoned_runs(session, utcnow())
            run = PipelineRun(status="running", trigger=self.trigger, source_file=self.source_file, started_at=utcnow(),
                              **self.run)  # fmt: skip
            run.stages = [StageRun(name=name, position=i) for i, name in enumerate(self.stages)]
            session.add(run)
            bump_version(session)
            session.commit()
            self.run_id = run.id
        return self.run_id

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

    def run_failed(self, error: str, **counts: int) -> None:
        """Mark the running stage and the run failed (in a fresh transaction)."""
        text = error.replace("\x00", "")[:MAX_ERROR_CHARS]  # a reason may quote a cell; PostgreSQL text holds no NUL
        now = utcnow()

        def changes(session: Session) -> None:
            # The failing stage, and any stage whose success was rolled back with the data.
            failing = (StageRun.name == self.current) | (StageRun.status == "running")
            session.execute(
                update(StageRun)
                .where(StageRun.run_id == self.run_id, failing)
                .values(status="failed", finished_at=now, error=text)
            )
            session.execute(
                update(PipelineRun)
                .where(PipelineRun.id == self.run_id)
                .values(status="failed", finished_at=now, error=text, **counts)
            )

        self._commit(None, changes)
        log.warning("run %s failed in %s: %s", self.run_id, self.current, text)


def fail_abandoned_runs(session: Session, now: datetime) -> list[int]:
    """Mark runs still running or pending with no progress for STALE_RUN_MINUTES failed; return their ids."""
    cutoff = now - timedelta(minutes=STALE_RUN_MINUTES)
    recent_stage = select(StageRun.id).where(
        StageRun.run_id == PipelineRun.id, or_(StageRun.started_at >= cutoff, StageRun.finished_at >= cutoff)
    )
    stale = select(PipelineRun.id).where(
        PipelineRun.status.in_(("running", "pending")), PipelineRun.started_at < cutoff, ~recent_stage.exists()
    )
    ids = list(session.scalars(stale))
    if not ids:
        return ids
    text = f"abandoned (no progress for {STALE_RUN_MINUTES} min)"
    session.execute(
        update(StageRun)
        .where(StageRun.run_id.in_(ids), StageRun.status == "running")
        .values(status="failed", finished_at=now, error=text)
    )
    session.execute(
        update(PipelineRun).where(PipelineRun.id.in_(ids)).values(status="failed", finished_at=now, error=text)
    )
    log.warning("runs %s abandoned: marked failed", ids)
    return ids
