"""``python -m pipeline feeds add | list | remove | run``: keep the scheduled feeds, run one now.

Bad names, URLs, durations and datasets, a name taken and an unknown feed exit with status 2 and
a one-line reason; a run whose fetch or import failed exits with 1 (it is recorded as a failed
run, as the monitor shows it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import click
from sqlalchemy import Engine

import config
from feeds.durations import format_duration, parse_duration
from feeds.service import FeedError, UnknownFeed, add_feed, list_feeds, remove_feed, run_feed
from models import DEFAULT_DATASET, Feed

EXIT_FAILED = 1


class Duration(click.ParamType):
    """A duration such as ``90s``, ``15m``, ``6h`` or ``1d`` (at least a minute), as seconds."""

    name = "duration"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """Return the duration in seconds, or fail with the reason."""
        try:
            return parse_duration(value if isinstance(value, int) else str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@contextmanager
def _engine(ctx: click.Context) -> Iterator[Engine]:
    from pipeline.cli import _engine as make  # pipeline.cli imports this module

    engine = make(ctx)
    try:
        yield engine
    except (FeedError, UnknownFeed) as exc:
        raise click.UsageError(str(exc.args[0]), ctx) from None
    finally:
        engine.dispose()


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def feed_line(feed: Feed) -> str:
    """Describe one feed on one line."""
    target = f"{feed.dataset}{' (snapshot)' if feed.snapshot else ''}"
    outcome = feed.last_outcome or "not fetched yet"
    error = f" — {feed.last_error}" if feed.last_error else ""
    return (f"{feed.name}  every {format_duration(feed.every_seconds)}  into {target}  "
            f"last fetch {_when(feed.last_fetch_at)}: {outcome}{error}  next due {_when(feed.next_due_at)}  "
            f"{feed.url}")  # fmt: skip


@click.group(name="feeds")
def feeds() -> None:
    """Scheduled feeds: exports fetched over HTTP(S) on a schedule (README, "Scheduled feeds")."""


@feeds.command(name="add")
@click.argument("name")
@click.argument("url")
@click.option("--every", type=Duration(), required=True, help="How often to fetch: 90s, 15m, 6h, 1d (at least 1m).")
@click.option("--snapshot", is_flag=True, help="The export is the full dataset: withdraw what it no longer holds.")
@click.option("--dataset", default=DEFAULT_DATASET, show_default=True, help="The dataset the events belong to.")
@click.option("--expect-change", type=Duration(), default=None,
              help="Alert when the export stays the same this long (default: 3 intervals, at least 1d).")  # fmt: skip
@click.pass_context
def add(ctx: click.Context, name: str, url: str, every: int, snapshot: bool, dataset: str,
        expect_change: int | None) -> None:  # fmt: skip
    """Add the feed NAME fetching URL; it is due at once."""
    with _engine(ctx) as engine:
        feed = add_feed(engine, name, url, every, snapshot=snapshot, dataset=dataset, expect_change=expect_change)
    click.echo(f"added feed {feed.name}: every {format_duration(feed.every_seconds)}, alert after "
               f"{format_duration(feed.expect_change_seconds)} without a change")  # fmt: skip


@feeds.command(name="list")
@click.pass_context
def list_command(ctx: click.Context) -> None:
    """List the feeds: interval, target, last fetch and outcome, next due, URL."""
    with _engine(ctx) as engine:
        found = list_feeds(engine)
    click.echo("\n".join(feed_line(feed) for feed in found) if found else "no feeds")


@feeds.command(name="remove")
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Remove the feed NAME (its past runs stay)."""
    with _engine(ctx) as engine:
        remove_feed(engine, name)
    click.echo(f"removed feed {name}")


@feeds.command(name="run")
@click.argument("name")
@click.pass_context
def run(ctx: click.Context, name: str) -> None:
    """Fetch the feed NAME now and import its export if it changed."""
    with _engine(ctx) as engine:
        done = run_feed(engine, name, config.from_environment())
    if done.outcome == "failed":
        click.echo(f"error: {done.error} (run #{done.run_id})", err=True)
        ctx.exit(EXIT_FAILED)
    detail = ""
    if done.summary is not None:
        s = done.summary
        detail = f": {s.events_new} created, {s.events_updated} updated, {s.events_withdrawn} withdrawn"
    click.echo(f"feed {name}: {done.outcome} (run #{done.run_id}){detail}")
