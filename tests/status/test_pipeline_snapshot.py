"""The snapshot after real pipeline runs over generated NVCD data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import ConflictEvent, ValidationIssue
from pipeline.demo.generate import generate_events
from pipeline.load import Target
from pipeline.runner import run_pipeline
from pipeline.stages import STAGE_NAMES
from status import build_snapshot
from tests.revisions.imports import DROPPED, EDITS, SNAPSHOT, N, records_a, records_b

END = date(2026, 11, 20)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_snapshot_after_two_real_runs(engine) -> None:
    first = run_pipeline(engine, generate_events(300, seed=11, start=END - timedelta(days=365), end=END),
                         filename="first.csv", today=END)  # fmt: skip
    second = run_pipeline(engine, generate_events(300, seed=12, start=END - timedelta(days=365), end=END),
                          filename="second.csv", today=END)  # fmt: skip
    with Session(engine) as session:
        snap = build_snapshot(session, now=NOW)
        events = session.scalar(select(func.count()).select_from(ConflictEvent))
        issues = session.scalar(select(func.count()).select_from(ValidationIssue))
        failing = session.scalar(select(func.count()).select_from(ConflictEvent).where(ConflictEvent.error_count > 0))
        failing_by_issues = session.scalar(
            select(func.count(func.distinct(ValidationIssue.event_id))).where(ValidationIssue.severity == "error")
        )
        by_source = select(ConflictEvent.source, func.count()).group_by(ConflictEvent.source)
        sources = {source: n for source, n in session.execute(by_source)}

    assert snap["current_run"] is None
    last = snap["last_run"]
    assert last["id"] == second.run_id and last["status"] == "succeeded" and last["source_file"] == "second.csv"
    assert [s["name"] for s in last["stages"]] == list(STAGE_NAMES)
    assert all(s["status"] == "succeeded" and s["duration_s"] is not None for s in last["stages"])
    assert last["stages"][0]["items_out"] > 0
    assert [r["id"] for r in snap["recent_runs"]] == [second.run_id, first.run_id]

    assert snap["totals"] == {"events": events, "runs": 2, "validation_failures": failing}
    assert failing == failing_by_issues and 0 < failing < issues  # generated data has warnings too
    assert {s["source"]: s["events"] for s in snap["sources"]} == {k: v for k, v in sources.items() if k}
    assert all(s["last_ingested_at"] is not None for s in snap["sources"])

    dq = snap["data_quality"]
    assert dq["latest"]["run_id"] == second.run_id and dq["previous"]["run_id"] == first.run_id
    assert 0.0 <= dq["latest"]["geocoding_success_rate"] <= 1.0
    assert dq["trend"]["geocoding_success_rate"] == pytest.approx(
        dq["latest"]["geocoding_success_rate"] - dq["previous"]["geocoding_success_rate"], abs=1e-6
    )
    assert len(dq["history"]) == 2 and dq["by_source"]
    assert all(row["run_id"] == second.run_id for row in dq["by_source"])
    assert snap["status"] in {"healthy", "warning", "error"}
    assert snap["status"] != "error" or any(a["severity"] == "error" for a in snap["alerts"])


def test_the_last_run_carries_what_a_snapshot_import_changed(engine) -> None:
    a = records_a()
    run_pipeline(engine, a, trigger="cli")
    second = run_pipeline(engine, records_b(a), trigger="cli", target=SNAPSHOT)
    with Session(engine) as session:
        snap = build_snapshot(session, now=NOW)
        stored = session.scalar(select(func.count()).select_from(ConflictEvent))
    last = snap["last_run"]
    assert last["id"] == second.run_id
    assert (last["mode"], last["dataset"], last["dry_run"]) == ("snapshot", "nvcd", False)
    counts = [last[name] for name in ("events_new", "events_updated", "events_withdrawn", "events_restored")]
    assert counts == [2, len(EDITS), len(DROPPED), 0]
    assert snap["recent_runs"][0]["events_withdrawn"] == len(DROPPED)
    # The withdrawn events are kept but no longer counted.
    assert stored == N + 2 and snap["totals"]["events"] == N + 2 - len(DROPPED)


def test_a_dry_run_is_marked_and_changes_nothing(engine) -> None:
    a = records_a()
    run_pipeline(engine, a, trigger="cli")
    dry = run_pipeline(engine, records_b(a), trigger="cli", target=Target(snapshot=True, force=True, dry_run=True))
    with Session(engine) as session:
        snap = build_snapshot(session, now=NOW)
    last = snap["last_run"]
    assert last["id"] == dry.run_id and last["dry_run"] is True and last["mode"] == "snapshot"
    assert last["events_withdrawn"] == len(DROPPED)  # what it would have done
    assert snap["totals"]["events"] == N
