"""WebSocket bytes on the wire: frames encoded once for every client, bounded sends.

simple-websocket accepts permessage-deflate whenever a browser offers it and then
keeps a zlib compressor per connection (+130-170 KB each). We rewrite the offer
so the server always answers ``server_no_context_takeover`` and
``client_no_context_takeover``: each server message is then compressed on its
own, so one compressed frame (server frames are unmasked) is valid for every
client and the compression runs once per message, not once per client.
"""

from __future__ import annotations

import logging
import select
import socket
import struct
import time
import zlib
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

DEFLATE = "permessage-deflate"
DEFAULT_WINDOW_BITS = 15
# The client's inbound messages are tiny or absent; a small window keeps the
# (rare, per-message) decompressor small without costing anything real.
CLIENT_WINDOW_BITS = 9
PING_FRAME = b"\x89\x00"


class SendTimeout(Exception):
    """A client did not take a message within the send bound."""


def negotiate_deflate(offer_header: str) -> tuple[str, int] | None:
    """Return (rewritten offer, server window bits), or None to decline deflate.

    The rewritten offer makes wsproto answer with both no-context-takeover
    parameters (RFC 7692 lets a server add them to any offer).
    """
    for offer in offer_header.split(","):
        params = [part.strip() for part in offer.split(";")]
        if params[0].lower() != DEFLATE:
            continue
        bits = DEFAULT_WINDOW_BITS
        rewritten = [DEFLATE, "server_no_context_takeover", "client_no_context_takeover"]
        try:
            for param in params[1:]:
                name, _, value = param.partition("=")
                name, value = name.strip().lower(), value.strip().strip('"')
                if name == "server_max_window_bits" and value:
                    bits = int(value)
                    rewritten.append(f"server_max_window_bits={bits}")
                elif name == "client_max_window_bits":
                    rewritten.append(f"client_max_window_bits={CLIENT_WINDOW_BITS}")
        except ValueError:
            continue
        if 9 <= bits <= 15:
            return "; ".join(rewritten), bits
    return None


def frame(payload: bytes, compressed: bool = False) -> bytes:
    """Return one unmasked FIN text frame carrying ``payload``."""
    first = 0x81 | (0x40 if compressed else 0)
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", first, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, 126, size)
    else:
        header = struct.pack("!BBQ", first, 127, size)
    return header + payload


def deflate(payload: bytes, window_bits: int) -> bytes:
    """Compress one message on its own, as permessage-deflate without context takeover."""
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -window_bits)
    data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return data[:-4]  # RFC 7692 7.2.1: drop the trailing 00 00 ff ff


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
            if window_bits:
                packed = deflate(self.text, window_bits)
                cached = frame(packed, True) if len(packed) < len(self.text) else frame(self.text)
            else:
                cached = frame(self.text)
            self._frames[key] = cached
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
            view = view[sock.send(view, socket.MSG_DONTWAIT):]
        except BlockingIOError:
            continue


def send_nowait(sock: socket.socket, data: bytes) -> int:
    """Write what fits in the socket buffer right now; return the bytes written (never blocks)."""
    if GEVENT:
        return sock.send(data, 0, timeout=0.0)  # type: ignore[call-arg]  # gevent: fail instead of waiting
    return sock.send(data, socket.MSG_DONTWAIT)
