"""The clients of one process and how a message reaches them without anyone waiting on anyone.

The publisher writes each new message straight to every idle client with a
non-blocking send (one syscall per client, no task switch): on a healthy socket
the whole frame fits in the kernel buffer. A client that cannot take it all is
handed to its own handler, which finishes the frame with a bounded send and then
catches up with the *latest* message (older ones are superseded, never queued).
Every write to a socket holds its ``write_lock`` (the publisher only tries it), and
a half-written frame is finished before anything else, so frames never interleave,
not even with the pongs simple-websocket's reader sends (``control_writer``).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from api.wire import Encoded, SendTimeout, send_bounded, send_nowait


class CapacityError(Exception):
    """The process already serves its maximum number of WebSocket clients."""


@dataclass(eq=False)
class Subscription:
    """One client: its socket, what it has been sent, and who may write to it now."""

    id: int
    wake: threading.Event = field(default_factory=threading.Event, repr=False)
    sock: socket.socket | None = field(default=None, repr=False)
    window_bits: int | None = None
    sent_seq: int = 0
    sent_snapshot_seq: int = 0
    write_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    pending: bytes = field(default=b"", repr=False)  # the rest of a frame the publisher half wrote
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
            sub.sock = None
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
        if sub.sock is None or sub.broken:
            return False
        message = self._due(sub)
        if message is None:
            return False
        if not sub.write_lock.acquire(blocking=False):
            sub.wake.set()  # someone is writing to it: its handler catches up afterwards
            return False
        try:
            if sub.pending:
                sub.wake.set()
                return False
            return self._write_now(sub, message)
        finally:
            sub.write_lock.release()

    def _write_now(self, sub: Subscription, message: Encoded) -> bool:
        data = message.frame_for(sub.window_bits)
        try:
            sent = send_nowait(sub.sock, data)  # type: ignore[arg-type]
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
            sub.pending = data[sent:]
            sub.wake.set()
            return False
        return True

    # -- a handler's (or the reader's) side ----------------------------------------------
    def _acquire(self, sub: Subscription, timeout: float) -> None:
        if not sub.write_lock.acquire(timeout=timeout):
            raise SendTimeout(f"socket busy for {timeout:g} s")

    def _flush_pending(self, sub: Subscription, sock: socket.socket, timeout: float) -> None:
        if sub.pending:
            data, sub.pending = sub.pending, b""
            send_bounded(sock, data, timeout)

    def catch_up(self, sub: Subscription, timeout: float) -> None:
        """Finish a half-written frame, then send what is due; raise SendTimeout past ``timeout``."""
        self._acquire(sub, timeout)
        try:
            while (sock := sub.sock) is not None:
                self._flush_pending(sub, sock, timeout)
                with self._lock:
                    message = self._due(sub)
                    if message is None:
                        return
                    data = self._mark(sub, message)
                send_bounded(sock, data, timeout)
        finally:
            sub.write_lock.release()

    def control_writer(self, sub: Subscription, sock: socket.socket, timeout: float) -> Callable[[bytes], None]:
        """Return a writer of control replies between whole frames (TimeoutError when the client stalls)."""

        def write(data: bytes) -> None:
            try:
                self.send_control(sub, sock, data, timeout)
            except SendTimeout as exc:
                raise TimeoutError(str(exc)) from None

        return write

    def send_control(self, sub: Subscription, sock: socket.socket, data: bytes, timeout: float) -> None:
        """Send a frame of our own (ping, pong, close) between whole frames, with a bound."""
        self._acquire(sub, timeout)
        try:
            self._flush_pending(sub, sock, timeout)
            send_bounded(sock, data, timeout)
        finally:
            sub.write_lock.release()
