"""Keep the scheduled feeds and run them: the API the CLI and the worker's scheduler call.

``run_feed`` fetches one feed (``feeds.fetch``) and records what happened as a run with trigger
``feed`` whose ``source_file`` is the feed's name and whose ``options`` say ``{"feed": name,
"outcome": ...}``: ``unchanged`` (a 304, or the same bytes again) is a short succeeded run and
nothing else; ``changed`` runs the pipeline on the fetched file into the feed's dataset (a
snapshot of it with ``snapshot``), then deletes the file; a failed fetch is a failed run with the
reason (``feed X: HTTP 500``). The feed's row keeps the validators of the last export imported
(only once its run succeeded, so a failed import is fetched and tried again), the outcome and
times, and ``next_due_at`` = start of the fetch + its interval; ``due_feeds`` lists the feeds due.

Two processes running one feed at once would both import it (the second finds nothing new to
change); the scheduler runs one feed at a time (a lock per feed name is the caller's).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from feeds.durations import parse_duration
from feeds.fetch import Fetched, FetchError, FetchSettings, Validators, check_url, fetch
from models import DATASET_NAME_PATTERN, DEFAULT_DATASET, FEED_NAME_PATTERN, Feed, PipelineRun, bump_version, utcnow
from pipeline.limits import Limits
from pipeline.load import Target
from pipeline.runner import RunFailed, RunSummary, run_pipeline

FEED_NAME = re.compile(FEED_NAME_PATTERN)
DATASET_NAME = re.compile(DATASET_NAME_PATTERN)
# Without --expect-change, an export may stay the same for 3 intervals, and never less than a day.
EXPECT_CHANGE_FACTOR = 3
EXPECT_CHANGE_FLOOR = 86400


class FeedError(ValueError):
    """A feed that cannot be added as given (name, URL, duration, dataset, a name taken)."""


class UnknownFeed(LookupError):
    """No feed has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no feed named {name[:40]!r}")


@dataclass(frozen=True)
class FeedOutcome:
    """What one run of a feed did: ``changed``, ``unchanged`` or ``failed``, its run and reason."""

    feed: str
    outcome: str
    run_id: int | None
    error: str | None = None
    summary: RunSummary | None = None


def default_expect_change(every_seconds: int) -> int:
    """Return how long an export fetched every ``every_seconds`` may stay the same by default."""
    return max(EXPECT_CHANGE_FACTOR * every_seconds, EXPECT_CHANGE_FLOOR)


def add_feed(engine: Engine, name: str, url: str, every: str | int, snapshot: bool = False,
             dataset: str = DEFAULT_DATASET, expect_change: str | int | None = None) -> Feed:  # fmt: skip
    """Add a feed, due at once; raise FeedError for a bad name, URL, duration or dataset, or a name taken."""
    if not FEED_NAME.match(name):
        raise FeedError(f"a feed name is 1-32 lower-case letters, digits, '-' or '_', starting with a letter "
                        f"or digit; got {name[:40]!r}")  # fmt: skip
    if not DATASET_NAME.match(dataset):
        raise FeedError(f"a dataset name follows the same rule; got {dataset[:40]!r}")
    try:
        check_url(url)
        every_seconds = parse_duration(every)
        expect = default_expect_change(every_seconds) if expect_change is None else parse_duration(expect_change)
    except ValueError as exc:
        raise FeedError(str(exc)) from None
    feed = Feed(name=name, url=url, every_seconds=every_seconds, snapshot=snapshot, dataset=dataset,
                expect_change_seconds=expect, next_due_at=utcnow(), created_at=utcnow())  # fmt: skip
    with Session(engine, expire_on_commit=False) as session:
        session.add(feed)
        try:
            session.flush()
            bump_version(session)
            session.commit()
        except IntegrityError:
            raise FeedError(f"a feed named {name!r} exists already") from None
    return feed


def remove_feed(engine: Engine, name: str) -> None:
    """Remove a feed (its past runs stay); raise UnknownFeed when there is none of that name."""
    with Session(engine) as session:
        feed = session.scalars(select(Feed).where(Feed.name == name)).first()
        if feed is None:
            raise UnknownFeed(name)
        session.delete(feed)
        bump_version(session)
        session.commit()


def list_feeds(engine: Engine) -> list[Feed]:
    """Return every feed, by name."""
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(select(Feed).order_by(Feed.name)))


def get_feed(engine: Engine, name: str) -> Feed:
    """Return the feed named ``name``; raise UnknownFeed when there is none."""
    with Session(engine, expire_on_commit=False) as session:
        feed = session.scalars(select(Feed).where(Feed.name == name)).first()
    if feed is None:
        raise UnknownFeed(name)
    return feed


