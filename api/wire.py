"""WebSocket bytes on the wire: each message framed once for every client, bounded sends.

simple-websocket accepts permessage-deflate whenever a browser offers it and then
keeps a zlib compressor per connection (+130-170 KB each). The handshake is
rewritten (api/transport.py) so the server always answers ``server_no_context_takeover``
and ``client_no_context_takeover``: each server message is then compressed on its
own, so one compressed frame (server frames are unmasked) is valid for every
client and the compression runs once per message, not once per client.
"""

from __future__ import annotations

import logging
import select
import socket
import time
from dataclasses import dataclass, field

from api.transport import text_frame

log = logging.getLogger(__name__)


class SendTimeout(Exception):
    """A client did not take a message within the send bound."""


@dataclass
class Encoded:
    """One outgoing message, JSON-encoded once, with frames built once per variant."""

    seq: int
    kind: str
    version: int
    text: bytes
    _frames: dict[int, bytes] = field(default_factory=dict, repr=False)

    def frame_for(self, window_bits: int | None) -> bytes:
        """Return the frame for a client (None: no deflate, else its window bits)."""
        key = window_bits or 0
        cached = self._frames.get(key)
        if cached is None:
            cached = self._frames[key] = text_frame(self.text, window_bits)
        return cached


def _gevent_sockets() -> bool:
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")


GEVENT = _gevent_sockets()


def send_bounded(sock: socket.socket, data: bytes, timeout: float) -> None:
    """Send all of ``data`` within ``timeout`` seconds or raise SendTimeout.

    simple-websocket's own send() ignores partial writes (corrupt frames under
    gevent) and a socket timeout would also hit its reader, so we bound the
    write alone.
    """
    if GEVENT:
        import gevent

        try:
            with gevent.Timeout(timeout, SendTimeout):
                sock.sendall(data)
        except SendTimeout:
            raise SendTimeout(f"client took no data for {timeout:g} s") from None
        return
    view = memoryview(data)
    deadline = time.monotonic() + timeout
    poller = select.poll()
    poller.register(sock, select.POLLOUT)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not poller.poll(remaining * 1000):
            raise SendTimeout(f"client took no data for {timeout:g} s")
        try:
            view = view[sock.send(view, socket.MSG_DONTWAIT) :]
        except BlockingIOError:
            continue


def send_nowait(sock: socket.socket, data: bytes) -> int:
    """Write what fits in the socket buffer right now; return the bytes written (never blocks)."""
    if GEVENT:
        return sock.send(data, 0, timeout=0.0)  # type: ignore[call-arg]  # gevent: fail instead of waiting
    return sock.send(data, socket.MSG_DONTWAIT)
