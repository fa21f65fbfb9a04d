"""A deadline on receiving a request body, so a slow client cannot hold a worker's connections.

gunicorn bounds the time to receive request headers (the keepalive timeout) and drains an
unread body within the same bound, but a body the app reads through ``wsgi.input`` may
trickle in forever. ``BodyDeadline`` wraps ``wsgi.input``: the body must arrive within
``BODY_TIMEOUT_SECONDS`` of the headers, plus one second for every ``BODY_MIN_RATE``
bytes received (Apache mod_reqtimeout's ``body=…,MinRate=…``), so an honest large upload
over a slow link keeps going while a trickle of a few bytes a second is cut off. A late
body raises ``BodyTimeout``, a 408 in the house JSON shape.

The deadline is a ``gevent.Timeout``, which interrupts a read however the server splits it
into recv() calls; it needs the gevent worker (gunicorn.conf.py). Elsewhere (``flask run``,
the test client) a body is read as before. The exception is raised inside gunicorn's own
body reader, which then marks the connection as not reusable: gunicorn closes it after the
408 instead of waiting for the rest of the body. gunicorn drops an app's ``Connection``
header, so its ``pre_request`` hook hands this module the request (``remember_request``)
and a late body calls the request's ``force_close()``: the 408 then says
``Connection: close``. tests/api/test_bodylimit_server.py holds gunicorn to both.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import gevent
from gevent.local import local
from werkzeug.exceptions import RequestTimeout
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

STEP = 64 * 1024  # largest single read, so bytes received earn their time as they arrive
MESSAGE = "The request body did not arrive in time; send it faster, or a smaller one"

_connection = local()  # per greenlet, i.e. per gunicorn connection: the request being served
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class BodyTimeout(RequestTimeout):
    """The body did not arrive within its deadline: 408, the JSON error shape on every path."""

    description = MESSAGE

    def get_response(self, environ: Any = None, scope: Any = None) -> Response:
        """Answer ``{"status", "message", "detail"}`` as api/errors.py does."""
        body = json.dumps({"status": self.code, "message": self.description, "detail": {}})
        return Response(body, status=self.code, mimetype="application/json")


class Deadline:
    """When the body must be complete: ``timeout`` after the start, plus 1 s per ``min_rate`` bytes."""

    def __init__(self, timeout: float, min_rate: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.timeout = timeout
        self.min_rate = min_rate
        self.start = clock()
        self.received = 0

    def remaining(self) -> float:
        """Return the seconds left before the body is late (0 or less: late)."""
        earned = self.received / self.min_rate if self.min_rate else 0.0
        return self.start + self.timeout + earned - self.clock()


class DeadlineInput:
    """A ``wsgi.input`` whose reads raise ``BodyTimeout`` once the body is late."""

    def __init__(self, stream: Any, deadline: Deadline) -> None:
        self.stream = stream
        self.deadline = deadline

    def _call(self, method: Callable[[int], bytes], size: int) -> bytes:
        try:
            remaining = self.deadline.remaining()
            if remaining <= 0:
                raise BodyTimeout()
            with gevent.Timeout(remaining, BodyTimeout()):
                data = method(size)
        except BodyTimeout:
            _close_connection(self.stream)
            log.warning(
                "request body not complete after %.1f s (%d bytes read); answering 408",
                self.deadline.clock() - self.deadline.start,
                self.deadline.received,
            )
            raise
        self.deadline.received += len(data)
        return data

    def read(self, size: int | None = -1) -> bytes:
        """Read ``size`` bytes (all when negative or None), in steps that each earn their time."""
        wanted = -1 if size is None or size < 0 else size
        chunks = []
        while wanted:
            step = STEP if wanted < 0 else min(STEP, wanted)
            data = self._call(self.stream.read, step)
            if not data:
                break
            chunks.append(data)
            if wanted > 0:
                wanted -= len(data)
        return b"".join(chunks)

    def readline(self, size: int | None = -1) -> bytes:
        """Read one line (at most ``size`` bytes)."""
        return self._call(self.stream.readline, -1 if size is None else size)

    def readlines(self, hint: int = -1) -> list[bytes]:
        """Read the remaining lines."""
        return self.read().splitlines(keepends=True)

    def __iter__(self) -> Iterator[bytes]:
        """Yield lines until the body ends."""
        while line := self.readline():
            yield line


def remember_request(req: Any) -> None:
    """Keep gunicorn's request for this connection (called from its pre_request hook)."""
    _connection.request = req


def _close_connection(stream: Any) -> None:
    # Only the request whose body this is: its response then says "Connection: close".
    req = getattr(_connection, "request", None)
    if req is not None and getattr(req, "body", None) is stream:
        req.force_close()


def _has_body(environ: dict[str, Any]) -> bool:
    length = environ.get("CONTENT_LENGTH", "")
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return chunked or (length not in ("", "0"))


def _under_gevent() -> bool:
    # A gevent timer fires only in a greenlet the hub switches away from: gunicorn's gevent
    # worker serves each connection in one; a thread of another server never yields.
    return isinstance(gevent.getcurrent(), gevent.Greenlet)


class BodyDeadline:
    """WSGI middleware: give every request body a deadline (see the module docstring)."""

    def __init__(self, app: WSGIApp, timeout: float, min_rate: int) -> None:
        self.app = app
        self.timeout = timeout
        self.min_rate = min_rate

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Wrap ``wsgi.input`` when a body is coming, then call the app."""
        if self.timeout <= 0 or not _has_body(environ) or not _under_gevent():
            return self.app(environ, start_response)
        environ["wsgi.input"] = DeadlineInput(environ["wsgi.input"], Deadline(self.timeout, self.min_rate))
        try:
            return self.app(environ, start_response)
        except BodyTimeout as exc:  # read outside Flask's handlers (another middleware, say)
            return exc.get_response(environ)(environ, start_response)


def init_app(app: Any) -> None:
    """Wrap the app's WSGI callable with the body deadline from its settings."""
    app.wsgi_app = BodyDeadline(
        app.wsgi_app, float(app.config["BODY_TIMEOUT_SECONDS"]), int(app.config["BODY_MIN_RATE"])
    )
