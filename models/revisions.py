"""Every change the pipeline makes to an event, in the order it was committed: revisions and the changes feed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow
from models.event import byte_ordered

CHANGES = ("created", "updated", "withdrawn", "restored")


class EventChange(Base):
    """One change to one event by one run; ``fields`` (JSON) holds ``{field: [old, new]}`` of an update.

    Rows are written only under the loader's lock, one run at a time, so their ids grow in commit
    order: a reader that has seen id N has seen every change before it (the feed's cursor).
    """

    __tablename__ = "event_changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_pk: Mapped[int]  # conflict_events.id; not a foreign key, as runs are not (migration 0003)
    event_id: Mapped[str] = mapped_column(byte_ordered(64))
    dataset: Mapped[str] = mapped_column(byte_ordered(32))
    run_id: Mapped[int]
    change: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    fields: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(f"change IN ({', '.join(repr(v) for v in CHANGES)})", name="change"),
        Index("ix_event_changes_event_pk", "event_pk", "id"),
    )
