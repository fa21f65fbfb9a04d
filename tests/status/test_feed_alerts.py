"""Scheduled feeds on the monitor: the snapshot lists them (no URLs); one that stops answering or changing alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from api.monitoring_schemas import Snapshot
from models import Feed
from status import build_snapshot
from status.alerts import feed_alerts
from tests.status.builders import add_run, commit

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def feed(name: str = "weekly", *, every: timedelta = HOUR, expect: timedelta = 24 * HOUR,
         succeeded: timedelta | None = None, changed: timedelta | None = None, added: timedelta = 100 * HOUR,
         error: str | None = None) -> Feed:  # fmt: skip
    """Return a feed added ``added`` ago that last answered ``succeeded`` ago and last changed ``changed`` ago."""
    return Feed(name=name, url="https://user.example/export.csv?token=secret", every_seconds=int(every.total_seconds()),
                snapshot=True, dataset="nvcd", expect_change_seconds=int(expect.total_seconds()),
                last_success_at=NOW - succeeded if succeeded is not None else None,
                last_changed_at=NOW - changed if changed is not None else None,
                last_fetch_at=NOW - min(x for x in (succeeded, changed, added) if x is not None),
                last_outcome="failed" if error else "unchanged", last_error=error, next_due_at=NOW + HOUR,
                created_at=NOW - added)  # fmt: skip


@pytest.mark.parametrize(
    ("given", "kind", "words"),
    [(feed(succeeded=HOUR, changed=2 * HOUR), None, None),
     (feed(succeeded=3 * HOUR + timedelta(minutes=1), changed=4 * HOUR, error="feed weekly: HTTP 500"), "feed_silent",
      "Feed weekly has not answered for 3 h 1 min, over 3 intervals of 60 min (last error: feed weekly: HTTP 500)"),
     (feed(added=4 * HOUR), "feed_silent", "Feed weekly has not answered for 4 h"),  # never answered since added
     (feed(succeeded=HOUR, changed=25 * HOUR), "feed_unchanged",
      "Feed weekly's export has not changed for 25 h (expected within 24 h)"),
     (feed(succeeded=HOUR, added=30 * HOUR), "feed_unchanged", "not changed for 30 h"),
     (feed(succeeded=2 * HOUR, added=2 * HOUR), None, None)],
)  # fmt: skip
def test_a_feed_that_stops_answering_or_changing_raises_an_alert(given: Feed, kind: str | None,
                                                                 words: str | None) -> None:  # fmt: skip
    found = feed_alerts([given], NOW)
    if kind is None:
        assert found == []
        return
    assert [(a["kind"], a["severity"]) for a in found] == [(kind, "error" if kind == "feed_silent" else "warning")]
    assert words in found[0]["message"] and "weekly" in found[0]["message"]


def test_the_snapshot_carries_the_feeds_and_their_alerts(engine) -> None:
    with Session(engine) as session:
        add_run(session, "succeeded", NOW - HOUR)
        session.add_all([feed("quiet", succeeded=HOUR, changed=48 * HOUR),
                         feed("fine", succeeded=HOUR, changed=HOUR)])  # fmt: skip
        commit(session)
        snap = build_snapshot(session, now=NOW)
    assert Snapshot().validate(snap) == {}
    assert [f["name"] for f in snap["feeds"]] == ["fine", "quiet"]
    fine = snap["feeds"][0]
    assert fine["last_outcome"] == "unchanged" and fine["next_due_at"] == "2026-11-29T13:00:00Z"
    assert fine["last_fetch_at"] == "2026-11-29T11:00:00Z" and fine["every_seconds"] == 3600
    assert "secret" not in str(snap) and "user.example" not in str(snap)  # a feed's URL is never published
    assert [a["kind"] for a in snap["alerts"]] == ["feed_unchanged"] and "quiet" in snap["alerts"][0]["message"]
    assert snap["status"] == "warning"


def test_no_feeds_no_section(engine) -> None:
    with Session(engine) as session:
        assert build_snapshot(session, now=NOW)["feeds"] == []
