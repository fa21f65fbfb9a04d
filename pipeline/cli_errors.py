"""What the command line says when a command fails: one line and an exit status, never a traceback.

A bad file or a run refused (``RunFailed.input_error``): the reason, exit 2. A database without
the migrations this code needs: which revision it is on and how to migrate, exit 2. A database
that cannot be reached, before or during a run: its URL (never the password) and the cause, exit
1. Anything else: ``internal error (run N): <exception class>``, exit 1. ``--verbose`` adds the
traceback. Log lines on the CLI's own stderr handler never carry one; logging configured
elsewhere (a file, a host program) keeps its own handlers, tracebacks and all.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator

import click
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError

from models.migration_state import current_revision, migrations_head, schema_behind
from pipeline.summary import RunFailed

EXIT_INPUT = 2
EXIT_FAILED = 1
LOST = "connection lost"
RERUN = "rerun with --verbose for the traceback"
# What the drivers say (psycopg/libpq, sqlite3), lower-cased, and how this CLI names it.
CAUSES = (
    ("refused", "connection refused"),
    ("could not translate host name", "host name not found"),
    ("failed to resolve host", "host name not found"),
    ("name or service not known", "host name not found"),
    ("temporary failure in name resolution", "host name not found"),
    ("timeout expired", "connection timed out"),
    ("timed out", "connection timed out"),
    ("server closed the connection", LOST),
    ("terminating connection", LOST),
    ("the connection is closed", LOST),
    ("the connection is lost", LOST),
    ("unable to open database file", "cannot open the database file"),
)


class NotMigrated(Exception):
    """The database lacks migrations this code needs."""


def shown_url(url: str) -> str:
    """Return ``url`` as it may be printed: without a password, in the userinfo or the query."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "(an unreadable URL)"
    return parsed.difference_update_query(["password"]).render_as_string(hide_password=True)


def check_migrated(engine: Engine, shown: str) -> None:
    """Raise NotMigrated unless the database is on the newest migration this code ships (or a later one)."""
    with engine.connect() as conn:
        revision = current_revision(conn)
    if schema_behind(revision):
        at = f"at revision {revision}" if revision else "no migration applied"
        raise NotMigrated(f"database at {shown} is not migrated ({at}, need {migrations_head()}): "
                          'run "alembic upgrade head" (or make migrate)')  # fmt: skip


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def unreachable(exc: BaseException, password: str | None = None) -> str | None:
    """Return why the database could not be reached or was lost, when that is what ``exc`` or its causes say."""
    for link in _chain(exc):
        if not isinstance(link, OperationalError | InterfaceError):
            continue
        said = " ".join(str(link.orig).split())
        cause = next((name for needle, name in CAUSES if needle in said.lower()), None)
        if cause or link.connection_invalidated:
            return cause or LOST
        if link.statement is None:  # it failed while connecting: what the server said (no password)
            said = said.rpartition("failed: ")[2] or said
            return said.replace(password, "***") if password else said
    return None


def one_line(exc: Exception, url: str) -> tuple[str, int]:
    """Return the one line that reports ``exc`` and the exit status."""
    if isinstance(exc, NotMigrated):
        return f"error: {exc}", EXIT_INPUT
    if isinstance(exc, RunFailed) and (exc.input_error or exc.busy):
        return f"error: {exc.message()}", EXIT_INPUT if exc.input_error else EXIT_FAILED
    password = make_url(url).password if url else None
    cause = unreachable(exc, str(password) if password else None)
    if cause:
        return f"error: database unreachable ({shown_url(url)}): {cause}", EXIT_FAILED
    run = f" (run {exc.summary.run_id})" if isinstance(exc, RunFailed) else ""
    inner = exc.__cause__ if isinstance(exc, RunFailed) and exc.__cause__ else exc
    return (
        f"error: internal error{run}: {inner.__class__.__name__}; rerun with --verbose for the traceback",
        EXIT_FAILED,
    )


class ReportingGroup(click.Group):
    """A click group whose commands' failures end in one line (and the traceback with ``--verbose``)."""

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; report any failure that is not click's own in one line."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - every failure ends in one line, that is the point
            if ctx.params.get("verbose"):
                traceback.print_exception(exc, file=sys.stderr)
            line, status = one_line(exc, (ctx.obj or {}).get("url") or "")
            click.echo(line, err=True)
            ctx.exit(status)


class _OneLineFormatter(logging.Formatter):
    """Format the message alone: the traceback, if any, is the CLI's to print (``--verbose``)."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        return self.formatMessage(record)


def configure_logging(verbose: bool) -> None:
    """Log to stderr one line a record: INFO and up with ``--verbose``, else only errors the CLI does not report."""
    root = logging.getLogger()
    if root.handlers:  # configured elsewhere (a file, a host program): leave it as it is
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
    if not verbose:  # a record with a traceback is a failure the CLI reports in its own line
        handler.addFilter(lambda record: record.exc_info is None)
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the migration check's context is not news
