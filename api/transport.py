"""The WebSocket libraries' adapter: every touch of flask-sock/simple-websocket/wsproto internals.

Pinned: flask-sock 0.7.0, simple-websocket 1.1.0, wsproto 1.3.2 (requirements.txt).
tests/api/test_transport_contract.py fails when an upgrade changes what this relies on:

- simple-websocket's ``Server`` keeps the socket in ``sock`` and its reader thread reads
  and writes (pongs, close replies) through that attribute, so swapping it routes the
  reader's writes; ``ws`` is its wsproto connection (our close frames move its state),
  ``connected``, ``pong_received`` (set by the reader on a pong) and ``input_buffer``
  (received messages) are plain attributes.
- simple-websocket rebuilds the handshake from the environ's ``HTTP_*`` keys and accepts
  wsproto's ``PerMessageDeflate()`` against the client's offer, so rewriting
  ``HTTP_SEC_WEBSOCKET_EXTENSIONS`` decides the parameters it answers.

Frames are built by wsproto's frame layer (``wsproto.connection.Connection``, the part
of ``WSConnection`` after the handshake), byte for byte the frames we used to encode by
hand; it costs ~15-35 us more per message and nothing per client, since every client
shares the bytes (bench/ws_frames.py, bench/README.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, MutableMapping
from typing import Any

from simple_websocket import Server
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection
from wsproto.events import CloseConnection, Ping, TextMessage
from wsproto.extensions import Extension, PerMessageDeflate
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

PINNED = {"flask-sock": "0.7.0", "simple-websocket": "1.1.0", "wsproto": "1.3.2"}
EXTENSIONS_KEY = "HTTP_SEC_WEBSOCKET_EXTENSIONS"
DEFLATE = "permessage-deflate"
DEFAULT_WINDOW_BITS = 15
# The client's inbound messages are tiny or absent; a small window keeps the
# (rare, per-message) decompressor small without costing anything real.
CLIENT_WINDOW_BITS = 9
FrameRefused = LocalProtocolError  # what wsproto raises for a frame the connection state forbids (a second close)


# -- the handshake ------------------------------------------------------------------
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


def rewrite_deflate_offer(environ: MutableMapping[str, Any]) -> int | None:
    """Make simple-websocket answer shared-frame deflate terms, or none; return the server window bits."""
    offer = environ.get(EXTENSIONS_KEY)
    if offer is None:
        return None
    negotiated = negotiate_deflate(offer)
    if negotiated is None:
        del environ[EXTENSIONS_KEY]
        return None
    environ[EXTENSIONS_KEY], bits = negotiated
    return bits


def handshake_request(environ: MutableMapping[str, Any]) -> bytes:
    """Return the upgrade request as simple-websocket rebuilds it from the environ for wsproto."""
    lines = [
        f"{'-'.join(p.capitalize() for p in key[5:].split('_'))}: {value}"
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    return ("GET / HTTP/1.1\r\n" + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode()


def handshake_problem(environ: MutableMapping[str, Any]) -> str | None:
    """Parse the handshake as simple-websocket will (wsproto); return its complaint, if any."""
    probe = WSConnection(ConnectionType.SERVER)
    try:
        probe.receive_data(handshake_request(environ))
        for _event in probe.events():
            pass
    except (RemoteProtocolError, UnicodeEncodeError) as exc:
        return str(exc) or exc.__class__.__name__
    return None


# -- frames (wsproto's public API; server frames are unmasked, so clients share them) --
class _Framer:
    """A server-side wsproto frame layer kept open for framing messages, one at a time.

    Without context takeover wsproto drops its compressor after each message, so one
    connection frames every message alike (and saves building one per message).
    """

    def __init__(self, window_bits: int | None) -> None:
        extensions: list[Extension] = []
        if window_bits:
            deflate = PerMessageDeflate()
            deflate.accept(f"{DEFLATE}; server_no_context_takeover; server_max_window_bits={window_bits}")
            extensions.append(deflate)
        self._conn = Connection(ConnectionType.SERVER, extensions=extensions)
        self._lock = threading.Lock()

    def frame(self, text: str) -> bytes:
        """Return one FIN text frame of ``text``."""
        with self._lock:
            return bytes(self._conn.send(TextMessage(data=text)))


_framers: dict[int, _Framer] = {}


def _framer(window_bits: int | None) -> _Framer:
    key = window_bits or 0
    framer = _framers.get(key)
    if framer is None:
        framer = _framers.setdefault(key, _Framer(window_bits))
    return framer


def text_frame(text: bytes, window_bits: int | None) -> bytes:
    """Return one FIN text frame of ``text``, compressed on its own when that makes it shorter."""
    decoded = text.decode()
    if not window_bits:
        return _framer(None).frame(decoded)
    packed = _framer(window_bits).frame(decoded)
    if len(packed) < len(text):  # shorter than the bare payload: shorter than the plain frame
        return packed
    plain = _framer(None).frame(decoded)
    return packed if len(packed) < len(plain) else plain


PING_FRAME = bytes(Connection(ConnectionType.SERVER).send(Ping()))


# -- one upgraded connection -----------------------------------------------------------
class ReaderSocket:
    """The socket as simple-websocket's reader sees it: reads pass through, writes go to ``write``.

    The reader answers pings and close frames with ``sock.send``; ``write`` sends them
    whole, between our frames, and raises TimeoutError when the client stalls.
    """

    def __init__(self, raw: Any, write: Callable[[bytes], None]) -> None:
        self.raw, self.write = raw, write

    def recv(self, size: int) -> bytes:
        """Read from the client."""
        return self.raw.recv(size)

    def send(self, data: bytes) -> int:
        """Write a control reply whole."""
        self.write(data)
        return len(data)

    def shutdown(self, how: int) -> None:
        """Shut the connection down."""
        self.raw.shutdown(how)

    def close(self) -> None:
        """Close the socket."""
        self.raw.close()

    def fileno(self) -> int:
        """Return the file descriptor."""
        return self.raw.fileno()


class Link:
    """One flask-sock connection (a simple-websocket ``Server``) as our handler drives it."""

    def __init__(self, ws: Server) -> None:
        self.ws = ws
        self.raw = ws.sock  # the real socket, before route_reader_writes swaps it

    def route_reader_writes(self, write: Callable[[bytes], None]) -> None:
        """Send the reader thread's pongs and close replies through ``write``."""
        self.ws.sock = ReaderSocket(self.raw, write)

    @property
    def connected(self) -> bool:
        """True until either side closed the connection."""
        return bool(self.ws.connected)

    def mark_closed(self) -> None:
        """Tell simple-websocket the connection is over (its reader and close() stop)."""
        self.ws.connected = False

    def take_pong(self) -> bool:
        """Return whether a pong arrived since the last call."""
        received = bool(self.ws.pong_received)
        self.ws.pong_received = False
        return received

    def discard_input(self) -> None:
        """Drop the messages received so far (clients have nothing to tell us)."""
        self.ws.input_buffer.clear()

    def close_frame(self, code: int, reason: str) -> bytes:
        """Return a close frame and move the protocol state to closing (FrameRefused once closing)."""
        return bytes(self.ws.ws.send(CloseConnection(code, reason)))
