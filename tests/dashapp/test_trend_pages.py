"""The trend pages: layout from the URL, callbacks called directly against prepared data."""

from __future__ import annotations

import base64
import csv
import io
import json
from contextvars import copy_context
from datetime import date
from typing import Any

import dash
import pandas as pd
import plotly
import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict
from sqlalchemy import Engine

from dashapp import filters_ui, ids
from tests.trends.conftest import insert_events
from trends.quality_queries import Drill

# Page modules call dash.register_page, so they can only be imported once an app exists.
conflict: Any = None
quality: Any = None


@pytest.fixture(autouse=True)
def _page_modules(app: Any) -> None:
    """Import the page modules after the app (and its Dash) was created."""
    global conflict, quality  # see the comment above
    from dashapp.pages import conflict as conflict_page
    from dashapp.pages import quality as quality_page

    conflict, quality = conflict_page, quality_page


@pytest.fixture
def prepared(engine: Engine, app) -> Any:
    """Insert the prepared events and yield inside a request of the app."""
    event_ids = insert_events(engine)
    with app.test_request_context():
        yield event_ids


def find(component: Any, wanted: object) -> Any:
    """Return the component with id ``wanted`` in a layout tree."""
    if getattr(component, "id", None) == wanted:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, str) and (found := find(child, wanted)) is not None:
            return found
    return None


ALERTS = (ids.CONFLICT_ALERT, ids.QUALITY_ALERT)


def in_callback(fn: Any, *args: Any, triggered: dict | None = None, inputs_list: list | None = None) -> Any:
    """Run a callback function with a callback context like Dash's and return its result."""
    return with_alert(fn, *args, triggered=triggered, inputs_list=inputs_list)[0]


def with_alert(
    fn: Any, *args: Any, triggered: dict | None = None, inputs_list: list | None = None
) -> tuple[Any, dict[str, Any] | None]:
    """Run a callback function like ``in_callback``; return its result and what it set on the page's alert."""
    updated: dict[str, Any] = {}

    def run() -> Any:
        prop = f"{json.dumps(triggered, separators=(',', ':'), sort_keys=True)}.n_clicks" if triggered else "x.y"
        context_value.set(
            AttributeDict(
                triggered_inputs=[{"prop_id": prop, "value": 1}],
                inputs_list=inputs_list or [],
                states_list=[],
                updated_props=updated,
            )
        )
        return fn(*args)

    result = copy_context().run(run)
    assert set(updated) <= set(ALERTS) and len(updated) <= 1, updated  # nothing but the page's own alert
    return result, next(iter(updated.values()), None)


def drawn(fn: Any, *args: Any, triggered: dict | None = None, inputs_list: list | None = None) -> Any:
    """Run a trend callback with no alert shown and return its outputs; the alert must stay as it is."""
    result, alert = with_alert(fn, *args, None, triggered=triggered, inputs_list=inputs_list)
    assert alert is None
    return result


def test_layout_controls_come_from_the_url(prepared: list[int]) -> None:
    page = conflict.layout(state=["Kano", "Lagos"], granularity="week", metric="kidnapped")
    assert find(page, {"type": ids.CONFLICT_FILTER, "key": "state"}).value == ["Kano", "Lagos"]
    assert find(page, {"type": ids.CONFLICT_FILTER, "key": "granularity"}).value == "week"
    assert find(page, {"type": ids.CONFLICT_FILTER, "key": "metric"}).value == "kidnapped"
    assert "Borno" in find(page, {"type": ids.CONFLICT_FILTER, "key": "state"}).options
    assert find(page, ids.CONFLICT_ALERT).hidden is True


def test_bad_url_shows_an_alert_and_defaults(prepared: list[int]) -> None:
    page = quality.layout(granularity="year")
    alert = find(page, ids.QUALITY_ALERT)
    assert alert.hidden is False and "granularity" in alert.children
    assert find(page, {"type": ids.QUALITY_FILTER, "key": "granularity"}).value == "month"


def test_control_characters_in_url_show_an_alert(prepared: list[int]) -> None:
    page = conflict.layout(state=["x\n=HYPERLINK(1)"])
    alert = find(page, ids.CONFLICT_ALERT)
    assert alert.hidden is False and "state" in alert.children and "control" in alert.children
    assert find(page, {"type": ids.CONFLICT_FILTER, "key": "state"}).value in ([], None)


