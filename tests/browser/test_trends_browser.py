"""The trend explorer in a real headless Chromium against gunicorn: filters, shareable URL, CSV download."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from dashapp import ids
from tests.browser.conftest import record_errors
from tests.trends.conftest import insert_events

pytestmark = pytest.mark.browser


def dom_id(component_id: dict[str, str]) -> str:
    """Return the DOM id Dash gives a pattern-matching component id."""
    return json.dumps(component_id, separators=(",", ":"), sort_keys=True)


STATES = dom_id({"type": ids.CONFLICT_GRAPH, "chart": "states"})
SERIES = dom_id({"type": ids.CONFLICT_GRAPH, "chart": "series"})
GRANULARITY = dom_id({"type": ids.CONFLICT_FILTER, "key": "granularity"})
START = dom_id({"type": ids.CONFLICT_FILTER, "key": "start"})
STATES_CSV = dom_id({"type": ids.CONFLICT_CSV, "chart": "states"})
# The plotted traces of a dcc.Graph, decoded by plotly.js (the JSON may carry base64 typed arrays).
TRACES = """(id) => { const el = document.getElementById(id);
  const plot = el && (el.querySelector('.js-plotly-plot') || el);
  return plot && plot._fullData
    ? plot._fullData.map(t => ({name: t.name || null, x: Array.from(t.x || []), y: Array.from(t.y || [])}))
    : null; }"""


def traces(page: Any, graph: str) -> list[dict[str, Any]]:
    """Return the traces currently drawn in ``graph``."""
    return page.evaluate(TRACES, graph)


def wait_for_bars(page: Any, graph: str, count: int) -> None:
    """Wait until ``graph``'s first trace has ``count`` points."""
    page.wait_for_function(
        f"(id) => {{ const t = ({TRACES})(id); return t && t.length && t[0].y.length === {count}; }}",
        arg=graph,
        timeout=15000,
    )


def test_filters_url_and_csv(chromium, server_factory, engine: Engine, tmp_path: Path) -> None:
    insert_events(engine)
    server = server_factory()
    context = chromium.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        errors = record_errors(page)
        page.goto(f"{server.url}/trends/conflict?metric=total_deaths")
        wait_for_bars(page, STATES, 3)
        assert traces(page, STATES)[0]["y"] == ["Borno", "Kano", "Lagos"]
        assert traces(page, STATES)[0]["x"] == [15, 5, 1]
        # The series has a callback of its own, which may answer after the rankings' one.
        drawn = f"(id) => {{ const t = ({TRACES})(id); return t && t.length > 0; }}"
        page.wait_for_function(drawn, arg=SERIES, timeout=15000)
        assert len(traces(page, SERIES)[0]["x"]) == 1  # one month per crisis type

        # Change two filters: the charts update and the URL follows.
        page.locator(f"[id='{GRANULARITY}'] input[value='week']").check()
        page.wait_for_function("() => location.search.includes('granularity=week')", timeout=10000)
        page.locator(f"[id='{START}']").fill("2024-02-01")
        page.locator(f"[id='{START}']").press("Enter")
        wait_for_bars(page, STATES, 2)
        assert traces(page, STATES)[0]["y"] == ["Borno", "Lagos"]
        assert traces(page, STATES)[0]["x"] == [15, 1]
        page.wait_for_function("() => location.search.includes('start=2024-02-01')", timeout=10000)
        # Every chart has its own callback: wait for the series too (no Banditry events from February on).
        page.wait_for_function(
            f"(id) => {{ const t = ({TRACES})(id); "
            "return t && t.map(x => x.name).join('|') === 'Cult Clash|Insurgency'; }",
            arg=SERIES,
            timeout=15000,
        )
        shared_url = page.url
        assert "metric=total_deaths" in shared_url and "granularity=week" in shared_url
        series = traces(page, SERIES)

        # The same URL in a new page reproduces the view.
        other = context.new_page()
        other.goto(shared_url)
        wait_for_bars(other, STATES, 2)
        other.wait_for_function(
            f"(id) => {{ const t = ({TRACES})(id); return t && t.length === 2; }}", arg=SERIES, timeout=15000
        )
        assert traces(other, STATES) == traces(page, STATES)
        assert traces(other, SERIES) == series
        assert other.locator(f"[id='{GRANULARITY}'] input[value='week']").is_checked()
        assert other.locator(f"[id='{START}']").input_value() == "2024-02-01"

        # The CSV download holds exactly what the chart shows, under a citation line.
        with other.expect_download(timeout=15000) as info:
            other.locator(f"[id='{STATES_CSV}']").click()
        path = tmp_path / "states.csv"
        info.value.save_as(path)
        lines = path.read_text().splitlines()
        assert lines[0].startswith("# Source: NVCD Monitor") and "start=2024-02-01" in lines[0]
        table = list(csv.DictReader(io.StringIO("\n".join(lines[1:]))))
        shown = traces(other, STATES)[0]
        assert [row["grp"] for row in table] == shown["y"]
        assert [int(row["value"]) for row in table] == shown["x"]
        assert errors == []
    finally:
        context.close()


