"""The trend pages' charts within the server's bounds: too broad a selection shows an alert saying how to narrow."""

from __future__ import annotations

import logging
from typing import Any

import dash
import pytest

from dashapp import filters_ui
from tests.dashapp.test_trend_pages import _page_modules, _trend_callbacks, with_alert  # noqa: F401 - fixture
from trends.data import NARROW_HINT

CAP = 2
# Charts whose query has no LIMIT of its own, so the cap applies; the others answer as usual.
CAPPED = {
    "update_conflict_series",
    "update_conflict_places",
    "download_conflict_csv",
    "update_quality_sources",
    "update_quality_states",
    "update_quality_precision",
    "update_quality_failures",
    "download_quality_csv",
}


@pytest.fixture
def app_overrides() -> dict[str, object]:
    """Cap responses and charts at two rows."""
    return {"MAX_RESPONSE_ROWS": CAP}


@pytest.fixture
def prepared(engine: Any, app: Any) -> Any:
    """Insert the prepared events (more than two rows per chart) and yield inside a request of the app."""
    from tests.trends.conftest import insert_events

    insert_events(engine)
    with app.test_request_context():
        yield


def test_too_broad_a_selection_shows_how_to_narrow_and_keeps_the_charts(prepared: None, caplog) -> None:
    seen = set()
    for fn, args, trigger in _trend_callbacks():
        if fn.__name__ not in CAPPED:
            continue
        seen.add(fn.__name__)
        args = tuple("" if arg == "state=Kano" else arg for arg in args)  # all events: over the cap
        caplog.clear()
        with caplog.at_level(logging.INFO):
            result, alert = with_alert(fn, *args, None, triggered=trigger)
        assert result is dash.no_update, fn.__name__  # every chart of the callback keeps what it shows
        assert alert is not None, fn.__name__
        text, hidden = alert["children"], alert["hidden"]
        assert hidden is False and f"more than {CAP} rows" in text and NARROW_HINT in text, fn.__name__
        assert all(record.levelno < logging.WARNING for record in caplog.records), fn.__name__
    assert seen == CAPPED


def test_the_alert_clears_when_the_selection_fits(prepared: None) -> None:
    from dashapp.pages import conflict, quality

    figure, alert = with_alert(conflict.update_conflict_series, "granularity=day&group_by=state", None)
    assert figure is dash.no_update and alert is not None and alert["hidden"] is False
    text = alert["children"]
    assert filters_ui.is_own_alert(text)
    figure, alert = with_alert(conflict.update_conflict_series, "state=Borno&group_by=state", text)
    assert alert == {"children": None, "hidden": True} and [trace.name for trace in figure.data] == ["Borno"]
    assert with_alert(quality.UPDATES["completeness"], "", text)[1] == {"children": None, "hidden": True}


@pytest.mark.parametrize("stored", [5, ["state=Kano"], {"state": "Kano"}, "start=99999-01-01", "granularity=year"])
def test_forged_stored_filters_show_an_alert(prepared: None, stored: Any) -> None:
    from dashapp.pages import conflict

    figure, alert = with_alert(conflict.update_conflict_series, stored, None)
    assert alert is not None
    text, hidden = alert["children"], alert["hidden"]
    assert figure is dash.no_update and hidden is False and text.startswith(filters_ui.FILTERS_ALERT)
    assert filters_ui.is_own_alert(text)
