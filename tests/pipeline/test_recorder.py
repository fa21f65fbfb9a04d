"""Run records: failures that say nothing internal, failures that cannot be recorded, abandoned runs."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from models import PipelineRun
from pipeline import measure
from pipeline.generate import generate_records
from pipeline.recorder import RunRecorder
from pipeline.runner import RunFailed, run_pipeline

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
