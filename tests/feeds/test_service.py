"""feeds.service on both databases: a feed's runs as its export changes, stays the same, or cannot be fetched."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import config
from feeds.service import FeedError, UnknownFeed, add_feed, due_feeds, get_feed, list_feeds, remove_feed, run_feed
from models import ConflictEvent, DataQualityMetric, EventChange, PipelineRun, StageRun, ValidationIssue, utcnow
from tests.feeds.exports import Exports, export_csv, serving


def feed_settings(tmp_path: Path, **env: str) -> dict[str, object]:
    """Return the app's settings for feeds served from 127.0.0.1, with a short read timeout; ``env`` on top."""
    base = {"FEEDS_ALLOW_PRIVATE": "1", "FEEDS_DIR": str(tmp_path / "feeds"), "FEEDS_READ_TIMEOUT_SECONDS": "0.5",
            "INSTANCE_PATH": str(tmp_path)}  # fmt: skip
    return config.from_environment(base | env)


@pytest.fixture
def settings(tmp_path: Path) -> dict[str, object]:
    """The settings of ``feed_settings``."""
    return feed_settings(tmp_path)


def _rows(engine: Engine) -> dict[str, int]:
    """Count what a run may write besides its own row."""
    with Session(engine) as session:
        count = {name: session.scalar(select(func.count()).select_from(model)) or 0 for name, model in
                 {"events": ConflictEvent, "changes": EventChange, "issues": ValidationIssue,
                  "metrics": DataQualityMetric, "stages": StageRun}.items()}  # fmt: skip
        count["live"] = session.scalar(select(func.count()).where(ConflictEvent.withdrawn_run_id.is_(None))) or 0
    return count


def _run(engine: Engine, run_id: int | None) -> PipelineRun:
    with Session(engine) as session:
        run = session.get(PipelineRun, run_id)
        assert run is not None
        return run


def test_changed_then_304_then_the_same_bytes_then_a_snapshot_that_withdraws(engine, settings, tmp_path) -> None:
    with serving(Exports(body=export_csv(40))) as server:
        add_feed(engine, "weekly", f"{server.url}/export.csv", "15m", snapshot=True)

        first = run_feed(engine, "weekly", settings)
        assert first.outcome == "changed" and first.summary is not None and first.summary.events_new == 40
        run = _run(engine, first.run_id)
        assert (run.trigger, run.status, run.source_file, run.mode) == ("feed", "succeeded", "weekly.csv", "snapshot")
        assert json.loads(run.options or "") == {"feed": "weekly", "outcome": "changed"}
        feed = get_feed(engine, "weekly")
        assert feed.etag == server.etag and feed.content_sha256 and feed.last_outcome == "changed"
        assert feed.last_run_id == first.run_id and feed.last_changed_at == feed.last_fetch_at
        assert feed.next_due_at == feed.last_fetch_at + timedelta(minutes=15)
        assert list((tmp_path / "feeds").iterdir()) == []  # the fetched file is gone
        before = _rows(engine)
        assert before["events"] == before["live"] == 40

        second = run_feed(engine, "weekly", settings)  # 304
        assert server.seen[-1]["if-none-match"] == server.etag
        server.conditional = False
        third = run_feed(engine, "weekly", settings)  # 200, the same bytes
        for short in (second, third):
            assert short.outcome == "unchanged" and short.summary is None
            run = _run(engine, short.run_id)
            assert (run.trigger, run.status, run.source_file, run.items_in) == ("feed", "succeeded", "weekly", 0)
            assert json.loads(run.options or "") == {"feed": "weekly", "outcome": "unchanged"}
        assert _rows(engine) == before  # no stage, event, change, issue or metric
        feed = get_feed(engine, "weekly")
        assert feed.last_outcome == "unchanged" and feed.last_changed_at < feed.last_fetch_at
        assert feed.last_success_at == feed.last_fetch_at and feed.last_run_id == third.run_id

        server.body = export_csv(40, drop=(5,))
        fourth = run_feed(engine, "weekly", settings)
    assert fourth.outcome == "changed" and fourth.summary is not None
    assert (fourth.summary.events_new, fourth.summary.events_withdrawn) == (0, 1)
    assert _rows(engine)["live"] == 39
    assert get_feed(engine, "weekly").etag == server.etag


def test_a_failed_fetch_is_a_failed_run_with_the_reason_and_keeps_the_validators(engine, settings) -> None:
    with serving(Exports(body=export_csv(5))) as server:
        add_feed(engine, "daily", f"{server.url}/export.csv", "1d")
        assert run_feed(engine, "daily", settings).outcome == "changed"
        good = get_feed(engine, "daily")
        server.status = 500
        failed = run_feed(engine, "daily", settings)
    assert failed.outcome == "failed" and failed.error == "feed daily: HTTP 500"
    run = _run(engine, failed.run_id)
    assert (run.status, run.error, run.source_file) == ("failed", "feed daily: HTTP 500", "daily")
    assert json.loads(run.options or "") == {"feed": "daily", "outcome": "failed"}
    feed = get_feed(engine, "daily")
    assert (feed.last_outcome, feed.last_error) == ("failed", "feed daily: HTTP 500")
    assert (feed.etag, feed.content_sha256, feed.last_success_at) == (good.etag, good.content_sha256,
                                                                      good.last_fetch_at)  # fmt: skip
    assert feed.next_due_at == feed.last_fetch_at + timedelta(days=1)