def test_controls_become_store_and_url(prepared: list[int]) -> None:
    inputs = [
        [
            {"id": {"type": ids.CONFLICT_FILTER, "key": key}, "property": "value", "value": value}
            for key, value in (
                ("start", "2024-01-01"),
                ("state", ["Kano"]),
                ("granularity", "week"),
                ("group_by", "crisis_type"),
                ("metric", "events"),
            )
        ]
    ]
    store, search = in_callback(conflict.sync_conflict_filters, [None] * 5, inputs_list=inputs)
    assert store == "start=2024-01-01&state=Kano&granularity=week"
    assert search == "?" + store


def test_charts_follow_the_stored_filters(prepared: list[int]) -> None:
    states, lgas, _, _ = drawn(conflict.update_conflict_places, "metric=total_deaths")
    assert list(states.data[0].y) == ["Borno", "Kano", "Lagos"] and list(states.data[0].x) == [15, 5, 1]
    assert list(lgas.data[0].y) == ["Maiduguri, Borno", "Kano Municipal, Kano", "Ikeja, Lagos"]
    series = drawn(conflict.update_conflict_series, "state=Kano&group_by=actor")
    assert {trace.name: list(trace.y) for trace in series.data} == {"Bandits": [2], "Police": [1]}
    assert len(drawn(conflict.update_conflict_places, "")[2].data[0].x) == 3
    empty = drawn(conflict.update_conflict_places, "state=Nowhere")
    assert all(chart.layout.annotations[0].text == "No events match these filters" for chart in empty[:3])


def test_quality_context_tiles(prepared: list[int]) -> None:
    tiles = drawn(conflict.update_conflict_places, "state=Kano")[3]
    values = {tile.to_plotly_json()["props"].get("data-stat"): tile.children[0].children for tile in tiles[:4]}
    assert values == {"events": "3", "precise": "67%", "derived": "33%", "failing": "67%"}
    assert drawn(conflict.update_conflict_places, "state=Nowhere")[3][0].children == "No events match these filters."


def test_quality_link_keeps_the_app_path_prefix(prepared: list[int], monkeypatch) -> None:
    from dash import _get_paths, dcc

    def link(query: str) -> str:
        tiles = drawn(conflict.update_conflict_places, query)[3]
        return next(tile for tile in tiles if isinstance(tile, dcc.Link)).href

    assert link("state=Kano") == "/trends/quality?state=Kano"
    monkeypatch.setattr(_get_paths, "CONFIG", AttributeDict(requests_pathname_prefix="/nvcd/"))
    assert link("state=Kano") == "/nvcd/trends/quality?state=Kano"
    assert link("") == "/nvcd/trends/quality"


def test_csv_download_matches_the_chart(prepared: list[int]) -> None:
    trigger = {"chart": "states", "type": ids.CONFLICT_CSV}
    payload = drawn(conflict.download_conflict_csv, [0, 1, 0, 0], "metric=total_deaths", triggered=trigger)
    text = payload["content"] if not payload.get("base64") else base64.b64decode(payload["content"]).decode()
    lines = text.splitlines()
    assert lines[0].startswith("# Source: NVCD Monitor") and "metric=total_deaths" in lines[0]
    assert list(csv.reader(io.StringIO("\n".join(lines[1:])))) == [
        ["grp", "value"],
        ["Borno", "15"],
        ["Kano", "5"],
        ["Lagos", "1"],
    ]
    assert payload["filename"].startswith("nvcd-states-")


@pytest.mark.parametrize(
    ("key", "point", "granularity", "expected"),
    [
        (
            "rates_source",
            {"x": "2024-02-01", "customdata": "Punch"},
            "month",
            Drill(date(2024, 2, 1), date(2024, 3, 1), "source", "Punch"),
        ),
        (
            "rates_state",
            {"x": "2024-12-01", "customdata": "Other"},
            "month",
            Drill(date(2024, 12, 1), date(2025, 1, 1)),
        ),
        (
            "precision",
            {"x": "2024-01-01", "customdata": "none"},
            "week",
            Drill(date(2024, 1, 1), date(2024, 1, 8), precision="none"),
        ),
        (
            "failures",
            {"x": "2024-01-05", "customdata": "url_form"},
            "day",
            Drill(date(2024, 1, 5), date(2024, 1, 6), rule="url_form"),
        ),
        (
            "worst_states",
            {"y": "Kano", "x": 0.3, "customdata": "Kano"},
            "month",
            Drill(dimension="state", value="Kano"),
        ),
        ("completeness", {"y": "lga", "x": 0.5, "customdata": "lga"}, "month", Drill()),
    ],
)
def test_drill_from_click(key: str, point: dict, granularity: str, expected: Drill) -> None:
    assert quality.drill_from_click(key, {"points": [point]}, granularity) == expected


