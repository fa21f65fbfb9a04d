"""Pipeline runs and the stage runs inside them, recorded as they happen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.event import DEFAULT_DATASET

RUN_STATUSES = ("pending", "queued", "running", "succeeded", "failed", "cancelled")
# A run in one of these has ended; the others may still change.
FINAL_STATUSES = ("succeeded", "failed", "cancelled")
TRIGGERS = ("cli", "api", "feed", "replay")
# The triggers that import an export (the monitor's "last finished run" leaves replay out by default).
IMPORT_TRIGGERS = ("cli", "api", "feed")
# How a run treats the dataset: ``import`` creates and updates; ``snapshot`` (a full export) also
# withdraws the stored events it no longer holds.
MODES = ("import", "snapshot")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class PipelineRun(Base):
    __tablename__ = "pipeline_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    trigger: Mapped[str] = mapped_column(String(16))
    source_file: Mapped[str | None] = mapped_column(String(512))
    dataset: Mapped[str] = mapped_column(String(32), default=DEFAULT_DATASET, server_default=DEFAULT_DATASET)
    mode: Mapped[str] = mapped_column(String(16), default="import", server_default="import")
    dry_run: Mapped[bool] = mapped_column(default=False, server_default="0")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    items_in: Mapped[int] = mapped_column(default=0)
    items_out: Mapped[int] = mapped_column(default=0)
    rows_skipped: Mapped[int] = mapped_column(default=0)
    events_new: Mapped[int] = mapped_column(default=0)
    events_updated: Mapped[int] = mapped_column(default=0)
    events_unchanged: Mapped[int] = mapped_column(default=0)
    events_withdrawn: Mapped[int] = mapped_column(default=0, server_default="0")
    events_restored: Mapped[int] = mapped_column(default=0, server_default="0")
    duplicates_in_batch: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # JSON: counts and a sample of each kind of change (``pipeline.reconcile.Diff``).
    diff: Mapped[str | None] = mapped_column(Text)
    # Written every few seconds by the process running the run (``pipeline.sweep`` fails a silent one).
    heartbeat_at: Mapped[datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(default=False, server_default="0")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # JSON: what a queued job needs to run (again): dataset, flags, sheet, the stored input's kind.
    options: Mapped[str | None] = mapped_column(Text)

    stages: Mapped[list[StageRun]] = relationship(
        back_populates="run", order_by="StageRun.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        CheckConstraint(_in("trigger", TRIGGERS), name="trigger"),
        CheckConstraint(_in("mode", MODES), name="mode"),
        Index("ix_pipeline_runs_started_at", "started_at"),
        Index("ix_pipeline_runs_status", "status"),
        Index("ix_pipeline_runs_finished_at", "finished_at"),
        Index("ix_pipeline_runs_trigger_finished_at", "trigger", "finished_at"),  # the monitor's runs by finish
    )


class StageRun(Base):
    __tablename__ = "stage_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(32))
    position: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    items_in: Mapped[int] = mapped_column(default=0)
    items_out: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)

    run: Mapped[PipelineRun] = relationship(back_populates="stages")

    __table_args__ = (
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        Index("ix_stage_runs_run_id", "run_id"),
    )


class RunInput(Base):
    """A queued run's input (an upload's bytes, a batch as JSON), kept until the run has ended.

    In the database, not on a disk: the web service that stores it and the worker service that
    reads it share nothing else on Railway, and nothing that came over HTTP becomes a path.
    """

    __tablename__ = "run_inputs"

    run_id: Mapped[int] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(512))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
