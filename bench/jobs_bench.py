"""Ingest off the request path (issue #14): /healthz and WebSocket heartbeats while a big upload runs.

Starts the real app under gunicorn (``tests.servers.LiveServer``: gevent, one worker by
default, 127.0.0.1 only) and a job worker (``LiveWorker``, ``python -m pipeline worker``) on a
fresh, migrated database (a SQLite file, or ``--database postgresql``: a scratch database on
``--admin-url``'s server, dropped at the end) with one job queue shared by both. It writes a
CSV of ``--rows`` generated events (``pipeline.demo.generate``), connects ``--clients``
WebSocket clients (one separate process, asyncio ``websockets``, permessage-deflate offered
as browsers do) to the pipeline-status socket, and probes ``GET /healthz`` every
``--probe-ms`` from another process (on a fixed schedule with a pool of connections, so a
stalled server shows in the latency of every probe it held up, not in one).

- **phase 1 (baseline)**: no run, ``--baseline-seconds``;
- **phase 2 (run)**: the CSV is uploaded to ``POST /api/v1/ingest/file`` (the request itself
  is timed: it must answer 202 at once), then ``GET /api/v1/runs/<id>`` is polled until the
  run has ended, plus ``--tail-seconds`` (the snapshot builds after the run's last commit),
  at most ``--max-seconds`` in all.

Per phase: /healthz p50/p95/p99/max and failures (non-200 or no answer within 5 s); per
client the largest gap between consecutive messages (the silence before the first message
of the phase and after its last one count too), max and p99 over clients; messages by type;
the upload request's duration and status; the run's status and duration; the broadcaster's
snapshot builds (from the gunicorn log); ``os.getloadavg()`` at start and end. Goals (issue
#14): /healthz p99 <= 100 ms and no gap over 6 s (heartbeats every ``WS_HEARTBEAT_SECONDS``,
5 s by default), in the run phase as in the baseline.

With ``/work/shared/tools/wsbench.py`` present (``--wsbench``), ``--wsbench-clients`` more
clients of that independent harness listen beside ours (``--mode interval``) in each phase,
as a cross-check of the socket side: its gap distribution (pooled over its clients) and
message counts are printed beside ours. Its listening window has to be fixed up front: in
phase 2 it is ``--wsbench-seconds`` (the phase then lasts at least that long).

Usage (from the repository root; one JSON line, then a Markdown summary, on stdout):

    .venv/bin/python bench/jobs_bench.py                         # SQLite, 500,000 rows, 100 clients
    .venv/bin/python bench/jobs_bench.py --database postgresql   # scratch database on --admin-url
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import itertools
import json
import multiprocessing as mp
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

ROUTE = "/api/v1/ws/monitoring/pipeline-status"
INGEST_TOKEN = "bench-ingest-token"
WSBENCH = Path("/work/shared/tools/wsbench.py")
FINAL = ("succeeded", "failed", "cancelled")
BUILD_LOG = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*snapshot v(\d+) built in ([\d.]+) ms", re.M)
# The log's wall-clock times as this process's monotonic clock (to set builds beside slow probes).
WALL_MINUS_MONO = time.time() - time.monotonic()
PROBE_TIMEOUT_S = 5.0


# -- WebSocket clients (a process of their own) ------------------------------------------
async def _clients_main(url: str, count: int, pipe) -> None:
    from websockets.asyncio.client import connect

    loop = asyncio.get_running_loop()
    received: list[list[tuple[float, str]]] = [[] for _ in range(count)]
    closed: list[float | None] = [None] * count
    sockets = []
    sem = asyncio.Semaphore(20)

    async def one(i: int) -> None:
        async with sem:
            ws = await connect(url, compression="deflate", max_size=None, open_timeout=60, ping_interval=None)
        sockets.append(ws)
        try:
            async for message in ws:
                now = time.monotonic()
                kind = "?"
                head = message[:64] if isinstance(message, str) else ""
                match = re.search(r'"type":\s*"([a-z_]+)"', head)
                if match:
                    kind = match.group(1)
                else:  # the type is not in the head: parse it all (rare)
                    with contextlib.suppress(ValueError, TypeError):
                        kind = json.loads(message).get("type", "?")
                received[i].append((now, kind))
        except Exception:  # noqa: BLE001 - a dropped client shows as "closed"
            pass
        closed[i] = time.monotonic()

    tasks = [asyncio.create_task(one(i)) for i in range(count)]
    deadline = time.monotonic() + 120
    while len(sockets) < count and not all(t.done() for t in tasks) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    pipe.send(("connected", len(sockets)))
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command == "report":
            pipe.send(("report", {"received": received, "closed": closed}))
        else:
            for ws in sockets:
                with contextlib.suppress(Exception):
                    await ws.close()
            for task in tasks:
                task.cancel()
            pipe.send(("closed", None))
            return


def _clients_process(url: str, count: int, pipe) -> None:
    asyncio.run(_clients_main(url, count, pipe))


# -- /healthz probes (a process of their own, so the bench's own work never delays them) --
def _probe_once(host: str, port: int) -> tuple[int, str]:
    conn = http.client.HTTPConnection(host, port, timeout=PROBE_TIMEOUT_S)
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        return response.status, ""
    except OSError as exc:
        return 0, exc.__class__.__name__
    finally:
        conn.close()


def _prober_process(host: str, port: int, every_s: float, pipe) -> None:
    """Probe /healthz on a fixed schedule until told to stop; send back (scheduled, latency, status, error)."""
    results: list[tuple[float, float, int, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def probe(scheduled: float) -> None:
        status, error = _probe_once(host, port)
        with lock:
            results.append((scheduled, time.monotonic() - scheduled, status, error))

    def command_reader() -> None:
        pipe.recv()
        stop.set()

    threading.Thread(target=command_reader, daemon=True).start()
    pipe.send(("started", time.monotonic()))
    with ThreadPoolExecutor(max_workers=int(PROBE_TIMEOUT_S / every_s) + 4) as pool:
        tick = time.monotonic()
        while not stop.is_set():
            pool.submit(probe, tick)
            tick += every_s
            stop.wait(max(0.0, tick - time.monotonic()))
    with lock:
        pipe.send(("results", sorted(results)))


# -- figures -----------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float | None:
    """Return the q-quantile (nearest rank) of ``values``."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def health_figures(probes: list[tuple[float, float, int, str]], start: float, end: float) -> dict:
    """Latency and failures of the probes scheduled within [start, end)."""
    window = [p for p in probes if start <= p[0] < end]
    ok = [lat for _t, lat, status, _e in window if status == 200]
    errors: dict[str, int] = {}
    for _t, _lat, status, error in window:
        if status != 200:
            key = error or str(status)
            errors[key] = errors.get(key, 0) + 1
    slow = sorted(window, key=lambda p: -p[1])[:5]
    # Stalls: runs of probes over 100 ms (or failed), as [from, to] seconds into the phase and the worst probe.
    episodes: list[dict] = []
    for scheduled, lat, status, _e in window:
        if lat <= 0.1 and status == 200:
            continue
        at = scheduled - start
        if episodes and at - episodes[-1]["to_s"] <= 0.5:
            episodes[-1].update(to_s=round(at, 2), probes=episodes[-1]["probes"] + 1,
                                worst_ms=max(episodes[-1]["worst_ms"], ms(lat) or 0))  # fmt: skip
        else:
            episodes.append({"from_s": round(at, 2), "to_s": round(at, 2), "probes": 1, "worst_ms": ms(lat)})
    return {
        "probes": len(window),
        "failures": len(window) - len(ok),
        "errors": errors,
        "p50_ms": ms(pct(ok, 0.50)),
        "p95_ms": ms(pct(ok, 0.95)),
        "p99_ms": ms(pct(ok, 0.99)),
        "max_ms": ms(max(ok)) if ok else None,
        "over_100ms": sum(1 for lat in ok if lat > 0.1),
        "slowest": [{"at_s": round(t - start, 2), "ms": ms(lat)} for t, lat, _s, _e in slow],
        "stalls": sorted(episodes, key=lambda e: -(e["worst_ms"] or 0))[:15],
    }


