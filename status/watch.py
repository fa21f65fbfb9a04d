"""Tell a process when monitored data may have changed, whichever process changed it.

PostgreSQL: a dedicated psycopg connection LISTENs on ``models.changes.NOTIFY_CHANNEL``;
``bump_version`` notifies at commit, so every process and replica hears every change.
SQLite has no notifications: the watcher wakes about once a second and the caller
compares ``current_version`` (one indexed row read). Neither knows Flask.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Protocol

import psycopg
from psycopg import sql
from sqlalchemy import Engine

from models.changes import NOTIFY_CHANNEL

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)


class ChangeWatcher(Protocol):
    """Something to block on until data may have changed."""

    def wait(self, timeout: float) -> bool:
        """Block at most ``timeout`` seconds; return True when data may have changed."""

    def close(self) -> None:
        """Release the watcher's resources."""


class PollingWatcher:
    """Wake at most once per ``interval``: the caller's version read is the poll."""

    def __init__(self, interval: float = POLL_SECONDS) -> None:
        self.interval = interval
        self._closed = threading.Event()
        self._next = time.monotonic()

    def wait(self, timeout: float) -> bool:
        """Sleep until the next poll is due (or ``timeout``); True when it is due."""
        delay = self._next - time.monotonic()
        if delay > timeout:
            self._closed.wait(max(timeout, 0.0))
            return False
        if delay > 0:
            self._closed.wait(delay)
        self._next = time.monotonic() + self.interval
        return not self._closed.is_set()

    def close(self) -> None:
        """Stop waiting."""
        self._closed.set()


class PostgresWatcher:
    """LISTEN on the change channel over a dedicated autocommit connection."""

    def __init__(self, conninfo: str, channel: str = NOTIFY_CHANNEL) -> None:
        self.conninfo = conninfo
        self.channel = channel
        self._conn: psycopg.Connection | None = None
        self._failures = 0
        self._closed = threading.Event()

    def _connect(self) -> None:
        conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        self._conn = conn
        if self._failures:
            log.info("change listener reconnected after %d failures", self._failures)
        self._failures = 0

    def _drop(self, exc: Exception) -> None:
        self._failures += 1
        log.warning("change listener lost its connection (%s); retrying", exc.__class__.__name__)
        self._close_connection()

    def _close_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None

    def wait(self, timeout: float) -> bool:
        """Block until a NOTIFY arrives or ``timeout`` passes; True on a notification.

        After a lost connection it also answers True once reconnected, since
        notifications sent while it was away are gone and the caller must look.
        """
        if self._closed.is_set():
            return False
        if self._conn is None:
            backoff = RECONNECT_SECONDS[min(self._failures, len(RECONNECT_SECONDS) - 1)]
            try:
                self._connect()
            except psycopg.Error as exc:
                self._drop(exc)
                self._closed.wait(min(backoff, max(timeout, 0.0)))
                return False
            return True
        try:
            for _notify in self._conn.notifies(timeout=max(timeout, 0.0), stop_after=1):
                return True
        except psycopg.Error as exc:
            self._drop(exc)
            return True
        return False

    def close(self) -> None:
        """Stop listening and close the connection."""
        self._closed.set()
        self._close_connection()


def psycopg_conninfo(engine: Engine) -> str:
    """Return a libpq URL for ``engine`` (SQLAlchemy's driver suffix removed)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_watcher(engine: Engine, poll_interval: float = POLL_SECONDS) -> ChangeWatcher:
    """Return the right watcher for the engine's backend."""
    if engine.dialect.name == "postgresql":
        return PostgresWatcher(psycopg_conninfo(engine))
    return PollingWatcher(poll_interval)
