"""Names that look like HTML show as text in the charts and the monitor panel of a real Chromium: no link, no markup."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from dashapp import ids
from dashapp.figures import plot_text
from models import ConflictEvent, DataQualityMetric, ValidationIssue, bump_version
from tests.browser.conftest import record_errors
from tests.browser.test_trends_browser import TRACES, dom_id, wait_for_bars
from tests.trends.conftest import insert_events

pytestmark = pytest.mark.browser

LINK = '<a href="https://evil.example">Punch</a>'
BOLD = "<b>Kano</b>"
SERIES = dom_id({"type": ids.CONFLICT_GRAPH, "chart": "series"})
STATES = dom_id({"type": ids.CONFLICT_GRAPH, "chart": "states"})
RATES = dom_id({"type": ids.QUALITY_GRAPH, "chart": "rates_source"})
FAILURES = dom_id({"type": ids.QUALITY_GRAPH, "chart": "failures"})
# Any element, HTML or SVG, with an attribute (href, xlink:href, style...) that names the hostile site;
# data-unformatted is where Plotly keeps a label's source text (escaped) to redraw it.
ATTRIBUTES_NAMING = """(site) => [...document.querySelectorAll('*')].filter(el => [...el.attributes].some(
  a => a.name !== 'data-unformatted' && a.value.includes(site))).map(el => el.outerHTML.slice(0, 200))"""


def insert_hostile_events(engine: Engine) -> None:
    """The prepared events, with a source, a crisis type, a state and a rule named like markup."""
    insert_events(engine)
    with Session(engine) as session:
        session.execute(update(ConflictEvent).where(ConflictEvent.source == "Punch").values(source=LINK))
        session.execute(update(DataQualityMetric).where(DataQualityMetric.source == "Punch").values(source=LINK))
        session.execute(update(ConflictEvent).where(ConflictEvent.crisis_type == "Banditry").values(crisis_type=LINK))
        session.execute(update(ConflictEvent).where(ConflictEvent.state == "Kano").values(state=BOLD))
        session.execute(update(ValidationIssue).where(ValidationIssue.rule == "required_fields").values(rule=LINK))
        bump_version(session)
        session.commit()


def texts(page: Any, graph: str, selector: str) -> list[str]:
    """Return the rendered text of ``selector`` inside ``graph``."""
    return page.locator(f"[id='{graph}'] {selector}").all_text_contents()


def no_markup_from_data(page: Any, graph: str) -> None:
    """Assert the graph's SVG holds no link and no bold text made from data."""
    assert page.locator(f"[id='{graph}'] svg a").count() == 0
    assert page.locator(f"[id='{graph}'] svg tspan[style*='bold']").count() == 0
    assert page.evaluate(ATTRIBUTES_NAMING, "evil.example") == []


def test_hostile_names_render_as_text(chromium, server_factory, engine: Engine) -> None:
    insert_hostile_events(engine)
    server = server_factory()
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        errors = record_errors(page)

        page.goto(f"{server.url}/trends/conflict")
        wait_for_bars(page, STATES, 3)
        page.wait_for_function(
            f"(id) => {{ const t = ({TRACES})(id); return t && t.length === 3; }}", arg=SERIES, timeout=15000
        )
        assert LINK in texts(page, SERIES, ".legendtext")  # the legend shows the name as typed
        assert BOLD in texts(page, STATES, ".ytick text")  # so does the category axis
        # Hover the crisis type's point: the hover label shows it as text too.
        point = (
            page.locator(f"[id='{SERIES}'] .scatterlayer .trace")
            .nth([t["name"] for t in page.evaluate(TRACES, SERIES)].index(plot_text(LINK)))
            .locator(".point")
            .first
        )
        box = point.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector(f"[id='{SERIES}'] .hoverlayer .hovertext", timeout=5000)
        assert LINK in " ".join(texts(page, SERIES, ".hoverlayer .hovertext text"))
        for graph in (SERIES, STATES):
            no_markup_from_data(page, graph)

        page.goto(f"{server.url}/trends/quality")
        wait_for_bars(page, FAILURES, 1)
        page.wait_for_function(
            f"(id) => {{ const t = ({TRACES})(id); return t && t.length > 0; }}", arg=RATES, timeout=15000
        )
        assert LINK in texts(page, RATES, ".legendtext")
        assert LINK in texts(page, FAILURES, ".legendtext")
        for graph in (RATES, FAILURES):
            no_markup_from_data(page, graph)

        # The monitor panel draws the snapshot in the browser: the source shows as text there too.
        page.goto(f"{server.url}/monitor")
        page.wait_for_function(
            "(name) => (document.getElementById('monitor-body') || {}).textContent?.includes(name)",
            arg=LINK,
            timeout=15000,
        )
        assert page.locator("#monitor-body a[href*='evil.example'], #monitor-body b").count() == 0
        assert page.evaluate(ATTRIBUTES_NAMING, "evil.example") == []
        assert errors == []
    finally:
        context.close()
