"""The worker as the data team runs it: a process that takes queued runs, and one killed mid-run.

Also the queue's three storages (SQLite file, PostgreSQL, Redis) carry a real run's job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from config import PROJECT_ROOT
from jobs.queue import Jobs, jobs_url, make_huey
from jobs.runs import Submission, submit
from models import ConflictEvent, PipelineRun
from pipeline.demo.generate import generate_events, write_csv
from pipeline.load import Target
from tests.conftest import IN_CI
from tests.servers import LiveWorker

FAST = {"RUN_HEARTBEAT_SECONDS": "0.5", "RUN_STALE_SECONDS": "3", "RUN_TEND_SECONDS": "1"}


def _run(engine: Engine, run_id: int) -> PipelineRun:
    with Session(engine) as session:
        run = session.get(PipelineRun, run_id)
        assert run is not None
        session.expunge(run)
        return run


def _wait(engine: Engine, run_id: int, statuses: tuple[str, ...], timeout: float) -> PipelineRun:
    deadline = time.monotonic() + timeout
    while (run := _run(engine, run_id)).status not in statuses and time.monotonic() < deadline:
        time.sleep(0.05)
    return run


def _events(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(ConflictEvent)) or 0


def _cli(database_url: str, jobs: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "JOBS_URL": jobs, "APP_ENV": "testing"}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


def test_a_run_queued_by_the_cli_is_run_by_the_worker(engine, database_url, tmp_path) -> None:
    path = tmp_path / "export.csv"
    write_csv(generate_events(40, seed=21, mess=False), str(path))
    queue = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    queued = _cli(database_url, queue, "ingest", "--queue", str(path))
    assert queued.returncode == 0, queued.stderr
    run_id = int(queued.stdout.split("#", 1)[1].split(";", 1)[0])
    assert _run(engine, run_id).status == "queued" and _events(engine) == 0
    with LiveWorker(database_url, queue, env=FAST, log_path=tmp_path / "worker.log"):
        run = _wait(engine, run_id, ("succeeded", "failed"), 60)
    assert run.status == "succeeded", (tmp_path / "worker.log").read_text()[-2000:]
    assert run.trigger == "cli" and run.source_file == "export.csv" and _events(engine) == run.events_new == 40


@pytest.mark.timeout(240)
def test_a_worker_killed_mid_run_leaves_no_run_running_and_the_run_is_done_once(engine, database_url,
                                                                              tmp_path) -> None:  # fmt: skip
    path = tmp_path / "big.csv"
    count = 40_000
    write_csv(generate_events(count, seed=22, mess=False), str(path))
    queue = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    run_id = int(_cli(database_url, queue, "ingest", "--queue", str(path)).stdout.split("#", 1)[1].split(";")[0])
    log = tmp_path / "worker.log"
    first = LiveWorker(database_url, queue, env=FAST, log_path=log).start()
    try:
        assert _wait(engine, run_id, ("running",), 60).status == "running"
        time.sleep(1.0)  # well inside the run (a few seconds of stages)
        first.stop(signal.SIGKILL)
    finally:
        first.stop()
    died = time.monotonic()
    assert _run(engine, run_id).status == "running"  # as the dead worker left it
    with LiveWorker(database_url, queue, env=FAST, log_path=log):
        requeued = _wait(engine, run_id, ("queued", "succeeded"), 30)
        assert requeued.status in ("queued", "succeeded") and requeued.attempts == 1, log.read_text()[-2000:]
        assert time.monotonic() - died < 30  # bounded: stale after 3 s, tended every second
        run = _wait(engine, run_id, ("succeeded", "failed"), 120)
    assert run.status == "succeeded" and run.attempts == 1, log.read_text()[-3000:]
    assert _events(engine) == count == run.events_new  # done once: nothing doubled, nothing partial


def test_the_queue_storages_carry_a_real_run(engine, database_url, tmp_path, monkeypatch) -> None:
    """The default storage beside the database (SQLite file or PostgreSQL tables), and Redis."""
    settings = {"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path), "JOBS_URL": ""}
    urls = [jobs_url(settings)]
    assert urls[0].startswith("postgresql://" if engine.dialect.name == "postgresql" else "sqlite:///")
    try:
        import redis

        redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=1).ping()
        urls.append("redis://127.0.0.1:6379/15")
    except Exception as exc:  # noqa: BLE001 - no Redis here
        if IN_CI:
            pytest.fail(f"CI needs Redis on 127.0.0.1:6379: {exc}")
    for seed, url in enumerate(urls):
        jobs = Jobs(make_huey(url), engine, {**settings, "JOBS_URL": url})
        jobs.huey.flush()
        data = generate_events(5, seed=30 + seed, mess=False).to_csv(index=False).encode()
        run_id = submit(engine, jobs, Submission("api", "export.csv", data, Target()), 10**9)
        assert jobs.huey.pending_count() == 1
        assert jobs.waiting() == {run_id}
        assert jobs.drain() == 1
        assert _run(engine, run_id).status == "succeeded", url
        jobs.huey.flush()


def test_a_bad_jobs_url_is_refused(tmp_path: Path) -> None:
    from config import ConfigError

    with pytest.raises(ConfigError, match="JOBS_URL must be"):
        make_huey("ftp://example.org/queue")
