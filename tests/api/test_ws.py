"""The pipeline-status WebSocket: admission rules in-process, behaviour under real gunicorn."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from api.access import token_ok
from api.handshake import origin_allowed
from api.transport import negotiate_deflate, text_frame
from api.wire import Encoded
from api.ws import ROUTES, broadcaster
from tests.servers import LiveServer
from tests.status.builders import add_events, add_run, commit

UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FAST = {
    "WS_HEARTBEAT_SECONDS": "0.5",
    "WS_POLL_SECONDS": "0.1",
    "WS_SEND_TIMEOUT_SECONDS": "1",
    "WS_PING_SECONDS": "2",
    "WS_REBUILD_SECONDS": "30",
}


# -- wire helpers -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("offer", "expected"),
    [
        (
            "permessage-deflate; client_max_window_bits",
            (
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=9",
                15,
            ),
        ),
        ("permessage-deflate", ("permessage-deflate; server_no_context_takeover; client_no_context_takeover", 15)),
        (
            "x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=10",
            (
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10",
                10,
            ),
        ),
        ("permessage-deflate; server_max_window_bits=8", None),
        ("permessage-deflate; server_max_window_bits=x", None),
        ("x-webkit-deflate-frame", None),
    ],
)
def test_negotiate_deflate_always_answers_without_context_takeover(offer: str, expected: object) -> None:
    assert negotiate_deflate(offer) == expected


def test_one_compressed_frame_decodes_on_its_own_for_every_client() -> None:
    text = json.dumps({"type": "pipeline_status_update", "data": ["kaduna"] * 500}).encode()
    message = Encoded(1, "snapshot", 1, text)
    wire = message.frame_for(15)
    assert wire[0] == 0xC1 and wire is message.frame_for(15)  # FIN + RSV1 + text; built once
    payload = wire[4:] if wire[1] == 126 else wire[2:]
    for _client in range(2):  # a fresh decompressor per message: no shared context needed
        assert zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff") == text
    assert message.frame_for(None) == text_frame(text, None) and text_frame(text, None)[0] == 0x81
    assert len(text_frame(text, 9)) < len(text)


@pytest.mark.parametrize(
    ("origin", "own", "allowed", "ok"),
    [
        (None, "https://monitor.example/", [], True),
        ("https://monitor.example", "https://monitor.example/", [], True),
        ("https://Monitor.example:443", "https://monitor.example/", [], True),
        ("http://monitor.example", "https://monitor.example/", [], False),  # the scheme counts
        ("https://monitor.example", "http://monitor.example/", [], False),
        ("https://monitor.example:8443", "https://monitor.example/", [], False),  # so does the port
        ("https://evil.example", "https://monitor.example/", [], False),
        ("https://monitor.example.evil.example", "https://monitor.example/", [], False),
        ("null", "https://monitor.example/", [], False),
        ("https://partner.example", "https://monitor.example/", ["https://partner.example/"], True),
        ("http://partner.example", "https://monitor.example/", ["https://partner.example"], False),
        ("https://monitor.example", "https://monitor.example/", ["https://partner.example"], False),
        ("https://anything.example", "https://monitor.example/", ["*"], True),
    ],
)
def test_origin_rule(origin: str | None, own: str, allowed: list[str], ok: bool) -> None:
    assert origin_allowed(origin, own, allowed) is ok


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ({"Authorization": "Bearer s3cret"}, True),
        ({"Sec-WebSocket-Protocol": "nvcd.v1, token.s3cret"}, True),
        ({"Cookie": "nvcd_ws_token=s3cret"}, True),
        ({"Authorization": "Bearer wrong"}, False),
        ({}, False),
    ],
)
def test_access_token_sources(app, headers: dict[str, str], ok: bool) -> None:
    with app.test_request_context("/ws/monitoring/pipeline-status", headers=headers):
        assert token_ok("s3cret") is ok
        assert token_ok("") is True


# -- admission before the upgrade (test client; no socket is opened) --------------
@pytest.mark.parametrize("path", ROUTES)
def test_plain_http_to_the_socket_route_gets_426_and_reserves_nothing(app, client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 426 and response.headers["Upgrade"] == "websocket"
    assert response.get_json()["message"] == "WebSocket upgrade required"
    assert broadcaster(app).client_count() == 0


@pytest.mark.parametrize("path", ROUTES)
def test_foreign_origin_is_refused_with_403(client, path: str) -> None:
    response = client.get(path, headers={**UPGRADE, "Origin": "https://evil.example"})
    assert response.status_code == 403
    assert response.get_json()["message"] == "Origin not allowed"


@pytest.mark.parametrize("app_overrides", [{"WS_ACCESS_TOKEN": "s3cret"}])
def test_missing_token_is_refused_and_query_string_is_not_a_token(client) -> None:
    response = client.get(f"{ROUTES[0]}?token=s3cret", headers=UPGRADE)
    assert response.status_code == 401
    assert set(response.get_json()) == {"status", "message", "detail"}


@pytest.mark.parametrize("app_overrides", [{"WS_MAX_CLIENTS": 0}])
def test_cap_zero_refuses_every_upgrade_and_http_keeps_answering(client) -> None:
    for path in ROUTES:
        response = client.get(path, headers=UPGRADE)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "30"
        assert response.get_json()["detail"]["retry_after_s"] == 30
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"Sec-WebSocket-Key": None}, 400, "Invalid WebSocket handshake"),
        ({"Sec-WebSocket-Key": "not base64!"}, 400, "Invalid WebSocket handshake"),
        ({"Sec-WebSocket-Key": "c2hvcnQ="}, 400, "Invalid WebSocket handshake"),  # 5 bytes, not 16
        ({"Sec-WebSocket-Version": "8"}, 426, "Unsupported WebSocket version"),
        ({"Sec-WebSocket-Version": None}, 426, "Unsupported WebSocket version"),
        ({"Sec-WebSocket-Protocol": "nvcd.v1, token.a, token.b"}, 400, "At most one token subprotocol"),
    ],
)
def test_malformed_handshakes_get_a_4xx_and_reserve_nothing(
    app, client, change: dict, status: int, message: str, caplog
) -> None:
    headers = {key: value for key, value in {**UPGRADE, **change}.items() if value is not None}
    response = client.get(ROUTES[0], headers=headers)
    assert response.status_code == status
    body = response.get_json()
    assert set(body) == {"status", "message", "detail"} and body["message"] == message
    if status == 426:
        assert response.headers["Sec-WebSocket-Version"] == "13"
    assert broadcaster(app).client_count() == 0
    assert not [r for r in caplog.records if r.levelno > 30]  # at most a warning


@pytest.mark.parametrize("app_overrides", [{"WS_ACCESS_TOKEN": "s3cret"}])
def test_two_token_subprotocols_are_refused_even_when_one_is_right(client) -> None:
    offered = "nvcd.v1, token.guess, token.s3cret"
    response = client.get(ROUTES[0], headers={**UPGRADE, "Sec-WebSocket-Protocol": offered})
    assert response.status_code == 400


@pytest.mark.parametrize("origin", ["https://localhost", "http://localhost:8080", "null"])
def test_same_host_with_another_scheme_or_port_is_a_foreign_origin(client, origin: str) -> None:
    response = client.get(ROUTES[0], headers={**UPGRADE, "Origin": origin})  # the test client is http://localhost
    assert response.status_code == 403


# With the cap at 0, a request that passes the Origin check ends at the cap's 503 (the test client cannot upgrade).
@pytest.mark.parametrize("app_overrides", [{"PROXY_FIX_HOPS": 1, "WS_MAX_CLIENTS": 0}])
@pytest.mark.parametrize(("origin", "status"), [("https://localhost", 503), ("http://localhost", 403)])
def test_behind_the_proxy_the_page_origin_is_https(client, origin: str, status: int) -> None:
    response = client.get(ROUTES[0], headers={**UPGRADE, "Origin": origin, "X-Forwarded-Proto": "https"})
    assert response.status_code == status


@pytest.mark.parametrize("app_overrides", [{"TRUSTED_HOSTS": ["monitor.example"]}])
def test_a_host_outside_trusted_hosts_is_refused_before_the_upgrade(app, client) -> None:
    response = client.get(ROUTES[0], headers={**UPGRADE, "Host": "evil.example", "Origin": "http://evil.example"})
    assert response.status_code == 400 and response.get_json()["status"] == 400
    assert broadcaster(app).client_count() == 0


# -- behaviour under gunicorn ---------------------------------------------------------
def ws_url(server: LiveServer, path: str = ROUTES[0]) -> str:
    """Return the WebSocket URL of ``path`` on ``server``."""
    return server.url.replace("http://", "ws://") + path


def next_of(ws: ClientConnection, kind: str, timeout: float = 5.0, version: int | None = None) -> dict:
    """Return the next message of ``kind`` (at least ``version``), skipping others."""
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
        if message["type"] == kind and (version is None or message["version"] >= version):
            return message


def change(engine: Engine, status: str = "running") -> int:
    """Commit a monitored change (a run) the way every writer does; return the new version."""
    with Session(engine) as session:
        add_run(session, status=status, started=datetime.now(UTC))
        commit(session)
        from models import current_version

        return current_version(session)


@pytest.fixture(scope="module")
def live(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One gunicorn worker with short intervals and an access token, shared by this module's live tests."""
    log = tmp_path_factory.mktemp("live") / "gunicorn.log"
    env = {**FAST, "WS_MAX_CLIENTS": "50", "WS_ACCESS_TOKEN": TOKEN}
    with LiveServer(database_url, env=env, log_path=log) as server:
        yield server


