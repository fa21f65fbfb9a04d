"""Slow request bodies against the real gunicorn config: cut off in time, the worker keeps serving."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from alembic import command
from websockets.sync.client import connect

from pipeline.demo.generate import generate_records
from tests.conftest import alembic_config
from tests.servers import LiveServer

BODY_TIMEOUT = 2.0
KEEPALIVE = 5.0  # gunicorn.conf.py: also bounds gunicorn's drain of a body the app does not read
CONNECTIONS = 50
ATTACKERS = 60  # more than the worker's connections, as in the report
TRICKLE_SECONDS = 0.5
INGEST_TOKEN = "body-secret"
AUTH = {"Authorization": f"Bearer {INGEST_TOKEN}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One gevent worker with 50 connections and a 2 s body deadline, on a migrated SQLite file."""
    folder: Path = tmp_path_factory.mktemp("bodylimit")
    url = f"sqlite:///{folder / 'nvcd.sqlite3'}"
    command.upgrade(alembic_config(url), "head")
    env = {
        "WORKER_CONNECTIONS": str(CONNECTIONS),
        "BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "BODY_MIN_RATE": "65536",
        "INGEST_TOKEN": INGEST_TOKEN,
        "INSTANCE_PATH": str(folder),
        "WS_MAX_CLIENTS": "10",
    }
    with LiveServer(url, env=env, log_path=folder / "gunicorn.log") as live:
        yield live


class Trickler:
    """A connection that sends its headers, then one body byte every TRICKLE_SECONDS."""

    def __init__(self, server: LiveServer, path: str) -> None:
        self.path = path
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        self.sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: 1000\r\n\r\n".encode()
        )
        self.sock.setblocking(False)
        self.started = time.monotonic()
        self.closed_after: float | None = None
        self.received = b""

    def tick(self) -> None:
        """Read what the server sent; send the next byte; note when the server closed."""
        try:
            while data := self.sock.recv(65536):
                self.received += data
            self._close()  # recv returned b"": the server closed
            return
        except BlockingIOError:
            pass
        except OSError:
            self._close()
            return
        try:
            self.sock.send(b" ")
        except BlockingIOError:
            pass
        except OSError:
            self._close()

    def _close(self) -> None:
        self.closed_after = time.monotonic() - self.started
        self.sock.close()


class Prober(threading.Thread):
    """Poll /healthz and open a WebSocket while the attack runs; record what came back."""

    def __init__(self, server: LiveServer) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.stop = threading.Event()
        self.health: list[int | str] = []
        self.sockets: list[str] = []

    def run(self) -> None:
        """Probe every half second until told to stop."""
        while not self.stop.wait(TRICKLE_SECONDS):
            try:
                self.health.append(requests.get(f"{self.server.url}/healthz", timeout=5).status_code)
            except requests.RequestException as exc:
                self.health.append(type(exc).__name__)
            try:
                ws_url = self.server.url.replace("http://", "ws://") + "/api/v1/ws/monitoring/pipeline-status"
                with connect(ws_url, open_timeout=5) as ws:
                    self.sockets.append(json.loads(ws.recv(timeout=5))["type"])
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                self.sockets.append(type(exc).__name__)


def test_slow_bodies_are_cut_off_and_the_worker_keeps_serving(server: LiveServer) -> None:
    # Half the attackers post to a path that reads its body (a Dash callback), half to one that
    # never does (/healthz): gunicorn drains that one after the answer, within its keepalive.
    tricklers = [Trickler(server, "/_dash-update-component") for _ in range(ATTACKERS // 2)]
    tricklers += [Trickler(server, "/healthz") for _ in range(ATTACKERS // 2)]
    prober = Prober(server)
    prober.start()
    give_up = time.monotonic() + BODY_TIMEOUT + KEEPALIVE + 5
    while any(t.closed_after is None for t in tricklers) and time.monotonic() < give_up:
        for trickler in tricklers:
            if trickler.closed_after is None:
                trickler.tick()
        time.sleep(TRICKLE_SECONDS)
    prober.stop.set()
    prober.join(15)
    open_left = [t.path for t in tricklers if t.closed_after is None]
    for trickler in tricklers:
        if trickler.closed_after is None:
            trickler.sock.close()
    assert not open_left, f"{len(open_left)} slow connections still open"

    readers = [t for t in tricklers if t.path == "/_dash-update-component"]
    # Closed right after the 408, not after gunicorn's keepalive drain: under KEEPALIVE even for
    # the last few, which waited for one of the 50 connections before their deadline started.
    assert max(t.closed_after for t in readers) < min(BODY_TIMEOUT + 2.5, KEEPALIVE)  # type: ignore[type-var]
    for trickler in readers:
        head, _, body = trickler.received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), trickler.received[:200]
        assert b"\r\nConnection: close" in head
        message = json.loads(body.split(b"\r\n")[1] if b"chunked" in head else body)
        assert message["status"] == 408 and "did not arrive in time" in message["message"]
    for trickler in tricklers[ATTACKERS // 2 :]:
        assert trickler.received.startswith(b"HTTP/1.1 405"), trickler.received[:200]  # answered unread

    assert prober.health and set(prober.health) == {200}, prober.health
    assert prober.sockets and set(prober.sockets) == {"pipeline_status_update"}, prober.sockets


def test_a_slow_chunked_body_is_cut_off_too(server: LiveServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=BODY_TIMEOUT + 3) as sock:
        sock.sendall(
            b"POST /_dash-update-component HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        started, received = time.monotonic(), b""
        try:
            while time.monotonic() - started < BODY_TIMEOUT + 3:
                sock.sendall(b"1\r\n \r\n")
                sock.settimeout(TRICKLE_SECONDS)
                try:
                    if not (data := sock.recv(65536)):
                        break
                    received += data
                except TimeoutError:
                    pass
        except OSError:  # reset after the server closed: the answer was read already
            pass
        assert received.startswith(b"HTTP/1.1 408"), received[:200]
        assert b"\r\nConnection: close" in received.partition(b"\r\n\r\n")[0]
        assert time.monotonic() - started < BODY_TIMEOUT + 2


def _batch(padding: int = 0) -> bytes:
    records = [{k: v for k, v in r.items() if v == v} for r in generate_records(5, seed=11)]  # no NaN in JSON
    return json.dumps({"records": records}).encode()[:-1] + b" " * padding + b"}"


def test_a_normal_upload_still_works(server: LiveServer) -> None:
    response = requests.post(
        f"{server.url}/api/v1/ingest/batch",
        data=_batch(),
        timeout=30,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text


def test_a_slow_but_steady_upload_earns_its_time(server: LiveServer) -> None:
    # 256 KiB at ~100 KiB/s takes ~2.6 s, past the 2 s deadline, but each 64 KiB earns a second.
    body = _batch(padding=256 * 1024)

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("POST", "/api/v1/ingest/batch")
    for name, value in {**AUTH, "Content-Type": "application/json", "Content-Length": str(len(body))}.items():
        connection.putheader(name, value)
    connection.endheaders()
    started = time.monotonic()
    for start in range(0, len(body), 10 * 1024):
        time.sleep(0.1)
        connection.send(body[start : start + 10 * 1024])
    response = connection.getresponse()
    assert response.status == 202, response.read()
    assert time.monotonic() - started > BODY_TIMEOUT
    connection.close()
