"""The snapshot's runs, data quality, version, status and query budget, on both backends."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, text, update
from sqlalchemy.orm import Session

from models import ConflictEvent, ValidationIssue, current_version
from status import build_snapshot, event_stats
from tests.status.builders import T0, add_events, add_metric, add_run, commit, every

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def snapshot(engine, **kwargs) -> dict:
    with Session(engine) as session:
        return build_snapshot(session, now=NOW, **kwargs)


def test_empty_database_is_idle(engine) -> None:
    snap = snapshot(engine, clients=3)
    assert snap["status"] == "idle"
    with Session(engine) as session:
        assert snap["version"] == current_version(session)
    assert snap["current_run"] is None and snap["last_run"] is None and snap["recent_runs"] == []
    assert snap["data_quality"]["latest"] is None and snap["data_quality"]["by_source"] == []
    assert snap["totals"] == {"events": 0, "runs": 0, "validation_failures": 0}
    assert snap["system"]["clients"] == 3 and snap["system"]["database"] == "reachable"
    assert snap["timestamp"] == "2026-11-29T12:00:00Z"
    json.dumps(snap)


def test_running_run_shown_with_stages_and_last_finished_run(engine) -> None:
    with Session(engine) as session:
        add_run(session, "succeeded", T0, minutes=3)
        old_failed = add_run(
            session,
            "failed",
            T0 + timedelta(days=1),
            error="bad file",
            stage_status={"extract": "succeeded", "normalise": "failed"},
        )
        running = add_run(
            session,
            "running",
            NOW - timedelta(seconds=25),
            stage_status={"extract": "succeeded", "normalise": "succeeded", "geocode": "running"},
        )
        commit(session)
        running_id, failed_id = running.id, old_failed.id
    snap = snapshot(engine)
    assert snap["status"] == "running"
    current = snap["current_run"]
    assert current["id"] == running_id and current["status"] == "running" and current["finished_at"] is None
    assert current["duration_s"] == pytest.approx(25.0)
    assert [s["name"] for s in current["stages"]][:3] == ["extract", "normalise", "geocode"]
    assert [s["status"] for s in current["stages"]][:4] == ["succeeded", "succeeded", "running", "pending"]
    assert current["stages"][0]["duration_s"] == pytest.approx(10.0)
    assert current["stages"][1]["items_out"] == 99
    last = snap["last_run"]
    assert last["id"] == failed_id and last["status"] == "failed" and last["error"] == "bad file"
    assert last["duration_s"] == pytest.approx(120.0)
    assert last["stages"][1]["error"] == "boom"
    assert [r["id"] for r in snap["recent_runs"]] == [running_id, failed_id, running_id - 2]
    assert "stages" not in snap["recent_runs"][0]
    assert snap["totals"]["runs"] == 3
    assert last["started_at"].endswith("Z")
    json.dumps(snap)


def test_failed_last_run_is_an_error_with_an_alert(engine) -> None:
    with Session(engine) as session:
        add_run(session, "succeeded", T0)
        add_run(session, "failed", T0 + timedelta(hours=1), error="disk full")
        commit(session)
    snap = snapshot(engine)
    assert snap["status"] == "error"
    assert snap["alerts"][0]["kind"] == "run_failed" and "disk full" in snap["alerts"][0]["message"]


def test_healthy_after_a_good_run_and_warning_from_metric_status(engine) -> None:
    with Session(engine) as session:
        run = add_run(session, "succeeded", T0)
        add_metric(session, T0, run_id=run.id)
        commit(session)
    assert snapshot(engine)["status"] == "healthy"
    with Session(engine) as session:
        add_metric(session, T0 + timedelta(hours=1), status="warning", geo=0.5)
        commit(session)
    snap = snapshot(engine)
    assert snap["status"] == "warning"
    assert any(a["kind"] == "data_quality_status" and a["severity"] == "warning" for a in snap["alerts"])


def test_data_quality_latest_previous_trend_history_and_by_source(engine) -> None:
    with Session(engine) as session:
        runs = [add_run(session, "succeeded", T0 + timedelta(days=i)) for i in range(3)]
        for i, run in enumerate(runs):
            stamp = run.started_at + timedelta(minutes=5)
            add_metric(session, stamp, run_id=run.id, geo=0.80 + 0.05 * i, valid=0.90 - 0.1 * i, completeness=0.5)
            add_metric(session, stamp, metric_type="source", source="Punch", run_id=run.id, geo=0.6 + 0.1 * i)
            if i < 2:  # Vanguard is missing from the last run: not in by_source
                add_metric(session, stamp, metric_type="source", source="Vanguard", run_id=run.id)
        add_metric(session, T0 + timedelta(days=9), metric_type="hourly")  # not an aggregate
        commit(session)
        last_run_id = runs[2].id
    dq = snapshot(engine)["data_quality"]
    assert dq["latest"]["geocoding_success_rate"] == pytest.approx(0.90)
    assert dq["latest"]["run_id"] == last_run_id
    assert dq["latest"]["precision"] == {"ward": 0, "lga": 100, "state": 0, "none": 0}
    assert dq["previous"]["validation_pass_rate"] == pytest.approx(0.80)
    assert dq["trend"]["geocoding_success_rate"] == pytest.approx(0.05)
    assert dq["trend"]["validation_pass_rate"] == pytest.approx(-0.10)
    assert dq["trend"]["completeness"] == pytest.approx(0.0)
    assert [p["validation_pass_rate"] for p in dq["history"]] == pytest.approx([0.9, 0.8, 0.7])
    assert [s["source"] for s in dq["by_source"]] == ["Punch"]
    assert dq["by_source"][0]["trend"]["geocoding_success_rate"] == pytest.approx(0.1)
    assert set(dq["by_source"][0]["trend"]) == {"geocoding_success_rate", "validation_pass_rate"}


def test_version_equal_for_equal_data_and_higher_after_a_change(engine) -> None:
    with Session(engine) as session:
        add_run(session, "succeeded", T0)
        commit(session)
    first, again = snapshot(engine), snapshot(engine)
    assert first["version"] == again["version"] > 0
    with Session(engine) as session:
        add_events(session, [(date(2026, 11, 1), "Punch", "Lagos")])
        commit(session)
    after = snapshot(engine)
    assert after["version"] > first["version"]
    assert after["totals"]["events"] == first["totals"]["events"] + 1


def _count_queries(engine) -> int:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        snapshot(engine)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(statements)


def _fill(engine, size: int) -> None:
    with Session(engine) as session:
        for i in range(size):
            run = add_run(session, "succeeded", T0 + timedelta(hours=i))
            add_metric(session, run.started_at, run_id=run.id)
            source = f"Source {i}"
            add_metric(session, run.started_at, metric_type="source", source=source, run_id=run.id)
            add_events(session, [(d, source, f"State {i % 37}") for d in every(7, 6, date(2026, 11, 20))])
        add_run(session, "running", NOW - timedelta(minutes=1))
        commit(session)


def test_query_count_does_not_grow_with_runs_sources_and_events(engine) -> None:
    _fill(engine, 1)
    snapshot(engine)  # while a run is running, a warm cache adds one check (PostgreSQL: is the table locked?)
    _fill(engine, 1)
    small = _count_queries(engine)
    _fill(engine, 50)
    large = _count_queries(engine)
    assert small == large <= 17  # 15, one for the run history (two strips, the open failures), one for the feeds
    assert _count_queries(engine) == large - 5  # nothing changed: event aggregates come from the cache


def test_event_aggregates_follow_inserts_finished_runs_and_the_ttl(engine, monkeypatch) -> None:
    with Session(engine) as session:
        add_events(session, [(date(2026, 11, 1), "Punch", "Lagos"), (date(2026, 11, 2), "Punch", "Lagos")])
        commit(session)
    assert [(s["source"], s["events"]) for s in snapshot(engine)["sources"]] == [("Punch", 2)]
    with Session(engine) as session:  # a run rewrites a record in place and finishes
        session.execute(
            update(ConflictEvent).where(ConflictEvent.event_date == date(2026, 11, 2)).values(source="Vanguard")
        )
        add_run(session, "succeeded", NOW - timedelta(minutes=5))
        commit(session)
    assert {s["source"]: s["events"] for s in snapshot(engine)["sources"]} == {"Punch": 1, "Vanguard": 1}
    with Session(engine) as session:  # an edit outside the pipeline shows once the TTL passes
        session.execute(update(ConflictEvent).values(source="Leadership"))
        commit(session)
    assert {s["source"] for s in snapshot(engine)["sources"]} == {"Punch", "Vanguard"}
    monkeypatch.setattr(event_stats, "EVENT_STATS_TTL_S", 0.0)
    assert [(s["source"], s["events"]) for s in snapshot(engine)["sources"]] == [("Leadership", 2)]


def test_snapshot_is_json_with_z_timestamps(engine) -> None:
    _fill(engine, 3)
    snap = snapshot(engine, clients=2)
    text = json.dumps(snap)
    assert json.loads(text)["version"] == snap["version"]
    for run in [snap["current_run"], snap["last_run"], *snap["recent_runs"]]:
        assert run["started_at"].endswith("Z")
    assert snap["sources"][0]["last_event_date"] == "2026-11-20"


def test_validation_failures_count_events_with_an_error_not_issue_rows(engine) -> None:
    with Session(engine) as session:
        for key, errors, warnings in (("two-errors", 2, 1), ("one-error", 1, 0), ("warned", 0, 2), ("clean", 0, 0)):
            event_row = ConflictEvent(
                event_id=key,
                fingerprint=key,
                content_hash=key,
                event_date=date(2026, 11, 1),
                error_count=errors,
                warning_count=warnings,
            )
            session.add(event_row)
            session.flush()
            for severity in ["error"] * errors + ["warning"] * warnings:
                session.add(ValidationIssue(event_id=event_row.id, rule="r", severity=severity))
        commit(session)
    snap = snapshot(engine)
    assert snap["totals"]["validation_failures"] == 2  # 6 issue rows, 3 events with issues, 2 failing
    assert snap["totals"]["events"] == 4


def test_events_table_locked_by_a_bulk_load_leaves_the_last_aggregates(engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the bulk load's exclusive table lock is PostgreSQL's")
    with Session(engine) as session:
        add_events(session, [(date(2026, 11, 1), "Punch", "Lagos"), (date(2026, 11, 2), "Punch", "Lagos")])
        commit(session)
    assert snapshot(engine)["totals"]["events"] == 2
    with Session(engine) as session:
        add_run(session, "running", NOW - timedelta(minutes=1))
        commit(session)
    with Session(engine) as loader:
        # What a first large load holds (dropped indexes) until it commits.
        loader.execute(text("LOCK TABLE conflict_events IN ACCESS EXCLUSIVE MODE"))
        add_events(loader, [(date(2026, 11, 3), "Punch", "Lagos")])
        loader.flush()
        snap = snapshot(engine)  # without the fallback this waits out the statement timeout and fails
        loader.commit()
    assert snap["totals"]["events"] == 2 and snap["system"]["database"] == "reachable"
    event_stats.clear_cache()
    assert snapshot(engine)["totals"]["events"] == 3
