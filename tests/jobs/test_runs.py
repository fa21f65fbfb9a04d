"""Runs as jobs: cancel, retry after a worker died, one writer per dataset, lost jobs, the runs API."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import db
from jobs import runs as job_runs
from jobs.queue import Jobs
from models import ConflictEvent, PipelineRun, RunInput, utcnow
from pipeline import liveness, serial, stages
from pipeline.demo.generate import generate_events

AUTH = {"Authorization": "Bearer test-token"}


def _upload(client, n: int = 12, seed: int = 3, **form: str):
    data = generate_events(n, seed=seed, mess=False).to_csv(index=False).encode()
    return client.post("/api/v1/ingest/file", data={"file": (io.BytesIO(data), "export.csv"), **form}, headers=AUTH,
                       content_type="multipart/form-data")  # fmt: skip


def _jobs(app) -> Jobs:
    with app.app_context():
        return db.jobs()


def _events(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(ConflictEvent)) or 0


def _run(engine, run_id: int) -> PipelineRun:
    with Session(engine) as session:
        run = session.get(PipelineRun, run_id)
        session.expunge(run)
        return run


def test_a_queued_run_cancelled_never_runs_and_its_input_is_gone(client, engine, run_jobs):
    run_id = _upload(client).json["run_id"]
    assert client.post(f"/api/v1/runs/{run_id}/cancel").status_code == 401
    response = client.post(f"/api/v1/runs/{run_id}/cancel", headers=AUTH)
    assert response.status_code == 202 and response.json == {"run_id": run_id, "status": "cancelled"}
    assert run_jobs() == 1  # the job comes, finds the run no longer queued, does nothing
    run = client.get(f"/api/v1/runs/{run_id}").json
    assert run["status"] == "cancelled" and run["error"] == "cancelled on request" and run["finished_at"]
    assert _events(engine) == 0
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(RunInput)) == 0
    again = client.post(f"/api/v1/runs/{run_id}/cancel", headers=AUTH)
    assert again.status_code == 409 and again.json["detail"] == {"status": "cancelled"}
    assert client.post("/api/v1/runs/99999/cancel", headers=AUTH).status_code == 404


def test_a_running_run_cancelled_stops_and_writes_nothing(client, engine, app, monkeypatch):
    monkeypatch.setattr(liveness, "HEARTBEAT_SECONDS", 0.05)
    geocoding = threading.Event()

    def slow_geocode(*args, **kwargs):
        geocoding.set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _run(engine, run_id).cancel_requested:
            time.sleep(0.02)
        time.sleep(0.2)  # a beat or more reads the request
        return stages.geocoded(*args, **kwargs)

    slow = tuple(replace(stage, func=slow_geocode) if stage.name == "geocode" else stage for stage in stages.PIPELINE)
    monkeypatch.setattr(serial, "PIPELINE", slow)
    run_id = _upload(client).json["run_id"]
    worker = threading.Thread(target=_jobs(app).drain)
    worker.start()
    assert geocoding.wait(10)
    response = client.post(f"/api/v1/runs/{run_id}/cancel", headers=AUTH)
    assert response.status_code == 202 and response.json["status"] == "cancelling"
    worker.join(20)
    run = client.get(f"/api/v1/runs/{run_id}").json
    assert run["status"] == "cancelled" and run["cancel_requested"], run
    assert {s["status"] for s in run["stages"]} <= {"succeeded", "cancelled", "pending"}
    assert "cancelled" in {s["status"] for s in run["stages"]}
    assert _events(engine) == 0


def _as_if_its_worker_died(engine, run_id: int) -> None:
    """Leave the run as a killed worker does: running, stages half done, its heartbeat old."""
    old = utcnow() - timedelta(seconds=liveness.STALE_SECONDS * 3)
    with Session(engine) as session:
        session.execute(update(PipelineRun).where(PipelineRun.id == run_id)
                        .values(status="running", started_at=old, heartbeat_at=old))  # fmt: skip
        session.commit()


def test_a_run_whose_worker_died_runs_again_and_succeeds(client, engine, app, run_jobs):
    run_id = _upload(client).json["run_id"]
    jobs = _jobs(app)
    assert jobs.huey.dequeue() is not None  # the worker took the job, then died before it ended
    _as_if_its_worker_died(engine, run_id)
    swept = job_runs.tend(jobs)
    assert swept.requeued == [run_id] and swept.failed == []
    queued = client.get(f"/api/v1/runs/{run_id}").json
    assert queued["status"] == "queued" and queued["attempts"] == 1
    assert queued["error"].startswith("retrying: its worker stopped (no heartbeat since")
    assert run_jobs() == 1
    run = client.get(f"/api/v1/runs/{run_id}").json
    assert run["status"] == "succeeded" and run["error"] is None and run["attempts"] == 1
    assert _events(engine) == run["events_new"] == 12


def test_a_silent_run_with_no_attempts_left_or_no_input_fails_with_the_reason(client, engine, app):
    jobs = _jobs(app)
    first, second = (_upload(client, seed=seed).json["run_id"] for seed in (4, 5))
    with Session(engine) as session:
        session.execute(update(PipelineRun).where(PipelineRun.id == first).values(attempts=job_runs.MAX_ATTEMPTS - 1))
        session.execute(RunInput.__table__.delete().where(RunInput.run_id == second))
        session.commit()
    for run_id in (first, second):
        _as_if_its_worker_died(engine, run_id)
    assert sorted(job_runs.tend(jobs).failed) == [first, second]
    for run_id in (first, second):
        run = _run(engine, run_id)
        assert run.status == "failed" and run.error.startswith("worker stopped: no heartbeat since")


def test_another_run_starting_leaves_a_silent_job_to_the_worker(client, engine, app, run_jobs):
    """A CLI or replay run's start fails silent CLI runs, but a job's run (its input kept) may still run again."""
    from pipeline.recorder import RunRecorder

    run_id = _upload(client).json["run_id"]
    _as_if_its_worker_died(engine, run_id)
    RunRecorder(engine, "replay", "replay").start()
    assert _run(engine, run_id).status == "running"
    assert job_runs.tend(_jobs(app)).requeued == [run_id]


def test_a_fresh_heartbeat_keeps_a_long_run_alive(client, engine, app):
    run_id = _upload(client).json["run_id"]
    _as_if_its_worker_died(engine, run_id)
    with Session(engine) as session:
        session.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(heartbeat_at=utcnow()))
        session.commit()
    swept = job_runs.tend(_jobs(app))
    assert swept.failed == swept.requeued == [] and _run(engine, run_id).status == "running"


def _run_scheduled(jobs: Jobs, ahead: timedelta) -> None:
    """Run the jobs scheduled within ``ahead``, as the worker's scheduler will when their time comes."""
    when = utcnow().replace(tzinfo=None) + ahead  # huey keeps naive UTC times
    for task in jobs.huey.read_schedule(when):
        jobs.huey.execute(task, when)


