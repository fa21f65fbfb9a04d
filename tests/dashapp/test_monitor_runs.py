"""The monitor's run history: the replay control and its query parameter, and the strip, the last finished run
and the failed-run alert as assets/monitor-runs.js draws them from a real snapshot (Node; skipped without it)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from config import PROJECT_ROOT
from dashapp import ids
from dashapp.monitor_runs import include_replay
from models import DEMO_DATASET
from status import build_snapshot
from tests.dashapp.test_monitor_panel import _page_layout, walk
from tests.dashapp.test_monitor_render import NODE, facts, render, text
from tests.status.builders import T0, add_run, commit

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
HOSTILE = "<img src=x onerror=alert(1)><b>bold</b>"
needs_node = pytest.mark.skipif(NODE is None, reason="node not installed")


@pytest.mark.parametrize(
    ("query", "included"),
    [
        ({}, False),
        ({"replay": "include"}, True),
        ({"replay": "exclude"}, False),
        ({"replay": "INCLUDE"}, False),
        ({"replay": "1"}, False),
        ({"replay": ["include", "exclude"]}, False),  # repeated in the URL
        ({"replay": "<script>alert(1)</script>"}, False),
    ],
)
def test_the_replay_choice_is_read_strictly_from_the_query(query: dict, included: bool) -> None:
    assert include_replay(query) is included


@pytest.mark.parametrize("module", ["dashapp.pages.monitor", "dashapp.pages.embed"])
@pytest.mark.parametrize("replay", ["include", "exclude", "bogus"])
def test_both_panels_have_the_control_set_from_the_query(app, module: str, replay: str) -> None:
    components = {c.id: c for c in walk(_page_layout(app, module, replay=replay)) if getattr(c, "id", None)}
    chosen = replay == "include"
    assert components[ids.MONITOR_REPLAY].value == (["include"] if chosen else [])
    settings = components[ids.MONITOR_SETTINGS].data
    assert settings["include_replay"] is chosen and settings["runs_path"] == "/runs/"


def test_the_toggle_callback_exists_in_monitor_runs_js() -> None:
    js = (PROJECT_ROOT / "assets" / "monitor-runs.js").read_text()
    assert "window.dash_clientside.monitorRuns = {" in js and re.search(r"\bonReplayToggle: function\b", js)
    assert "innerHTML" not in js


def history(engine) -> tuple[dict, dict[str, int]]:
    """A long CLI import finishing after a later-started replay, and a failed API upload with markup in it."""
    with Session(engine) as session:
        failed = add_run(session, "failed", T0 - timedelta(hours=1), trigger="api", error=HOSTILE, source_file=HOSTILE)
        cli = add_run(session, "succeeded", T0, minutes=60, trigger="cli")
        replay = add_run(session, "succeeded", T0 + timedelta(minutes=30), minutes=0.2, trigger="replay",
                         dataset=DEMO_DATASET, items=10)  # fmt: skip
        later = add_run(session, "succeeded", T0 + timedelta(hours=2), trigger="replay", dataset=DEMO_DATASET)
        commit(session)
        known = {"failed": failed.id, "cli": cli.id, "replay": replay.id, "later": later.id}
        return json.loads(json.dumps(build_snapshot(session, now=NOW))), known


def section(tree: list[dict], title: str) -> dict:
    return next(n for n in tree if n and n["props"].get("aria-label") == title)


def nodes(node: Any, type_: str) -> list[dict]:
    """Return every component of ``type_`` below ``node``."""
    if isinstance(node, list):
        return [found for child in node for found in nodes(child, type_)]
    if not isinstance(node, dict):
        return []
    below = nodes(node.get("props", {}).get("children"), type_)
    return [node, *below] if node.get("type") == type_ else below


def strip_ids(tree: list[dict]) -> list[int]:
    return [int(row["props"]["data-run-id"]) for row in nodes(section(tree, "Recent runs"), "Tr")
            if "data-run-id" in row["props"]]  # fmt: skip


@needs_node
def test_without_replay_the_long_import_is_the_last_finished_run(engine) -> None:
    snapshot, known = history(engine)
    tree = render(snapshot, {"include_replay": False, "runs_path": "/runs/"})
    assert facts(tree, "Last finished run")["Run"] == f"#{known['cli']} (cli)"
    assert strip_ids(tree) == [known["cli"], known["failed"]]
    links = [a["props"]["href"] for a in nodes(section(tree, "Recent runs"), "A")]
    assert links == [f"/runs/{known['cli']}", f"/runs/{known['failed']}"]


@needs_node
def test_with_replay_every_run_shows_by_finish(engine) -> None:
    snapshot, known = history(engine)
    tree = render(snapshot, {"include_replay": True, "runs_path": "/nvcd/runs/", "compact": True})
    assert facts(tree, "Last finished run")["Run"] == f"#{known['later']} (replay)"
    assert strip_ids(tree) == [known["later"], known["cli"], known["replay"], known["failed"]]
    link = nodes(section(tree, "Recent runs"), "A")[0]["props"]
    assert link["href"] == f"/nvcd/runs/{known['later']}" and link["target"] == "_blank"  # the embed opens a tab


@needs_node
def test_the_failed_upload_alert_names_the_run_shows_markup_as_text_and_links_to_it(engine) -> None:
    snapshot, known = history(engine)
    tree = render(snapshot, {"include_replay": False, "runs_path": "/runs/"})
    alerts = section(tree, "Anomalies and alerts")
    (item,) = [li for li in nodes(alerts, "Li") if "run failed" in text(li)]
    assert f"Run {known['failed']} (api run into nvcd, file {HOSTILE}) failed at 2026-11-01 11:02:00 UTC" in text(item)
    assert HOSTILE in item["props"]["children"][1]  # a plain string child: React shows it as text
    assert [a["props"]["href"] for a in nodes(item, "A")] == [f"/runs/{known['failed']}"]
    failed_row = next(r for r in nodes(section(tree, "Recent runs"), "Tr") if r["props"].get("data-run-id") == str(
        known["failed"]))  # fmt: skip
    assert failed_row["props"]["title"] == HOSTILE and "failed" in failed_row["props"]["className"]
    assert not nodes(tree, "Img") and not nodes(tree, "B")


@needs_node
def test_an_older_snapshot_without_the_history_still_renders() -> None:
    run = {"id": 3, "status": "succeeded", "trigger": "replay", "events_new": 4, "stages": []}
    snapshot = {"last_run": run, "recent_runs": [run], "totals": {}, "data_quality": {}, "sources": [],
                "anomalies": [], "alerts": [{"severity": "error", "kind": "run_failed", "message": "m"}]}  # fmt: skip
    tree = render(snapshot, None)
    assert facts(tree, "Last finished run")["Run"] == "#3 (replay)" and strip_ids(tree) == [3]
