"""The scheduled feeds on the monitor: what each last fetch found and when the next is due.

The URL is left out: the snapshot may be public and a feed's URL may carry a token.
"""

from __future__ import annotations

from sqlalchemy import Select, select

from models import Feed
from status.shapes import iso

MAX_FEEDS = 100  # the snapshot shows at most this many feeds, by name


def feeds_query(limit: int = MAX_FEEDS) -> Select[Feed]:
    """Select the feeds, by name."""
    return select(Feed).order_by(Feed.name).limit(limit)


def feed_dict(feed: Feed) -> dict:
    """Describe one feed (FeedStatus)."""
    return {
        "name": feed.name,
        "dataset": feed.dataset,
        "snapshot": feed.snapshot,
        "every_seconds": feed.every_seconds,
        "expect_change_seconds": feed.expect_change_seconds,
        "last_fetch_at": iso(feed.last_fetch_at),
        "last_outcome": feed.last_outcome,
        "last_error": feed.last_error,
        "last_success_at": iso(feed.last_success_at),
        "last_changed_at": iso(feed.last_changed_at),
        "next_due_at": iso(feed.next_due_at),
        "last_run_id": feed.last_run_id,
    }