def test_one_writing_run_per_dataset(client, engine, app, run_jobs):
    jobs = _jobs(app)
    nvcd = _upload(client, seed=6).json["run_id"]
    other = _upload(client, seed=7, dataset="field-reports").json["run_id"]
    with Session(engine) as session:  # a run of nvcd is writing, in another worker
        writer = PipelineRun(status="running", trigger="api", source_file="other.csv", started_at=utcnow(),
                             heartbeat_at=utcnow())  # fmt: skip
        session.add(writer)
        session.commit()
        writing = writer.id
    assert jobs.lock_dataset("nvcd", writing)
    assert run_jobs() == 2
    assert _run(engine, nvcd).status == "queued"  # it waits, retried after a delay
    assert _run(engine, other).status == "succeeded"  # another dataset goes on
    assert [task.args for task in jobs.huey.scheduled()] == [(nvcd,)]
    _run_scheduled(jobs, timedelta(minutes=1))
    assert _run(engine, nvcd).status == "queued"  # the writer is still alive
    _as_if_its_worker_died(engine, writing)  # its worker died: the lock it left is taken over
    _run_scheduled(jobs, timedelta(minutes=1))
    assert _run(engine, nvcd).status == "succeeded"


def test_a_queued_run_that_lost_its_job_is_queued_again(client, engine, app, run_jobs, monkeypatch):
    jobs = _jobs(app)
    run_id = _upload(client).json["run_id"]
    jobs.huey.flush()  # the queue's storage lost the job (a flushed Redis, say)
    assert job_runs.tend(jobs).requeued == []  # too recent to call lost
    monkeypatch.setattr(job_runs, "LOST_AFTER_SECONDS", 0)
    assert job_runs.tend(jobs).requeued == [run_id]
    assert run_jobs() == 1 and _run(engine, run_id).status == "succeeded"


@pytest.mark.parametrize("app_overrides", [{"MAX_QUEUED_MB": 0}])
def test_the_queue_refuses_inputs_past_its_limit(client, engine, app_overrides):
    response = _upload(client)
    assert response.status_code == 503 and response.headers["Retry-After"]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PipelineRun)) == 0


def test_the_runs_api_lists_and_details_runs(client, engine, run_jobs):
    first, second = (_upload(client, seed=seed).json["run_id"] for seed in (8, 9))
    run_jobs()
    listed = client.get("/api/v1/runs?limit=1").json["items"]
    assert [run["id"] for run in listed] == [second]
    older = client.get(f"/api/v1/runs?before={second}").json["items"]
    assert [run["id"] for run in older] == [first]
    run = client.get(f"/api/v1/runs/{first}").json
    assert run["progress"] == {"stage": None, "done": len(run["stages"]), "total": len(run["stages"])}
    assert run["duration_s"] >= 0 and run["diff"]["counts"]["created"] == run["events_new"] == 12
    assert all(item["count"] > 0 for item in run["issues"])
    for bad in ("/api/v1/runs?limit=0", "/api/v1/runs?limit=101", "/api/v1/runs?before=x", "/api/v1/runs/0"):
        assert client.get(bad).status_code in (404, 422), bad
    assert client.get("/api/v1/runs/424242").status_code == 404


def test_a_run_that_cannot_start_is_retried_by_the_queue(client, engine, app, monkeypatch):
    """The database does not answer when the job begins: huey retries it later, the run still queued."""
    from sqlalchemy.exc import OperationalError

    jobs = _jobs(app)
    run_id = _upload(client).json["run_id"]

    def unreachable(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(job_runs, "dataset_of", unreachable)
    task = jobs.huey.dequeue()
    jobs.huey.execute(task)
    assert [t.args for t in jobs.huey.scheduled()] == [(run_id,)]  # retried with backoff, not dropped
    monkeypatch.undo()
    _run_scheduled(jobs, timedelta(minutes=5))
    assert _run(engine, run_id).status == "succeeded"
