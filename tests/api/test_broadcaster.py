"""The per-process broadcaster in-process: builds once per change, survives failing builds."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from api.broadcaster import Broadcaster, register_broadcaster
from models import current_version
from status.snapshot import build_snapshot
from status.watch import PollingWatcher
from tests.status.builders import add_run, commit


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` until it holds or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


@pytest.fixture
def make_hub(engine: Engine) -> Iterator[Callable[..., Broadcaster]]:
    """Start broadcasters with fast timings (the watcher always polls); stop them afterwards."""
    hubs: list[Broadcaster] = []

    def make(build: Callable[..., dict] = build_snapshot, rebuild_s: float = 30.0) -> Broadcaster:
        hub = Broadcaster(
            engine,
            build,
            max_clients=5,
            heartbeat_s=0.2,
            rebuild_s=rebuild_s,
            poll_s=0.05,
            watcher_factory=lambda _engine, poll: PollingWatcher(poll),
        )
        hub.ensure_started()
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.stop()
        hub._thread.join(3)  # type: ignore[union-attr]
        assert not hub._thread.is_alive()  # type: ignore[union-attr]


def test_one_build_per_change_and_heartbeats_between(make_hub, engine: Engine) -> None:
    hub = make_hub()
    wait_for(lambda: hub.fanout.snapshot is not None)
    builds = hub.stats["builds"]
    time.sleep(0.5)  # polls and heartbeats, no change
    assert hub.stats["builds"] == builds
    assert hub.fanout.latest.kind == "heartbeat"
    before = hub.fanout.snapshot.version
    assert json.loads(hub.fanout.latest.text)["version"] == before
    with Session(engine) as session:
        add_run(session, status="running")
        commit(session)
    wait_for(lambda: hub.fanout.snapshot.version == before + 1)
    assert hub.stats["builds"] == builds + 1
    data = json.loads(hub.fanout.snapshot.text)
    assert data["type"] == "pipeline_status_update" and data["data"]["current_run"]["status"] == "running"
    assert hub.stats["queries_last_build"] > 0


def test_a_timer_rebuild_that_changes_nothing_pushes_nothing(make_hub) -> None:
    hub = make_hub(rebuild_s=0.1)
    wait_for(lambda: hub.fanout.snapshot is not None)
    first = hub.fanout.snapshot.seq
    wait_for(lambda: hub.stats["builds"] >= 4)
    assert hub.fanout.snapshot.seq == first


def test_failing_builds_keep_heartbeats_going_and_recover(make_hub) -> None:
    calls = {"n": 0}

    def flaky(session: Session, **kwargs: object) -> dict:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OperationalError("SELECT 1", {}, Exception("database is down"))
        return build_snapshot(session, **kwargs)

    hub = make_hub(build=flaky)
    wait_for(lambda: hub.fanout.latest is not None and hub.fanout.latest.kind == "heartbeat")
    assert hub.fanout.snapshot is None
    wait_for(lambda: hub.fanout.snapshot is not None, timeout=6)  # retried about once a second
    assert calls["n"] == 3


def test_a_database_outage_reaches_the_clients_then_clears(make_hub) -> None:
    down = {"now": False}

    def build(session: Session, **kwargs: object) -> dict:
        if down["now"]:
            raise OperationalError("SELECT 1", {}, Exception("database is down"))
        return build_snapshot(session, **kwargs)

    hub = make_hub(build=build, rebuild_s=0.1)
    wait_for(lambda: hub.fanout.snapshot is not None)
    assert hub.latest_snapshot()["system"]["database"] == "reachable"
    down["now"] = True
    wait_for(lambda: hub.latest_snapshot()["system"]["database"] == "unreachable")
    pushed = json.loads(hub.fanout.snapshot.text)["data"]
    assert pushed["status"] == "error" and pushed["alerts"][0]["kind"] == "database_unreachable"
    down["now"] = False
    wait_for(lambda: hub.latest_snapshot()["system"]["database"] == "reachable", timeout=6)
    assert json.loads(hub.fanout.snapshot.text)["data"]["alerts"][:1] != pushed["alerts"][:1]


def test_the_http_fallback_serves_the_published_snapshot_without_rebuilding(make_hub, app, client, engine) -> None:
    hub = make_hub()
    with Session(engine) as session:
        add_run(session, status="running")
        commit(session)
        version = current_version(session)
    wait_for(lambda: hub.fanout.snapshot is not None and hub.fanout.snapshot.version == version)
    register_broadcaster(app, hub)
    statements: list[str] = []
    app_engine = app.extensions["engine"]
    record = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(app_engine, "before_cursor_execute", record)
    try:
        body = client.get("/api/v1/monitoring/pipeline-status").json
    finally:
        event.remove(app_engine, "before_cursor_execute", record)
    assert body == hub.latest_snapshot()
    assert len(statements) == 1  # the version read; the snapshot itself came from the broadcaster
    with Session(engine) as session:
        add_run(session, status="succeeded")
        commit(session)  # the hub may not have rebuilt yet: the endpoint must not serve the old version
        newer = current_version(session)
    assert client.get("/api/v1/monitoring/pipeline-status").json["version"] == newer