def test_snapshot_on_connect_then_a_push_after_a_change(live: LiveServer, engine: Engine) -> None:
    with connect(ws_url(live), additional_headers=AUTH) as ws:
        first = next_of(ws, "pipeline_status_update")
        assert first["data"]["version"] == first["version"]
        assert "permessage-deflate" in ws.response.headers["Sec-WebSocket-Extensions"]
        version = change(engine)
        started = time.monotonic()
        pushed = next_of(ws, "pipeline_status_update", version=version)
        assert time.monotonic() - started < 2.0
        assert pushed["data"]["current_run"]["status"] == "running"
        assert pushed["data"]["system"]["clients"] >= 1


def test_legacy_path_serves_the_same_stream(live: LiveServer) -> None:
    with connect(ws_url(live, ROUTES[1]), compression=None, subprotocols=["nvcd.v1", f"token.{TOKEN}"]) as ws:
        assert ws.subprotocol == "nvcd.v1"  # the token is never echoed back
        assert next_of(ws, "pipeline_status_update")["data"]["system"]["pid"] > 0


def test_heartbeat_arrives_within_the_interval(live: LiveServer) -> None:
    with connect(ws_url(live), additional_headers=AUTH) as ws:
        next_of(ws, "pipeline_status_update")
        arrivals = [time.monotonic()]
        while time.monotonic() - arrivals[0] < 1.6:
            message = json.loads(ws.recv(timeout=2))
            assert set(message) >= {"type", "version", "timestamp"}
            arrivals.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert len(gaps) >= 3 and max(gaps) < 0.5 + 0.4


