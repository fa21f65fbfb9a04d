"""A client-side deadline on a request's database work: past it, 503 "Database not answering".

The server's ``statement_timeout`` needs a server that answers; a frozen one (SIGSTOP, a hung
host) never does, and TCP keepalives do not fire while the kernel still ACKs. So the client
bounds its own wait, here and nowhere else:

- Under gunicorn's gevent worker, a ``gevent.Timeout`` around the work. It interrupts a psycopg
  wait because psycopg waits cooperatively there (``psycopg.waiting`` picks ``wait_poll`` when
  imported after gevent's patch; ``init_app`` makes sure). The Timeout is a BaseException, which
  SQLAlchemy treats as a disconnect: the interrupted connection is invalidated, never pooled again.
- In threads (tests, ``flask run``), a timer shuts down the socket of every PostgreSQL connection
  the block checked out; the wait ends with psycopg's "server closed the connection", a
  disconnect to SQLAlchemy too. (Connecting is bounded by ``connect_timeout``, the pool's
  queue by ``pool_timeout``: ``models.database.make_engine``.)
- SQLite: a connection checked out inside the block waits on a lock (busy timeout) at most the
  time left.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import psycopg
from flask import Flask, Response
from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import SQLAlchemyError

from api.errors import error_response
from api.wire import GEVENT
from models.database import SQLITE_BUSY_TIMEOUT_MS

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
NOT_ANSWERING = "not answering"  # what /healthz, the API's 503s and the heartbeats say of the database
# Blueprints whose every view reads the database, and the setting that bounds them.
API_BLUEPRINTS = ("monitoring", "trends", "event", "changes")
DASH_UPDATE = "_dash-update-component"
DASH_SLACK_S = 1.0  # the Dash request's bound: the callbacks' own (db_alert) plus this, so theirs fires first
# Connection-record info keys: the blocks that track this connection; its SQLite busy timeout was cut.
_SCOPES_KEY, _BUSY_CUT = "nvcd_scopes", "nvcd_busy_cut"


class DatabaseNotAnswering(SQLAlchemyError):
    """The database did not answer within the deadline; the work inside was abandoned."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"database not answering within {seconds:g} s")
        self.seconds = seconds


class _Scope:
    """One bounded block: its end, and the PostgreSQL connections it checked out (threads only)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._sockets: dict[int, Any] = {}
        self._lock = threading.Lock()

    def over(self) -> bool:
        """Tell whether the deadline passed (or a connection attempt timed out inside the block)."""
        return self.expired or time.monotonic() >= self.ends

    def remaining_ms(self) -> int:
        return max(int((self.ends - time.monotonic()) * 1000), 1)

    def track(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._sockets[id(dbapi_connection)] = dbapi_connection

    def untrack(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._sockets.pop(id(dbapi_connection), None)

    def expire(self) -> None:
        """Cut the block's PostgreSQL connections: their waits end at once, as disconnects."""
        with self._lock:
            self.expired = True
            connections = list(self._sockets.values())
        for conn in connections:
            try:
                fd = os.dup(conn.pgconn.socket)
            except (OSError, psycopg.Error):  # already closed: nothing is waiting on it
                continue
            with socket.socket(fileno=fd) as sock, contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


_SCOPES: ContextVar[tuple[_Scope, ...]] = ContextVar("nvcd_deadline_scopes", default=())


@contextlib.contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """Run the block's database work within ``seconds``; past it raise ``DatabaseNotAnswering``.

    Past the deadline the block's outcome is that error, whatever the block made of the interruption
    (SQLAlchemy's pre-ping, say, turns it into a ProgrammingError). ``seconds`` <= 0: no bound.
    Nested blocks each keep their own bound.
    """
    if seconds <= 0:
        yield
        return
    scope = _Scope(seconds)
    token = _SCOPES.set((*_SCOPES.get(), scope))
    alarm = _arm(scope)
    try:
        yield
    except Exception as exc:
        if scope.over():
            raise DatabaseNotAnswering(seconds) from exc
        raise
    except BaseException as exc:
        if exc is alarm:  # our gevent.Timeout, through everything the block had
            raise DatabaseNotAnswering(seconds) from None
        raise
    finally:
        _disarm(alarm)
        _SCOPES.reset(token)
    if scope.over():  # the block dealt with the interruption itself: its answer is still too late
        raise DatabaseNotAnswering(seconds)


def _arm(scope: _Scope) -> Any:
    """Start the block's alarm: a gevent.Timeout (gevent) or a timer that cuts its connections (threads)."""
    if GEVENT:
        import gevent

        timeout = gevent.Timeout(scope.seconds)
        timeout.start()
        return timeout
    timer = threading.Timer(scope.seconds, scope.expire)
    timer.daemon = True
    timer.start()
    return timer


