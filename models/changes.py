"""A single change counter that every writer bumps, so watchers know when to look."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, CursorResult, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, utcnow

NOTIFY_CHANNEL = "nvcd_status"


class StatusVersion(Base):
    __tablename__ = "status_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


def bump_version(session: Session) -> None:
    """Mark monitored data as changed, inside the transaction that changes it.

    On PostgreSQL the NOTIFY is delivered when that transaction commits, so
    listeners in every process and replica look only at committed data.
    """
    # An UPDATE's result is a CursorResult (rowcount), which Session.execute's annotation does not say.
    result = cast(CursorResult[Any], session.execute(
        update(StatusVersion)
        .where(StatusVersion.id == 1)
        .values(version=StatusVersion.version + 1, changed_at=utcnow())
    ))  # fmt: skip
    if result.rowcount == 0:
        session.add(StatusVersion(id=1, version=1))
        session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_notify(NOTIFY_CHANNEL, "")))


def current_version(session: Session) -> int:
    """Return the change counter (0 before anything was written)."""
    return session.scalar(select(StatusVersion.version).where(StatusVersion.id == 1)) or 0
