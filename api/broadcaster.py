"""One broadcaster per worker process: build the snapshot once per change, encode it once.

The broadcaster thread (a greenlet under gunicorn's gevent worker) waits on a
change watcher, rebuilds the snapshot when the version moved (or on a timer,
since silence and anomalies depend on the clock), and publishes the encoded
message under a Condition. Each connection's handler wakes, takes the *latest*
message and sends it itself with a bounded send, so a stalled client only ever
delays its own handler, and older messages are superseded rather than queued.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from api.wire import Encoded
from models import current_version, utcnow
from status.watch import ChangeWatcher, make_watcher

log = logging.getLogger(__name__)

BuildFn = Callable[..., dict]
RETRY_SECONDS = 1.0
# A changed client count is re-sent at most this often (re-encoded, no queries), so a
# burst of connections costs one push, not one per connection.
CLIENTS_REFRESH_SECONDS = 2.0


class CapacityError(Exception):
    """The process already serves its maximum number of WebSocket clients."""


class BroadcasterStopped(Exception):
    """The broadcaster is shutting down; clients should be closed with 1001."""


@dataclass
class Subscription:
    """One client's place in the broadcast: what it has been sent so far."""

    id: int
    sent_seq: int = 0
    sent_snapshot_seq: int = 0


def _iso(moment: object) -> str:
    return moment.isoformat().replace("+00:00", "Z")  # type: ignore[attr-defined]


