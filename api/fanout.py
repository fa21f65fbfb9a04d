"""The clients of one process and how a message reaches them without anyone waiting on anyone.

The publisher writes each new message straight to every idle client with a
non-blocking send (one syscall per client, no task switch): on a healthy socket
the whole frame fits in the kernel buffer. A client that cannot take it all is
handed to its own handler, which finishes the frame with a bounded send and then
catches up with the *latest* message (older ones are superseded, never queued).
While a handler writes, the publisher keeps off that socket (``busy``), so frames
never interleave.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

from api.wire import Encoded, send_bounded, send_nowait


class CapacityError(Exception):
    """The process already serves its maximum number of WebSocket clients."""


class BroadcasterStopped(Exception):
    """The process is shutting down; clients should be closed with 1001."""


@dataclass(eq=False)
class Subscription:
    """One client: its socket, what it has been sent, and who may write to it now."""

    id: int
    wake: threading.Event = field(default_factory=threading.Event, repr=False)
    sock: socket.socket | None = field(default=None, repr=False)
    window_bits: int | None = None
    sent_seq: int = 0
    sent_snapshot_seq: int = 0
    busy: bool = False  # its handler is writing (or must finish ``pending``): publisher keeps off
    pending: bytes = field(default=b"", repr=False)
    broken: bool = False


class Fanout:
    """Client slots, the latest snapshot and message, and the writes that deliver them."""

    def __init__(self, max_clients: int) -> None:
        self.max_clients = max_clients
        self.stopping = False
        self.count_changed = False
        self.snapshot: Encoded | None = None
        self.latest: Encoded | None = None
        self._lock = threading.Lock()
        self._clients: dict[int, Subscription] = {}
        self._next_id = 0

    def count(self) -> int:
        """Return the number of clients holding a slot."""
        return len(self._clients)

    def reserve(self) -> Subscription:
        """Take a client slot or raise CapacityError."""
        with self._lock:
            if self.stopping:
                raise CapacityError("shutting down")
            if len(self._clients) >= self.max_clients:
                raise CapacityError(f"{len(self._clients)} clients connected (limit {self.max_clients})")
            self._next_id += 1
            sub = self._clients[self._next_id] = Subscription(self._next_id)
            self.count_changed = True
            return sub

    def release(self, sub: Subscription) -> None:
        """Give a slot back (idempotent); the publisher never touches the socket again."""
        with self._lock:
            sub.busy, sub.sock = True, None
            if self._clients.pop(sub.id, None) is not None:
                self.count_changed = True

    def attach(self, sub: Subscription, sock: socket.socket, window_bits: int | None) -> None:
        """Let the publisher write to an upgraded connection."""
        with self._lock:
            sub.sock, sub.window_bits = sock, window_bits

    def stop(self) -> None:
        """Mark the process as stopping and wake every handler."""
        with self._lock:
            self.stopping = True
            clients = list(self._clients.values())
        for sub in clients:
            sub.wake.set()

    # -- the publisher's side ---------------------------------------------------
    def publish(self, message: Encoded) -> int:
        """Make ``message`` the latest, write it to every idle client; return how many took it whole."""
        with self._lock:
            if message.kind == "snapshot":
                self.snapshot = message
            self.latest = message
            return sum(self._offer(sub) for sub in self._clients.values())

    def _due(self, sub: Subscription) -> Encoded | None:
        """Return what ``sub`` should get next: a newer snapshot first, else the newest message."""
        if self.snapshot is not None and self.snapshot.seq > sub.sent_snapshot_seq:
            return self.snapshot
        if self.latest is not None and self.latest.seq > sub.sent_seq:
            return self.latest
        return None

    def _mark(self, sub: Subscription, message: Encoded) -> bytes:
        sub.sent_seq = max(sub.sent_seq, message.seq, self.latest.seq if self.latest else 0)
        if message.kind == "snapshot":
            sub.sent_snapshot_seq = message.seq
        return message.frame_for(sub.window_bits)

    def _offer(self, sub: Subscription) -> bool:
        if sub.sock is None or sub.busy or sub.broken:
            return False
        message = self._due(sub)
        if message is None:
            return False
        data = message.frame_for(sub.window_bits)
        try:
            sent = send_nowait(sub.sock, data)
        except BlockingIOError:
            sent = 0
        except OSError:
            sub.broken = True
            sub.wake.set()
            return False
        if sent == 0:
            sub.wake.set()  # nothing written: its handler catches up, with a bound
            return False
        self._mark(sub, message)
        if sent < len(data):
            sub.pending, sub.busy = data[sent:], True
            sub.wake.set()
            return False
        return True

    # -- a handler's side ------------------------------------------------------------
    def catch_up(self, sub: Subscription, timeout: float) -> None:
        """Finish a partly written frame, then send what is due; raise SendTimeout past ``timeout``."""
        while True:
            with self._lock:
                if sub.sock is None:
                    return
                if sub.pending:
                    data, sub.pending = sub.pending, b""
                else:
                    message = self._due(sub)
                    if message is None:
                        sub.busy = False
                        return
                    data = self._mark(sub, message)
                sub.busy = True
            send_bounded(sub.sock, data, timeout)

    def send_own(self, sub: Subscription, data: bytes, timeout: float) -> None:
        """Send a frame of the handler's own (a ping) once nothing else is in flight."""
        self.catch_up(sub, timeout)
        with self._lock:
            sub.busy = True
        send_bounded(sub.sock, data, timeout)  # type: ignore[arg-type]
        self.catch_up(sub, timeout)
