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


def make_engine(url: str, statement_timeout_ms: int = 30_000, **kwargs: object) -> Engine:
    """Create an engine with the dialect's safety settings applied."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    options = f"-c statement_timeout={statement_timeout_ms}"
    return create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"options": options, "connect_timeout": PG_CONNECT_TIMEOUT_S},
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
