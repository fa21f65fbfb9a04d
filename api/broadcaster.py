"""One broadcaster per worker process: build the snapshot once per change, encode it once.

The broadcaster thread (a greenlet under gunicorn's gevent worker) waits on a
change watcher, rebuilds the snapshot when the version moved (or on a timer,
since silence and anomalies depend on the clock), encodes the message once and
hands it to the process's Fanout (api/fanout.py), which writes it to every idle
client without blocking; a client that cannot take it is finished by its own
handler with a bounded send, so a stalled client only ever delays itself.
Between changes it publishes a heartbeat every WS_HEARTBEAT_SECONDS, also while the database
does not answer: each build is bounded (api/deadline.py), and heartbeats say what the
last build found of the database (``"database"``: reachable, unreachable or not answering).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime

from flask import Flask, current_app
from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from api.deadline import NOT_ANSWERING, DatabaseNotAnswering, bounded
from api.fanout import Fanout
from api.wire import Encoded
from models import current_version, utcnow
from status.watch import ChangeWatcher, make_watcher

log = logging.getLogger(__name__)

BuildFn = Callable[..., dict]
RETRY_SECONDS = 1.0
# A changed client count is re-sent at most this often (re-encoded, no queries), so a
# burst of connections costs one push, not one per connection.
CLIENTS_REFRESH_SECONDS = 2.0
EXTENSION = "broadcaster"  # the app.extensions key; read and written only below


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Broadcaster:
    """Build, encode and publish the pipeline status for every client of this process."""

    def __init__(
        self,
        engine: Engine,
        build: BuildFn,
        *,
        max_clients: int,
        heartbeat_s: float,
        rebuild_s: float,
        poll_s: float = 1.0,
        deadline_s: float = 0.0,
        watcher_factory: Callable[[Engine, float], ChangeWatcher] = make_watcher,
    ) -> None:
        self.engine = engine
        self.build = build
        self.heartbeat_s = heartbeat_s
        self.rebuild_s = rebuild_s
        self.poll_s = poll_s
        self.deadline_s = deadline_s
        self.database = "reachable"  # what the last build found; every heartbeat says it
        self.watcher_factory = watcher_factory
        self.pid: int | None = None
        self.fanout = Fanout(max_clients)
        self.stats = {"builds": 0, "queries_last_build": 0, "build_ms_last": 0.0, "dropped": 0}
        self._seq = 0
        self._snapshot_body: str | None = None
        self._snapshot_data: dict | None = None
        self._latest_at = 0.0  # last publication of any kind (heartbeats are due after it)
        self._snapshot_at = 0.0  # last snapshot publication (client-count refreshes are due after it)
        self._failures = 0
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    @property
    def stopping(self) -> bool:
        """True once the process began shutting down."""
        return self.fanout.stopping

    def client_count(self) -> int:
        """Return the number of connected clients in this process."""
        return self.fanout.count()

    def latest_snapshot(self) -> dict | None:
        """Return the snapshot last published to the clients (None before the first build)."""
        return self._snapshot_data

    # -- lifecycle -----------------------------------------------------------
    def ensure_started(self) -> None:
        """Start the broadcaster thread once per process (safe after fork)."""
        if self.pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self.pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self.pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="ws-broadcaster", daemon=True)
            self._thread.start()
        log.info("broadcaster started in pid %d", self.pid)

    def stop(self) -> None:
        """Ask the thread and every client handler to finish (handlers close with 1001)."""
        self.fanout.stop()

    def join(self, timeout: float) -> bool:
        """Wait until every client handler has gone; True when none is left."""
        deadline = time.monotonic() + timeout
        while self.fanout.count() and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.fanout.count()

    # -- the broadcaster thread ----------------------------------------------
    def _run(self) -> None:
        watcher = self.watcher_factory(self.engine, self.poll_s)
        next_rebuild = 0.0
        try:
            while not self.stopping:
                now = time.monotonic()
                force = now >= next_rebuild
                if not force:
                    heartbeat_in = self.heartbeat_s - (now - self._latest_at)
                    clients_in = (
                        CLIENTS_REFRESH_SECONDS - (now - self._snapshot_at) if self.fanout.count_changed else 1.0
                    )
                    changed = watcher.wait(max(min(next_rebuild - now, heartbeat_in, clients_in, 1.0), 0.0))
                    if self.stopping:
                        break
                if force or changed:
                    outcome = self._refresh(force)
                    if outcome == "failed":
                        next_rebuild = time.monotonic() + RETRY_SECONDS
                    elif outcome == "built":
                        next_rebuild = time.monotonic() + self.rebuild_s
                now = time.monotonic()
                if self.fanout.count_changed and now - self._snapshot_at >= CLIENTS_REFRESH_SECONDS:
                    self._republish_clients()
                if time.monotonic() - self._latest_at >= self.heartbeat_s:
                    self._publish_heartbeat()
        except Exception:  # the thread must say why it died
            log.exception("broadcaster thread failed")
            raise
        finally:
            watcher.close()

    def _refresh(self, force: bool) -> str:
        """Rebuild when the version moved (or ``force``); return built, unchanged or failed."""
        try:
            with bounded(self.deadline_s), Session(self.engine) as session:
                version = current_version(session)
                known = self.fanout.snapshot
                if not force and known is not None and version == known.version:
                    return "unchanged"
                started, queries = time.perf_counter(), _count_queries(session)
                snapshot = self.build(session, clients=self.client_count())
                self.stats.update(
                    builds=self.stats["builds"] + 1,
                    queries_last_build=queries(),
                    build_ms_last=round((time.perf_counter() - started) * 1000, 1),
                )
        except SQLAlchemyError as exc:
            self._failures += 1
            self.database = NOT_ANSWERING if isinstance(exc, DatabaseNotAnswering) else "unreachable"
            if self._failures % 60 == 1:  # the first failure, then about once a minute
                log.warning(
                    "snapshot build failed %d time(s) (%s); keeping the last one",
                    self._failures,
                    exc.__class__.__name__,
                )
            if self._failures == 1:
                self._publish_outage()
            if self.database == NOT_ANSWERING:
                self._publish_heartbeat()  # the build held the thread for its whole deadline
            return "failed"
        except Exception:  # a bug in one build must not end the broadcasts
            self._failures += 1
            if self._failures == 1:
                log.exception("snapshot build raised; retrying every %.0f s", RETRY_SECONDS)
            return "failed"
        if self._failures:
            log.info("snapshot builds work again after %d failures", self._failures)
        self._failures = 0
        self.database = "reachable"
        log.info(
            "snapshot v%s built in %.1f ms, %d queries, %d clients",
            snapshot.get("version"),
            self.stats["build_ms_last"],
            self.stats["queries_last_build"],
            self.client_count(),
        )
        body = json.dumps({k: v for k, v in snapshot.items() if k != "timestamp"}, sort_keys=True, default=str)
        if body == self._snapshot_body:
            return "built"  # a timer rebuild that changed nothing: no push
        self._snapshot_body = body
        self._publish_snapshot(snapshot)
        return "built"

    def _publish_outage(self) -> None:
        """Tell the clients the database stopped answering: the last figures, marked as such."""
        if self._snapshot_data is None:
            return
        last = self._snapshot_data
        alert = {
            "severity": "error",
            "kind": "database_unreachable",
            "message": f"Database {self.database} since {_iso(utcnow())}; figures are from the last successful build",
        }
        self._snapshot_body = None  # the next good build is pushed even if its data did not change
        self._publish_snapshot(
            {
                **last,
                "status": "error",
                "alerts": [alert, *last.get("alerts", [])],
                "system": {**last.get("system", {}), "database": self.database},
            }
        )

    def _republish_clients(self) -> None:
        """Re-send the last snapshot with this process's new client count (no queries)."""
        self.fanout.count_changed = False
        if self._snapshot_data is None or "system" not in self._snapshot_data:
            return
        system = {**self._snapshot_data["system"], "clients": self.client_count()}
        if system != self._snapshot_data["system"]:
            self._publish_snapshot({**self._snapshot_data, "system": system})

    def _publish_snapshot(self, snapshot: dict) -> None:
        self.fanout.count_changed = False
        self._snapshot_data = snapshot
        message = {
            "type": "pipeline_status_update",
            "version": snapshot.get("version"),
            "timestamp": snapshot.get("timestamp") or _iso(utcnow()),
            "data": snapshot,
        }
        self._publish("snapshot", int(snapshot.get("version") or 0), message)

    def _publish_heartbeat(self) -> None:
        version = self.fanout.snapshot.version if self.fanout.snapshot is not None else 0
        beat = {"type": "heartbeat", "version": version, "timestamp": _iso(utcnow()), "database": self.database}
        self._publish("heartbeat", version, beat)

    def _publish(self, kind: str, version: int, message: dict) -> None:
        started = time.perf_counter()
        self._seq += 1
        encoded = Encoded(self._seq, kind, version, json.dumps(message, separators=(",", ":"), default=str).encode())
        whole = self.fanout.publish(encoded)
        self._latest_at = time.monotonic()
        if kind == "snapshot":
            self._snapshot_at = self._latest_at
            log.debug(
                "snapshot v%d (%d bytes) written whole to %d of %d clients in %.1f ms",
                version,
                len(encoded.text),
                whole,
                self.client_count(),
                (time.perf_counter() - started) * 1000,
            )


def _count_queries(session: Session) -> Callable[[], int]:
    """Count the statements ``session`` runs from now on; return a reader of the count."""
    connection = session.connection()
    count = [0]

    def _before(*_args: object) -> None:
        count[0] += 1

    event.listen(connection, "before_cursor_execute", _before)

    def read() -> int:
        event.remove(connection, "before_cursor_execute", _before)
        return count[0]

    return read


def register_broadcaster(app: Flask, hub: Broadcaster) -> None:
    """Make ``hub`` the broadcaster of ``app`` (api/ws.py does when it sets up the socket)."""
    app.extensions[EXTENSION] = hub


def app_broadcaster(app: Flask | None = None) -> Broadcaster | None:
    """Return the broadcaster of ``app`` (default: the current app), None when it has none."""
    return (app or current_app).extensions.get(EXTENSION)