@pytest.mark.parametrize(
    ("path", "env", "reason"),
    [("/slow", {}, "timed out after 0.5 s"), ("/export.csv", {"FEEDS_ALLOW_PRIVATE": "0"}, "refused loopback address"),
     ("/page", {}, "cannot tell the export's format")],
)  # fmt: skip
def test_fetches_that_fail_say_why(engine, tmp_path, path: str, env: dict[str, str], reason: str) -> None:
    settings = feed_settings(tmp_path, **env)
    with serving(Exports(body=b"x", slow_seconds=2)) as server:
        add_feed(engine, "slow", f"{server.url}{path}", "1h")
        done = run_feed(engine, "slow", settings)
    assert done.outcome == "failed" and done.error is not None and done.error.startswith(f"feed slow: {reason}")
    assert _rows(engine)["stages"] == 0


def test_an_export_the_pipeline_refuses_is_tried_again_next_time(engine, settings) -> None:
    with serving(Exports(body=b"name,age\nAda,36\n")) as server:
        add_feed(engine, "odd", f"{server.url}/export.csv", "1h")
        first = run_feed(engine, "odd", settings)
        second = run_feed(engine, "odd", settings)  # not "unchanged": the failed import left no validators
    for done in (first, second):
        assert done.outcome == "failed" and done.error is not None and done.error.startswith("feed odd: ")
        assert _run(engine, done.run_id).trigger == "feed"
    assert first.run_id != second.run_id and get_feed(engine, "odd").content_sha256 is None


def test_due_feeds_lists_the_feeds_whose_time_has_come(engine, settings) -> None:
    with serving(Exports(body=export_csv(3))) as server:
        add_feed(engine, "often", f"{server.url}/export.csv", "15m")
        add_feed(engine, "rarely", f"{server.url}/export.csv", "6h", dataset="other")
        assert due_feeds(engine) == ["often", "rarely"]  # a new feed is due at once
        run_feed(engine, "often", settings)
    now = utcnow()
    assert due_feeds(engine, now) == ["rarely"]
    assert due_feeds(engine, now + timedelta(minutes=16)) == ["rarely", "often"]
    assert [feed.name for feed in list_feeds(engine)] == ["often", "rarely"]
    remove_feed(engine, "rarely")
    assert [feed.name for feed in list_feeds(engine)] == ["often"]


@pytest.mark.parametrize(
    ("name", "url", "every", "dataset", "words"),
    [("Bad Name", "https://example.org/x.csv", "1h", "nvcd", "feed name"),
     ("ok", "ftp://example.org/x.csv", "1h", "nvcd", "only http and https"),
     ("ok", "https://example.org/x.csv", "5s", "nvcd", "from 1m"),
     ("ok", "https://example.org/x.csv", "15x", "nvcd", "a duration is"),
     ("ok", "https://example.org/x.csv", "1h", "NVCD!", "dataset")],
)  # fmt: skip
def test_feeds_that_cannot_be_added(engine, name: str, url: str, every: str, dataset: str, words: str) -> None:
    with pytest.raises(FeedError, match=words):
        add_feed(engine, name, url, every, dataset=dataset)
    assert list_feeds(engine) == []


def test_a_name_taken_and_an_unknown_feed(engine, settings) -> None:
    feed = add_feed(engine, "one", "https://example.org/x.csv", "2h")
    assert feed.expect_change_seconds == 86400  # 3 intervals, at least a day
    other = add_feed(engine, "two", "https://example.org/x.csv", "1d", expect_change="2d")
    assert other.expect_change_seconds == 172800
    with pytest.raises(FeedError, match="exists already"):
        add_feed(engine, "one", "https://example.org/y.csv", "1h")
    with pytest.raises(UnknownFeed):
        run_feed(engine, "nope", settings)
    with pytest.raises(UnknownFeed):
        remove_feed(engine, "nope")


def test_the_worker_schedule_runs_the_feeds_that_are_due(engine, settings, tmp_path) -> None:
    """huey's periodic ``feeds-due`` queues a job per due feed; the job imports, and the feed is not due again."""
    from jobs.queue import Jobs, make_huey

    jobs = Jobs(make_huey(f"sqlite:///{tmp_path / 'jobs.sqlite3'}"), engine, settings)
    with serving(Exports(body=export_csv(12))) as server:
        add_feed(engine, "hourly", f"{server.url}/export.csv", "1h")
        assert jobs.queue_due_feeds() == ["hourly"]
        jobs.queue_due_feeds()  # queued twice (a long job held the worker): the second finds it done
        assert jobs.drain() == 2
    feed = get_feed(engine, "hourly")
    assert feed.last_outcome == "changed" and _run(engine, feed.last_run_id).events_new == 12
    assert _rows(engine)["events"] == 12
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PipelineRun)) == 1
    assert jobs.queue_due_feeds() == [] and due_feeds(engine) == []
    periodic = [task for task in jobs.huey.read_periodic(utcnow().replace(tzinfo=None, minute=0, second=0))]
    assert [task.name for task in periodic] == ["feeds-due"]  # every minute: due at any minute
