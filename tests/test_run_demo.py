"""`make run`'s script prints the address only once /healthz answers (bin/wait_healthy.py)."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import PROJECT_ROOT

spec = importlib.util.spec_from_file_location("wait_healthy", PROJECT_ROOT / "bin" / "wait_healthy.py")
assert spec and spec.loader
wait_healthy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wait_healthy)

# A stand-in for gunicorn: binds only after a delay, says so, and answers /healthz with STATUS.
FAKE_SERVER = """
import http.server, os, sys, time
time.sleep(float(os.environ["BIND_DELAY"]))
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        print("fake server: answered", self.path, flush=True)
        self.send_response(int(os.environ["STATUS"]))
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer((os.environ["HOST"], int(os.environ["PORT"])), Health)
print("fake server: listening", flush=True)
server.serve_forever()
"""
FAKE_PYTHON = """#!/usr/bin/env bash
if [ "$1 $2" = "-m pipeline" ]; then
    [ "$3" = seed ] && { echo "seeded"; exit 0; }
    exec sleep 60  # replay
fi
exec PYTHON "$@"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    (tmp_path / "server.py").write_text(FAKE_SERVER)
    scripts = {"python": FAKE_PYTHON.replace("PYTHON", sys.executable),
               "gunicorn": f"#!/usr/bin/env bash\nexec {sys.executable} {tmp_path / 'server.py'}\n"}  # fmt: skip
    for name, body in scripts.items():
        (tmp_path / name).write_text(body)
        (tmp_path / name).chmod(0o755)
    return tmp_path


@pytest.fixture
def demo(fake_bin: Path) -> Iterator[object]:
    started: list[subprocess.Popen[str]] = []

    def start(status: int, ready_timeout: float) -> tuple[subprocess.Popen[str], int]:
        port = _free_port()
        env = os.environ | {"BIN": str(fake_bin), "HOST": "127.0.0.1", "PORT": str(port), "BIND_DELAY": "0.5",
                            "STATUS": str(status), "READY_TIMEOUT": str(ready_timeout)}  # fmt: skip
        process = subprocess.Popen([str(PROJECT_ROOT / "bin" / "run-demo")], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
        started.append(process)
        return process, port

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=10)


def _lines_until(process: subprocess.Popen[str], last: str, seconds: float) -> list[str]:
    """Read stdout lines until one starts with ``last`` (or ``seconds`` pass, or it ends)."""
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith(last):
            break
    return lines


@pytest.mark.timeout(60)
def test_the_address_is_printed_after_healthz_answers_and_sigterm_stops_everything(demo):
    process, port = demo(200, 20)
    lines = _lines_until(process, "NVCD Monitor:", 30)
    assert lines[0] == "seeded"
    assert lines[-1] == f"NVCD Monitor: http://127.0.0.1:{port}/"
    assert lines.index("fake server: listening") < lines.index("fake server: answered /healthz") < len(lines) - 1
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 143
    with pytest.raises(OSError):  # the server went with it
        socket.create_connection(("127.0.0.1", port), timeout=1)


@pytest.mark.timeout(60)
def test_no_address_when_healthz_never_answers_200(demo):
    process, port = demo(503, 1.5)
    assert process.stderr is not None
    said = process.stderr.readline()  # the helper gave up; the server itself keeps running
    assert said == f"http://127.0.0.1:{port}/healthz did not answer: HTTP 503 after 1.5 s\n"
    assert process.poll() is None
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=15)
    assert "fake server: answered /healthz" in out and "NVCD Monitor:" not in out


def test_the_wait_is_bounded_and_ends_with_the_server():
    began = time.monotonic()
    reason = wait_healthy.wait_healthy(f"http://127.0.0.1:{_free_port()}/healthz", timeout=0.5)
    assert reason.endswith("after 0.5 s") and time.monotonic() - began < 5
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    began = time.monotonic()
    reason = wait_healthy.wait_healthy(f"http://127.0.0.1:{_free_port()}/healthz", timeout=30, pid=dead.pid)
    assert reason == f"the server (pid {dead.pid}) exited" and time.monotonic() - began < 5
