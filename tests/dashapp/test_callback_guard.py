"""Malformed Dash requests: a 4xx in the house JSON shape, never a 500, never an ERROR in the log.

Also the contract of dashapp.callback_guard with Dash: the route it guards and the callback map it reads.
"""

from __future__ import annotations

import json
import logging
from contextvars import copy_context
from typing import Any

import pytest

from dashapp.callback_guard import UPDATE_COMPONENT
from tests.trends.conftest import insert_events

UPDATE = "/" + UPDATE_COMPONENT
JUNK_VALUES = [
    0,
    -1,
    2**70,
    1e308,
    True,
    "",
    "x" * 10_000,
    "\x00;\n=1",
    [],
    [None],
    [[["deep"]]],
    {},
    {"points": 3},
    {"points": [{"x": "not a date", "customdata": {"a": 1}}]},
    "state=" + "%ff" * 50,
    "granularity=year&state=&start=99999-01-01&end=0",
]


@pytest.fixture
def dash_client(app: Any, engine: Any) -> Any:
    """Return a test client whose Dash has registered its callbacks, over the prepared events."""
    insert_events(engine)
    client = app.test_client()
    # Dash's routes set its app context variable in the caller's context: run them in a copy.
    copy_context().run(client.get, "/_dash-dependencies")
    return client


def post(client: Any, body: Any, raw: bytes | None = None, content_type: str = "application/json") -> Any:
    """POST one callback request in a copy of the context (see dash_client)."""
    data = raw if raw is not None else json.dumps(body)
    return copy_context().run(client.post, UPDATE, data=data, content_type=content_type)


def server_callbacks(app: Any) -> dict[str, dict[str, Any]]:
    """Return Dash's server-side callbacks by output key."""
    return {key: spec for key, spec in app.extensions["dash"].callback_map.items() if callable(spec.get("callback"))}


def item(dependency: dict[str, Any], value: Any = None) -> Any:
    """Return the request item for a declared dependency, as the browser sends it (one match for ALL)."""
    declared = dependency["id"]
    if declared.startswith("{"):
        pattern = json.loads(declared)
        concrete = {name: ("series" if isinstance(v, list) else v) for name, v in pattern.items()}
        return [{"id": concrete, "property": dependency["property"], "value": value}]
    return {"id": declared, "property": dependency["property"], "value": value}


def outputs_of(key: str) -> list[dict[str, Any]] | dict[str, Any]:
    """Return the outputs list the browser sends for a callback's output key."""
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    outputs = []
    for part in parts:
        ident, prop = part.rsplit(".", 1)
        outputs.append({"id": json.loads(ident) if ident.startswith("{") else ident, "property": prop})
    return outputs if key.startswith("..") else outputs[0]


def valid_body(key: str, spec: dict[str, Any], value: Any = None) -> dict[str, Any]:
    """Return a well-formed request for the callback ``key`` with every input and state set to ``value``."""
    inputs = [item(dep, value) for dep in spec["inputs"]]
    return {
        "output": key,
        "outputs": outputs_of(key),
        "inputs": inputs,
        "state": [item(dep, value) for dep in spec.get("state", [])],
        "changedPropIds": [f"{spec['inputs'][0]['id']}.{spec['inputs'][0]['property']}"],
    }


def a_callback(app: Any) -> tuple[str, dict[str, Any]]:
    """Return the conflict series callback (one plain input, one state)."""
    return next((k, s) for k, s in server_callbacks(app).items() if '"chart":"series"' in k)


def malformed(app: Any) -> list[tuple[str, bytes | None, Any]]:
    """Return (name, raw body or None, JSON body) for the malformed requests."""
    key, spec = a_callback(app)
    good = valid_body(key, spec, "")
    inputs_key = json.dumps(good["inputs"][0])
    deep = b"[" * 100_000 + b"]" * 100_000
    return [
        ("not JSON", b"{not json", None),
        ("empty body", b"", None),
        ("truncated", json.dumps(good).encode()[:-5], None),
        ("nesting past the parser", deep, None),
        ("deep object", b'{"output":' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"}", None),
        ("JSON null", None, None),
        ("JSON list", None, [good]),
        ("JSON string", None, "output"),
        ("JSON number", None, 12),
        ("empty object", None, {}),
        ("output missing", None, {k: v for k, v in good.items() if k != "output"}),
        ("output not a string", None, {**good, "output": ["x"]}),
        ("output unknown", None, {**good, "output": "nope.figure"}),
        ("output a clientside callback", None, {**good, "output": "monitor-ws.url"}),
        ("output a substring", None, {**good, "output": key[:-3]}),
        ("inputs missing", None, {k: v for k, v in good.items() if k != "inputs"}),
        ("inputs a string", None, {**good, "inputs": "x"}),
        ("inputs an object", None, {**good, "inputs": json.loads(inputs_key)}),
        ("inputs too many", None, {**good, "inputs": good["inputs"] * 2}),
        ("inputs item a string", None, {**good, "inputs": ["conflict-filters.data"]}),
        ("inputs item a list", None, {**good, "inputs": [[json.loads(inputs_key)]]}),
        ("inputs item without id", None, {**good, "inputs": [{"property": "data", "value": ""}]}),
        ("inputs item without property", None, {**good, "inputs": [{"id": "conflict-filters", "value": ""}]}),
        ("inputs item id a number", None, {**good, "inputs": [{"id": 5, "property": "data", "value": ""}]}),
        ("inputs item id unknown", None, {**good, "inputs": [{"id": "other", "property": "data", "value": ""}]}),
        ("inputs item property wrong", None, {**good, "inputs": [{"id": "conflict-filters", "property": "x"}]}),
        ("inputs item id a nested object", None, {**good, "inputs": [{"id": {"a": {"b": 1}}, "property": "data"}]}),
        ("state a string", None, {**good, "state": "x"}),
        ("state missing its item", None, {**good, "state": []}),
        ("state item null", None, {**good, "state": [None]}),
        ("outputs a string", None, {**good, "outputs": "x"}),
        ("outputs items numbers", None, {**good, "outputs": [1, 2, 3]}),
        ("outputs item without property", None, {**good, "outputs": [{"id": "conflict-alert"}]}),
        ("changedPropIds a string", None, {**good, "changedPropIds": "conflict-filters.data"}),
        ("changedPropIds numbers", None, {**good, "changedPropIds": [1, 2]}),
        ("form-encoded", b"output=x", None),
    ]


