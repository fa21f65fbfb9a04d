"""The monitor panel's scheduled-feeds section (assets/monitor-render.js, run by Node): a row per feed, as text."""

from __future__ import annotations

import pytest

from tests.dashapp.test_monitor_render import NODE, render, text

pytestmark = pytest.mark.skipif(NODE is None, reason="node not installed")

FEED = {
    "name": "<b>weekly</b>", "dataset": "nvcd", "snapshot": True, "every_seconds": 21600,
    "expect_change_seconds": 86400, "last_fetch_at": "2026-12-01T11:00:00Z", "last_outcome": "failed",
    "last_error": "feed weekly: HTTP 500", "last_success_at": None, "last_changed_at": None,
    "next_due_at": "2026-12-01T17:00:00Z", "last_run_id": 4,
}  # fmt: skip


def _section(tree: list[dict], title: str) -> dict | None:
    return next((n for n in tree if n["props"].get("aria-label") == title), None)


def test_each_feed_has_a_row_with_its_last_fetch_outcome_and_next_due() -> None:
    tree = render({"status": "error", "feeds": [FEED, {**FEED, "name": "daily", "last_outcome": None,
                                                        "last_fetch_at": None, "last_error": None}]})  # fmt: skip
    section = _section(tree, "Scheduled feeds")
    assert section is not None
    shown = text(section)
    for words in ("<b>weekly</b>", "nvcd (snapshot)", "6 h", "2026-12-01 11:00:00 UTC", "failed",
                  "2026-12-01 17:00:00 UTC", "feed weekly: HTTP 500", "daily", "not fetched yet"):  # fmt: skip
        assert words in shown
    assert "dangerouslySetInnerHTML" not in str(section)  # names are text children, never markup


def test_no_feeds_no_section() -> None:
    assert _section(render({"status": "idle", "feeds": []}), "Scheduled feeds") is None
    assert _section(render({"status": "idle"}), "Scheduled feeds") is None