class Broadcaster:
    """Build, encode and publish the pipeline status for every client of this process."""

    def __init__(self, engine: Engine, build: BuildFn, *, max_clients: int, heartbeat_s: float,
                 rebuild_s: float, poll_s: float = 1.0,
                 watcher_factory: Callable[[Engine, float], ChangeWatcher] = make_watcher) -> None:
        self.engine = engine
        self.build = build
        self.max_clients = max_clients
        self.heartbeat_s = heartbeat_s
        self.rebuild_s = rebuild_s
        self.poll_s = poll_s
        self.watcher_factory = watcher_factory
        self.pid: int | None = None
        self.stopping = False
        self.stats = {"builds": 0, "queries_last_build": 0, "build_ms_last": 0.0, "dropped": 0}
        self._cond = threading.Condition()
        self._clients: dict[int, Subscription] = {}
        self._next_id = 0
        self._seq = 0
        self._snapshot: Encoded | None = None
        self._latest: Encoded | None = None
        self._snapshot_body: str | None = None
        self._snapshot_data: dict | None = None
        self._clients_dirty = False
        self._latest_at = 0.0
        self._failures = 0
        self._thread: threading.Thread | None = None

    # -- clients -------------------------------------------------------------
    def client_count(self) -> int:
        """Return the number of connected clients in this process."""
        return len(self._clients)

    def reserve(self) -> Subscription:
        """Take a client slot or raise CapacityError (checked before the upgrade)."""
        with self._cond:
            if self.stopping:
                raise CapacityError("shutting down")
            if len(self._clients) >= self.max_clients:
                raise CapacityError(f"{len(self._clients)} clients connected (limit {self.max_clients})")
            self._next_id += 1
            sub = Subscription(self._next_id)
            self._clients[sub.id] = sub
            self._clients_dirty = True
            return sub

    def release(self, sub: Subscription) -> None:
        """Give a client slot back (idempotent)."""
        with self._cond:
            if self._clients.pop(sub.id, None) is not None:
                self._clients_dirty = True

    def next_message(self, sub: Subscription, timeout: float) -> Encoded | None:
        """Wait up to ``timeout`` for something ``sub`` has not had; return the latest of it.

        A client behind on snapshots gets the newest snapshot (older ones are
        superseded); a client up to date gets the newest heartbeat, if any.
        Raises BroadcasterStopped when the process is shutting down.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self.stopping:
                    raise BroadcasterStopped()
                if self._latest is not None and self._latest.seq > sub.sent_seq:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            snapshot, latest = self._snapshot, self._latest
        if snapshot is not None and snapshot.seq > sub.sent_snapshot_seq:
            sub.sent_snapshot_seq = snapshot.seq
        else:
            snapshot = latest
        sub.sent_seq = latest.seq
        return snapshot

    # -- lifecycle -----------------------------------------------------------
    def ensure_started(self) -> None:
        """Start the broadcaster thread once per process (safe after fork)."""
        if self.pid == os.getpid() and self._thread is not None:
            return
        with self._cond:
            if self.pid == os.getpid() and self._thread is not None:
                return
            self.pid = os.getpid()
            self.stopping = False
            self._thread = threading.Thread(target=self._run, name="ws-broadcaster", daemon=True)
            self._thread.start()
        log.info("broadcaster started in pid %d", self.pid)

    def stop(self) -> None:
        """Ask the thread and every client handler to finish (handlers close with 1001)."""
        with self._cond:
            self.stopping = True
            self._cond.notify_all()

    def join(self, timeout: float) -> bool:
        """Wait until every client handler has gone; True when none is left."""
        deadline = time.monotonic() + timeout
        while self._clients and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self._clients

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
                    clients_in = CLIENTS_REFRESH_SECONDS - (now - self._latest_at) if self._clients_dirty else 1.0
                    changed = watcher.wait(max(min(next_rebuild - now, heartbeat_in, clients_in, 1.0), 0.0))
                    if self.stopping:
                        break
                if force or changed:
                    outcome = self._refresh(force)
                    if outcome == "failed":
                        next_rebuild = time.monotonic() + RETRY_SECONDS
                    elif outcome == "built":
                        next_rebuild = time.monotonic() + self.rebuild_s
                since = time.monotonic() - self._latest_at
                if self._clients_dirty and since >= CLIENTS_REFRESH_SECONDS:
                    self._republish_clients()
                elif since >= self.heartbeat_s:
                    self._publish_heartbeat()
        except Exception:  # noqa: BLE001 - the thread must say why it died
            log.exception("broadcaster thread failed")
            raise
        finally:
            watcher.close()

    def _refresh(self, force: bool) -> str:
        """Rebuild when the version moved (or ``force``); return built, unchanged or failed."""
        try:
            with Session(self.engine) as session:
                version = current_version(session)
                if not force and self._snapshot is not None and version == self._snapshot.version:
                    return "unchanged"
                started, queries = time.perf_counter(), _count_queries(session)
                snapshot = self.build(session, clients=self.client_count())
                self.stats.update(builds=self.stats["builds"] + 1, queries_last_build=queries(),
                                  build_ms_last=round((time.perf_counter() - started) * 1000, 1))
        except SQLAlchemyError as exc:
            self._failures += 1
            log.warning("snapshot build failed (%s); keeping the last one", exc.__class__.__name__)
            return "failed"
        except Exception:  # noqa: BLE001 - a bug in one build must not end the broadcasts
            self._failures += 1
            if self._failures == 1:
                log.exception("snapshot build raised; retrying every %.0f s", RETRY_SECONDS)
            return "failed"
        self._failures = 0
        log.info("snapshot v%s built in %.1f ms, %d queries, %d clients", snapshot.get("version"),
                 self.stats["build_ms_last"], self.stats["queries_last_build"], self.client_count())
        body = json.dumps({k: v for k, v in snapshot.items() if k != "timestamp"}, sort_keys=True, default=str)
        if body == self._snapshot_body:
            return "built"  # a timer rebuild that changed nothing: no push
        self._snapshot_body = body
        self._publish_snapshot(snapshot)
        return "built"

    def _republish_clients(self) -> None:
        """Re-send the last snapshot with this process's new client count (no queries)."""
        self._clients_dirty = False
        if self._snapshot_data is None or "system" not in self._snapshot_data:
            return
        system = {**self._snapshot_data["system"], "clients": self.client_count()}
        if system != self._snapshot_data["system"]:
            self._publish_snapshot({**self._snapshot_data, "system": system})

    def _publish_snapshot(self, snapshot: dict) -> None:
        self._clients_dirty = False
        self._snapshot_data = snapshot
        message = {"type": "pipeline_status_update", "version": snapshot.get("version"),
                   "timestamp": snapshot.get("timestamp") or _iso(utcnow()), "data": snapshot}
        self._publish("snapshot", int(snapshot.get("version") or 0), message)

    def _publish_heartbeat(self) -> None:
        version = self._snapshot.version if self._snapshot is not None else 0
        self._publish("heartbeat", version, {"type": "heartbeat", "version": version, "timestamp": _iso(utcnow())})

    def _publish(self, kind: str, version: int, message: dict) -> None:
        text = json.dumps(message, separators=(",", ":"), default=str).encode()
        with self._cond:
            self._seq += 1
            encoded = Encoded(self._seq, kind, version, text)
            if kind == "snapshot":
                encoded.frame_for(None)
                self._snapshot = encoded
            self._latest, self._latest_at = encoded, time.monotonic()
            self._cond.notify_all()


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
