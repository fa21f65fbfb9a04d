"""Fan-out benchmark: the real app under gunicorn vs a minimal asyncio `websockets` floor.

For each client count N: start one gunicorn worker on 127.0.0.1, connect N clients
(separate processes, permessage-deflate offered as browsers do), commit a real
monitored change (a pipeline run row + bump_version) and time change-to-client
latency; count clients that missed it; RSS delta of the worker per connection;
database queries per change (from the broadcaster's log line). The same clients
then time a minimal `websockets` broadcast server pushing a payload of the same
size and content. Usage (from the repository root):

    .venv/bin/python bench/ws_fanout.py --clients 100,1000,2000 --rounds 5

Uses TEST_POSTGRES_URL (an admin URL) to create a scratch PostgreSQL database,
else a scratch SQLite file. Prints a JSON summary line and a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

ROUTE = "/api/v1/ws/monitoring/pipeline-status"
INGEST_TOKEN = "bench-ingest-token"
BUILD_LOG = re.compile(r"snapshot v(\d+) built in ([\d.]+) ms, (\d+) queries")


# -- client processes -------------------------------------------------------------
async def _clients_main(url: str, count: int, compression: str | None, pipe) -> None:
    from websockets.asyncio.client import connect

    loop = asyncio.get_running_loop()
    state = {"token": None, "got": {}}
    sockets, sizes = [], []
    sem = asyncio.Semaphore(25)

    async def one(i: int) -> None:
        async with sem:
            ws = await connect(url, compression=compression, max_size=None, open_timeout=60, ping_interval=None)
        sockets.append(ws)
        try:
            async for message in ws:
                token = state["token"]
                if token and i not in state["got"] and token in message:
                    state["got"][i] = time.monotonic()
                    sizes.append(len(message))
        except Exception:  # noqa: BLE001 - a dropped client shows up as "missed"
            pass

    tasks = [asyncio.create_task(one(i)) for i in range(count)]
    while len(sockets) < count and not all(t.done() for t in tasks):
        await asyncio.sleep(0.05)
    pipe.send(("connected", len(sockets)))
    while True:
        command, arg = await loop.run_in_executor(None, pipe.recv)
        if command == "watch":
            state["token"], state["got"] = arg, {}
            sizes.clear()
            pipe.send(("ok", None))
        elif command == "report":
            pipe.send(("times", (list(state["got"].values()), sizes[:1])))
        else:
            for ws in sockets:
                await ws.close()
            pipe.send(("closed", None))
            return


def _client_process(url: str, count: int, compression: str | None, pipe) -> None:
    asyncio.run(_clients_main(url, count, compression, pipe))


class Clients:
    """N WebSocket clients spread over a few processes, driven over pipes."""

    def __init__(self, url: str, total: int, procs: int, compression: str | None) -> None:
        ctx = mp.get_context("spawn")
        shares = [total // procs + (1 if i < total % procs else 0) for i in range(procs)]
        self.pipes, self.procs = [], []
        for share in shares:
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=_client_process, args=(url, share, compression, theirs), daemon=True)
            proc.start()
            self.pipes.append(ours)
            self.procs.append(proc)
        self.connected = sum(self._ask_one(p, timeout=300)[1] for p in self.pipes)

    @staticmethod
    def _ask_one(pipe, timeout: float = 60):
        if not pipe.poll(timeout):
            raise TimeoutError("client process did not answer")
        return pipe.recv()

    def ask(self, command: str, arg: object = None) -> list:
        """Send a command to every client process and return their answers."""
        for pipe in self.pipes:
            pipe.send((command, arg))
        return [self._ask_one(pipe)[1] for pipe in self.pipes]

    def close(self) -> None:
        """Close every client and end the processes."""
        self.ask("close")
        for proc in self.procs:
            proc.join(10)


def time_round(clients: Clients, trigger, token: str, timeout: float) -> dict:
    """Watch for ``token``, run ``trigger`` at t0, return latency figures for this round."""
    clients.ask("watch", token)
    t0 = time.monotonic()
    trigger(token)
    trigger_ms = round((time.monotonic() - t0) * 1000, 1)
    time.sleep(0.2)
    deadline = t0 + timeout
    while True:
        answers = clients.ask("report")
        times = [t for got, _ in answers for t in got]
        if len(times) >= clients.connected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    sizes = [s for _, size in answers for s in size]
    lat = sorted((t - t0) * 1000 for t in times)
    pick = (lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 1)) if lat else (lambda q: None)
    return {
        "p50_ms": pick(0.5),
        "p99_ms": pick(0.99),
        "max_ms": round(lat[-1], 1) if lat else None,
        "missed": clients.connected - len(lat),
        "message_chars": sizes[0] if sizes else None,
        "trigger_ms": trigger_ms,
    }


def median_of(rounds: list[dict], key: str) -> float | None:
    """Return the median of one per-round figure."""
    values = [r[key] for r in rounds if r[key] is not None]
    return round(statistics.median(values), 1) if values else None


# -- the server side --------------------------------------------------------------
def rss_kb(pid: int) -> int:
    """Return a process's resident set size in KB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def children(pid: int) -> list[int]:
    """Return the direct children of ``pid``."""
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def prepare_database(seed_events: int) -> tuple[str, object]:
    """Create a scratch database (PostgreSQL when TEST_POSTGRES_URL is set), migrate and seed it."""
    from alembic import command
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from config import normalise_database_url
    from models.database import make_engine
    from pipeline.demo.generate import generate_records
    from pipeline.runner import run_pipeline
    from tests.conftest import alembic_config

    admin = os.environ.get("TEST_POSTGRES_URL")
    if admin:
        admin = normalise_database_url(admin)
        name = f"nvcd_bench_{uuid.uuid4().hex[:8]}"
        with create_engine(admin, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        cleanup = ("postgresql", admin, name)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
        cleanup = ("sqlite", None, None)
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    run_pipeline(engine, generate_records(seed_events, seed=1), trigger="cli", filename="seed.csv")
    engine.dispose()
    return url, cleanup


def drop_database(cleanup: tuple) -> None:
    """Drop the scratch PostgreSQL database."""
    kind, admin, name = cleanup
    if kind == "postgresql":
        from sqlalchemy import create_engine, text

        with create_engine(admin, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def ingest_upload(base_url: str):
    """Return a trigger that uploads a 20-row CSV named ``<token>.csv`` to the app's ingest endpoint.

    The run row (with that file name) is committed when the run starts, so clients see
    the token in ``current_run`` from the ingest's first change on.
    """
    import requests

    from pipeline.demo.generate import generate_events, write_csv

    path = Path(tempfile.mkdtemp()) / "batch.csv"
    write_csv(generate_events(20, seed=3), str(path))
    body = path.read_bytes()

    def trigger(token: str) -> None:
        response = requests.post(
            f"{base_url}/api/v1/ingest/file",
            files={"file": (f"{token}.csv", body, "text/csv")},
            headers={"Authorization": f"Bearer {INGEST_TOKEN}"},
            timeout=60,
        )
        response.raise_for_status()

    return trigger


def commit_change(engine):
    """Return a trigger that commits a real monitored change naming ``token``."""
    from sqlalchemy.orm import Session

    from models import PipelineRun, StageRun, bump_version, utcnow
    from pipeline.stages import STAGE_NAMES

    def trigger(token: str) -> None:
        now = utcnow()
        with Session(engine) as session:
            run = PipelineRun(
                status="succeeded",
                trigger="api",
                source_file=f"{token}.csv",
                started_at=now,
                finished_at=now,
                items_in=10,
                items_out=10,
                events_unchanged=10,
            )
            run.stages = [
                StageRun(
                    name=s, position=i, status="succeeded", started_at=now, finished_at=now, items_in=10, items_out=10
                )
                for i, s in enumerate(STAGE_NAMES)
            ]
            session.add(run)
            bump_version(session)
            session.commit()

    return trigger


# -- the floor: a minimal asyncio websockets broadcaster ----------------------------
FLOOR_CODE = """
import asyncio, json, sys
from websockets.asyncio.server import serve, broadcast
port, udp_port, payload_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
payload = open(payload_path).read()
clients = set()
async def handler(ws):
    clients.add(ws)
    try:
        await ws.wait_closed()
    finally:
        clients.discard(ws)
class Trigger(asyncio.DatagramProtocol):
    def datagram_received(self, data, addr):
        broadcast(clients, payload.replace("@TOKEN@", data.decode()))
async def main():
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(Trigger, local_addr=("127.0.0.1", udp_port))
    async with serve(handler, "127.0.0.1", port, max_size=None):
        print("ready", flush=True)
        await asyncio.Future()
asyncio.run(main())
"""


def sample_message(url: str) -> str:
    """Return one snapshot message as the app sends it (to size the floor's payload)."""
    from websockets.sync.client import connect

    with connect(url) as ws:
        while True:
            text = ws.recv(timeout=10)
            if json.loads(text)["type"] == "pipeline_status_update":
                return text


def bench_app(db_url: str, n: int, args: argparse.Namespace, log_dir: Path) -> tuple[dict, str]:
    """Measure the real app under gunicorn with ``n`` clients."""
    from models.database import make_engine
    from tests.servers import LiveServer

    log_path = log_dir / f"gunicorn-{n}.log"
    env = {
        "WS_MAX_CLIENTS": str(n + 10),
        "WORKER_CONNECTIONS": str(n + 200),
        "WEB_CONCURRENCY": "1",
        "LOG_LEVEL": "info",
        "APP_ENV": "testing",
        "INGEST_TOKEN": INGEST_TOKEN,
    }
    server = LiveServer(db_url, env=env, log_path=log_path).start(timeout=60)
    engine = make_engine(db_url)
    try:
        worker = children(server.process.pid)[0]
        url = server.url.replace("http://", "ws://") + ROUTE
        message = sample_message(url)
        time.sleep(1.0)
        before = rss_kb(worker)
        clients = Clients(url, n, args.procs, None if args.compression == "none" else "deflate")
        time.sleep(3.0)  # let the connection burst and the client-count push settle
        connected_rss = rss_kb(worker)
        offset = log_path.stat().st_size
        trigger = ingest_upload(server.url) if args.trigger == "ingest" else commit_change(engine)
        rounds = [
            time_round(clients, trigger, f"bench-{uuid.uuid4().hex[:10]}", args.timeout) for _ in range(args.rounds)
        ]
        after = rss_kb(worker)
        builds = [(int(v), float(ms), int(q)) for v, ms, q in BUILD_LOG.findall(log_path.read_text()[offset:])]
        clients.close()
    finally:
        engine.dispose()
        server.stop()
    result = {
        "server": "app (flask-sock, gunicorn gevent, 1 worker)",
        "clients": n,
        "connected": clients.connected,
        "p50_ms": median_of(rounds, "p50_ms"),
        "p99_ms": median_of(rounds, "p99_ms"),
        "max_ms": max((r["max_ms"] or 0) for r in rounds),
        "missed": sum(r["missed"] for r in rounds),
        "kb_per_conn": round((connected_rss - before) / max(clients.connected, 1), 1),
        "kb_per_conn_after_traffic": round((after - before) / max(clients.connected, 1), 1),
        "queries_per_change": 1 + statistics.median([q for _, _, q in builds]) if builds else None,
        "build_ms": statistics.median([ms for _, ms, _ in builds]) if builds else None,
        "builds": len(builds),
        "rounds": rounds,
        "message_chars": len(message),
    }
    return result, message


def bench_floor(message: str, n: int, args: argparse.Namespace, log_dir: Path) -> dict:
    """Measure the minimal asyncio websockets broadcaster with the same payload and clients."""
    import socket

    from tests.servers import free_port

    data = json.loads(message)
    payload_path = log_dir / "floor-payload.json"
    payload_path.write_text(json.dumps({"type": data["type"], "token": "@TOKEN@", "data": data["data"]}))
    port, udp_port = free_port(), free_port()
    floor = subprocess.Popen(
        [sys.executable, "-c", FLOOR_CODE, str(port), str(udp_port), str(payload_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert floor.stdout is not None and floor.stdout.readline().strip() == "ready"
        before = rss_kb(floor.pid)
        clients = Clients(f"ws://127.0.0.1:{port}/", n, args.procs, None if args.compression == "none" else "deflate")
        time.sleep(3.0)  # let the connection burst and the client-count push settle
        connected_rss = rss_kb(floor.pid)
        rounds = [
            time_round(
                clients,
                lambda token: udp.sendto(token.encode(), ("127.0.0.1", udp_port)),
                f"floor-{uuid.uuid4().hex[:10]}",
                args.timeout,
            )
            for _ in range(args.rounds)
        ]
        after = rss_kb(floor.pid)
        clients.close()
    finally:
        udp.close()
        floor.terminate()
        floor.wait(10)
    return {
        "server": "floor (asyncio websockets broadcast)",
        "clients": n,
        "connected": clients.connected,
        "p50_ms": median_of(rounds, "p50_ms"),
        "p99_ms": median_of(rounds, "p99_ms"),
        "max_ms": max((r["max_ms"] or 0) for r in rounds),
        "missed": sum(r["missed"] for r in rounds),
        "kb_per_conn": round((connected_rss - before) / max(clients.connected, 1), 1),
        "kb_per_conn_after_traffic": round((after - before) / max(clients.connected, 1), 1),
        "queries_per_change": None,
        "build_ms": None,
        "builds": None,
        "rounds": rounds,
        "message_chars": len(payload_path.read_text()),
    }


def markdown(results: list[dict]) -> str:
    """Return the results as a Markdown table."""
    head = (
        "| server | clients | connected | p50 ms | p99 ms | max ms | missed | KB/conn | KB/conn after traffic "
        "| queries/change | build ms |\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = [
        f"| {r['server']} | {r['clients']} | {r['connected']} | {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} "
        f"| {r['missed']} | {r['kb_per_conn']} | {r['kb_per_conn_after_traffic']} | {r['queries_per_change']} "
        f"| {r['build_ms']} |"
        for r in results
    ]
    return "\n".join([head, *rows])


def main() -> None:
    """Run the benchmark for every client count and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="100,1000,2000", help="comma-separated client counts")
    parser.add_argument("--rounds", type=int, default=5, help="changes timed per client count")
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--compression", choices=["deflate", "none"], default="deflate")
    parser.add_argument("--seed-events", type=int, default=2000, help="generated events ingested first")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a client counts as missed")
    parser.add_argument("--no-floor", action="store_true", help="skip the websockets floor")
    parser.add_argument(
        "--trigger",
        choices=["commit", "ingest"],
        default="commit",
        help="commit: a run row + bump_version from the bench; ingest: a CSV upload to the app",
    )
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children (gunicorn, clients) inherit it
    log_dir = Path(tempfile.mkdtemp(prefix="ws-fanout-"))
    db_url, cleanup = prepare_database(args.seed_events)
    results = []
    try:
        for n in (int(x) for x in args.clients.split(",")):
            app_result, message = bench_app(db_url, n, args, log_dir)
            results.append(app_result)
            print(markdown([app_result]).splitlines()[-1], file=sys.stderr, flush=True)
            if not args.no_floor:
                results.append(bench_floor(message, n, args, log_dir))
                print(markdown([results[-1]]).splitlines()[-1], file=sys.stderr, flush=True)
    finally:
        drop_database(cleanup)
    print(
        json.dumps(
            {
                "backend": cleanup[0],
                "compression": args.compression,
                "trigger": args.trigger,
                "nofile": hard,
                "results": results,
            }
        )
    )
    print(markdown(results))


if __name__ == "__main__":
    main()
