"""Changes made by any process reach WebSocket clients of every app process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
import requests
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from websockets.sync.client import ClientConnection, connect

from models import current_version
from pipeline.demo.generate import generate_records
from pipeline.runner import run_pipeline
from tests.servers import LiveServer, LiveWorker, wait_for_run
from tests.status.builders import add_run, commit

ROUTE = "/api/v1/ws/monitoring/pipeline-status"
INGEST_TOKEN = "ingest-secret"


def settings(database_url: str) -> dict[str, str]:
    """Short intervals; on PostgreSQL a poll so slow that only NOTIFY can explain a quick push."""
    poll = "30" if database_url.startswith("postgresql") else "0.2"
    return {
        "WS_HEARTBEAT_SECONDS": "1",
        "WS_POLL_SECONDS": poll,
        "WS_REBUILD_SECONDS": "60",
        "INGEST_TOKEN": INGEST_TOKEN,
    }


@pytest.fixture(scope="module")
def pair(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two separate gunicorn servers (as two replicas would be) on one database, and a job worker."""
    env = settings(database_url) | {"JOBS_URL": f"sqlite:///{tmp_path_factory.mktemp('jobs') / 'jobs.sqlite3'}"}
    with (
        LiveServer(database_url, env=env) as a,
        LiveServer(database_url, env=env) as b,
        LiveWorker(database_url, env["JOBS_URL"]),
    ):
        yield a, b


def open_clients(stack: ExitStack, servers: tuple[LiveServer, ...]) -> list[ClientConnection]:
    """Connect one client to each server and consume its first snapshot."""
    clients = []
    for server in servers:
        ws = stack.enter_context(connect(server.url.replace("http://", "ws://") + ROUTE))
        assert json.loads(ws.recv(timeout=5))["type"] == "pipeline_status_update"
        clients.append(ws)
    return clients


def wait_for_version(ws: ClientConnection, version: int, timeout: float) -> dict:
    """Return the first snapshot at ``version`` or later."""
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
        if message["type"] == "pipeline_status_update" and message["version"] >= version:
            return message


def test_an_http_ingest_through_one_server_reaches_clients_of_both(pair, engine: Engine) -> None:
    with ExitStack() as stack:
        clients = open_clients(stack, pair)
        records = [{k: v for k, v in r.items() if v == v} for r in generate_records(25, seed=7)]  # no NaN in JSON
        response = requests.post(
            f"{pair[0].url}/api/v1/ingest/batch",
            json={"records": records},
            headers={"Authorization": f"Bearer {INGEST_TOKEN}"},
            timeout=60,
        )
        assert response.status_code == 202, response.text
        run = wait_for_run(pair[1].url, response.json()["run_id"])  # run by the worker, read on the other server
        assert run["status"] == "succeeded", run
        with Session(engine) as session:
            version = current_version(session)
        for ws in clients:  # the client of the other server too
            data = wait_for_version(ws, version, timeout=5)["data"]
            assert data["last_run"]["id"] == run["id"] and data["last_run"]["status"] == "succeeded"
            assert data["totals"]["events"] == run["events_new"] > 0


def test_an_ingest_in_another_process_reaches_the_clients(pair, engine: Engine) -> None:
    with ExitStack() as stack:
        clients = open_clients(stack, pair)
        summary = run_pipeline(engine, generate_records(10, seed=8), trigger="cli", filename="batch.csv")
        with Session(engine) as session:
            version = current_version(session)
        for ws in clients:
            assert wait_for_version(ws, version, timeout=5)["data"]["last_run"]["id"] == summary.run_id


def test_direct_change_reaches_the_other_server_quickly(pair, engine: Engine) -> None:
    with ExitStack() as stack:
        clients = open_clients(stack, pair)
        with Session(engine) as session:
            add_run(session, status="running")
            commit(session)
            version = current_version(session)
        started = time.monotonic()
        for ws in clients:
            wait_for_version(ws, version, timeout=3)
        assert time.monotonic() - started < 1.5


def test_listener_reconnects_after_its_connection_is_killed(pair, engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL only")
    with ExitStack() as stack:
        (ws,) = open_clients(stack, pair[:1])
        with engine.begin() as conn:
            killed = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                )
            ).scalar()
        assert killed == 2  # one listener per server
        time.sleep(0.5)
        with Session(engine) as session:
            add_run(session, status="failed")
            commit(session)
            version = current_version(session)
        assert wait_for_version(ws, version, timeout=8)["data"]["last_run"]["status"] == "failed"