def _disarm(alarm: Any) -> None:
    if GEVENT:
        alarm.close()
    else:
        alarm.cancel()


def _track(dbapi_connection: Any) -> tuple[_Scope, ...]:
    """Let the open blocks cut this PostgreSQL connection (threads; under gevent the Timeout suffices)."""
    scopes = _SCOPES.get() if not GEVENT else ()
    for scope in scopes:
        scope.track(dbapi_connection)
    return scopes


def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    scopes = _SCOPES.get()
    if not scopes:
        return
    if hasattr(dbapi_connection, "pgconn"):
        record.info[_SCOPES_KEY] = _track(dbapi_connection)
        return
    left = min(scope.remaining_ms() for scope in scopes)
    if left < SQLITE_BUSY_TIMEOUT_MS:
        dbapi_connection.execute(f"PRAGMA busy_timeout={left}")
        record.info[_BUSY_CUT] = True


def _on_sqlite_connect(_dialect: Any, record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
    """A SQLite connection opened inside a block waits for locks (its first PRAGMAs too) at most the time left."""
    scopes = _SCOPES.get()
    if scopes:
        cparams["timeout"] = min(min(scope.remaining_ms() for scope in scopes), SQLITE_BUSY_TIMEOUT_MS) / 1000
        record.info[_BUSY_CUT] = True


def _on_checkin(dbapi_connection: Any, record: Any) -> None:
    for scope in record.info.pop(_SCOPES_KEY, ()):
        scope.untrack(dbapi_connection)
    if record.info.pop(_BUSY_CUT, False) and dbapi_connection is not None:
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _on_error(context: ExceptionContext) -> None:
    """A connection attempt that timed out, or a lock wait cut short, is the database not answering, too."""
    error = context.original_exception
    if isinstance(error, psycopg.errors.ConnectionTimeout) or "database is locked" in str(error):
        for scope in _SCOPES.get():
            scope.expired = True


def _tracked_ping(ping: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """Wrap the dialect's pre-ping, which the pool runs before its checkout event, so a block can cut it too."""

    def do_ping(dbapi_connection: Any) -> bool:
        _track(dbapi_connection)
        try:
            return ping(dbapi_connection)
        except Exception:
            over = [scope for scope in _SCOPES.get() if scope.over()]
            if over:  # not a disconnect to the pool, or it would connect again past the deadline
                raise DatabaseNotAnswering(over[0].seconds) from None
            raise

    return do_ping


def watch_engine(engine: Engine) -> None:
    """Let ``bounded`` blocks see the connections they check out of ``engine`` (pre-ping included)."""
    if event.contains(engine, "checkout", _on_checkout):
        return
    event.listen(engine, "checkout", _on_checkout)
    event.listen(engine, "checkin", _on_checkin)
    event.listen(engine, "handle_error", _on_error)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "do_connect", _on_sqlite_connect)
    if engine.dialect.name == "postgresql":
        engine.dialect.do_ping = _tracked_ping(engine.dialect.do_ping)  # type: ignore[method-assign,assignment]


def not_answering(seconds: float) -> Response:
    """Answer 503: the database did not answer within the request's deadline."""
    return error_response(
        503,
        "Database not answering",
        {"database": NOT_ANSWERING, "deadline_s": seconds},
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def guard(view: Callable[..., Any], seconds: float) -> Callable[..., Any]:
    """Wrap a view so its database work is bounded by ``seconds`` (then 503, JSON)."""

    @functools.wraps(view)
    def bounded_view(*args: Any, **kwargs: Any) -> Any:
        try:
            with bounded(seconds):
                return view(*args, **kwargs)
        except DatabaseNotAnswering:
            log.warning("%s: database not answering within %g s", view.__name__, seconds)
            return not_answering(seconds)

    return bounded_view


def check_cooperative() -> None:
    """Under gevent, make psycopg wait through the patched poll (wait_c would freeze the worker)."""
    if not GEVENT:
        return
    from psycopg import waiting

    if waiting.wait is getattr(waiting, "wait_c", None):
        log.warning("psycopg was imported before gevent patched select: switching it to wait_poll")
        waiting.wait = waiting.wait_poll


def init_app(app: Flask) -> None:
    """Bound every database-reading view: /healthz, the read API and the Dash callbacks."""
    check_cooperative()
    watch_engine(app.extensions["engine"])
    health, api = app.config["HEALTH_DEADLINE_SECONDS"], app.config["DB_DEADLINE_SECONDS"]
    for endpoint, view in list(app.view_functions.items()):
        if endpoint == "health.healthz":
            seconds = health
        elif endpoint.split(".")[0] in API_BLUEPRINTS:
            seconds = api
        elif endpoint.endswith(DASH_UPDATE):
            seconds = api + DASH_SLACK_S if api > 0 else 0
        else:
            continue
        app.view_functions[endpoint] = guard(view, seconds)
