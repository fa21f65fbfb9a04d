"""Refuse malformed Dash requests with a 4xx in the house JSON shape, before Dash fails on them with a 500.

The one module that knows Dash's wire format and routes (dash 4.4; contract test:
tests/dashapp/test_callback_guard.py). A ``POST /_dash-update-component`` body must be a JSON object
naming a registered server-side callback (``Dash.callback_map``), with its inputs and states shaped as
that callback declares them (one ``{"id", "property", "value"}`` item each; a list of them for an
``ALL``/``ALLSMALLER`` pattern): anything else is a 400. What a well-shaped request carries as *values*
is the callbacks' business, except for Dash's own page router, whose location values are checked here
(a path under the app's prefix, a string search). An unknown ``/_dash-component-suites/`` file is a 404.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from dash import Dash
from dash.exceptions import DependencyException
from flask import Flask, Response, request

from api.errors import error_response

log = logging.getLogger(__name__)

UPDATE_COMPONENT = "_dash-update-component"
MULTI_VALUE_WILDCARDS = ('["ALL"]', '["ALLSMALLER"]')
SCALARS = (str, int, float, bool)
PAGES_LOCATION = "_pages_location"  # the dcc.Location of Dash Pages' router (dash.dash._ID_LOCATION)


class Malformed(ValueError):
    """A Dash callback request that cannot be dispatched; the message says what is wrong."""


def init_app(server: Flask, dash_app: Dash) -> None:
    """Check Dash callback requests on ``server`` and answer unknown component files with a JSON 404."""
    update_path = dash_app.config.routes_pathname_prefix + UPDATE_COMPONENT

    @server.before_request
    def _check_callback_request() -> Response | None:
        if request.method != "POST" or request.path != update_path:
            return None
        try:
            body = read_body()
            check_body(body, dash_app.callback_map)
            check_location(body, dash_app.config.requests_pathname_prefix)
        except Malformed as exc:
            log.info("refused a Dash callback request: %s", exc)
            return error_response(400, "Malformed callback request", {"body": [str(exc)]})
        return None

    @server.errorhandler(DependencyException)
    def _unknown_component_file(_error: DependencyException) -> Response:
        # Dash raises this for a package or file it does not serve; the path is the client's mistake.
        return error_response(404, "No such component file")


def read_body() -> Any:
    """Return the request's JSON body (cached for Dash), or raise Malformed."""
    if not request.is_json:
        raise Malformed("send the callback as application/json")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nesting deeper than the JSON parser can follow
        body = None
    if body is None:  # not JSON at all, or JSON null
        raise Malformed("the body must be a JSON object")
    return body


def check_body(body: Any, callbacks: Mapping[str, Mapping[str, Any]]) -> None:
    """Raise Malformed unless ``body`` names a server-side callback with inputs and states shaped as it declares."""
    if not isinstance(body, dict):
        raise Malformed("the body must be a JSON object")
    output = body.get("output")
    spec = callbacks.get(output) if isinstance(output, str) else None
    if spec is None or not callable(spec.get("callback")):
        raise Malformed("output names no server-side callback")
    outputs = body.get("outputs", [])
    for item in outputs if isinstance(outputs, list) else [outputs]:
        for one in item if isinstance(item, list) else [item]:
            _check_item(one, "outputs")
    for key in ("inputs", "state"):
        given, declared = body.get(key, []), list(spec.get(key) or [])
        if not isinstance(given, list) or len(given) != len(declared):
            raise Malformed(f"{key} must be a list of {len(declared)} item(s), as the callback declares")
        for item, wanted in zip(given, declared, strict=True):
            _check_dependency(item, wanted, key)
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(prop, str) for prop in changed):
        raise Malformed("changedPropIds must be a list of strings")


def check_location(body: dict[str, Any], prefix: str) -> None:
    """Raise Malformed unless the page router's location values are what a browser sends."""
    for item in body.get("inputs", []) + body.get("state", []):
        if not isinstance(item, dict) or item.get("id") != PAGES_LOCATION:
            continue
        value, prop = item.get("value"), item.get("property")
        if prop == "pathname" and not (isinstance(value, str) and value.startswith(prefix)):
            raise Malformed(f"{PAGES_LOCATION}.pathname must be a path under {prefix}")
        if prop != "pathname" and not isinstance(value, (str, type(None))):
            raise Malformed(f"{PAGES_LOCATION}.{prop} must be a string")


def _check_dependency(item: Any, wanted: Mapping[str, Any], key: str) -> None:
    declared_id = str(wanted.get("id", ""))
    if declared_id.startswith("{") and any(w in declared_id for w in MULTI_VALUE_WILDCARDS):
        if not isinstance(item, list):
            raise Malformed(f"{key}: {declared_id}.{wanted.get('property')} takes a list of items")
        for one in item:
            _check_item(one, key, wanted)
        return
    _check_item(item, key, wanted)


def _check_item(item: Any, key: str, wanted: Mapping[str, Any] | None = None) -> None:
    if not isinstance(item, dict) or not isinstance(item.get("property"), str):
        raise Malformed(f"{key}: each item is an object with an id and a property")
    item_id = item.get("id")
    if isinstance(item_id, dict):
        if not all(isinstance(k, str) and isinstance(v, SCALARS) for k, v in item_id.items()):
            raise Malformed(f"{key}: a pattern id maps names to strings or numbers")
    elif not isinstance(item_id, str):
        raise Malformed(f"{key}: an id is a string or an object")
    if wanted is None:
        return
    if item["property"] != wanted.get("property") or not _same_id(item_id, str(wanted.get("id", ""))):
        raise Malformed(f"{key}: expected {wanted.get('id')}.{wanted.get('property')}")


def _same_id(given: str | dict, declared: str) -> bool:
    if not declared.startswith("{"):
        return given == declared
    try:
        pattern = json.loads(declared)
    except ValueError:
        return False
    return (
        isinstance(given, dict)
        and set(given) == set(pattern)
        and all(given[name] == value for name, value in pattern.items() if not isinstance(value, list))
    )
