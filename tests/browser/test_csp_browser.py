"""The strict CSP in a real Chromium: every page renders with no violation; a signed-in browser goes live."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine

from tests.browser.conftest import FAST, record_errors, screenshot
from tests.trends.conftest import insert_events

pytestmark = pytest.mark.browser

# Collected before any page script runs, so a violation during start-up is caught too.
RECORD_VIOLATIONS = """window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber));"""
PLOTTED = """() => { const plots = document.querySelectorAll('.js-plotly-plot');
  return plots.length > 0 && Array.from(plots).some(p => p._fullData && p._fullData.some(t => (t.x || []).length)); }"""
TO_IMAGE = "() => window.Plotly.toImage(document.querySelector('.js-plotly-plot'), {format: 'png'})"
PAGES = [
    (
        "/monitor?" + urlencode(FAST),
        "() => document.querySelector('#monitor-status.monitor-state-live')",
        "csp-monitor",
    ),
    (
        "/embed/monitor?" + urlencode(FAST),
        "() => document.querySelector('#monitor-status.monitor-state-live')",
        "csp-embed",
    ),
    ("/trends/conflict", PLOTTED, "csp-trends-conflict"),
    ("/trends/quality", PLOTTED, "csp-trends-quality"),
    ("/events/NVCD1", "() => document.querySelector('#event-revisions')", "csp-event"),
    ("/api/docs", "() => document.querySelectorAll('.opblock').length >= 5", "csp-api-docs"),
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the policy does not depend on the backend
def test_every_page_renders_under_the_policy_with_no_violation(chromium, server_factory, engine: Engine) -> None:
    insert_events(engine)
    server = server_factory()
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(RECORD_VIOLATIONS)
    # Offline proof for the docs: nothing may load from anywhere but the app itself.
    foreign: list[str] = []
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(server.url) or route.request.url.startswith(("data:", "blob:"))
            else (foreign.append(route.request.url), route.abort())
        ),
    )
    try:
        for path, ready, name in PAGES:
            page = context.new_page()
            errors = record_errors(page)
            response = page.goto(server.url + path)
            assert response is not None and "script-src 'self' 'sha256-" in response.headers["content-security-policy"]
            page.wait_for_function(ready, timeout=15000)
            if ready == PLOTTED:  # the modebar's "download as PNG" draws through a data: image
                assert page.evaluate(TO_IMAGE).startswith("data:image/png;base64,")
            page.wait_for_timeout(500)  # late scripts (hover layers, workers) get their chance to be refused
            screenshot(page, name)
            assert page.evaluate("() => window.__csp") == [], path
            assert errors == [], (path, errors)
            page.close()
        assert foreign == []
    finally:
        context.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # browser logic; kept short
def test_a_signed_in_browser_gets_the_live_panel_through_the_cookie(chromium, server_factory, engine: Engine) -> None:
    server = server_factory(WS_ACCESS_TOKEN="browser-s3cret")
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        monitor = "/monitor?" + urlencode({**FAST, "poll_after_failures": 1})
        page.goto(server.url + monitor)
        page.wait_for_selector("#monitor-status.monitor-state-offline", timeout=10000)
        assert "sign in at /sign-in" in page.inner_text("#monitor-status")

        page.goto(f"{server.url}/sign-in?next={json.dumps(monitor)[1:-1].replace('&', '%26')}")
        page.fill("#token", "browser-s3cret")
        page.click("button[type=submit]")
        page.wait_for_selector("#monitor-status.monitor-state-live", timeout=10000)
        assert page.evaluate("() => window.nvcdMonitor.state.via") in {"websocket", "http"}
        page.wait_for_function("() => window.nvcdMonitor.controller.phase === 'open'", timeout=10000)
        screenshot(page, "monitor-signed-in")
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["nvcd_ws_token"]["httpOnly"] and cookies["nvcd_ws_token"]["sameSite"] == "Lax"
        assert page.evaluate("() => document.cookie") == ""  # no script can read the token
    finally:
        context.close()