def gap_figures(report: dict, start: float, end: float) -> dict:
    """Per client, the largest silence overlapping [start, end]: max and p99 over clients, and messages."""
    per_client, messages, kinds, worst = [], 0, {}, (0.0, None, None)
    for i, times in enumerate(report["received"]):
        before = [t for t, _k in times if t <= start]
        inside = [(t, k) for t, k in times if start < t <= end]
        closed = report["closed"][i]
        stop = min(end, closed) if closed is not None and closed < end else end
        points = ([before[-1]] if before else [start]) + [t for t, _k in inside] + [stop]
        gaps = [(b - a, a) for a, b in itertools.pairwise(points)]
        largest = max(gaps, default=(0.0, start))
        per_client.append(largest[0])
        if largest[0] > worst[0]:
            worst = (largest[0], i, largest[1])
        messages += len(inside)
        for _t, kind in inside:
            kinds[kind] = kinds.get(kind, 0) + 1
    return {
        "clients": len(per_client),
        "closed_during": sum(1 for c in report["closed"] if c is not None and start < c <= end),
        "max_gap_s": round(max(per_client), 2) if per_client else None,
        "p99_gap_s": round(pct(per_client, 0.99) or 0, 2) if per_client else None,
        "median_gap_s": round(statistics.median(per_client), 2) if per_client else None,
        "worst_gap_from_s": round(worst[2] - start, 2) if worst[2] is not None else None,
        "messages": messages,
        "by_type": kinds,
    }


