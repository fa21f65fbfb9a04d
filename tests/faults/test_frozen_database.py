"""A frozen PostgreSQL (SIGSTOP: connections open, nothing answers): bounded 503s, heartbeats, recovery.

Under gunicorn's gevent worker (production), then in threads (the test client) for the same bounds.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from websockets.sync.client import connect

from app import create_app
from tests.conftest import alembic_config
from tests.pgserver import OwnPostgres, wait_until
from tests.servers import LiveServer

BUDGET_S = 3.0  # DB_DEADLINE_SECONDS here; /healthz keeps its default 1.5 s
READS = ("/api/v1/events", "/api/v1/trends", "/api/v1/changes", "/api/v1/monitoring/pipeline-status")


@pytest.fixture(scope="module")
def frozen_url(own_postgres: OwnPostgres) -> str:
    """Return a migrated database on the module's own server."""
    url = own_postgres.create_database("frozen")
    command.upgrade(alembic_config(url), "head")
    return url


def get(url: str, timeout: float = 30) -> tuple[int, dict, float, dict]:
    """GET ``url``; return status, JSON body, seconds taken and headers."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status, body, headers = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, body, headers = exc.code, exc.read(), dict(exc.headers)
    return status, json.loads(body or b"{}"), time.monotonic() - started, headers


@pytest.fixture
def frozen(own_postgres: OwnPostgres) -> Iterator[OwnPostgres]:
    """Yield the server for freezing; thaw it whatever the test did."""
    yield own_postgres
    own_postgres.thaw()


def test_gevent_worker_answers_503_in_time_keeps_heartbeats_and_recovers(frozen: OwnPostgres, frozen_url: str,
                                                                         tmp_path) -> None:  # fmt: skip
    env = {"DB_DEADLINE_SECONDS": str(BUDGET_S), "WS_HEARTBEAT_SECONDS": "1", "WS_REBUILD_SECONDS": "2"}
    with LiveServer(frozen_url, env=env, log_path=tmp_path / "gunicorn.log") as live:
        for path in READS:
            assert get(live.url + path)[0] == 200
        ws_url = live.url.replace("http", "ws") + "/ws/monitoring/pipeline-status"
        with connect(ws_url, open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "pipeline_status_update"
            frozen.freeze()
            frozen_at = time.monotonic()
            status, body, health_took, headers = get(live.url + "/healthz")
            assert (status, body["detail"]["database"]) == (503, "not answering") and health_took < 2.0
            assert headers["Retry-After"] == "5"
            with ThreadPoolExecutor(len(READS)) as pool:  # at once: one greenlet each, none waits for another
                answers = list(pool.map(lambda p: get(live.url + p), READS))
            for path, (status, body, took, headers) in zip(READS, answers, strict=True):
                assert status == 503, path
                assert body["message"] == "Database not answering" and "Retry-After" in headers, path
                assert took < BUDGET_S + 1.0, (path, took)
            beats, arrivals = [], [time.monotonic()]
            while time.monotonic() - frozen_at < 15:  # heartbeats keep coming, marked, however long it lasts
                message = json.loads(ws.recv(timeout=BUDGET_S + 3))
                if message["type"] == "heartbeat":
                    beats.append(message)
                    arrivals.append(time.monotonic())
            assert any(b.get("database") == "not answering" for b in beats), beats
            gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
            print(
                f"frozen: /healthz {health_took:.2f} s; API {[round(a[2], 2) for a in answers]} s; "
                f"{len(beats)} heartbeats in 15 s, longest gap {max(gaps):.2f} s"
            )
            assert max(gaps) < BUDGET_S + 2.5  # one bounded build, then the next heartbeat
            frozen.thaw()
            assert wait_until(lambda: get(live.url + "/healthz", timeout=5)[0] == 200, timeout=15)
            for path in READS:
                assert get(live.url + path)[0] == 200, path
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:  # the socket carries on: heartbeats say the database is back
                message = json.loads(ws.recv(timeout=5))
                if message["type"] == "heartbeat" and message.get("database") == "reachable":
                    break
            else:
                pytest.fail("no heartbeat said the database was reachable again")


def test_threads_answer_503_in_time_and_recover(frozen: OwnPostgres, frozen_url: str, tmp_path) -> None:
    app = create_app({"APP_ENV": "testing", "TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": frozen_url,
                      "INSTANCE_PATH": str(tmp_path), "DB_DEADLINE_SECONDS": BUDGET_S})  # fmt: skip
    client = app.test_client()
    for path in ("/healthz", *READS):
        assert client.get(path).status_code == 200
    frozen.freeze()
    started = time.monotonic()
    response = client.get("/healthz")
    assert response.status_code == 503 and time.monotonic() - started < 2.0
    assert response.get_json()["detail"]["database"] == "not answering"
    for path in READS:
        started = time.monotonic()
        assert client.get(path).status_code == 503, path
        assert time.monotonic() - started < BUDGET_S + 1.0, path
    frozen.thaw()
    assert wait_until(lambda: client.get("/healthz").status_code == 200, timeout=10)
    for path in READS:
        assert client.get(path).status_code == 200, path
    app.extensions["engine"].dispose()
