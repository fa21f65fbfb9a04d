"""Migration 0007 on a database of the release before: ids, datasets, re-keyed identity; a re-import changes nothing."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from models import ConflictEvent, EventChange
from pipeline.demo.generate import generate_records
from pipeline.load import Target
from pipeline.runner import run_pipeline
from tests.conftest import alembic_config


def _as_before_0007(engine, database_url: str) -> None:
    """Downgrade to 0006 and give the rows what that release stored: other fingerprints and hashes."""
    command.downgrade(alembic_config(database_url), "0006")
    with engine.begin() as conn:
        conn.execute(text("UPDATE conflict_events SET fingerprint = 'old-' || CAST(id AS TEXT), content_hash = 'x', "
                          "source = lower(source)"))  # fmt: skip


@pytest.mark.parametrize("size", [40])
def test_an_old_database_migrates_and_a_reimport_changes_nothing(engine, database_url, size) -> None:
    records = generate_records(size, seed=21)
    demo = generate_records(5, seed=22)
    run_pipeline(engine, records)
    run_pipeline(engine, demo, trigger="replay", target=Target(dataset="demo"))
    _as_before_0007(engine, database_url)
    command.upgrade(alembic_config(database_url), "head")
    with Session(engine) as session:
        events = list(session.scalars(select(ConflictEvent).order_by(ConflictEvent.id)))
        assert all(e.event_id == f"NGA{e.id}" for e in events)
        assert {e.dataset for e in events[-5:]} == {"demo"} and {e.dataset for e in events[:-5]} == {"nvcd"}
        assert not any(e.fingerprint.startswith("old-") or e.content_hash == "x" for e in events)
        assert session.scalar(select(func.count()).select_from(EventChange)) == len(events)
    again = run_pipeline(engine, records)
    assert (again.events_new, again.events_updated, again.events_withdrawn) == (0, 0, 0)
    snapshot = run_pipeline(engine, records, target=Target(snapshot=True))
    assert (snapshot.events_new, snapshot.events_updated, snapshot.events_withdrawn) == (0, 0, 0)


@pytest.mark.slow
def test_the_real_export_migrates_and_reimports_unchanged(engine, database_url, real_export, real_extracted) -> None:
    first = run_pipeline(engine, real_extracted, filename=real_export.name)  # the file's re-import is the test
    _as_before_0007(engine, database_url)
    command.upgrade(alembic_config(database_url), "head")
    again = run_pipeline(engine, real_export, target=Target(snapshot=True))
    assert (again.events_new, again.events_updated, again.events_withdrawn) == (0, 0, 0)
    assert again.events_unchanged == first.events