def builds_in_log(log_path: Path, offset: int, end_offset: int | None, start: float) -> dict:
    """The broadcaster's snapshot builds logged between two offsets of the gunicorn log (``start``: the phase's)."""
    from datetime import datetime

    with log_path.open("rb") as f:
        f.seek(offset)
        text = f.read((end_offset - offset) if end_offset is not None else -1).decode("utf-8", "replace")
    found = [(m.group(1), float(m.group(3))) for m in BUILD_LOG.finditer(text)]
    builds = [took for _at, took in found]
    slow = []
    for at, took in found:
        if took >= 100:
            logged = datetime.strptime(at, "%Y-%m-%d %H:%M:%S,%f").timestamp() - WALL_MINUS_MONO
            slow.append({"ended_at_s": round(logged - start, 2), "ms": took})
    return {
        "slow_builds": slow[:20],
        "builds": len(builds),
        "median_ms": round(statistics.median(builds), 1) if builds else None,
        "max_ms": round(max(builds), 1) if builds else None,
        "total_s": round(sum(builds) / 1000, 2),
    }


# -- wsbench cross-check -------------------------------------------------------------------
class WsBench:
    """``wsbench.py --mode interval`` listening ``seconds`` beside our clients."""

    def __init__(self, path: Path, url: str, clients: int, seconds: float, label: str) -> None:
        self.stderr: list[str] = []
        self.listening = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, str(path), "--url", url, "--clients", str(clients), "--compression", "deflate",
             "--mode", "interval", "--duration", str(round(seconds, 1)), "--settle", "0.5",
             "--max-runtime", str(int(seconds + 120)), "--label", label],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip())
            if "listening" in line:
                self.listening.set()

    def wait_listening(self, timeout: float) -> bool:
        return self.listening.wait(timeout)

    def result(self, timeout: float) -> dict:
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return {"error": "wsbench did not finish in time", "stderr": self.stderr[-5:]}
        try:
            raw = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"error": "no JSON from wsbench", "stderr": self.stderr[-5:]}
        interval = raw.get("interval") or {}
        return {
            "connected": (raw.get("connect") or {}).get("ok"),
            "connect_failed": (raw.get("connect") or {}).get("failed"),
            "connect_errors": (raw.get("connect") or {}).get("errors"),
            "duration_s": interval.get("duration_s"),
            "msgs_total": interval.get("msgs_total"),
            "msgs_per_client": interval.get("msgs_per_client"),
            "gap": interval.get("gap"),
            "closed_during": interval.get("closed_during"),
            "error": raw.get("error"),
        }

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


