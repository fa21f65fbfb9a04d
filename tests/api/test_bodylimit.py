"""The body deadline: its arithmetic, the wrapped input on real gevent sockets, the 408 shape."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator

import gevent
import pytest
from gevent import socket as gsocket
from werkzeug.test import Client

from api.bodylimit import BodyDeadline, BodyTimeout, Deadline, DeadlineInput
from config import from_environment


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_deadline_grows_one_second_per_min_rate_bytes() -> None:
    clock = Clock()
    deadline = Deadline(timeout=2.0, min_rate=1000, clock=clock)
    clock.now += 1.5
    assert deadline.remaining() == pytest.approx(0.5)
    deadline.received = 3000
    assert deadline.remaining() == pytest.approx(3.5)
    assert Deadline(timeout=2.0, min_rate=0, clock=clock).remaining() == pytest.approx(2.0)


@pytest.fixture
def pair() -> Iterator[tuple[gsocket.socket, gsocket.socket]]:
    """A connected pair of gevent sockets: (server end, client end)."""
    server, client = gsocket.socketpair()
    yield server, client
    server.close()
    client.close()


def _in_greenlet(function, *args):  # a test helper
    greenlet = gevent.spawn(function, *args)
    greenlet.join(10)
    return greenlet


def test_a_trickling_body_raises_408_at_the_deadline(pair) -> None:
    server, client = pair
    stream = DeadlineInput(server.makefile("rb"), Deadline(timeout=0.5, min_rate=65536))

    def trickle() -> None:
        for _ in range(20):
            client.sendall(b"x")
            gevent.sleep(0.1)

    sender = gevent.spawn(trickle)
    started = time.monotonic()
    reader = _in_greenlet(stream.read, 1000)
    elapsed = time.monotonic() - started
    sender.kill()
    stream.stream.close()
    assert isinstance(reader.exception, BodyTimeout)
    assert 0.4 < elapsed < 2.0
    with pytest.raises(BodyTimeout):  # late for good: the next read fails at once
        _in_greenlet(stream.read, 1).get()


def test_a_prompt_body_reads_whole(pair) -> None:
    server, client = pair
    body = b"line one\nline two\n" + b"y" * 200_000
    client.sendall(body)
    client.shutdown(gsocket.SHUT_WR)
    stream = DeadlineInput(server.makefile("rb"), Deadline(timeout=0.5, min_rate=65536))
    assert _in_greenlet(stream.readline).get() == b"line one\n"
    assert _in_greenlet(stream.readline).get() == b"line two\n"
    assert _in_greenlet(stream.read).get() == b"y" * 200_000
    stream.stream.close()
    assert stream.deadline.received == len(body)


def test_read_sizes_follow_the_io_contract() -> None:
    stream = DeadlineInput(io.BytesIO(b"z" * 150_000), Deadline(timeout=5, min_rate=0))
    assert len(stream.read(70_000)) == 70_000
    assert stream.read(0) == b""
    assert len(stream.read()) == 80_000
    assert stream.read(None) == b""


def test_the_408_is_the_json_error_shape() -> None:
    response = BodyTimeout().get_response()
    assert response.status_code == 408
    assert response.mimetype == "application/json"
    body = json.loads(response.get_data())
    assert body == {"status": 408, "message": body["message"], "detail": {}}
    assert "did not arrive in time" in body["message"]


def test_outside_gevent_the_body_passes_unwrapped() -> None:
    seen = {}

    def app(environ, start_response):  # a WSGI app
        seen["input"] = environ["wsgi.input"]
        start_response("204 No Content", [])
        return []

    response = Client(BodyDeadline(app, timeout=1, min_rate=0)).post("/", data=b"abc")
    assert response.status_code == 204
    assert not isinstance(seen["input"], DeadlineInput)


def test_settings_defaults_and_environment() -> None:
    assert from_environment({})["BODY_TIMEOUT_SECONDS"] == 20.0
    assert from_environment({})["BODY_MIN_RATE"] == 65536
    settings = from_environment({"BODY_TIMEOUT_SECONDS": "5", "BODY_MIN_RATE": "0"})
    assert (settings["BODY_TIMEOUT_SECONDS"], settings["BODY_MIN_RATE"]) == (5.0, 0)
