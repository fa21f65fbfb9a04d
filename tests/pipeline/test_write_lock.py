"""A run that cannot get the write lock in time fails as busy, writes nothing, and the API says 503."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import models.database
from jobs import runs as job_runs
from models import ConflictEvent, PipelineRun
from pipeline import bulk
from pipeline.demo.generate import generate_records
from pipeline.runner import BUSY, RunFailed, run_pipeline

WAIT_S = 0.2


@contextmanager
def write_lock_held(engine: Engine) -> Iterator[None]:
    """Hold the loaders' write lock (PostgreSQL advisory lock, SQLite write lock) in another transaction."""
    with Session(engine) as holder:
        bulk.lock_for_load(holder)
        yield
        holder.rollback()


@pytest.fixture
def impatient(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """Return an engine whose SQLite busy timeout is short (PostgreSQL waits lock_wait_s)."""
    monkeypatch.setattr(models.database, "SQLITE_BUSY_TIMEOUT_MS", int(WAIT_S * 1000))
    eng = models.database.make_engine(database_url)
    yield eng
    eng.dispose()


def _events(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(ConflictEvent)) or 0


def test_a_run_that_cannot_get_the_lock_fails_busy_and_writes_nothing(engine, impatient) -> None:
    records = generate_records(20, seed=3)
    with write_lock_held(engine), pytest.raises(RunFailed) as failed:
        run_pipeline(impatient, records, trigger="api", lock_wait_s=WAIT_S)
    assert failed.value.busy and not failed.value.input_error
    assert failed.value.summary.error == BUSY
    assert _events(engine) == 0
    if failed.value.summary.run_id is not None:  # PostgreSQL records it; SQLite could not write at all
        with Session(engine) as session:
            run = session.get(PipelineRun, failed.value.summary.run_id)
            assert (run.status, run.error) == ("failed", BUSY)
    summary = run_pipeline(impatient, records, trigger="api", lock_wait_s=WAIT_S)
    assert summary.status == "succeeded" and _events(engine) == summary.events > 0


def test_an_upload_during_a_load_is_queued_at_once_or_refused_in_bounded_time(engine, request, monkeypatch) -> None:
    """PostgreSQL: a load's lock never stops a run from being queued. SQLite: the write lock does, so the
    request waits in short cooperative naps (never SQLite's blocking busy wait) and answers 503 in time."""
    monkeypatch.setattr(job_runs, "SUBMIT_WAIT_SECONDS", WAIT_S)
    client = request.getfixturevalue("client")
    began = time.monotonic()
    with write_lock_held(engine):
        response = client.post("/api/v1/ingest/batch", json=generate_records(5, seed=4),
                               headers={"Authorization": "Bearer test-token"})  # fmt: skip
    waited = time.monotonic() - began
    if engine.dialect.name == "postgresql":
        assert response.status_code == 202, response.json
    else:
        assert response.status_code == 503 and response.headers["Retry-After"], response.json
        assert response.json["message"] == "A run is writing to the database; retry later"
        assert WAIT_S <= waited < WAIT_S + 2
    assert _events(engine) == 0
