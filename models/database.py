"""Engine construction for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

SQLITE_BUSY_TIMEOUT_MS = 10_000
PG_CONNECT_TIMEOUT_S = 5
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout that ran out
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement_timeout that ran out
# Execution options the engine carries for readers that bound their own work (trends.data.fetch):
# the statement timeout (SQLite has none of its own) and the most rows one response may hold.
STATEMENT_TIMEOUT_OPTION = "nvcd_statement_timeout_ms"
MAX_ROWS_OPTION = "nvcd_max_rows"


# The job queue's own tables (huey creates them, ``jobs.queue``): not the app's schema, left out of migrations.
QUEUE_TABLES_PREFIX = "jobs_"


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Leave the job queue's tables out of alembic's comparison of the models with the database."""
    return not (type_ == "table" and name is not None and name.startswith(QUEUE_TABLES_PREFIX))


def make_engine(url: str, statement_timeout_ms: int = 30_000, max_rows: int | None = None,
                connect_timeout_s: int = PG_CONNECT_TIMEOUT_S, **kwargs: object) -> Engine:  # fmt: skip
    """Create an engine with the dialect's safety settings applied.

    ``max_rows`` (and the timeout, for SQLite) travel as execution options for the trend readers.
    ``connect_timeout_s`` bounds a PostgreSQL connection's setup (psycopg: at least 2 s); pass
    ``pool_timeout`` to bound the wait for a pooled connection.
    """
    parsed = make_url(url)
    options: dict[str, object] = {STATEMENT_TIMEOUT_OPTION: statement_timeout_ms, MAX_ROWS_OPTION: max_rows}
    options.update(kwargs.pop("execution_options", None) or {})  # type: ignore[call-overload]
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, execution_options=options, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    pg_options = f"-c statement_timeout={statement_timeout_ms}"
    return create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"options": pg_options, "connect_timeout": connect_timeout_s},
        execution_options=options,
        **kwargs,
    )


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@contextmanager
def lock_timeout(session: Session, seconds: float) -> Iterator[None]:
    """Bound PostgreSQL lock waits inside the block (this transaction only; restored after)."""
    before = session.scalar(select(func.current_setting("lock_timeout")))
    session.execute(select(func.set_config("lock_timeout", f"{int(seconds * 1000)}ms", True)))
    yield
    session.execute(select(func.set_config("lock_timeout", before, True)))


def is_lock_wait(exc: BaseException) -> bool:
    """Tell whether a database error means a lock stayed taken longer than the wait allowed.

    PostgreSQL: ``lock_timeout`` ran out; SQLite: the busy timeout did ("database is locked").
    """
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == LOCK_NOT_AVAILABLE or "database is locked" in str(orig)


def is_statement_timeout(exc: BaseException) -> bool:
    """Tell whether a database error means a statement ran past its timeout and was stopped.

    PostgreSQL: ``statement_timeout`` cancelled it; SQLite: a progress handler interrupted it.
    """
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == QUERY_CANCELED or str(orig) == "interrupted"