def test_grid_lists_the_records_behind_a_clicked_point(prepared: list[int]) -> None:
    graph = {"chart": "failures", "type": ids.QUALITY_GRAPH}
    click = {"points": [{"x": "2024-02-01", "customdata": "required_fields"}]}
    inputs = [[], [{"id": graph, "property": "clickData", "value": click}]]

    def run() -> Any:
        context_value.set(
            AttributeDict(
                triggered_inputs=[
                    {"prop_id": json.dumps(graph, separators=(",", ":"), sort_keys=True) + ".clickData", "value": click}
                ],
                inputs_list=inputs,
                states_list=[],
                updated_props={},
            )
        )
        return quality.update_quality_grid("", [click], None)

    rows, caption = copy_context().run(run)
    assert [(row["id"], row["event_id"], row["reason"], row["event_date"]) for row in rows] == [
        (prepared[3], "[NVCD4](/events/NVCD4)", "required_fields", "2024-02-10"),
    ]
    assert "rule = required_fields" in caption
    all_rows, _ = drawn(quality.update_quality_grid, "", [None])
    assert len(all_rows) == 7


def test_drill_caption_says_when_the_cap_cut_the_list(prepared: list[int], monkeypatch) -> None:
    from trends.quality_queries import DRILL_LIMIT

    assert quality.drill_caption(7, Drill()) == "7 record reasons: all matching records"
    capped = quality.drill_caption(DRILL_LIMIT, Drill())
    assert f"newest {DRILL_LIMIT:,} shown" in capped and "all matching" not in capped
    assert "rule = geo" in quality.drill_caption(DRILL_LIMIT, Drill(rule="geo"))
    full = pd.DataFrame(
        {"event_id": range(DRILL_LIMIT), "reason": "geo", "event_date": [date(2024, 1, 1)] * DRILL_LIMIT}
    )
    monkeypatch.setattr(quality, "drilldown", lambda *_args: full)
    rows, caption = drawn(quality.update_quality_grid, "", [None])
    assert len(rows) == DRILL_LIMIT and f"newest {DRILL_LIMIT:,} shown" in caption and "all matching" not in caption


def test_quality_charts_render(prepared: list[int]) -> None:
    rates, worst = drawn(quality.UPDATES["sources"], "")
    assert len(rates.data) == 6  # 3 sources x 2 panels
    assert list(worst.data[0].y) == ["Daily Post"]  # the only source with 3 events or more
    rates, worst = drawn(quality.UPDATES["states"], "")
    assert {trace.name for trace in rates.data} == {"Borno", "Kano", "Lagos"} and list(worst.data[0].y) == ["Kano"]
    assert len(drawn(quality.UPDATES["failures"], "").data) == 3
    assert list(drawn(quality.UPDATES["runs"], "").data[0].y)[-1] == 0.7


def test_pages_are_served(client, engine: Engine) -> None:
    insert_events(engine)
    for path in ("/trends/conflict?state=Kano&granularity=week", "/trends/quality"):
        assert client.get(path).status_code == 200


DOWN_URL = "postgresql+psycopg://nobody@127.0.0.1:9/none"  # nothing listens on port 9


@pytest.fixture
def down_app(tmp_path) -> Any:
    """Return an app whose database is unreachable, inside one of its requests."""
    from app import create_app

    down = create_app({"APP_ENV": "testing", "DATABASE_URL": DOWN_URL, "INSTANCE_PATH": str(tmp_path)})
    with down.test_request_context():
        yield down


def _trend_callbacks() -> list[tuple[Any, tuple[Any, ...], dict | None]]:
    """Return (callback, arguments, triggering id) for every database-backed trend callback."""
    csv_conflict = {"chart": "states", "type": ids.CONFLICT_CSV}
    csv_quality = {"chart": "failures", "type": ids.QUALITY_CSV}
    return [
        (conflict.update_conflict_series, ("",), None),
        (conflict.update_conflict_places, ("state=Kano",), None),
        (conflict.download_conflict_csv, ([0, 1, 0, 0], ""), csv_conflict),
        *((update, ("",), None) for update in quality.UPDATES.values()),
        (quality.update_quality_grid, ("", [None]), None),
        (quality.download_quality_csv, ([1], ""), csv_quality),
    ]


