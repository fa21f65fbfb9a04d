"""Loads against a PostgreSQL server of the test's own: one stopped mid-load, one read from while it runs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, func, select, text

from app import create_app
from config import PROJECT_ROOT
from models import ConflictEvent, PipelineRun, StageRun
from models.database import make_engine
from pipeline.runner import RunFailed, run_pipeline
from pipeline.shards import SHARD_AT_BYTES
from tests.conftest import alembic_config
from tests.faults.test_frozen_database import get
from tests.pgserver import OwnPostgres, wait_until
from tests.servers import LiveServer

pytestmark = pytest.mark.slow
MID_LOAD_EVENTS = 60_000  # a load stage of a few seconds on the serial path
FIRST_LOAD_EVENTS = 125_000  # a CSV over SHARD_AT_BYTES: the sharded first load, bulk mode


def generated(tmp_path_factory: pytest.TempPathFactory, events: int) -> Path:
    """Write ``events`` generated events to a CSV (``python -m pipeline generate``)."""
    path = tmp_path_factory.mktemp("gen") / f"events-{events}.csv"
    subprocess.run([sys.executable, "-m", "pipeline", "generate", str(events), "-o", str(path)], cwd=PROJECT_ROOT,
                   check=True, capture_output=True, timeout=240)  # fmt: skip
    return path


def fresh_database(server: OwnPostgres, name: str) -> str:
    url = server.create_database(name)
    command.upgrade(alembic_config(url), "head")
    return url


def stage_status(engine: Engine, name: str) -> str | None:
    """Return the status of the newest run's stage ``name``."""
    with engine.connect() as conn:
        newest = select(func.max(PipelineRun.id)).scalar_subquery()
        return conn.scalar(select(StageRun.status).where(StageRun.run_id == newest, StageRun.name == name))


def test_a_server_stopped_mid_load_leaves_no_rows_and_the_run_failed(own_postgres: OwnPostgres, tmp_path,
                                                                     tmp_path_factory) -> None:  # fmt: skip
    source = generated(tmp_path_factory, MID_LOAD_EVENTS)
    url = fresh_database(own_postgres, "midload")
    engine, watch = make_engine(url), make_engine(url, connect_timeout_s=2)
    app = create_app({"APP_ENV": "testing", "TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url,
                      "INSTANCE_PATH": str(tmp_path)})  # fmt: skip
    client = app.test_client()
    assert client.get("/api/v1/events").status_code == 200  # the app's pool holds a connection from before
    outcome: dict[str, object] = {}

    def load() -> None:
        try:
            outcome["summary"] = run_pipeline(engine, source)
        except RunFailed as exc:
            outcome["failed"] = exc

    runner = threading.Thread(target=load, daemon=True)
    runner.start()
    assert wait_until(lambda: stage_status(watch, "load") == "running", timeout=120, step=0.02)
    own_postgres.stop("immediate")
    watch.dispose()
    time.sleep(1.0)  # the run finds the database gone and waits for it
    own_postgres.start()
    runner.join(timeout=90)
    assert not runner.is_alive(), "the run did not end within its bounded retry"
    failed = outcome.get("failed")
    assert isinstance(failed, RunFailed), outcome
    reason = failed.summary.error or ""
    assert reason.startswith("database unreachable during "), reason
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ConflictEvent)) == 0  # no partial rows
        run = conn.execute(
            select(PipelineRun.status, PipelineRun.error).where(PipelineRun.id == failed.summary.run_id)
        ).one()
    assert run.status == "failed" and (run.error or "").startswith("database unreachable during "), run
    assert wait_until(lambda: client.get("/healthz").status_code == 200, timeout=10)  # no restart of the app
    assert client.get("/api/v1/events").status_code == 200
    engine.dispose()
    app.extensions["engine"].dispose()


def test_reads_answer_within_a_second_during_a_large_first_load(own_postgres: OwnPostgres, tmp_path,
                                                                 tmp_path_factory) -> None:  # fmt: skip
    source = generated(tmp_path_factory, FIRST_LOAD_EVENTS)
    assert source.stat().st_size >= SHARD_AT_BYTES  # the sharded executor's bulk mode
    url = fresh_database(own_postgres, "firstload")
    watch = make_engine(url)
    paths = ("/api/v1/events?limit=20", "/api/v1/trends?granularity=month")
    with LiveServer(url, log_path=tmp_path / "gunicorn.log") as live:
        env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "testing"}
        ingest = subprocess.Popen([sys.executable, "-m", "pipeline", "ingest", str(source)], cwd=PROJECT_ROOT,
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        try:
            during_load, reads = 0, []
            deadline = time.monotonic() + 600
            while ingest.poll() is None and time.monotonic() < deadline:
                # The sharded load records its load stage inside its transaction: seen from here, it runs
                # from the end of deduplicate (committed apart) to the commit.
                pending = stage_status(watch, "measure") != "succeeded"  # the run has not committed
                loading = pending and stage_status(watch, "deduplicate") == "succeeded"
                for path in paths:
                    status, _body, took, _headers = get(live.url + path, timeout=10)
                    assert status == 200, (path, status)
                    # A read the commit overtook met the new rows (the first aggregate over them): not "during".
                    during = pending and stage_status(watch, "measure") != "succeeded"
                    reads.append((round(took, 3), path, during, time.strftime("%H:%M:%S")))
                    during_load += loading and during
                time.sleep(0.1)
            assert ingest.wait(timeout=60) == 0, ingest.stderr.read() if ingest.stderr else ""
        finally:
            if ingest.poll() is None:
                ingest.kill()
    assert during_load >= 4, "no read happened while the load stage ran"
    # Until the run commits (the table still empty to readers); later reads aggregate the loaded events.
    slowest = sorted((read for read in reads if read[2]), reverse=True)[:3]
    print(
        f"{len(reads)} reads, {during_load} during the load stage; slowest before the commit {slowest}; "
        f"after it {sorted(read for read in reads if not read[2])[-1:]}"
    )
    assert slowest[0][0] < 1.0, f"slowest reads before the run committed: {slowest}"
    with watch.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ConflictEvent)) > 0
        names = set(conn.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'conflict_events'")))
        unique = set(conn.scalars(text("SELECT conname FROM pg_constraint WHERE contype = 'u' "
                                        "AND conrelid = 'conflict_events'::regclass")))  # fmt: skip
    assert {ix.name for ix in ConflictEvent.__table__.indexes} <= names  # type: ignore[attr-defined]
    assert "uq_conflict_events_event_id" in unique
    watch.dispose()
