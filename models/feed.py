"""Scheduled feeds: an export fetched over HTTP(S) every so often, and what its last fetch found."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow
from models.event import DATASET_NAME_PATTERN, DEFAULT_DATASET

# What a feed may be called: the dataset rule (its name is also the runs' source_file, never a path).
FEED_NAME_PATTERN = DATASET_NAME_PATTERN
FEED_OUTCOMES = ("changed", "unchanged", "failed")
MAX_FEED_URL = 2048


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    url: Mapped[str] = mapped_column(String(MAX_FEED_URL))
    every_seconds: Mapped[int]
    snapshot: Mapped[bool] = mapped_column(default=False)
    dataset: Mapped[str] = mapped_column(String(32), default=DEFAULT_DATASET)
    # How long the export may stay the same before the monitor says it stopped changing.
    expect_change_seconds: Mapped[int]
    # The validators of the last export imported (sent back as If-None-Match / If-Modified-Since).
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    last_fetch_at: Mapped[datetime | None]
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(Text)
    # The last fetch that answered (changed or unchanged), and the last that brought new content.
    last_success_at: Mapped[datetime | None]
    last_changed_at: Mapped[datetime | None]
    next_due_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(f"last_outcome IN ({', '.join(repr(o) for o in FEED_OUTCOMES)})", name="last_outcome"),
        CheckConstraint("every_seconds > 0", name="every_seconds"),
        Index("ix_feeds_next_due_at", "next_due_at"),
    )
