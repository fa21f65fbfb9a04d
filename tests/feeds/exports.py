"""A local HTTP server that serves an export as a feed would, and small CSV exports, for the feed tests.

The server runs in a thread on 127.0.0.1 (so the tests set FEEDS_ALLOW_PRIVATE): ``/export.csv``
serves ``body`` with an ETag and answers ``If-None-Match`` with 304 unless ``conditional`` is off;
``/slow`` answers after ``slow_seconds``; ``/big`` streams ``big_bytes`` without a length; ``/drip`` a byte every 0.1 s;
``/page`` is HTML; ``/to/<path>`` redirects to ``Location: <path>`` (a relative or absolute URL), ``/loop`` to itself.
Every request's headers are kept in ``seen``.
"""

from __future__ import annotations

import hashlib
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from urllib.parse import unquote

from pipeline.demo.generate import generate_events, write_csv

TODAY = date(2026, 12, 1)


def export_csv(count: int = 40, seed: int = 3, drop: tuple[int, ...] = ()) -> bytes:
    """Return a clean generated export of ``count`` events as CSV bytes, without the rows ``drop``."""
    frame = generate_events(count, seed, end=TODAY, mess=False)
    frame = frame.drop(index=frame.index[list(drop)]) if drop else frame
    out = StringIO()
    write_csv(frame, out)
    return out.getvalue().encode("utf-8")


def make_certificates(folder: Path) -> tuple[Path, tuple[Path, Path]]:
    """Make a test CA and a certificate it signed for ``localhost`` (openssl); return the CA file and (chain, key)."""
    ca, ca_key, leaf, leaf_key, request = (folder / n for n in ("ca.pem", "ca.key", "leaf.pem", "leaf.key", "leaf.csr"))
    extensions = folder / "leaf.ext"
    extensions.write_text("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    for args in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=NVCD test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", leaf_key, "-out", request, "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", leaf, "-days", "2",
         "-extfile", extensions],
    ):  # fmt: skip
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)
    return ca, (leaf, leaf_key)


@dataclass
class Exports:
    """What the server serves, and the request headers it saw."""

    body: bytes = b""
    content_type: str = "text/csv"
    conditional: bool = True
    slow_seconds: float = 2.0
    big_bytes: int = 0
    status: int = 200
    seen: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    @property
    def etag(self) -> str:
        """Return the body's ETag."""
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


def _handler(exports: Exports) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:  # quiet
            return

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            exports.seen.append({k.lower(): v for k, v in self.headers.items()} | {"path": self.path})
            if self.path.startswith("/to/"):
                self._send(302, b"", {"Location": unquote(self.path[4:]), "Content-Length": "0"})
            elif self.path == "/loop":
                self._send(302, b"", {"Location": "/loop", "Content-Length": "0"})
            elif self.path == "/slow":
                time.sleep(exports.slow_seconds)
                self._send(200, b"late", {"Content-Type": "text/csv", "Content-Length": "4"})
            elif self.path == "/big":
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.end_headers()  # no length: the client must count while streaming
                for _ in range(exports.big_bytes // 65536 + 1):
                    self.wfile.write(b"x" * 65536)
            elif self.path == "/drip":  # a byte every 0.1 s: never a read timeout, only the deadline stops it
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.end_headers()
                for _ in range(50):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            elif self.path == "/page":
                self._send(200, b"<html></html>", {"Content-Type": "text/html", "Content-Length": "13"})
            elif exports.status != 200:
                self._send(exports.status, b"no", {"Content-Length": "2"})
            elif exports.conditional and self.headers.get("If-None-Match") == exports.etag:
                self._send(304, b"", {"ETag": exports.etag})
            else:
                headers = {"Content-Type": exports.content_type, "Content-Length": str(len(exports.body)),
                           "ETag": exports.etag}  # fmt: skip
                self._send(200, exports.body, headers)

    return Handler


class QuietServer(ThreadingHTTPServer):
    """A threaded server that does not print a client hanging up (the timeout and size tests do)."""

    def handle_error(self, request: object, client_address: object) -> None:
        return


@contextmanager
def serving(exports: Exports | None = None, certificate: tuple[Path, Path] | None = None,
            name: str = "127.0.0.1") -> Iterator[Exports]:  # fmt: skip
    """Serve ``exports`` on 127.0.0.1 in a thread (HTTPS with ``certificate``: chain and key files);
    ``exports.url`` is the server's base URL, with ``name`` for its host."""
    exports = exports or Exports()
    server = QuietServer(("127.0.0.1", 0), _handler(exports))
    server.daemon_threads = True
    if certificate is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certificate)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    exports.url = f"{'https' if certificate else 'http'}://{name}:{server.server_address[1]}"
    try:
        yield exports
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
