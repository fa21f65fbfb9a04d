"""Hostile broad trend queries against a real server: what they cost it and its health check.

    .venv/bin/python bench/broad_query_bench.py --events 1000000 --before c2bb6a5
    .venv/bin/python bench/broad_query_bench.py --backend sqlite --events 1000000 --before c2bb6a5
    .venv/bin/python bench/broad_query_bench.py --url postgresql://.../db --before c2bb6a5

A PostgreSQL (or, with ``--backend sqlite``, a SQLite) database of N generated events (through the real pipeline, as in
``trends_bench.py``) is served by gunicorn (``gunicorn.conf.py``, gevent, one worker,
127.0.0.1) of this tree and, with ``--before REV``, of that commit, one after the other on
the same database. For each server, ``--clients`` concurrent requests of the broadest trend
query (every day since year 1, by LGA) are sent while ``/healthz`` is polled every 0.25 s;
it reports each answer's status, size and time, and the health check's slowest answer and
failures (timeout 30 s). Bounded: one round per server, every request with a timeout.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from trends_bench import load, scratch_database

from config import normalise_database_url
from models.database import make_engine
from tests.servers import LiveServer

BROAD = "/api/v1/trends?start=0001-01-01&end=9999-12-31&granularity=day&group_by=lga"
POLL_SECONDS = 0.25
TIMEOUT_SECONDS = 60.0


def _broad(base: str, results: list[tuple[int, int, float]]) -> None:
    began = time.perf_counter()
    try:
        answer = requests.get(base + BROAD, timeout=TIMEOUT_SECONDS)
        results.append((answer.status_code, len(answer.content), time.perf_counter() - began))
    except requests.RequestException:
        results.append((0, 0, time.perf_counter() - began))


def _poll_health(base: str, stop: threading.Event, waits: list[float], failures: list[str]) -> None:
    while not stop.is_set():
        began = time.perf_counter()
        try:
            answer = requests.get(base + "/healthz", timeout=30)
            if answer.status_code != 200:
                failures.append(str(answer.status_code))
        except requests.RequestException as exc:
            failures.append(exc.__class__.__name__)
        waits.append(time.perf_counter() - began)
        stop.wait(POLL_SECONDS)


def attack(name: str, tree: Path, url: str, clients: int) -> None:
    """Serve ``url`` from ``tree`` and send ``clients`` broad queries at once while polling /healthz."""
    with tempfile.TemporaryDirectory() as instance:
        env = {"APP_ENV": "development", "INSTANCE_PATH": instance}
        server = LiveServer(url, env=env, cwd=tree).start(timeout=60)
        try:
            requests.get(server.url + "/healthz", timeout=30)
            waits: list[float] = []
            failures: list[str] = []
            stop = threading.Event()
            poller = threading.Thread(target=_poll_health, args=(server.url, stop, waits, failures))
            poller.start()
            time.sleep(1.0)
            results: list[tuple[int, int, float]] = []
            threads = [threading.Thread(target=_broad, args=(server.url, results)) for _ in range(clients)]
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            took = time.perf_counter() - began
            time.sleep(1.0)
            stop.set()
            poller.join()
        finally:
            server.stop()
    statuses = sorted({status for status, _, _ in results})
    print(
        f"{name}: {clients} broad queries in {took:.1f} s: status {statuses}, "
        f"{max(size for _, size, _ in results) / 1e6:.1f} MB max, "
        f"{statistics.median(t for _, _, t in results):.1f} s median; /healthz slowest "
        f"{max(waits):.2f} s, median {statistics.median(waits):.3f} s, {len(failures)} failed of {len(waits)}",
        flush=True,
    )


def main() -> None:
    """Prepare the database, attack the server of each tree, clean up."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=250_000)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--before", metavar="REV", help="also serve this commit's tree on the same database")
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--url", help="an existing database instead of a scratch one")
    parser.add_argument(
        "--admin-url", default=os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    if args.url:
        url, drop = normalise_database_url(args.url), lambda: None
    elif args.backend == "sqlite":
        folder = tempfile.TemporaryDirectory(prefix="nvcd-broad-")
        url, drop = f"sqlite:///{folder.name}/bench.sqlite3", folder.cleanup
    else:
        url, drop = scratch_database(args.admin_url)
    before = None
    try:
        if not args.url:
            engine = make_engine(url)
            load(engine, url, args.events, args.chunk)
            engine.dispose()
        if args.before:
            before = Path(tempfile.mkdtemp(prefix="nvcd-before-")) / "tree"
            subprocess.run(
                ["git", "-C", str(root), "worktree", "add", "-q", "--detach", str(before), args.before], check=True
            )
        print(f"load average {os.getloadavg()}", flush=True)
        if before is not None:
            attack(args.before, before, url, args.clients)
        attack("this tree", root, url, args.clients)
        print(f"load average {os.getloadavg()}", flush=True)
    finally:
        if before is not None:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(before)], check=False)
        drop()


if __name__ == "__main__":
    main()
