"""Contract of api/transport.py with the pinned flask-sock/simple-websocket/wsproto internals.

Each test drives a real simple-websocket ``Server`` over a socket pair (its reader thread
included) and checks one internal the adapter relies on; a failure after an upgrade names
what changed, before the app breaks in production.
"""

from __future__ import annotations

import contextlib
import inspect
import socket
import time
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path

import flask_sock
import pytest
import simple_websocket.ws
from simple_websocket import Server
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection, ConnectionState
from wsproto.events import CloseConnection, Event, Ping, Pong, TextMessage
from wsproto.extensions import PerMessageDeflate

from api.broadcaster import app_broadcaster
from api.transport import (
    PING_FRAME,
    PINNED,
    FrameRefused,
    Link,
    handshake_problem,
    handshake_request,
    rewrite_deflate_offer,
    text_frame,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"


def environ_for(sock: socket.socket, **headers: str) -> dict:
    """Return a WSGI environ for an upgrade on ``sock``, as Werkzeug's server hands it over."""
    env = {
        "werkzeug.socket": sock,
        "HTTP_HOST": "localhost",
        "HTTP_UPGRADE": "websocket",
        "HTTP_CONNECTION": "Upgrade",
        "HTTP_SEC_WEBSOCKET_VERSION": "13",
        "HTTP_SEC_WEBSOCKET_KEY": KEY,
    }
    env.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    return env


def read_response(client: socket.socket) -> bytes:
    """Read the server's handshake answer."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += client.recv(4096)
    return data


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    server_end, client_end = socket.socketpair()
    client_end.settimeout(5)
    yield server_end, client_end
    client_end.close()
    server_end.close()


@pytest.fixture
def upgraded(pair) -> Iterator[tuple[Server, socket.socket]]:
    server_end, client_end = pair
    ws = Server(environ_for(server_end))
    read_response(client_end)
    yield ws, client_end
    ws.connected = False


def client_frames(data: bytes, deflate: bool = False) -> list[Event]:
    """Decode server frames as a client would (wsproto's frame layer)."""
    extensions = []
    if deflate:
        extension = PerMessageDeflate()
        extension.finalize("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        extensions.append(extension)
    conn = Connection(ConnectionType.CLIENT, extensions=extensions)
    conn.receive_data(data)
    return list(conn.events())


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``check`` until it holds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


# -- the pins ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PINNED))
def test_the_installed_versions_are_the_ones_the_adapter_states(name: str) -> None:
    assert version(name) == PINNED[name], f"{name} changed: re-check api/transport.py's contract, then the pin"
    assert f"{name}=={PINNED[name]}" in REQUIREMENTS.read_text().splitlines()


# -- the handshake ---------------------------------------------------------------------------------
def test_simple_websocket_feeds_wsproto_the_request_the_adapter_rebuilds(pair, monkeypatch) -> None:
    fed: list[bytes] = []

    class Recording(WSConnection):
        def receive_data(self, data: bytes | None) -> None:
            fed.append(data or b"")
            super().receive_data(data)

    monkeypatch.setattr(simple_websocket.ws, "WSConnection", Recording)
    env = environ_for(pair[0], Origin="http://localhost", Sec_WebSocket_Protocol="nvcd.v1")
    Server(env, subprotocols=["nvcd.v1"]).connected = False
    assert fed[0] == handshake_request(env)


def test_the_probe_reports_what_wsproto_refuses() -> None:
    env = environ_for(socket.socket())
    assert handshake_problem(env) is None
    del env["HTTP_HOST"]
    assert handshake_problem(env)


@pytest.mark.parametrize(
    ("offer", "answer"),
    [
        (
            "permessage-deflate; client_max_window_bits",
            b"permessage-deflate; client_no_context_takeover; server_no_context_takeover; client_max_window_bits=9",
        ),
        ("permessage-deflate", b"permessage-deflate; client_no_context_takeover; server_no_context_takeover"),
        ("x-webkit-deflate-frame", None),
    ],
)
def test_the_rewritten_offer_is_what_the_server_answers(pair, offer: str, answer: bytes | None) -> None:
    env = environ_for(pair[0], Sec_WebSocket_Extensions=offer)
    bits = rewrite_deflate_offer(env)
    ws = Server(env)
    response = read_response(pair[1])
    ws.connected = False
    header = [line for line in response.split(b"\r\n") if line.lower().startswith(b"sec-websocket-extensions:")]
    if answer is None:
        assert bits is None and header == []
    else:
        assert bits == 15 and header and header[0].split(b":", 1)[1].strip() == answer


def test_flask_sock_builds_the_server_from_the_rewritten_environ_and_our_options(app, client, monkeypatch) -> None:
    seen: dict = {}

    class Stop(Exception):
        pass

    def server(environ: dict, **options: object) -> None:
        seen.update(offer=environ.get("HTTP_SEC_WEBSOCKET_EXTENSIONS"), options=options)
        raise Stop

    monkeypatch.setattr(flask_sock, "Server", server)
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": KEY,
        "Sec-WebSocket-Extensions": "permessage-deflate",
    }
    with contextlib.suppress(Stop):
        client.get("/api/v1/ws/monitoring/pipeline-status", headers=headers)
    assert seen == {
        "offer": "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        "options": app.config["SOCK_SERVER_OPTIONS"],
    }
    assert app_broadcaster(app).client_count() == 0  # the slot is released however the request ends
    assert set(app.config["SOCK_SERVER_OPTIONS"]) <= set(inspect.signature(Server).parameters)


# -- one connection ----------------------------------------------------------------------------------
def test_the_reader_writes_its_pongs_through_the_swapped_socket(upgraded) -> None:
    ws, client = upgraded
    link = Link(ws)
    assert link.raw is ws.sock and link.connected
    written: list[bytes] = []
    link.route_reader_writes(written.append)
    client.sendall(Connection(ConnectionType.CLIENT).send(Ping(b"hi")))
    wait_until(lambda: bool(written))
    assert client_frames(written[0]) == [Pong(b"hi")]


def test_pongs_and_messages_land_in_the_attributes_the_link_reads(upgraded) -> None:
    ws, client = upgraded
    link = Link(ws)
    assert link.take_pong() is True and link.take_pong() is False  # a fresh connection counts as answered
    client.sendall(Connection(ConnectionType.CLIENT).send(Pong(b"")))
    wait_until(lambda: bool(ws.pong_received))
    assert link.take_pong() is True and link.take_pong() is False
    client.sendall(Connection(ConnectionType.CLIENT).send(TextMessage("hello")))
    wait_until(lambda: bool(ws.input_buffer))
    link.discard_input()
    assert ws.input_buffer == []


def test_a_close_frame_moves_the_connection_state_and_cannot_be_sent_twice(upgraded) -> None:
    ws, _client = upgraded
    link = Link(ws)
    frame = link.close_frame(1001, "Server shutting down")
    assert client_frames(frame) == [CloseConnection(1001, "Server shutting down")]
    assert ws.ws.state is ConnectionState.LOCAL_CLOSING
    with pytest.raises(FrameRefused):
        link.close_frame(1001, "again")
    link.mark_closed()
    assert not link.connected and not ws.connected


# -- frames ------------------------------------------------------------------------------------------
def test_one_frame_decodes_on_its_own_for_every_client() -> None:
    text = ('{"data":"' + "kaduna " * 500 + '"}').encode()
    packed = text_frame(text, 15)
    assert packed[0] == 0xC1 and len(packed) < len(text)
    assert text_frame(text, 15) == packed  # the kept frame layer starts every message afresh
    for _client in range(2):
        assert [e.data for e in client_frames(packed, deflate=True)] == [text.decode()]
    plain = text_frame(text, None)
    assert plain[0] == 0x81 and [e.data for e in client_frames(plain)] == [text.decode()]
    assert text_frame(b"{}", 15) == text_frame(b"{}", None) == b"\x81\x02{}"  # deflate only when shorter
    assert client_frames(PING_FRAME) == [Ping(b"")] and PING_FRAME == b"\x89\x00"