def test_quality_page_drills_into_the_grid(chromium, server_factory, engine: Engine) -> None:
    insert_events(engine)
    server = server_factory()
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        errors = record_errors(page)
        page.goto(f"{server.url}/trends/quality")
        grid_rows = f"#{ids.QUALITY_GRID} .ag-center-cols-container .ag-row"
        page.wait_for_function(f"() => document.querySelectorAll('{grid_rows}').length === 7", timeout=15000)
        failures = dom_id({"type": ids.QUALITY_GRAPH, "chart": "failures"})
        wait_for_bars(page, failures, 1)
        # Click the February bar of the required_fields rule: the grid lists that one record.
        names = [trace["name"] for trace in traces(page, failures)]
        bar = page.locator(f"[id='{failures}'] .trace.bars").nth(names.index("required_fields")).locator(".point path")
        page.locator(f"[id='{failures}']").scroll_into_view_if_needed()
        box = bar.first.bounding_box()
        assert box is not None
        # Plotly's drag layer sits above the bars and resolves the click the way a user's mouse does.
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function(f"() => document.querySelectorAll('{grid_rows}').length === 1", timeout=15000)
        assert "rule = required_fields" in page.locator(f"#{ids.QUALITY_DRILL}").inner_text()
        assert "required_fields" in page.locator(grid_rows).first.inner_text()
        link = page.locator(f"{grid_rows} a").first  # the event id, rendered from the row's Markdown link
        assert (link.inner_text(), link.get_attribute("href")) == ("NVCD4", "/events/NVCD4")
        assert errors == []
    finally:
        context.close()


def test_a_too_broad_selection_shows_the_alert_until_it_is_narrowed(chromium, server_factory, engine: Engine) -> None:
    from trends.data import NARROW_HINT

    insert_events(engine)
    server = server_factory(MAX_RESPONSE_ROWS="2")
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        errors = record_errors(page)
        page.goto(f"{server.url}/trends/conflict?group_by=state")
        alert = page.locator(f"#{ids.CONFLICT_ALERT}")
        alert.wait_for(state="visible", timeout=15000)  # set beside the charts' outputs (dash.set_props)
        assert "more than 2 rows" in alert.inner_text() and NARROW_HINT in alert.inner_text()
        # From the last two events' first day on, every chart fits: the alert goes and the charts are drawn.
        page.fill(f"[id='{START}']", "2024-03-16")
        page.press(f"[id='{START}']", "Enter")
        alert.wait_for(state="hidden", timeout=15000)
        wait_for_bars(page, STATES, 1)
        assert traces(page, STATES)[0]["y"] == ["Borno"]
        assert errors == []
    finally:
        context.close()