def due_feeds(engine: Engine, now: datetime | None = None) -> list[str]:
    """Return the names of the feeds due at ``now`` (default: now), the longest overdue first."""
    moment = now or utcnow()
    with Session(engine) as session:
        stmt = select(Feed.name).where(Feed.next_due_at <= moment).order_by(Feed.next_due_at, Feed.name)
        return list(session.scalars(stmt))


def run_feed(engine: Engine, name: str, settings: dict[str, object]) -> FeedOutcome:
    """Fetch the feed ``name`` now and record the outcome (``settings``: ``config.from_environment()``)."""
    feed = get_feed(engine, name)
    started = utcnow()
    last = Validators(feed.etag, feed.last_modified, feed.content_sha256)
    try:
        fetched = fetch(feed.url, last, FetchSettings.from_settings(settings))
    except FetchError as exc:
        return _short_run(engine, feed, started, "failed", last, f"feed {name}: {exc.reason}")
    if fetched.outcome == "unchanged":
        return _short_run(engine, feed, started, "unchanged", fetched.validators)
    return _import(engine, feed, started, fetched, settings)


def _options(feed: Feed, outcome: str) -> str:
    return json.dumps({"feed": feed.name, "outcome": outcome})


def _feed_values(feed: Feed, started: datetime, outcome: str, error: str | None, run_id: int | None) -> dict:
    """Return the feed row's new outcome, times and last run (validators apart)."""
    values: dict[str, object] = {"last_fetch_at": started, "last_outcome": outcome, "last_error": error,
                                 "next_due_at": started + timedelta(seconds=feed.every_seconds)}  # fmt: skip
    if run_id is not None:
        values["last_run_id"] = run_id
    if outcome != "failed":
        values["last_success_at"] = started
    if outcome == "changed":
        values["last_changed_at"] = started
    return values


def _validator_values(found: Validators) -> dict[str, object]:
    return {"etag": found.etag, "last_modified": found.last_modified, "content_sha256": found.sha256}


def _short_run(engine: Engine, feed: Feed, started: datetime, outcome: str, found: Validators,
               error: str | None = None) -> FeedOutcome:  # fmt: skip
    """Record an unchanged or failed fetch: one run row (no stages, nothing else) and the feed's row."""
    with Session(engine) as session:
        run = PipelineRun(status="failed" if error else "succeeded", trigger="feed", source_file=feed.name,
                          dataset=feed.dataset, mode="snapshot" if feed.snapshot else "import", started_at=started,
                          finished_at=utcnow(), error=error, options=_options(feed, outcome))  # fmt: skip
        session.add(run)
        session.flush()
        values = _feed_values(feed, started, outcome, error, run.id)
        if outcome == "unchanged":
            values.update(_validator_values(found))
        session.execute(update(Feed).where(Feed.id == feed.id).values(**values))
        bump_version(session)
        session.commit()
        return FeedOutcome(feed.name, outcome, run.id, error)


def _import(engine: Engine, feed: Feed, started: datetime, fetched: Fetched,
            settings: dict[str, object]) -> FeedOutcome:  # fmt: skip
    """Run the pipeline on the fetched export, delete it, and record the outcome on the feed and its run."""
    path = fetched.path
    assert path is not None and fetched.suffix is not None  # a changed fetch always has its file
    target = Target.from_settings(settings, dataset=feed.dataset, snapshot=feed.snapshot)
    try:
        summary = run_pipeline(engine, path, trigger="feed", filename=f"{feed.name}{fetched.suffix}",
                               limits=Limits.from_settings(settings), target=target)  # fmt: skip
    except RunFailed as exc:
        error = f"feed {feed.name}: {exc.summary.error}"
        _finish(engine, feed, exc.summary.run_id, _feed_values(feed, started, "failed", error, exc.summary.run_id))
        return FeedOutcome(feed.name, "failed", exc.summary.run_id, error, exc.summary)
    finally:
        path.unlink(missing_ok=True)
    values = _feed_values(feed, started, "changed", None, summary.run_id) | _validator_values(fetched.validators)
    _finish(engine, feed, summary.run_id, values)
    return FeedOutcome(feed.name, "changed", summary.run_id, None, summary)


def _finish(engine: Engine, feed: Feed, run_id: int | None, values: dict) -> None:
    """Write the feed's new row values and tag its pipeline run as the feed's, with the outcome."""
    with Session(engine) as session:
        session.execute(update(Feed).where(Feed.id == feed.id).values(**values))
        run = session.get(PipelineRun, run_id) if run_id is not None else None
        if run is not None:  # keep what else the run's options say (a job's, say)
            given = json.loads(run.options) if run.options else {}
            tag = json.loads(_options(feed, str(values["last_outcome"])))
            run.options = json.dumps((given if isinstance(given, dict) else {}) | tag)
        bump_version(session)
        session.commit()
