"""One JSON error shape for every 4xx and 5xx the API answers."""

from __future__ import annotations

import logging

from apiflask import APIFlask, HTTPError
from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/healthz", "/openapi.json", "/ws/")


def error_response(status: int, message: str, detail: object | None = None, headers: dict | None = None) -> Response:
    """Return the JSON error every endpoint uses: ``{"status", "message", "detail"}``."""
    response = jsonify({"status": status, "message": message, "detail": detail or {}})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def init_app(app: APIFlask) -> None:
    """Route APIFlask validation errors and stray HTTP errors through error_response."""

    @app.error_processor
    def _api_error(error: HTTPError) -> Response:
        return error_response(error.status_code, error.message, error.detail, dict(error.headers or {}))

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response | HTTPException:
        if not request.path.startswith(JSON_PREFIXES):
            return error
        return error_response(error.code or 500, error.description or error.name)

    @app.route("/api/<path:_path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    @app.doc(hide=True)
    def _no_such_endpoint(_path: str) -> Response:
        # Dash serves every unknown path as a page; under /api/ answer in JSON, and say
        # 405 when the path exists for other methods (this route shadows werkzeug's 405).
        adapter = app.url_map.bind("")
        allowed = []
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            try:
                rule, _ = adapter.match(request.path, method=method, return_rule=True)
            except HTTPException:
                continue
            if rule.endpoint != "_no_such_endpoint":
                allowed.append(method)
        if allowed:
            return error_response(405, "Method not allowed", {"allowed": allowed}, {"Allow": ", ".join(allowed)})
        return error_response(404, "No such endpoint")

    @app.errorhandler(Exception)
    def _unhandled(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return _http_error(error)  # type: ignore[return-value]
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "Internal server error")