def test_every_quality_chart_has_one_redraw(app: Any) -> None:
    redrawn = [key for graphs, _draw in quality.REDRAWS.values() for key in graphs]
    assert sorted(redrawn) == sorted(quality.QUALITY_CHARTS) and len(set(redrawn)) == len(redrawn)
    assert [update.__name__ for update in quality.UPDATES.values()] == [
        "update_quality_sources",
        "update_quality_states",
        "update_quality_precision",
        "update_quality_failures",
        "update_quality_completeness",
        "update_quality_runs",
    ]


def test_database_down_shows_the_alert_and_keeps_the_charts(down_app: Any, caplog) -> None:
    for fn, args, trigger in _trend_callbacks():
        caplog.clear()
        with caplog.at_level("WARNING", logger="dashapp.filters_ui"):
            result, alert = with_alert(fn, *args, None, triggered=trigger)
        assert result is dash.no_update, fn.__name__  # every chart of the callback keeps what it shows
        assert alert is not None and set(alert) == {"children", "hidden"}, fn.__name__
        text, hidden = alert["children"], alert["hidden"]
        assert hidden is False and "could not be loaded" in text and "retry" in text, fn.__name__
        assert text == filters_ui.DB_ERROR_ALERT
        assert [r.levelname for r in caplog.records] == ["WARNING"] and fn.__name__ in caplog.text


def test_alert_clears_on_the_next_successful_update(prepared: list[int]) -> None:
    figures, alert = with_alert(conflict.update_conflict_places, "state=Kano", filters_ui.DB_ERROR_ALERT)
    assert alert == {"children": None, "hidden": True}
    assert list(figures[0].data[0].y) == ["Kano"]
    url_error = "Ignored the filters in the address: granularity"
    runs, alert = with_alert(quality.UPDATES["runs"], "", url_error)
    assert alert is None and list(runs.data[0].y)[-1] == 0.7  # the URL's alert stays


