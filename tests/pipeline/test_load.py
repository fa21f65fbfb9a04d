"""Load: new rows inserted, unchanged skipped, changed updated in place, issues replaced, no commit."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from models import ConflictEvent, PipelineRun, ValidationIssue, utcnow
from pipeline import bulk
from pipeline import load as load_module
from pipeline.dedupe import deduplicate
from pipeline.load import event_rows, event_write_columns, load
from tests.pipeline.event_frames import events, issues


def _run(engine: Engine) -> int:
    with Session(engine) as session:
        run = PipelineRun(status="running", trigger="cli")
        session.add(run)
        session.commit()
        return run.id


def _load(engine: Engine, frame: pd.DataFrame, found: pd.DataFrame, **options: object):
    run_id = _run(engine)
    with Session(engine) as session:
        result = load(session, deduplicate(frame).events, found, run_id=run_id, source_file="t.csv", now=utcnow(),
                      **options)  # fmt: skip
        session.commit()
    return run_id, result


def _stored(engine: Engine) -> list[ConflictEvent]:
    with Session(engine) as session:
        return list(session.scalars(select(ConflictEvent).order_by(ConflictEvent.id)))


def _issues(engine: Engine) -> list[tuple[int, str]]:
    with Session(engine) as session:
        stmt = select(ValidationIssue.event_id, ValidationIssue.rule).order_by(ValidationIssue.id)
        return [tuple(row) for row in session.execute(stmt)]


NO_ISSUES = issues()


def test_new_events_are_inserted_with_all_fields(engine):
    frame = events({}, {"community": "Sabon Tasha", "injured": 2, "is_derived": True, "derived_fields": "injured"})
    run_id, result = _load(engine, frame, issues((2, "lga_known", "warning", "lga", "not found")))
    assert (result.new, result.updated, result.unchanged, result.issues_written) == (2, 0, 0, 1)
    first, second = _stored(engine)
    assert first.event_date.isoformat() == "2024-05-31" and first.state == "Kaduna" and first.total_deaths == 3
    assert first.injured is None and first.is_derived is False and first.latitude == pytest.approx(10.4)
    assert second.injured == 2 and second.is_derived is True and second.derived_fields == "injured"
    assert first.run_id == run_id and first.source_file == "t.csv" and first.created_at.tzinfo is not None
    assert len(first.fingerprint) == 32 and first.fingerprint != second.fingerprint
    assert _issues(engine) == [(second.id, "lga_known")]


def test_reloading_changes_nothing(engine):
    frame = events({}, {"community": "Sabon Tasha"})
    _load(engine, frame, NO_ISSUES)
    before = [(e.id, e.updated_at) for e in _stored(engine)]
    _, result = _load(engine, frame, NO_ISSUES)
    assert (result.new, result.updated, result.unchanged) == (0, 0, 2)
    assert [(e.id, e.updated_at) for e in _stored(engine)] == before


def test_a_correction_updates_in_place_and_replaces_issues(engine):
    _load(engine, events({"total_deaths": 3}), issues((1, "deaths_total", "error", "total_deaths", "3 != 4")))
    (original,) = _stored(engine)
    corrected = events({"total_deaths": 4, "civilian_casualties": 4, "total_casualties": 4})
    run_id, result = _load(engine, corrected, issues((1, "source_url_format", "warning", "source_url", "bad")))
    assert (result.new, result.updated) == (0, 1)
    (stored,) = _stored(engine)
    assert stored.id == original.id and stored.total_deaths == 4 and stored.run_id == run_id
    assert stored.content_hash != original.content_hash
    assert _issues(engine) == [(stored.id, "source_url_format")]


def test_non_text_values_in_text_columns_are_stored_as_text(engine):
    frame = events({"community": 123, "description": None}, {"community": "Sabon Tasha"})
    _load(engine, frame, issues((1, "lga_known", "warning", "lga", 7)))
    first, second = _stored(engine)
    assert first.community == "123" and first.description is None and second.community == "Sabon Tasha"
    with Session(engine) as session:
        assert session.scalar(select(ValidationIssue.detail)) == "7"


def test_event_rows_yield_typed_values_in_write_order():
    frame = deduplicate(events({"injured": None, "latitude": float("nan")}, {"injured": 2, "community": 7})).events
    stamp = datetime(2024, 6, 1, 12, tzinfo=UTC)
    rows = event_rows(frame.assign(id=[7, 8]), 5, "t.csv", stamp, typed=True)
    first, second = (dict(zip(event_write_columns(), row, strict=True)) for row in rows)
    assert (first["id"], first["event_date"], first["total_deaths"]) == (7, date(2024, 5, 31), 3)
    assert first["injured"] is None and first["latitude"] is None and second["injured"] == 2
    assert first["is_derived"] is False and first["longitude"] == 7.4 and second["community"] == "7"
    assert (first["run_id"], first["source_file"], first["created_at"]) == (5, "t.csv", stamp)


def test_load_never_commits(engine):
    run_id = _run(engine)
    with Session(engine) as session:
        load(session, deduplicate(events({})).events, NO_ISSUES, run_id=run_id, source_file=None, now=utcnow())
        session.rollback()
    assert _stored(engine) == []


def test_a_failure_after_some_batches_leaves_nothing(engine, monkeypatch):
    calls = {"n": 0}
    real = bulk.write_chunk

    def failing(sink, rows):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        real(sink, rows)

    monkeypatch.setattr(bulk, "write_chunk", failing)
    frame = events(*({"community": f"Village {i}"} for i in range(10)))
    with pytest.raises(RuntimeError, match="disk full"):
        _load(engine, frame, NO_ISSUES, batch_size=3)
    assert calls["n"] == 3
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ConflictEvent)) == 0


def test_ids_continue_after_existing_rows(engine):
    _load(engine, events({}), NO_ISSUES)
    second = events({"community": "Other"}, {"community": "Third"})
    _load(engine, second, issues((2, "lga_known", "warning", "lga", "x")))
    stored = _stored(engine)
    assert len({e.id for e in stored}) == 3
    assert _issues(engine) == [(stored[2].id, "lga_known")]


def _index_names(engine: Engine) -> set[str]:
    from sqlalchemy import inspect

    inspector = inspect(engine)
    return (
        {ix["name"] for ix in inspector.get_indexes("conflict_events")}
        | {uq["name"] for uq in inspector.get_unique_constraints("conflict_events")}
        | {
            f"{fk['name']}:{fk['referred_table']}:{fk['options']}"
            for fk in inspector.get_foreign_keys("conflict_events")
        }
    )


@pytest.mark.parametrize("fail", [False, True])
def test_bulk_mode_rebuilds_indexes_and_rolls_back_cleanly(engine, monkeypatch, fail):
    before = _index_names(engine)
    monkeypatch.setattr(load_module, "BULK_REBUILD_AT", 2)
    if fail:
        monkeypatch.setattr(load_module, "event_rows", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
        with pytest.raises(RuntimeError):
            _load(engine, events({}, {"community": "B"}, {"community": "C"}), NO_ISSUES)
    else:
        _, result = _load(engine, events({}, {"community": "B"}, {"community": "C"}), NO_ISSUES)
        assert result.new == 3
    bulk.ensure_indexes(engine)  # what the runner does after every run (the drop was committed apart)
    assert _index_names(engine) == before and "uq_conflict_events_event_id" in before
    assert not any(":" in name for name in before)  # run_id is no foreign key (migration 0003)
    assert len(_stored(engine)) == (0 if fail else 3)


def test_a_first_bulk_load_holds_no_reader_and_the_next_load_restores_lost_indexes(engine, monkeypatch):
    # The drop is committed apart, the COPY and CREATE INDEX take no lock readers wait for.
    if engine.dialect.name != "postgresql":
        pytest.skip("bulk mode is PostgreSQL's")
    before = _index_names(engine)
    monkeypatch.setattr(load_module, "BULK_REBUILD_AT", 2)
    run_id = _run(engine)
    with Session(engine) as session:
        load(session, deduplicate(events({}, {"community": "B"})).events, NO_ISSUES, run_id=run_id,
             source_file="t.csv", now=utcnow())  # fmt: skip
        with engine.connect() as reader:
            reader.execute(text("SET lock_timeout = '200ms'"))
            assert reader.scalar(select(func.count()).select_from(ConflictEvent)) == 0  # the last committed data
        session.rollback()  # as a crash would: the drop stays, the rebuild goes
    assert _index_names(engine) != before
    with Session(engine) as session:
        bulk.lock_for_load(session)  # every load starts by restoring what is missing
        session.rollback()
    assert _index_names(engine) == before


def test_bulk_mode_leaves_pipeline_runs_readable(engine, monkeypatch):
    # The monitor reads pipeline_runs while a first large load holds conflict_events.
    if engine.dialect.name != "postgresql":
        pytest.skip("bulk mode is PostgreSQL's")
    monkeypatch.setattr(load_module, "BULK_REBUILD_AT", 2)
    run_id = _run(engine)
    with Session(engine) as session:
        load(session, deduplicate(events({}, {"community": "B"})).events, NO_ISSUES, run_id=run_id,
             source_file="t.csv", now=utcnow())  # fmt: skip
        with engine.connect() as reader:
            reader.execute(text("SET lock_timeout = '200ms'"))
            assert reader.scalar(select(func.count()).select_from(PipelineRun)) == 1
        session.rollback()
