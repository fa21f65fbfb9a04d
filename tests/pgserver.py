"""A PostgreSQL server of the test's own, to freeze (SIGSTOP) and stop without touching the shared one.

initdb into a temporary folder, then pg_ctl on a free port bound to 127.0.0.1 only (fsync off).
As root the server runs as the ``postgres`` user (initdb refuses root). ``own_postgres`` skips
when the binaries are absent, and fails instead under CI=true.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.servers import free_port

BIN_GLOB = "/usr/lib/postgresql/*/bin"
IN_CI = os.environ.get("CI", "").lower() == "true"
SETTINGS = ("fsync=off", "full_page_writes=off", "synchronous_commit=off", "max_connections=60")


def postgres_bin() -> Path | None:
    """Return the newest PostgreSQL server binaries folder, or None."""
    found = sorted(Path("/").glob(BIN_GLOB.lstrip("/")), key=lambda p: int(p.parent.name))
    return next((p for p in reversed(found) if (p / "initdb").exists() and (p / "pg_ctl").exists()), None)


class OwnPostgres:
    """One throwaway server: start, stop (any mode), freeze and thaw."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="nvcd-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.root, self.user)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run([str(self.bindir / args[0]), *args[1:]], check=True, capture_output=True, timeout=timeout,
                       user=self.user, cwd=self.root)  # fmt: skip

    def init(self) -> OwnPostgres:
        """Create the cluster (trust authentication, user postgres)."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", timeout=120)
        return self

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = " ".join(f"-c {s}" for s in (*SETTINGS, "listen_addresses=127.0.0.1", f"port={self.port}",
                                               f"unix_socket_directories={self.root}"))  # fmt: skip
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "-t", "60",
                  "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: as a crash would, no shutdown checkpoint)."""
        self.thaw()
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def pids(self) -> list[int]:
        """Return the postmaster's pid and its children's."""
        head = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(head)], capture_output=True, text=True).stdout
        return [head, *(int(pid) for pid in children.split())]

    def freeze(self) -> None:
        """SIGSTOP the server: connections stay open, the kernel still ACKs, nothing answers."""
        for pid in self.pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT whatever was frozen."""
        with contextlib.suppress(FileNotFoundError, ValueError):
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def create_database(self, name: str) -> str:
        """Create a database and return its URL."""
        admin = create_engine(self.url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def remove(self) -> None:
        """Stop the server if it runs and delete its files."""
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    """Yield a running server of this module's own (skip without the binaries; under CI, fail)."""
    bindir = postgres_bin()
    if bindir is None:
        if IN_CI:
            pytest.fail(f"PostgreSQL server binaries ({BIN_GLOB}) are required under CI")
        pytest.skip("PostgreSQL server binaries not installed")
    server = OwnPostgres(bindir).init()
    server.start()
    try:
        yield server
    finally:
        server.remove()


def wait_until(check: object, timeout: float, step: float = 0.1) -> bool:
    """Poll ``check()`` until it is truthy or ``timeout`` passes; return whether it came true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():  # type: ignore[operator]
                return True
        time.sleep(step)
    return False