# -- the database --------------------------------------------------------------------------
def prepare_database(kind: str, admin_url: str, tmp: Path) -> tuple[str, str, tuple[str, str | None, str | None]]:
    """Create and migrate a fresh database; return its URL, the queue's URL and what to drop."""
    from alembic import command
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from config import normalise_database_url
    from tests.conftest import alembic_config

    if kind == "postgresql":
        admin = normalise_database_url(admin_url)
        name = f"nvcd_jobsbench_{uuid.uuid4().hex[:8]}"
        with create_engine(admin, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        jobs = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        cleanup: tuple[str, str | None, str | None] = ("postgresql", admin, name)
    else:
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        jobs = f"sqlite:///{tmp / 'jobs.sqlite3'}"
        cleanup = ("sqlite", None, None)
    command.upgrade(alembic_config(url), "head")
    return url, jobs, cleanup


def drop_database(cleanup: tuple[str, str | None, str | None]) -> None:
    kind, admin, name = cleanup
    if kind == "postgresql" and admin and name:
        from sqlalchemy import create_engine, text

        with create_engine(admin, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# -- the upload ----------------------------------------------------------------------------
def upload(host: str, port: int, path: Path, timeout: float) -> dict:
    """POST the file as multipart/form-data, streamed from disk; return status, run id, seconds."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = path.stat().st_size
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    started = time.monotonic()
    try:
        conn.putrequest("POST", "/api/v1/ingest/file")
        conn.putheader("Authorization", f"Bearer {INGEST_TOKEN}")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        conn.endheaders()
        conn.send(head)
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                conn.send(chunk)
        sent = time.monotonic()
        conn.send(tail)
        response = conn.getresponse()
        body = response.read()
        done = time.monotonic()
        payload = json.loads(body) if body else {}
        return {
            "status": response.status,
            "location": response.getheader("Location"),
            "run_id": payload.get("run_id"),
            "seconds": round(done - started, 3),
            "body_sent_s": round(sent - started, 3),
            "answer_after_body_s": round(done - sent, 3),
            "started": started,
            "ended": done,
            "detail": None if response.status == 202 else body[:300].decode("utf-8", "replace"),
        }
    finally:
        conn.close()


def get_run(base_url: str, run_id: int) -> dict:
    import urllib.request

    with urllib.request.urlopen(f"{base_url}/api/v1/runs/{run_id}", timeout=10) as response:
        return json.loads(response.read())


# -- the benchmark -------------------------------------------------------------------------
def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )  # fmt: skip
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--admin-url", default=os.environ.get("TEST_POSTGRES_URL",
                        "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="PostgreSQL server to create the scratch database on (--database postgresql)")  # fmt: skip
    parser.add_argument("--rows", type=int, default=500_000, help="generated events in the CSV (before its "
                        "0.2%% duplicated and 2%% template rows)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--clients", type=int, default=100, help="WebSocket clients of this script")
    parser.add_argument("--baseline-seconds", type=float, default=30.0)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="bound on phase 2")
    parser.add_argument("--tail-seconds", type=float, default=20.0, help="phase 2 goes on this long after the run")
    parser.add_argument("--probe-ms", type=float, default=50.0, help="/healthz probe interval")
    parser.add_argument("--web-workers", type=int, default=1, help="gunicorn workers (WEB_CONCURRENCY)")
    parser.add_argument("--heartbeat-seconds", type=float, default=5.0, help="WS_HEARTBEAT_SECONDS")
    parser.add_argument("--wsbench", type=Path, default=WSBENCH, help="wsbench.py (skipped when absent)")
    parser.add_argument("--wsbench-clients", type=int, default=20, help="wsbench's clients (0: no cross-check)")
    parser.add_argument("--wsbench-seconds", type=float, default=90.0, help="wsbench's listening window in phase 2")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, CSV, SQLite files)")
    args = parser.parse_args()
    if not 1 <= args.clients <= 2000 or args.rows < 1 or args.max_seconds > 3600 or args.baseline_seconds > 600:
        parser.error("bounds: 1..2000 clients, rows >= 1, --max-seconds <= 3600, --baseline-seconds <= 600")

    from pipeline.demo.generate import generate_events, write_csv
    from tests.servers import LiveServer, LiveWorker

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = Path(tempfile.mkdtemp(prefix="jobs-bench-"))
    result: dict = {
        "backend": args.database, "rows": args.rows, "clients": args.clients, "web_workers": args.web_workers,
        "heartbeat_s": args.heartbeat_seconds, "load_average_start": loadavg(), "cpus": os.cpu_count(),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                 text=True).stdout.strip(),
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }  # fmt: skip
    say = lambda msg: print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)  # noqa: E731
    cleanup: tuple[str, str | None, str | None] = ("sqlite", None, None)
    server = worker = None
    clients_proc = prober = None
    clients_pipe = prober_pipe = None
    cross: list[WsBench] = []
    try:
        csv_path = tmp / "events.csv"
        t = time.monotonic()
        write_csv(generate_events(args.rows, seed=args.seed), str(csv_path))
        size_mb = csv_path.stat().st_size / 1e6
        result["csv"] = {"mb": round(size_mb, 1), "generate_s": round(time.monotonic() - t, 1)}
        say(f"CSV: {args.rows} events, {size_mb:.1f} MB in {result['csv']['generate_s']} s")

        db_url, jobs_url, cleanup = prepare_database(args.database, args.admin_url, tmp)
        limit_mb = str(int(size_mb * 1.05) + 16)
        # A slot is freed when its handler notices the client left (up to a heartbeat later): room for
        # phase 1's wsbench clients while phase 2's connect.
        total_clients = args.clients + (args.wsbench_clients if args.wsbench.exists() else 0)
        env = {
            "INGEST_TOKEN": INGEST_TOKEN, "MAX_UPLOAD_MB": limit_mb, "MAX_QUEUED_MB": limit_mb,
            "JOBS_URL": jobs_url, "WS_HEARTBEAT_SECONDS": str(args.heartbeat_seconds),
            "WS_MAX_CLIENTS": str(total_clients + args.wsbench_clients + 10),
            "WORKER_CONNECTIONS": str(total_clients + 500),
            "WEB_CONCURRENCY": str(args.web_workers), "LOG_LEVEL": "info",
        }  # fmt: skip
        web_log, worker_log = tmp / "gunicorn.log", tmp / "worker.log"
        # LiveServer makes a queue folder of its own even when JOBS_URL is given: make it inside ours.
        tempfile.tempdir, saved_tempdir = str(tmp), tempfile.tempdir
        try:
            server = LiveServer(db_url, env=env, workers=args.web_workers, log_path=web_log)
        finally:
            tempfile.tempdir = saved_tempdir
        server.start(timeout=60)
        worker = LiveWorker(db_url, jobs_url, env={"LOG_LEVEL": "info"}, log_path=worker_log).start()
        host, port = "127.0.0.1", server.port
        ws_url = f"ws://{host}:{port}{ROUTE}"
        say(f"gunicorn on {server.url} (pid {server.process.pid if server.process else '?'}), worker started")

        ctx = mp.get_context("spawn")
        clients_pipe, theirs = ctx.Pipe()
        clients_proc = ctx.Process(target=_clients_process, args=(ws_url, args.clients, theirs), daemon=True)
        clients_proc.start()
        if not clients_pipe.poll(150):
            raise TimeoutError("clients did not connect")
        result["connected"] = clients_pipe.recv()[1]
        say(f"{result['connected']} clients connected")
        prober_pipe, theirs = ctx.Pipe()
        prober = ctx.Process(target=_prober_process, args=(host, port, args.probe_ms / 1000, theirs), daemon=True)
        prober.start()
        if not prober_pipe.poll(60):
            raise TimeoutError("prober did not start")
        prober_pipe.recv()
        time.sleep(3.0)  # let the connection burst and its client-count push settle

        # phase 1: baseline
        if args.wsbench.exists() and args.wsbench_clients:
            cross.append(WsBench(args.wsbench, ws_url, args.wsbench_clients, args.baseline_seconds, "baseline"))
            if not cross[-1].wait_listening(120):
                say("wsbench did not start listening in phase 1; going on without it")
        offsets = [web_log.stat().st_size]
        p1 = {"start": time.monotonic(), "load_average_start": loadavg()}
        say(f"phase 1 (baseline, no run): {args.baseline_seconds:.0f} s, load {p1['load_average_start']}")
        time.sleep(args.baseline_seconds)
        p1.update(end=time.monotonic(), load_average_end=loadavg())
        offsets.append(web_log.stat().st_size)

        # phase 2: the upload and the run
        if args.wsbench.exists() and args.wsbench_clients:
            cross[0].result(60)  # the baseline's listener is done by now
            cross.append(WsBench(args.wsbench, ws_url, args.wsbench_clients, args.wsbench_seconds, "run"))
            if not cross[-1].wait_listening(120):
                say("wsbench did not start listening in phase 2")
        p2 = {"start": time.monotonic(), "load_average_start": loadavg()}
        hard_end = p2["start"] + args.max_seconds
        say(f"phase 2: uploading {size_mb:.1f} MB, load {p2['load_average_start']}")
        up = upload(host, port, csv_path, timeout=min(args.max_seconds, 300))
        say(f"upload answered {up['status']} in {up['seconds']} s (body sent in {up['body_sent_s']} s)")
        run: dict = {}
        statuses: list[tuple[float, str]] = []
        if up["status"] == 202 and up["run_id"]:
            while time.monotonic() < hard_end:
                with contextlib.suppress(OSError, ValueError):
                    run = get_run(server.url, int(up["run_id"]))
                    if not statuses or statuses[-1][1] != run["status"]:
                        statuses.append((round(time.monotonic() - p2["start"], 2), run["status"]))
                        say(f"run {up['run_id']}: {run['status']}")
                    if run["status"] in FINAL:
                        break
                time.sleep(0.5)
        run_end = time.monotonic()
        until = min(hard_end, run_end + args.tail_seconds)
        if len(cross) == 2:
            until = max(until, min(hard_end, p2["start"] + args.wsbench_seconds + 1))
        time.sleep(max(0.0, until - time.monotonic()))
        p2.update(end=time.monotonic(), load_average_end=loadavg())
        offsets.append(web_log.stat().st_size)

        # collect
        prober_pipe.send("stop")
        probes = prober_pipe.recv()[1] if prober_pipe.poll(30) else []
        clients_pipe.send("report")
        report = clients_pipe.recv()[1] if clients_pipe.poll(60) else {"received": [], "closed": []}
        cross_results = [c.result(60) for c in cross] if cross else []
        phases = {}
        for name, phase, i in (("baseline", p1, 0), ("run", p2, 1)):
            phases[name] = {
                "seconds": round(phase["end"] - phase["start"], 1),
                "load_average_start": phase["load_average_start"],
                "load_average_end": phase["load_average_end"],
                "healthz": health_figures(probes, phase["start"], phase["end"]),
                "ws": gap_figures(report, phase["start"], phase["end"]),
                "snapshot_builds": builds_in_log(web_log, offsets[i], offsets[i + 1], phase["start"]),
            }
            if len(cross_results) > i:
                phases[name]["wsbench"] = cross_results[i]
        up.pop("started", None)
        up.pop("ended", None)
        result.update(
            phases=phases,
            upload=up,
            run={
                "id": run.get("id"), "status": run.get("status"), "duration_s": run.get("duration_s"),
                "counts": run.get("counts"), "error": run.get("error"), "timeline": statuses,
                "ended_in_bound": run.get("status") in FINAL,
            },
        )  # fmt: skip
    finally:
        for proc_pipe, proc in ((prober_pipe, prober), (clients_pipe, clients_proc)):
            if proc is not None and proc.is_alive():
                with contextlib.suppress(Exception):
                    proc_pipe.send("close")  # type: ignore[union-attr]
                proc.join(10)
                if proc.is_alive():
                    proc.kill()
        for c in cross:
            c.kill()
        if worker is not None:
            worker.stop()
        if server is not None:
            server.stop()
        with contextlib.suppress(Exception):
            drop_database(cleanup)
        result["load_average_end"] = loadavg()
        if args.keep:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))
    print(markdown(result))


def markdown(result: dict) -> str:
    """A Markdown summary of both phases."""
    rows = [
        "| phase | s | load avg start → end | /healthz p50 / p95 / p99 / max ms | fails | probes > 100 ms "
        "| max gap s (p99 over clients) | msgs (heartbeat / update) | builds (median / max ms) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, p in result.get("phases", {}).items():
        h, w, b = p["healthz"], p["ws"], p["snapshot_builds"]
        rows.append(
            f"| {name} | {p['seconds']} | {p['load_average_start'][0]} → {p['load_average_end'][0]} "
            f"| {h['p50_ms']} / {h['p95_ms']} / {h['p99_ms']} / {h['max_ms']} | {h['failures']} | {h['over_100ms']} "
            f"| {w['max_gap_s']} ({w['p99_gap_s']}) | {w['messages']} ({w['by_type'].get('heartbeat', 0)} / "
            f"{w['by_type'].get('pipeline_status_update', 0)}) | {b['builds']} ({b['median_ms']} / {b['max_ms']}) |"
        )
    up, run = result.get("upload", {}), result.get("run", {})
    rows.append("")
    rows.append(
        f"upload: {up.get('status')} in {up.get('seconds')} s (body sent in {up.get('body_sent_s')} s, answer "
        f"{up.get('answer_after_body_s')} s after it); run {run.get('id')}: {run.get('status')} in "
        f"{run.get('duration_s')} s; CSV {result.get('csv', {}).get('mb')} MB"
    )
    for name, p in result.get("phases", {}).items():
        wb = p.get("wsbench")
        if wb:
            gap = wb.get("gap") or {}
            rows.append(
                f"wsbench {name}: {wb.get('connected')} clients, {wb.get('duration_s')} s, "
                f"{wb.get('msgs_total')} msgs, "
                f"gap p50 {gap.get('p50_ms')} / p99 {gap.get('p99_ms')} / max {gap.get('max_ms')} ms"
                + (f", error {wb['error']}" if wb.get("error") else "")
            )
    return "\n".join(rows)


if __name__ == "__main__":
    main()
