"""Run a trend query and hand back its (already aggregated) rows as a DataFrame, within the server's bounds.

Two bounds protect the server from one broad query: at most ``max_rows`` rows (``LIMIT max_rows + 1``
in the database, so an over-cap answer is refused before it is built) and, on SQLite, which has no
statement timeout, a deadline enforced by a progress handler. Both come from the engine's execution
options (``models.database.make_engine``); a refused query raises a ``QueryRefused`` that says how to narrow.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, Select, text
from sqlalchemy.exc import OperationalError

from models.database import MAX_ROWS_OPTION, STATEMENT_TIMEOUT_OPTION, is_statement_timeout

log = logging.getLogger(__name__)

DEFAULT_MAX_ROWS = 50_000
NARROW_HINT = (
    "Narrow the query: a coarser granularity (week or month), no or another group_by, "
    "a shorter start..end range, or filters such as state, region, lga, crisis_type, actor or source."
)
# SQLite calls the handler every this many virtual-machine instructions (well under a millisecond).
PROGRESS_STEPS = 10_000
# Under gevent a long SQLite statement pauses this often, for this long (a timed sleep, not
# sleep(0), so the loop polls sockets too): about 5 % of its time.
YIELD_EVERY_S = 0.02
PAUSE_S = 0.001


class QueryRefused(Exception):
    """A trend query the server will not finish; the message says why and how to narrow it."""


class TooManyRows(QueryRefused):
    """The query's answer would have more rows than one response or chart may hold."""

    def __init__(self, max_rows: int) -> None:
        super().__init__(
            f"Too many rows: this query gives more than {max_rows:,} rows, the limit for one "
            f"response or chart. {NARROW_HINT}"
        )
        self.max_rows = max_rows


class QueryTimeout(QueryRefused):
    """The query ran past the statement timeout and was cancelled."""

    def __init__(self, timeout_ms: int | None) -> None:
        limit = f"the {timeout_ms / 1000:g} s limit" if timeout_ms else "the time limit"
        super().__init__(f"The query took longer than {limit} and was stopped. {NARROW_HINT} Or retry later.")
        self.timeout_ms = timeout_ms


def max_rows(engine: Engine | Connection) -> int:
    """Return the most rows a capped trend query may answer on ``engine``."""
    return int(engine.get_execution_options().get(MAX_ROWS_OPTION) or DEFAULT_MAX_ROWS)


def fetch(engine: Engine, stmt: Select, keep_types: bool = False, capped: bool = False) -> pd.DataFrame:
    """Execute ``stmt`` and return its rows as a DataFrame with the statement's column names.

    ``keep_types`` keeps Python values as they are (object columns), so integer
    columns with NULLs stay integers instead of becoming floats. ``capped`` (for statements
    without a LIMIT of their own) raises ``TooManyRows`` rather than answer more than ``max_rows``.
    """
    started = time.perf_counter()
    cap = max_rows(engine) if capped else None
    if cap is not None:
        stmt = stmt.limit(cap + 1)
    timeout_ms = engine.get_execution_options().get(STATEMENT_TIMEOUT_OPTION)
    try:
        # Connecting is inside: PostgreSQL's pre-ping is a statement under the timeout too.
        with engine.connect() as conn, sqlite_deadline(conn, timeout_ms):
            prepare(conn)
            result = conn.execute(stmt)
            columns = list(result.keys())
            rows = result.all()
    except OperationalError as exc:
        if not is_statement_timeout(exc):
            raise
        log.warning("trend query stopped after %.1f s (timeout %s ms)", time.perf_counter() - started, timeout_ms)
        raise QueryTimeout(timeout_ms) from None
    if cap is not None and len(rows) > cap:
        log.info("trend query refused: over %d rows", cap)
        raise TooManyRows(cap)
    frame = pd.DataFrame(rows, columns=columns, dtype=object) if keep_types else pd.DataFrame(rows, columns=columns)
    log.debug("trend query: %d rows in %.1f ms", len(frame), (time.perf_counter() - started) * 1000)
    return frame


def prepare(conn: Connection) -> None:
    """Tune the connection's transaction for one dashboard aggregate."""
    if conn.dialect.name == "postgresql":
        # JIT compiles each large aggregate for 150-200 ms, more than it saves on a million rows.
        # SET LOCAL ends with this transaction, so pooled connections are left as they were.
        conn.execute(text("SET LOCAL jit = off"))


@contextmanager
def sqlite_deadline(conn: Connection, timeout_ms: int | None) -> Iterator[None]:
    """Interrupt SQLite statements run inside the block once ``timeout_ms`` has passed (0/None: no limit)."""
    if conn.dialect.name != "sqlite" or not timeout_ms:
        yield
        return
    raw: Any = conn.connection.dbapi_connection
    raw.set_progress_handler(_progress(time.monotonic() + timeout_ms / 1000, _cooperative_pause()), PROGRESS_STEPS)
    try:
        yield
    finally:
        raw.set_progress_handler(None, PROGRESS_STEPS)


def _progress(deadline: float, pause: Callable[[float], object] | None) -> Callable[[], int]:
    """Return SQLite's progress handler: stop the statement past ``deadline``, and let others run meanwhile.

    SQLite works inside this process and never waits on a socket, so under gevent a long
    statement would hold the whole worker (health checks, WebSocket pushes) until it ends;
    the handler hands the loop a turn every ``YIELD_EVERY_S``, as RelStorage's gevent driver does.
    """
    last = time.monotonic()

    def handler() -> int:
        nonlocal last
        now = time.monotonic()
        if pause is not None and now - last >= YIELD_EVERY_S:
            pause(PAUSE_S)
            last = time.monotonic()
        # A non-zero return makes SQLite stop the statement with "interrupted" (an OperationalError).
        return int(now > deadline)

    return handler


def _cooperative_pause() -> Callable[[float], object] | None:
    """Return gevent's sleep when this process runs under gevent's patched sockets, else None."""
    if "gevent" not in sys.modules:
        return None
    from gevent import monkey, sleep

    return sleep if monkey.is_module_patched("socket") else None