def errors_logged(caplog: Any) -> list[str]:
    """Return the messages logged at ERROR or above."""
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


def test_malformed_callback_requests_are_400_json(app: Any, dash_client: Any, caplog) -> None:
    cases = malformed(app)
    assert len(cases) >= 36
    with caplog.at_level(logging.INFO):
        for name, raw, body in cases:
            content_type = "application/x-www-form-urlencoded" if name == "form-encoded" else "application/json"
            response = post(dash_client, body, raw, content_type)
            assert response.status_code == 400, (name, response.get_data(as_text=True)[:300])
            answer = response.get_json()
            assert answer["status"] == 400 and answer["message"] == "Malformed callback request", name
            assert isinstance(answer["detail"]["body"][0], str), name
    assert errors_logged(caplog) == []
    assert all(record.levelno <= logging.WARNING for record in caplog.records)


def test_well_formed_requests_still_reach_the_callbacks(app: Any, dash_client: Any) -> None:
    key, spec = a_callback(app)
    response = post(dash_client, valid_body(key, spec, "state=Kano"))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    figure = response.get_json()["response"]
    assert any(output.get("figure") for output in figure.values())


def test_every_callback_takes_junk_values_without_a_500(app: Any, dash_client: Any, caplog) -> None:
    callbacks = server_callbacks(app)
    assert len(callbacks) >= 14
    with caplog.at_level(logging.INFO):
        for key, spec in callbacks.items():
            for value in JUNK_VALUES:
                response = post(dash_client, valid_body(key, spec, value))
                assert response.status_code < 500, (key, value, response.get_data(as_text=True)[:300])
    assert errors_logged(caplog) == []


def pages_router(app: Any, pathname: Any, search: Any) -> dict[str, Any]:
    """Return a request of Dash Pages' router callback for a location."""
    key, spec = next((k, s) for k, s in server_callbacks(app).items() if "_pages_content" in k)
    body = valid_body(key, spec)
    body["inputs"] = [
        {"id": "_pages_location", "property": "pathname", "value": pathname},
        {"id": "_pages_location", "property": "search", "value": search},
    ]
    return body


@pytest.mark.parametrize("search", ["", "?state=Kano", "?state=%ff%fe", "?" + "a=1&" * 2000, None, 5, ["?x"], {}])
def test_the_page_router_answers_any_search(app: Any, dash_client: Any, search: Any, caplog) -> None:
    with caplog.at_level(logging.INFO):
        response = post(dash_client, pages_router(app, "/trends/conflict", search))
    assert response.status_code == (200 if isinstance(search, (str, type(None))) else 400)
    assert errors_logged(caplog) == []


@pytest.mark.parametrize("pathname", ["", "nope", None, 7, "/nope", "/" + "a/" * 5000])
def test_the_page_router_refuses_a_path_outside_the_app(app: Any, dash_client: Any, pathname: Any) -> None:
    response = post(dash_client, pages_router(app, pathname, ""))
    assert response.status_code == (200 if isinstance(pathname, str) and pathname.startswith("/") else 400)


@pytest.mark.parametrize(
    "path",
    [
        "/_dash-component-suites/nope/dash.js",
        "/_dash-component-suites/dash/nope.js",
        "/_dash-component-suites/dash/../../../etc/passwd",
        "/_dash-component-suites/dash/dcc/nope.v4_4_1m1.js",
        "/_dash-component-suites/plotly/package_data/plotly.min.js.map",
    ],
)
def test_unknown_component_files_are_404_json(client: Any, path: str, caplog) -> None:
    with caplog.at_level(logging.INFO):
        response = copy_context().run(client.get, path)
    assert response.status_code == 404
    assert response.get_json() == {"status": 404, "message": "No such component file", "detail": {}}
    assert errors_logged(caplog) == []


def test_known_component_files_are_still_served(app: Any, client: Any) -> None:
    copy_context().run(client.get, "/")  # Dash registers its component files with the first page
    dash_app = app.extensions["dash"]
    package, paths = next((p, sorted(v)) for p, v in dash_app.registered_paths.items() if v)
    response = copy_context().run(client.get, f"/_dash-component-suites/{package}/{paths[0]}")
    assert response.status_code == 200 and response.data


def test_contract_with_dash(app: Any) -> None:
    """What the guard assumes of Dash: its callback route, its router's location id, its callback map."""
    from dash import dash as dash_module

    from dashapp.callback_guard import PAGES_LOCATION

    dash_app = app.extensions["dash"]
    assert PAGES_LOCATION == dash_module._ID_LOCATION
    assert dash_app.config.routes_pathname_prefix + UPDATE_COMPONENT in {rule.rule for rule in app.url_map.iter_rules()}
    copy_context().run(app.test_client().get, "/_dash-dependencies")
    spec = next(iter(server_callbacks(app).values()))
    assert {"inputs", "state", "callback"} <= set(spec)
    assert all({"id", "property"} <= set(dep) for dep in spec["inputs"])