def test_statement_timeout_shows_the_alert(prepared: list[int], monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    def timed_out(*_args: Any) -> None:
        raise OperationalError("SELECT ...", {}, Exception("canceling statement due to statement timeout"))

    monkeypatch.setattr(quality, "quality_tallies", timed_out)
    assert with_alert(quality.UPDATES["sources"], "", None) == (
        dash.no_update,
        {"children": filters_ui.DB_ERROR_ALERT, "hidden": False},
    )


def test_bugs_are_not_hidden_behind_the_alert(prepared: list[int], monkeypatch) -> None:
    def broken(*_args: Any) -> None:
        raise KeyError("not a database error")

    monkeypatch.setattr(conflict, "place_summary", broken)
    with pytest.raises(KeyError):
        conflict.update_conflict_places("", None)


def test_dash_answers_with_the_alert_when_the_database_is_down(down_app: Any) -> None:
    dash_app = down_app.extensions["dash"]
    client = down_app.test_client()
    # Dash's routes set its app context variable in the caller's context: run them in a copy so that
    # later tests (dash.get_app()) see their own app.
    copy_context().run(client.get, "/_dash-dependencies")  # Dash merges the page callbacks into its map now
    graph_id = {"chart": "series", "type": ids.CONFLICT_GRAPH}
    output = json.dumps(graph_id, separators=(",", ":"), sort_keys=True) + ".figure"
    assert output in dash_app.callback_map
    outputs = {"id": graph_id, "property": "figure"}
    response = copy_context().run(
        client.post,
        "/_dash-update-component",
        json={
            "output": output,
            "outputs": outputs,
            "inputs": [{"id": ids.CONFLICT_FILTERS, "property": "data", "value": "state=Kano"}],
            "state": [{"id": ids.CONFLICT_ALERT, "property": "children", "value": None}],
            "changedPropIds": [f"{ids.CONFLICT_FILTERS}.data"],
        },
    )
    assert response.status_code == 200
    # The alert is set beside the callback's outputs (dash.set_props), the chart is left as it is.
    assert response.json["sideUpdate"] == {ids.CONFLICT_ALERT: {"children": filters_ui.DB_ERROR_ALERT, "hidden": False}}
    assert response.json["response"] == {}


@pytest.mark.parametrize("page", ["conflict", "quality"])
def test_a_page_opened_while_the_database_is_down_renders_with_the_alert(down_app: Any, page: str) -> None:
    rendered = json.dumps(globals()[page].layout(), cls=plotly.utils.PlotlyJSONEncoder)
    assert filters_ui.DB_ERROR_ALERT in rendered


def _csv_text(payload: dict[str, Any]) -> str:
    return payload["content"] if not payload.get("base64") else base64.b64decode(payload["content"]).decode()


def test_grid_links_each_event_id_to_its_page(prepared: list[int], monkeypatch) -> None:
    from dash import _get_paths

    grid = find(quality.layout(), ids.QUALITY_GRID)
    column = next(col for col in grid.columnDefs if col["field"] == "event_id")
    assert column == {"field": "event_id", "headerName": "event id", "cellRenderer": "markdown"}
    rows, _ = drawn(quality.update_quality_grid, "state=Lagos", [None])
    assert sorted({row["event_id"] for row in rows}) == ["[NVCD3](/events/NVCD3)", "[NVCD4](/events/NVCD4)"]
    # An id an import gave stays text in the link, and is one path segment of its URL.
    assert quality.event_link("A_1 (b)/c") == "[A\\_1 \\(b\\)/c](/events/A_1%20%28b%29%2Fc)"
    monkeypatch.setattr(_get_paths, "CONFIG", AttributeDict(requests_pathname_prefix="/nvcd/"))
    assert quality.event_link("NGA7") == "[NGA7](/nvcd/events/NGA7)"


def test_dataset_dropdown_offers_the_datasets_and_names_the_default(engine: Engine, app) -> None:
    insert_events(engine, "demo")
    with app.test_request_context():
        dropdown = find(conflict.layout(), {"type": ids.CONFLICT_FILTER, "key": "dataset"})
        assert (dropdown.options, dropdown.value, dropdown.placeholder) == (["demo"], [], "Default: demo")
        insert_events(engine)
        dropdown = find(quality.layout(dataset="demo"), {"type": ids.QUALITY_FILTER, "key": "dataset"})
        assert (dropdown.options, dropdown.value, dropdown.placeholder) == (["demo", "nvcd"], ["demo"], "Default: nvcd")
        page = conflict.layout(dataset="nvdc", state="Kano")
        alert = find(page, ids.CONFLICT_ALERT)
        assert alert.hidden is False and "unknown dataset 'nvdc' (known: demo, nvcd)" in alert.children
        assert find(page, {"type": ids.CONFLICT_FILTER, "key": "state"}).value == []  # the address is ignored


def test_the_chosen_datasets_go_into_the_url(prepared: list[int]) -> None:
    inputs = [
        [
            {"id": {"type": ids.QUALITY_FILTER, "key": key}, "property": "value", "value": value}
            for key, value in (("dataset", ["demo", "nvcd"]), ("state", ["Kano"]), ("granularity", "month"))
        ]
    ]
    store, search = in_callback(quality.sync_quality_filters, [None] * 3, inputs_list=inputs)
    assert store == "state=Kano&dataset=demo&dataset=nvcd" and search == "?" + store


def test_charts_read_live_events_of_the_default_datasets(engine: Engine, app) -> None:
    from tests.trends.conftest import withdraw

    insert_events(engine, "demo")
    ids_nvcd = insert_events(engine)
    withdraw(engine, ids_nvcd[:2])
    with app.test_request_context():

        def events(query: str) -> str:
            tiles = drawn(conflict.update_conflict_places, query)[3]
            return (
                next(tile for tile in tiles if tile.to_plotly_json()["props"].get("data-stat") == "events")
                .children[0]
                .children
            )

        assert (events(""), events("dataset=demo"), events("dataset=demo&dataset=nvcd")) == ("5", "7", "12")
        rows, _ = drawn(quality.update_quality_grid, "", [None])
        assert {row["event_id"] for row in rows}.isdisjoint({"[NVCD1](/events/NVCD1)", "[NVCD2](/events/NVCD2)"})
        assert all(row["event_id"].startswith("[NVCD") for row in rows)


def test_page_csv_cites_the_datasets_shown(engine: Engine, app) -> None:
    insert_events(engine, "demo")
    trigger = {"chart": "states", "type": ids.CONFLICT_CSV}
    with app.test_request_context():
        demo_only = _csv_text(drawn(conflict.download_conflict_csv, [0, 1, 0, 0], "", triggered=trigger))
        assert "data: demo = generated demo data (not NVCD);" in demo_only.splitlines()[0]
        assert "Nextier" not in demo_only
        insert_events(engine)
        line = _csv_text(drawn(conflict.download_conflict_csv, [0, 1, 0, 0], "", triggered=trigger)).splitlines()[0]
        assert "data: nvcd = Nigeria Violent Conflicts Database (Nextier);" in line and "demo" not in line
