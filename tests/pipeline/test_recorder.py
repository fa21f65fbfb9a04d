"""Run records: failures that say nothing internal, failures that cannot be recorded, runs whose process died."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from models import PipelineRun, StageRun, current_version, utcnow
from pipeline import measure
from pipeline.demo.generate import generate_records
from pipeline.liveness import STALE_SECONDS
from pipeline.recorder import RunRecorder
from pipeline.runner import RunFailed, run_pipeline
from pipeline.stages import STAGE_NAMES

TODAY = date(2026, 1, 31)


def _boom(*_args, **_kwargs):
    raise OperationalError("UPDATE data_quality_metrics SET source=%(source)s", {"source": "ROW-VALUE"},
                           Exception("server closed the connection"))  # fmt: skip


def test_a_database_error_is_recorded_as_internal_without_its_sql(engine, monkeypatch, caplog) -> None:
    monkeypatch.setattr(measure, "write_metrics", _boom)
    with pytest.raises(RunFailed) as caught:
        run_pipeline(engine, generate_records(5, seed=31, end=TODAY), today=TODAY)
    summary = caught.value.summary
    assert not caught.value.input_error and summary.error == f"internal error (run {summary.run_id})"
    with Session(engine) as session:
        run = session.get(PipelineRun, summary.run_id)
        assert run.status == "failed" and run.error == summary.error
        assert {s.error for s in run.stages if s.status == "failed"} == {summary.error}
    assert "ROW-VALUE" in caplog.text  # the details are logged for the operator


def test_run_failed_is_raised_even_when_the_failure_cannot_be_recorded(engine, monkeypatch) -> None:
    monkeypatch.setattr(measure, "write_metrics", _boom)
    monkeypatch.setattr(RunRecorder, "run_failed", _boom)
    with pytest.raises(RunFailed) as caught:
        run_pipeline(engine, generate_records(5, seed=32, end=TODAY), today=TODAY)
    assert caught.value.summary.status == "failed"
    with Session(engine) as session:
        assert session.scalars(select(PipelineRun.status)).one() == "running"  # left for the stale-run sweep


def _abandoned_run(engine, seconds_ago: float, status: str = "running", beat_seconds_ago: float | None = None) -> int:
    """Insert a run as a killed process leaves it: still running, its extract stage running, its heartbeat old."""
    started = utcnow() - timedelta(seconds=seconds_ago)
    beat = None if beat_seconds_ago is None else utcnow() - timedelta(seconds=beat_seconds_ago)
    with Session(engine) as session:
        run = PipelineRun(status=status, trigger="cli", source_file="big.xlsx", started_at=started, heartbeat_at=beat)
        run.stages = [StageRun(name=name, position=i) for i, name in enumerate(STAGE_NAMES)]
        run.stages[0].status, run.stages[0].started_at = "running", started
        session.add(run)
        session.commit()
        return run.id


def test_a_new_run_closes_runs_whose_heartbeat_stopped(engine) -> None:
    old = _abandoned_run(engine, STALE_SECONDS * 4, beat_seconds_ago=STALE_SECONDS + 5)
    pending = _abandoned_run(engine, STALE_SECONDS * 3, status="pending")  # written before heartbeats: its start
    fresh = _abandoned_run(engine, STALE_SECONDS - 10)
    busy = _abandoned_run(engine, STALE_SECONDS * 20, beat_seconds_ago=2)  # long, but its process still beats
    queued = _abandoned_run(engine, STALE_SECONDS * 20, status="queued")  # waiting for a worker is not silence
    with Session(engine) as session:
        before = current_version(session)
    new = RunRecorder(engine, "api", "x.csv").start()
    with Session(engine) as session:
        runs = {run.id: run for run in session.scalars(select(PipelineRun))}
        for run_id in (old, pending):
            assert runs[run_id].status == "failed"
            assert runs[run_id].error.startswith("worker stopped: no heartbeat since")
            assert runs[run_id].finished_at is not None
        assert runs[old].stages[0].status == "failed" and runs[old].stages[0].error == runs[old].error
        assert [s.status for s in runs[old].stages[1:]] == ["pending"] * (len(STAGE_NAMES) - 1)
        assert runs[fresh].status == runs[busy].status == runs[new].status == "running"
        assert runs[queued].status == "queued" and runs[fresh].error is None
        assert runs[new].heartbeat_at is not None
        assert current_version(session) == before + 1  # one transaction: the new run and the closed ones


def test_a_full_run_after_a_killed_one_leaves_nothing_running(engine) -> None:
    _abandoned_run(engine, STALE_SECONDS + 1)
    run_pipeline(engine, generate_records(3, seed=33, end=TODAY), today=TODAY)
    with Session(engine) as session:
        assert sorted(session.scalars(select(PipelineRun.status))) == ["failed", "succeeded"]
        assert session.scalar(select(StageRun.id).where(StageRun.status == "running")) is None


def test_a_failure_reason_quoting_a_nul_byte_is_stored(engine) -> None:
    recorder = RunRecorder(engine, "cli", "odd\x00name.csv")
    run_id = recorder.start()
    recorder.run_failed("cannot read cell 'a\x00b'")
    with Session(engine) as session:
        run = session.get(PipelineRun, run_id)
        assert run.status == "failed" and run.error == "cannot read cell 'ab'" and run.source_file == "oddname.csv"
