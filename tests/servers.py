"""Run the real app under gunicorn in a subprocess, for WebSocket and browser tests."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from config import PROJECT_ROOT


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen[bytes] | None, sig: int, timeout: float) -> int | None:
    """Send ``sig`` to the process's group, wait up to ``timeout`` (then SIGKILL); return its exit code."""
    if process is None:
        return None
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode


def _own_queue() -> str:
    """Return the URL of a queue of one server's own, in a folder removed when the tests end."""
    folder = tempfile.mkdtemp(prefix="nvcd-jobs-")
    atexit.register(shutil.rmtree, folder, True)
    return f"sqlite:///{Path(folder) / 'jobs.sqlite3'}"


class LiveServer:
    """A gunicorn process serving ``wsgi:app`` on 127.0.0.1; restartable on the same port."""

    def __init__(
        self,
        database_url: str,
        env: dict[str, str] | None = None,
        workers: int = 1,
        log_path: Path | None = None,
        cwd: Path = PROJECT_ROOT,
    ) -> None:
        self.port = free_port()
        self.cwd = cwd  # the tree whose code it serves (a benchmark serves an earlier commit's too)
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.log_path = log_path
        self.env = {
            **os.environ,
            "APP_ENV": "testing",
            "SECRET_KEY": "test",
            "DATABASE_URL": database_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            # A queue of its own unless the test shares one with a LiveWorker (never the instance folder's).
            "JOBS_URL": (env or {}).get("JOBS_URL") or _own_queue(),
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> LiveServer:
        """Start gunicorn and wait until /healthz answers 200."""
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"gunicorn did not answer /healthz within {timeout} s")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        """Stop gunicorn (SIGTERM by default, SIGKILL to simulate a crash); return its exit code."""
        code, self.process = stop_process(self.process, sig, timeout), None
        return code

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class LiveWorker:
    """A job worker process (``python -m pipeline worker``) on the database and queue the servers use."""

    def __init__(self, database_url: str, jobs_url: str, env: dict[str, str] | None = None,
                 log_path: Path | None = None) -> None:  # fmt: skip
        self.log_path = log_path
        self.env = {**os.environ, "APP_ENV": "testing", "DATABASE_URL": database_url, "JOBS_URL": jobs_url,
                    **(env or {})}  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LiveWorker:
        """Start the worker (it takes jobs as soon as its consumer runs)."""
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen([sys.executable, "-m", "pipeline", "worker"], cwd=PROJECT_ROOT, env=self.env,
                                        stdout=log, stderr=log, start_new_session=True)  # fmt: skip
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        """Stop the worker (SIGKILL to simulate a crash); return its exit code."""
        code, self.process = stop_process(self.process, sig, timeout), None
        return code

    def __enter__(self) -> LiveWorker:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def wait_for_run(base_url: str, run_id: int, timeout: float = 60.0, until: tuple[str, ...] = ("succeeded", "failed",
                 "cancelled")) -> dict:  # fmt: skip
    """Poll ``GET /api/v1/runs/<id>`` until the run's status is one of ``until``; return the run."""
    import json

    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(f"{base_url}/api/v1/runs/{run_id}", timeout=5) as response:
            run = json.loads(response.read())
        if run["status"] in until or time.monotonic() > deadline:
            return run
        time.sleep(0.2)
