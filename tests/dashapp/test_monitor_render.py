"""assets/monitor-render.js on a real snapshot, run by Node (skipped without it; the browser tests cover the rest).

The panel's last-run card must show what the run changed, created / updated / withdrawn, and how
it treated its dataset (import or snapshot, dry run or not).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from config import PROJECT_ROOT
from pipeline.load import Target
from pipeline.runner import run_pipeline
from status import build_snapshot
from tests.revisions.imports import DROPPED, EDITS, records_a, records_b

NODE = shutil.which("node")
RENDER_JS = [PROJECT_ROOT / "assets" / name for name in ("monitor-render.js", "monitor-runs.js")]
# Loads the renderers into a sandbox with its own `window`; renders {snapshot, settings} read from stdin.
HARNESS = """
const fs = require('fs'), vm = require('vm');
const sandbox = {window: {}, URL: URL};
vm.createContext(sandbox);
for (const file of process.argv.slice(1)) { vm.runInContext(fs.readFileSync(file, 'utf8'), sandbox); }
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(sandbox.window.nvcdMonitor.renderSnapshot(input.snapshot, input.settings)));
"""
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.skipif(NODE is None, reason="node not installed")


def render(snapshot: dict, settings: dict | None = None) -> list[dict]:
    """Return the component tree the monitor's renderers make of ``snapshot`` (with the page's ``settings``)."""
    done = subprocess.run([NODE or "node", "-e", HARNESS, *map(str, RENDER_JS)],
                          input=json.dumps({"snapshot": snapshot, "settings": settings}),
                          capture_output=True, text=True, timeout=30, check=True)  # fmt: skip
    return json.loads(done.stdout)


def text(node: Any) -> str:
    """Return the text a component shows."""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "".join(text(child) for child in node)
    if isinstance(node, dict):
        return text(node.get("props", {}).get("children", ""))
    return ""


def facts(tree: list[dict], title: str) -> dict[str, str]:
    """Return the Dt -> Dd texts of the section titled ``title``."""
    section = next(n for n in tree if n["props"].get("aria-label") == title)
    dl = next(c for c in section["props"]["children"] if isinstance(c, dict) and c["type"] == "Dl")
    items = dl["props"]["children"]
    return {text(items[i]): text(items[i + 1]) for i in range(0, len(items), 2)}


def snapshot_after(engine, target: Target) -> dict:
    a = records_a()
    run_pipeline(engine, a, trigger="cli")
    run_pipeline(engine, records_b(a), trigger="cli", target=target)
    with Session(engine) as session:
        return json.loads(json.dumps(build_snapshot(session, now=NOW)))  # as the wire carries it


def test_the_last_run_card_shows_created_updated_withdrawn(engine) -> None:
    shown = facts(render(snapshot_after(engine, Target(snapshot=True, force=True))), "Last finished run")
    assert shown["Created / updated / withdrawn"] == f"2 / {len(EDITS)} / {len(DROPPED)}"
    assert shown["Unchanged, restored"] == f"{12 - len(EDITS) - len(DROPPED)}, 0"
    assert shown["Mode"] == "snapshot of nvcd"


def test_a_dry_run_says_so(engine) -> None:
    shown = facts(render(snapshot_after(engine, Target(snapshot=True, force=True, dry_run=True))), "Last finished run")
    assert shown["Mode"] == "snapshot of nvcd · dry run (nothing written)"
    assert shown["Created / updated / withdrawn"] == f"2 / {len(EDITS)} / {len(DROPPED)}"


def test_an_import_from_an_older_server_still_renders() -> None:
    run = {"id": 3, "status": "succeeded", "trigger": "cli", "events_new": 4, "stages": []}
    snapshot = {"last_run": run, "totals": {}, "data_quality": {}, "sources": [], "anomalies": [], "alerts": []}
    shown = facts(render(snapshot), "Last finished run")
    assert shown["Created / updated / withdrawn"] == "4 / — / —" and shown["Mode"] == "import into —"
