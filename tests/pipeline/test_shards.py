"""A large CSV's first load over forked workers stores exactly what the serial path stores."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from models import Base
from pipeline import load, shards
from pipeline.demo.generate import generate_events, write_csv
from pipeline.runner import RunFailed, run_pipeline

TODAY = date(2026, 11, 30)
# Every stored column but the moments the rows were written.
SNAPSHOTS = {
    "conflict_events": "SELECT * FROM conflict_events ORDER BY id",
    "validation_issues": "SELECT event_id, run_id, rule, severity, field, detail FROM validation_issues "
                         "ORDER BY event_id, rule, field, detail",
    "data_quality_metrics": "SELECT * FROM data_quality_metrics ORDER BY metric_type, source",
    "stage_runs": "SELECT run_id, name, position, status, items_in, items_out FROM stage_runs ORDER BY position",
    # One "created" change per event, in id order, at the moment the event was written.
    "event_changes": "SELECT ch.id, event_pk, ch.event_id, ch.dataset, ch.run_id, change, fields, "
                     "ch.at = e.created_at AS at_creation FROM event_changes ch JOIN conflict_events e "
                     "ON e.id = ch.event_pk ORDER BY ch.id",
    "pipeline_runs": "SELECT id, status, items_in, items_out, rows_skipped, events_new, events_updated, "
                     "events_unchanged, duplicates_in_batch, error FROM pipeline_runs",
}  # fmt: skip
MOMENTS = {"created_at", "updated_at", "timestamp", "id"}


@pytest.mark.parametrize(
    ("data", "bounds"),
    [
        (b'h1,h2\n1,"a\nb"\n2,x\n3,"q""\n"\n4,y\n', [6, 18, 31]),  # never inside a quoted field
        (b"h\n1\n", [2, 4]),  # one row: one part
        (b"h", []),  # no newline: no header
    ],
)
def test_cuts_fall_on_row_boundaries(data: bytes, bounds: list[int]) -> None:
    assert shards.cuts(data, 2) == bounds


@pytest.fixture
def postgres(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("the sharded load is PostgreSQL's")
    return engine


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A generated export: duplicates after the events they repeat (across the cut), template rows, typos."""
    path = tmp_path / "export.csv"
    write_csv(generate_events(3_000, seed=11), str(path))
    return path


def _snapshot(engine: Engine) -> dict[str, list[dict]]:
    with engine.connect() as conn:
        return {
            table: [{k: v for k, v in row._mapping.items() if k not in MOMENTS or table == "stage_runs"}
                    for row in conn.execute(text(sql))]
            for table, sql in SNAPSHOTS.items()
        }  # fmt: skip


def _empty(engine: Engine) -> None:
    with engine.begin() as conn:
        names = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables) if t.name != "status_version")
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def _ingest(engine: Engine, path: Path, workers: int):
    return run_pipeline(engine, path, today=TODAY, workers=workers)


@pytest.fixture
def sharded(monkeypatch) -> list[bool]:
    """Lower the size threshold and record whether each sharded attempt did the run (False: it gave way)."""
    monkeypatch.setattr(shards, "SHARD_AT_BYTES", 0)
    attempts: list[bool] = []
    run = shards.run
    monkeypatch.setattr(shards, "run", lambda *args, **kwargs: attempts.append(run(*args, **kwargs)) or attempts[-1])
    return attempts


@pytest.mark.parametrize("bulk_at", [load.BULK_REBUILD_AT, 1_000])  # the serial path without and with its rebuild
def test_sharded_first_load_stores_what_the_serial_one_does(postgres, export, monkeypatch, sharded, bulk_at) -> None:
    monkeypatch.setattr(load, "BULK_REBUILD_AT", bulk_at)
    serial = _ingest(postgres, export, workers=1)
    expected = _snapshot(postgres)
    _empty(postgres)
    summary = _ingest(postgres, export, workers=2)
    assert sharded == [True]
    assert summary.events == serial.events > 2_900
    assert summary.duplicates == serial.duplicates > 0
    assert summary.rows_skipped == serial.rows_skipped > 0
    assert (summary.rows_read, summary.issues) == (serial.rows_read, serial.issues)
    assert (summary.precision, summary.failures_by_rule) == (serial.precision, serial.failures_by_rule)
    got = _snapshot(postgres)
    assert len(got["event_changes"]) == summary.events
    assert [row["event_pk"] for row in got["event_changes"]] == sorted(row["event_pk"] for row in got["event_changes"])
    for table in SNAPSHOTS:
        assert got[table] == expected[table], table


def test_a_second_load_goes_the_serial_way(postgres, export, sharded) -> None:
    first = _ingest(postgres, export, workers=2)
    again = _ingest(postgres, export, workers=2)  # stored events: classified as the serial path does
    assert sharded == [True, False]
    assert (again.events_new, again.events_updated, again.events_unchanged) == (0, 0, first.events)


def test_a_worker_that_dies_leaves_the_run_to_the_serial_path(postgres, export, monkeypatch, sharded) -> None:
    monkeypatch.setattr(shards, "_work", lambda conn, inherited, *_args: conn.close())
    summary = _ingest(postgres, export, workers=2)
    assert sharded == [False]
    assert summary.status == "succeeded" and summary.events_new == summary.events > 2_900


def test_a_file_a_worker_cannot_read_fails_as_it_does_serially(postgres, export, sharded) -> None:
    export.write_bytes(export.read_bytes() + b'2024-01-01,"never closed\n')
    with pytest.raises(RunFailed) as serial:
        _ingest(postgres, export, workers=1)
    with pytest.raises(RunFailed) as failed:
        _ingest(postgres, export, workers=2)
    assert sharded == [False]
    assert failed.value.input_error and failed.value.summary.error == serial.value.summary.error
    assert _snapshot(postgres)["conflict_events"] == []


def test_a_cp1252_file_goes_the_serial_way(postgres, export, sharded) -> None:
    data = export.read_text(encoding="utf-8").encode("cp1252", errors="replace")
    assert not data.isascii()  # bytes that are not UTF-8: the whole file must be read as cp1252
    export.write_bytes(data)
    summary = _ingest(postgres, export, workers=2)
    assert sharded == [False] and summary.status == "succeeded" and summary.events > 2_900
