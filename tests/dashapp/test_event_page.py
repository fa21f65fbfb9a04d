"""The event page: fields, status and revisions as text; unknown or hostile ids get a message, never an error."""

from __future__ import annotations

import json
import logging
from typing import Any

import dash
import pytest
from dash import dcc, html

from dashapp import ids
from pipeline.runner import run_pipeline
from tests.dashapp.test_callback_guard import errors_logged, pages_router, post
from tests.dashapp.test_monitor_panel import walk
from tests.revisions.imports import DROPPED, EDITS, SNAPSHOT, public_id, records_a, records_b, two_imports


def page_layout(app: Any, event_id: Any) -> html.Div:
    """Call the event page's layout as Dash Pages does."""
    with app.test_request_context("/"):
        page = next(p for p in dash.page_registry.values() if p["module"] == "dashapp.pages.event")
        return page["layout"](event_id=event_id)


def by_id(layout: html.Div) -> dict[str, Any]:
    return {c.id: c for c in walk(layout) if getattr(c, "id", None)}


def strings(component: Any) -> list[str]:
    """Return every text the layout shows."""
    if isinstance(component, str):
        return [component]
    if isinstance(component, (list, tuple)):
        return [s for child in component for s in strings(child)]
    return strings(getattr(component, "children", None)) if hasattr(component, "_prop_names") else []


def rows(table: html.Table) -> list[list[str]]:
    """Return the body rows of a table as lists of cell texts."""
    body = table.children[1]
    return [[" | ".join(strings(cell)) for cell in row.children] for row in body.children]


def test_the_page_shows_the_event_and_its_revisions_old_to_new(app, client, engine) -> None:
    known = two_imports(engine, client)
    index, (name, _value) = next(iter(EDITS.items()))
    layout = page_layout(app, public_id(index))
    shown = by_id(layout)
    assert strings(layout)[0] == f"Event {public_id(index)}"
    assert strings(shown[ids.EVENT_STATUS]) == ["Live: in the current data."]
    assert known.b[index][name] in strings(shown[ids.EVENT_FACTS])
    created, updated = rows(shown[ids.EVENT_REVISIONS])
    assert created[0] == str(known.first_run) and created[2:] == ["created", "—"]
    assert updated[0] == str(known.second_run) and updated[2] == "updated"
    assert updated[1].endswith(" UTC")
    assert updated[3] == f"{name}: {known.a[index][name]} → {known.b[index][name]}"


def test_a_withdrawn_event_says_which_run_withdrew_it(app, client, engine) -> None:
    known = two_imports(engine, client)
    shown = by_id(page_layout(app, public_id(DROPPED[0])))
    (status,) = strings(shown[ids.EVENT_STATUS])
    assert status.startswith(f"Withdrawn by run {known.second_run} at ") and "UTC" in status
    assert [row[2] for row in rows(shown[ids.EVENT_REVISIONS])] == ["created", "withdrawn"]


@pytest.mark.parametrize(
    ("event_id", "says"),
    [
        ("NGA999999", "No event has the id NGA999999."),
        ("<script>alert(1)</script>", "That is not an event id"),
        ("../../etc/passwd", "That is not an event id"),
        ("a" * 65, "That is not an event id"),
        (None, "That is not an event id"),
        (["NGA1"], "That is not an event id"),
    ],
)
def test_no_such_event_is_a_message(app, engine, event_id: Any, says: str) -> None:
    layout = page_layout(app, event_id)
    assert strings(layout)[0] == "No such event"
    assert strings(by_id(layout)[ids.EVENT_ALERT])[0].startswith(says)
    assert "<script>" not in " ".join(strings(layout))


def test_markup_in_the_data_shows_as_text(app, engine) -> None:
    record = {**records_a()[0], "description": "<img src=x onerror=alert(1)> <b>bold</b>"}
    run_pipeline(engine, [record], trigger="cli")
    layout = page_layout(app, "NGA1")
    assert "<img src=x onerror=alert(1)> <b>bold</b>" in strings(layout)
    # Only plain html components: nothing that renders markup (Markdown, dangerously_allow_html).
    assert not any(isinstance(c, dcc.Markdown) for c in walk(layout))
    assert "dangerously" not in json.dumps(layout.to_plotly_json(), default=lambda c: c.to_plotly_json())


def test_the_database_being_down_is_a_message(tmp_path) -> None:
    from app import create_app

    down = create_app({"APP_ENV": "testing", "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none",
                       "INSTANCE_PATH": str(tmp_path)})  # fmt: skip
    assert strings(page_layout(down, "NGA1"))[-1].startswith("The event could not be read")


@pytest.fixture
def routed_client(app: Any, engine: Any) -> Any:
    """Return a client whose Dash has registered its callbacks (see tests/dashapp/test_callback_guard.py)."""
    from contextvars import copy_context

    client = app.test_client()
    copy_context().run(client.get, "/_dash-dependencies")
    return client


def test_the_router_renders_the_event_at_its_own_url(app, engine, routed_client, caplog) -> None:
    a = records_a()
    run_pipeline(engine, a, trigger="cli")
    run_pipeline(engine, records_b(a), trigger="cli", target=SNAPSHOT)
    with caplog.at_level(logging.INFO):
        answer = post(routed_client, pages_router(app, f"/events/{public_id(min(EDITS))}", ""))
        hostile = [
            post(routed_client, pages_router(app, path, ""))
            for path in ("/events/%3Cscript%3E", "/events/a/b", "/events/", "/events/" + "x" * 500)
        ]
    assert answer.status_code == 200
    content = json.dumps(answer.get_json())
    assert f"Event {public_id(min(EDITS))}" in content and "updated" in content
    for response in hostile:
        assert response.status_code == 200
        assert "No such event" in json.dumps(response.get_json()) or "404" in json.dumps(response.get_json())
    assert errors_logged(caplog) == []


@pytest.mark.parametrize("path", ["/events/NGA1", "/events/%3Cscript%3E"])
def test_the_page_is_served(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200 and "_dash-config" in response.get_data(as_text=True)
    assert "<script>" not in response.get_data(as_text=True).split("<body>")[0]