def test_oversized_client_message_closes_with_1009(live: LiveServer) -> None:
    with connect(ws_url(live), additional_headers=AUTH) as ws:
        next_of(ws, "pipeline_status_update")
        ws.send("x" * (64 * 1024 + 1))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def length(answer: bytes) -> int:
    """Return the Content-Length of an HTTP answer's head."""
    lines = answer.partition(b"\r\n\r\n")[0].split(b"\r\n")
    return next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length:"))


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Sec-WebSocket-Version": "13"}, 400),  # no Sec-WebSocket-Key
        ({"Sec-WebSocket-Version": "8", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}, 426),
    ],
)
def test_live_server_answers_a_malformed_handshake_with_a_4xx(live: LiveServer, headers: dict, status: int) -> None:
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        sock.sendall(
            (
                f"GET {ROUTES[0]} HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\n" + "".join(f"{k}: {v}\r\n" for k, v in {**headers, **AUTH}.items()) + "\r\n"
            ).encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < length(answer):
            answer += sock.recv(4096)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status}".encode())
    assert json.loads(body)["status"] == status


def test_live_server_refuses_a_client_without_the_token(live: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(live)).close()
    assert refused.value.response.status_code == 401


def raw_stalled_client(server: LiveServer) -> socket.socket:
    """Open a socket that upgrades (no deflate) and then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(
        (
            f"GET {ROUTES[0]} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in {**UPGRADE, **AUTH}.items())
            + "\r\n"
        ).encode()
    )
    assert sock.recv(12) == b"HTTP/1.1 101"
    return sock


def read_until_close(sock: socket.socket, limit: float) -> list[tuple[int, bytes]]:
    """Read (opcode, payload) frames after the handshake until a close frame or ``limit`` seconds."""
    sock.settimeout(limit)
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(4096)
    buffer, frames, deadline = buffer.split(b"\r\n\r\n", 1)[1], [], time.monotonic() + limit
    while not frames or frames[-1][0] != 0x8:
        while len(buffer) >= 2:
            size, start = buffer[1] & 0x7F, 2
            if size >= 126:
                start = 4 if size == 126 else 10
                size = int.from_bytes(buffer[2:start]) if len(buffer) >= start else 1 << 62
            if len(buffer) < start + size:
                break
            frames.append((buffer[0] & 0x0F, buffer[start : start + size]))
            buffer = buffer[start + size :]
        if (frames and frames[-1][0] == 0x8) or time.monotonic() > deadline:
            break
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        buffer += sock.recv(65536)
    return frames


def test_pings_keep_the_socket_alive_and_an_unanswered_ping_closes_it_with_1011(live: LiveServer) -> None:
    sock = raw_stalled_client(live)  # reads, but never answers a ping
    started = time.monotonic()
    frames = read_until_close(sock, 8.0)
    sock.close()
    opcodes = [opcode for opcode, _ in frames]
    assert 0x9 in opcodes and opcodes[-1] == 0x8
    assert int.from_bytes(frames[-1][1][:2]) == 1011
    assert time.monotonic() - started < 2 * 2 + 2  # two ping intervals (WS_PING_SECONDS=2) and slack


def test_a_client_that_vanishes_is_removed(live: LiveServer) -> None:
    with connect(ws_url(live), additional_headers=AUTH) as watcher:

        def clients_now(expected: int) -> None:
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:
                message = next_of(watcher, "pipeline_status_update", timeout=6)
                if message["data"]["system"]["clients"] == expected:
                    return
            pytest.fail(f"clients never reached {expected}")

        gone = raw_stalled_client(live)
        clients_now(2)
        gone.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        gone.close()  # a reset, no close frame: as when a laptop lid shuts mid-session
        clients_now(1)


@pytest.mark.slow
def test_a_stalled_client_never_delays_others_and_is_closed_within_the_bound(live: LiveServer, engine: Engine) -> None:
    with Session(engine) as session:  # ~1,500 sources make every snapshot ~200 KB
        add_events(session, [(date(2026, 11, 1), f"Reporter {i:04d} Daily", "Kaduna") for i in range(1500)])
        commit(session)
    stalled = raw_stalled_client(live)
    with connect(ws_url(live), additional_headers=AUTH) as healthy:
        next_of(healthy, "pipeline_status_update")
        deadline, clients = time.monotonic() + 15, 2
        while clients > 1 and time.monotonic() < deadline:
            version = change(engine)
            started = time.monotonic()
            clients = next_of(healthy, "pipeline_status_update", version=version)["data"]["system"]["clients"]
            assert time.monotonic() - started < 1.5, "a stalled client delayed a healthy one"
        assert clients == 1, "the stalled client was not dropped"
    stalled.settimeout(5)
    received, closed = 0, True
    try:
        while chunk := stalled.recv(65536):  # drain what was sent before the drop, then EOF
            received += len(chunk)
    except ConnectionResetError:
        pass
    except TimeoutError:
        closed = False
    stalled.close()
    assert closed and received > 0


def test_cap_answers_503_then_shutdown_closes_clients_with_1001_promptly(database_url: str) -> None:
    server = LiveServer(database_url, env={**FAST, "WS_MAX_CLIENTS": "2"}).start()
    stack = ExitStack()
    clients = [stack.enter_context(connect(ws_url(server))) for _ in range(2)]
    for ws in clients:
        next_of(ws, "pipeline_status_update")
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(server)).close()
    response = refused.value.response
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert json.loads(response.body)["status"] == 503
    with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as health:
        assert health.status == 200
    codes: list[int | None] = []

    def wait_closed(ws: ClientConnection) -> None:
        try:
            while True:
                ws.recv(timeout=10)
        except ConnectionClosed as exc:
            codes.append(exc.rcvd.code if exc.rcvd else None)

    readers = [threading.Thread(target=wait_closed, args=(ws,)) for ws in clients]
    for reader in readers:
        reader.start()
    started = time.monotonic()
    server.stop()  # SIGTERM, as a deploy or scale-down sends it
    for reader in readers:
        reader.join(10)
    stack.close()
    assert codes == [1001, 1001]
    assert time.monotonic() - started < 5.0


@pytest.mark.browser
def test_chromium_negotiates_shared_deflate_frames_and_the_token_subprotocol(live: LiveServer, chromium) -> None:
    script = """([url, token]) => new Promise(done => {
        const ws = new WebSocket(url, ['nvcd.v1', 'token.' + token]);
        const types = [];
        ws.onmessage = e => { types.push(JSON.parse(e.data).type);
            if (types.includes('heartbeat')) {
                done({extensions: ws.extensions, protocol: ws.protocol, types}); ws.close(); } };
        ws.onclose = e => done({closed: e.code});
    })"""
    page = chromium.new_page()
    try:
        page.goto(f"{live.url}/healthz")  # same origin as the socket
        result = page.evaluate(script, [ws_url(live), TOKEN])
    finally:
        page.close()
    assert result["protocol"] == "nvcd.v1"
    assert "server_no_context_takeover" in result["extensions"]
    assert result["types"][0] == "pipeline_status_update" and result["types"][-1] == "heartbeat"
