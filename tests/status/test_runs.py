"""Run history (status/runs.py) on both backends: strip order, replay on request, open failures, one run in detail."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import DEMO_DATASET, ValidationIssue
from pipeline.demo.generate import generate_events
from pipeline.runner import run_pipeline
from pipeline.stages import STAGE_NAMES
from status import build_snapshot
from status.runs import open_failures, parse_run_id, recent_runs, run_detail
from tests.revisions.imports import DROPPED, EDITS, SNAPSHOT, records_a, records_b
from tests.status.builders import T0, add_run, commit

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def ids(runs: list[dict]) -> list[int]:
    return [run["id"] for run in runs]


def long_import_and_a_later_replay(engine) -> tuple[int, int]:
    """A CLI import started at T0 that took an hour, and a replay started later that finished first."""
    with Session(engine) as session:
        cli = add_run(session, "succeeded", T0, minutes=60, trigger="cli")
        replay = add_run(session, "succeeded", T0 + timedelta(minutes=30), minutes=0.2, trigger="replay",
                         dataset=DEMO_DATASET, items=10)  # fmt: skip
        commit(session)
        return cli.id, replay.id


def test_the_long_import_that_finished_last_is_the_last_finished_run(engine) -> None:
    cli, replay = long_import_and_a_later_replay(engine)
    with Session(engine) as session:
        snap = build_snapshot(session, now=NOW)
        assert ids(recent_runs(session, 12, include_replay=True, now=NOW)) == [cli, replay]
        assert ids(recent_runs(session, 12, now=NOW)) == [cli]  # replay left out by default
    assert snap["last_run"]["id"] == cli and snap["last_import_run"]["id"] == cli
    assert ids(snap["recent_runs"]) == [cli, replay] and ids(snap["recent_import_runs"]) == [cli]
    assert [s["name"] for s in snap["last_import_run"]["stages"]] == list(STAGE_NAMES)


def test_replay_is_left_out_by_default_and_included_on_request(engine) -> None:
    with Session(engine) as session:
        cli = add_run(session, "succeeded", T0, trigger="cli").id
        replay = add_run(session, "succeeded", T0 + timedelta(hours=1), trigger="replay", dataset=DEMO_DATASET).id
        commit(session)
        snap = build_snapshot(session, now=NOW)
        assert ids(recent_runs(session, include_replay=True)) == [replay, cli]
        assert ids(recent_runs(session)) == [cli]
    assert snap["last_run"]["id"] == replay and snap["last_run"]["trigger"] == "replay"
    assert snap["last_import_run"]["id"] == cli and snap["last_import_run"]["stages"]


def test_unfinished_runs_come_first_then_by_finish_and_the_count_is_bounded(engine) -> None:
    with Session(engine) as session:
        done = [add_run(session, "succeeded", T0 + timedelta(hours=i), trigger="api").id for i in range(15)]
        queued = add_run(session, "queued", T0, trigger="api").id  # started before all of them, still waiting
        running = add_run(session, "running", T0 + timedelta(days=1), trigger="feed").id
        cancelled = add_run(session, "cancelled", T0 + timedelta(hours=20), minutes=1, trigger="cli").id
        commit(session)
        shown = recent_runs(session, 12, now=NOW)
    assert ids(shown) == [running, queued, cancelled, *reversed(done[-9:])]
    assert shown[0]["finished_at"] is None and shown[0]["status"] == "running"
    assert shown[2]["status"] == "cancelled" and shown[2]["duration_s"] == pytest.approx(60.0)
    assert all(isinstance(run["started_at"], str) and run["started_at"].endswith("Z") for run in shown)
    json.dumps(shown)


def test_a_failed_run_stays_open_until_a_later_run_of_its_kind_succeeds(engine) -> None:
    with Session(engine) as session:
        add_run(session, "succeeded", T0, trigger="api")
        failed = add_run(session, "failed", T0 + timedelta(hours=1), trigger="api", error="bad header")
        for minute in range(5):  # replay runs succeed every minute afterwards: another kind
            add_run(session, "succeeded", T0 + timedelta(hours=2, minutes=minute), trigger="replay",
                    dataset=DEMO_DATASET)  # fmt: skip
        add_run(session, "succeeded", T0 + timedelta(hours=3), trigger="cli")  # another trigger
        add_run(session, "succeeded", T0 + timedelta(hours=3), trigger="api", dataset="partner")  # another dataset
        add_run(session, "succeeded", T0 + timedelta(hours=4), trigger="api", dry_run=True)  # wrote nothing
        commit(session)
        failed_id = failed.id
    with Session(engine) as session:
        snap = build_snapshot(session, now=NOW)
    (failure,) = snap["open_failures"]
    assert failure["id"] == failed_id and failure["error"] == "bad header" and failure["trigger"] == "api"
    assert snap["status"] == "error" and snap["last_run"]["status"] == "succeeded"
    (alert,) = [a for a in snap["alerts"] if a["kind"] == "run_failed"]
    assert alert["run_id"] == failed_id and alert["severity"] == "error"
    assert alert["message"].startswith(f"Run {failed_id} (api run into nvcd, file batch.csv) failed at 2026-11-01 ")
    assert "bad header" in alert["message"]

    with Session(engine) as session:
        add_run(session, "succeeded", T0 + timedelta(hours=5), trigger="api")
        commit(session)
        snap = build_snapshot(session, now=NOW)
    assert snap["open_failures"] == [] and not [a for a in snap["alerts"] if a["kind"] == "run_failed"]
    assert snap["status"] == "healthy"


def test_only_the_newest_failure_of_a_kind_is_open_and_a_dry_run_failure_closes_on_any_success(engine) -> None:
    with Session(engine) as session:
        add_run(session, "failed", T0, trigger="cli", error="first")
        newest = add_run(session, "failed", T0 + timedelta(hours=1), trigger="cli", error="second").id
        dry = add_run(session, "failed", T0 + timedelta(hours=2), trigger="cli", dry_run=True, error="dry").id
        replay = add_run(session, "failed", T0 + timedelta(hours=3), trigger="replay", dataset=DEMO_DATASET).id
        add_run(session, "cancelled", T0 + timedelta(hours=4), trigger="cli")  # closes nothing
        commit(session)
        assert ids(open_failures(session)) == [replay, dry, newest]
        add_run(session, "succeeded", T0 + timedelta(hours=5), trigger="cli", dry_run=True)
        commit(session)
        assert ids(open_failures(session)) == [replay, newest]  # the dry run's success closed only the dry failure
        add_run(session, "succeeded", T0 + timedelta(hours=6), trigger="cli")
        commit(session)
        assert ids(open_failures(session)) == [replay]


def test_a_success_that_started_before_the_failure_does_not_close_it(engine) -> None:
    with Session(engine) as session:
        add_run(session, "succeeded", T0, minutes=90, trigger="cli")  # finishes after the failure below
        failed = add_run(session, "failed", T0 + timedelta(minutes=10), minutes=1, trigger="cli", error="x").id
        commit(session)
        assert ids(open_failures(session)) == [failed]


def test_run_detail_has_stages_issues_by_rule_and_the_diff(engine) -> None:
    a = records_a()
    run_pipeline(engine, a, trigger="cli")
    second = run_pipeline(engine, records_b(a), trigger="api", filename="b.csv", target=SNAPSHOT)
    with Session(engine) as session:
        detail = run_detail(session, second.run_id, now=NOW)
    assert detail is not None
    assert (detail["id"], detail["status"], detail["trigger"], detail["mode"]) == (second.run_id, "succeeded",
                                                                                 "api", "snapshot")  # fmt: skip
    assert detail["dataset"] == "nvcd" and detail["dry_run"] is False and detail["source_file"] == "b.csv"
    assert [s["name"] for s in detail["stages"]] == list(STAGE_NAMES)
    assert all(s["status"] == "succeeded" and s["duration_s"] is not None for s in detail["stages"])
    counts = detail["diff"]["counts"]
    assert counts == {"created": 2, "updated": len(EDITS), "withdrawn": len(DROPPED), "restored": 0,
                      "unchanged": 12 - len(EDITS) - len(DROPPED)}  # fmt: skip
    assert detail["events_withdrawn"] == len(DROPPED) and detail["events_new"] == 2
    updated = detail["diff"]["samples"]["updated"]
    assert len(updated) == len(EDITS) and all(s["event_id"].startswith("NGA") and s["fields"] for s in updated)
    assert {name for s in updated for name in s["fields"]} == {name for name, _ in EDITS.values()}
    assert len(detail["diff"]["samples"]["withdrawn"]) == len(DROPPED) and detail["diff"]["refused"] is None
    assert detail["finished_at"].endswith("Z") and (
        detail["heartbeat_at"] is None or detail["heartbeat_at"].endswith("Z")
    )
    json.dumps(detail)


def test_run_detail_counts_issues_by_rule_and_severity(engine) -> None:
    summary = run_pipeline(engine, generate_events(200, seed=5), trigger="cli")
    with Session(engine) as session:
        detail = run_detail(session, summary.run_id)
        grouped = select(ValidationIssue.rule, ValidationIssue.severity, func.count()).group_by(
            ValidationIssue.rule, ValidationIssue.severity
        )
        stored = {(rule, severity): n for rule, severity, n in session.execute(grouped)}
    assert detail is not None and stored  # generated data has issues
    assert {(i["rule"], i["severity"]): i["count"] for i in detail["issues"]} == stored
    counts = [i["count"] for i in detail["issues"]]
    assert counts == sorted(counts, reverse=True)


@pytest.mark.parametrize("run_id", [999999, 0, -1, "abc", "1; DROP TABLE x", 2**31, 2**70, True, None, 1.0, "٣"])
def test_run_detail_of_no_run_is_none(engine, run_id: object) -> None:
    with Session(engine) as session:
        assert run_detail(session, run_id) is None


def test_run_ids_parse_strictly() -> None:
    assert parse_run_id("12") == 12 and parse_run_id(12) == 12 and parse_run_id(str(2**31 - 1)) == 2**31 - 1
    assert [parse_run_id(v) for v in ("012x", " 1", "+1", "1e3", "12345678901", False)] == [None] * 6
