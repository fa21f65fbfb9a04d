"""The monitor panel's Python side: settings, endpoint paths, layouts, callbacks wiring."""

from __future__ import annotations

import re

import pytest
from dash import html

from config import PROJECT_ROOT
from dashapp import ids
from dashapp.monitor_panel import (
    CLIENTSIDE_CALLBACKS,
    CLIENTSIDE_NAMESPACE,
    DEFAULT_SETTINGS,
    HTTP_STATUS_PATH,
    WS_STATUS_PATH,
    external_prefix,
    parse_settings,
)

MONITOR_JS = (PROJECT_ROOT / "assets" / "monitor.js").read_text()


def walk(component: object):
    """Yield every component of a layout tree."""
    if isinstance(component, (list, tuple)):
        for child in component:
            yield from walk(child)
        return
    if not hasattr(component, "_prop_names"):
        return
    yield component
    yield from walk(getattr(component, "children", None))


def test_settings_default_to_the_issue_timings() -> None:
    settings = parse_settings({})
    assert settings == DEFAULT_SETTINGS
    assert (settings["backoff_base_ms"], settings["backoff_cap_ms"]) == (1000, 30000)
    timings = (settings["poll_after_failures"], settings["poll_interval_ms"], settings["dead_after_ms"])
    assert timings == (5, 5000, 30000)


@pytest.mark.parametrize(
    ("query", "key", "expected"),
    [
        ({"poll_interval_ms": "400"}, "poll_interval_ms", 400.0),
        ({"poll_interval_ms": "1"}, "poll_interval_ms", 200),  # clamped: no URL turns the page into a load test
        ({"backoff_cap_ms": "99999999"}, "backoff_cap_ms", 300000),
        ({"poll_after_failures": "2.7"}, "poll_after_failures", 2),
        ({"dead_after_ms": "soon"}, "dead_after_ms", 30000),  # not a number: default kept
        ({"dead_after_ms": "nan"}, "dead_after_ms", 30000),
        ({"stale_after_ms": "inf"}, "stale_after_ms", 60000),
        ({"backoff_base_ms": "5000", "backoff_cap_ms": "1000"}, "backoff_cap_ms", 5000),  # cap never below base
    ],
)
def test_settings_from_query_are_parsed_and_bounded(query: dict, key: str, expected: float) -> None:
    assert parse_settings(query)[key] == expected


def test_unknown_query_parameters_are_ignored() -> None:
    assert parse_settings({"evil": "1", "ids": "x"}) == DEFAULT_SETTINGS


@pytest.mark.parametrize(
    ("requests_prefix", "routes_prefix", "expected"),
    [("/", "/", ""), ("/nvcd/", "/", "/nvcd"), ("/dash/", "/dash/", ""), ("/proxy/dash/", "/dash/", "/proxy")],
)
def test_external_prefix_honours_requests_pathname_prefix(
    requests_prefix: str, routes_prefix: str, expected: str
) -> None:
    assert external_prefix(requests_prefix, routes_prefix) == expected


def _page_layout(app, module: str, **query: str) -> html.Div:
    import dash

    with app.test_request_context("/"):
        page = next(p for p in dash.page_registry.values() if p["module"] == module)
        return page["layout"](**query)


@pytest.mark.parametrize("module", ["dashapp.pages.monitor", "dashapp.pages.embed"])
def test_panel_layout_builds_with_unique_ids_and_live_status(app, module: str) -> None:
    layout = _page_layout(app, module, poll_interval_ms="700")
    components = list(walk(layout))
    found = [c.id for c in components if getattr(c, "id", None)]
    assert len(found) == len(set(found))
    for name in (
        "MONITOR_SETTINGS",
        "MONITOR_WS",
        "MONITOR_POLL",
        "MONITOR_REFRESH",
        "MONITOR_STATUS",
        "MONITOR_AGE",
        "MONITOR_BODY",
        "MONITOR_SYSTEM",
    ):
        assert getattr(ids, name) in found
    by_id = {c.id: c for c in components if getattr(c, "id", None)}
    status = by_id[ids.MONITOR_STATUS].to_plotly_json()["props"]
    assert status["aria-live"] == "polite" and status["role"] == "status"
    settings = by_id[ids.MONITOR_SETTINGS].data
    assert settings["poll_interval_ms"] == 700 and by_id[ids.MONITOR_POLL].interval == 700
    assert by_id[ids.MONITOR_POLL].disabled is True
    assert settings["http_path"] == HTTP_STATUS_PATH and settings["ws_path"] == WS_STATUS_PATH
    assert settings["ids"]["ws"] == ids.MONITOR_WS
    # Loading state is visible from the first paint, never a blank panel.
    assert "Loading" in str(by_id[ids.MONITOR_BODY].children)


def test_embed_page_is_compact_without_navigation(app) -> None:
    layout = _page_layout(app, "dashapp.pages.embed")
    components = list(walk(layout))
    assert not any(isinstance(c, (html.Nav, html.Header, html.A)) for c in components)
    assert any("monitor-compact" in (getattr(c, "className", "") or "") for c in components)


def test_monitor_page_links_to_trend_pages(app) -> None:
    links = [c.href for c in walk(_page_layout(app, "dashapp.pages.monitor")) if isinstance(c, html.A)]
    assert links == ["/trends/quality", "/trends/conflict"]


def test_embed_page_is_hidden_from_the_site_navigation(client) -> None:
    import dash

    pages = {p["path"]: p for p in dash.page_registry.values()}
    assert pages["/embed/monitor"].get("hide_nav") is True
    assert not pages["/monitor"].get("hide_nav")


def test_home_page_links_to_the_monitor_and_the_trend_pages(app) -> None:
    hrefs = [getattr(c, "href", None) for c in walk(_page_layout(app, "dashapp.pages.home"))]
    assert [h for h in hrefs if h] == ["/monitor", "/trends/conflict", "/trends/quality"]


def test_every_clientside_callback_exists_in_monitor_js() -> None:
    names = [name for name, _deps, _prevent in CLIENTSIDE_CALLBACKS]
    assert names == ["start", "onState", "onMessage", "onPoll", "onRefresh"]
    assert f"window.dash_clientside.{CLIENTSIDE_NAMESPACE} = {{" in MONITOR_JS
    for name in names:
        assert re.search(rf"\b{name}: function\b", MONITOR_JS), name


@pytest.mark.parametrize("path", ["/monitor", "/embed/monitor"])
def test_monitor_pages_are_served(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert "_dash-config" in response.get_data(as_text=True)


def test_endpoints_carry_the_proxy_prefix(monkeypatch, tmp_path) -> None:
    from app import create_app

    monkeypatch.setenv("DASH_REQUESTS_PATHNAME_PREFIX", "/nvcd/")
    app = create_app(
        {"APP_ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "INSTANCE_PATH": str(tmp_path)}
    )
    layout = _page_layout(app, "dashapp.pages.monitor")
    settings = next(c for c in walk(layout) if getattr(c, "id", None) == ids.MONITOR_SETTINGS).data
    assert settings["http_path"] == "/nvcd" + HTTP_STATUS_PATH
    assert settings["ws_path"] == "/nvcd" + WS_STATUS_PATH
