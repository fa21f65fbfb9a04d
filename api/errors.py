"""One JSON error shape for every 4xx and 5xx the API answers."""

from __future__ import annotations

import logging

from apiflask import APIFlask, HTTPError
from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/healthz", "/openapi.json", "/ws/")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CATCH_ALL = "_no_such_endpoint"


def error_response(status: int, message: str, detail: object | None = None, headers: dict | None = None) -> Response:
    """Return the JSON error every endpoint uses: ``{"status", "message", "detail"}``."""
    response = jsonify({"status": status, "message": message, "detail": detail or {}})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def allowed_methods(app: APIFlask, path: str) -> list[str]:
    """Return the methods that some endpoint other than the /api/ catch-all serves at ``path``."""
    adapter = app.url_map.bind("")
    allowed = []
    for method in METHODS:
        try:
            rule, _ = adapter.match(path, method=method, return_rule=True)
        except HTTPException:
            continue
        if rule.endpoint != CATCH_ALL:
            allowed.append(method)
    return allowed


def init_app(app: APIFlask) -> None:
    """Route APIFlask validation errors and stray HTTP errors through error_response."""

    @app.error_processor
    def _api_error(error: HTTPError) -> Response:
        return error_response(error.status_code, error.message or "", error.detail, dict(error.headers or {}))

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response | HTTPException:
        if not request.path.startswith(JSON_PREFIXES):
            return error
        # Keep what the error says in its headers (Allow on a 405, WWW-Authenticate on a 401...).
        headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
        if isinstance(error, MethodNotAllowed) and request.path.startswith("/api/"):
            # werkzeug would also list the methods of the /api/ catch-all below.
            headers["Allow"] = ", ".join(allowed_methods(app, request.path))
        return error_response(error.code or 500, error.description or error.name, headers=headers)

    @app.after_request
    def _options_allow(response: Response) -> Response:
        # Flask's automatic OPTIONS answer would also advertise the catch-all's methods.
        if request.method == "OPTIONS" and request.path.startswith("/api/") and "Allow" in response.headers:
            allowed = allowed_methods(app, request.path)
            if allowed:
                extra = ["HEAD"] if "GET" in allowed else []
                response.headers["Allow"] = ", ".join([*allowed, *extra, "OPTIONS"])
        return response

    @app.route("/api/<path:_path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    @app.doc(hide=True)
    def _no_such_endpoint(_path: str) -> Response:
        # Dash serves every unknown path as a page; under /api/ answer in JSON, and say
        # 405 when the path exists for other methods (this route shadows werkzeug's 405).
        allowed = allowed_methods(app, request.path)
        if allowed:
            return error_response(405, "Method not allowed", {"allowed": allowed}, {"Allow": ", ".join(allowed)})
        return error_response(404, "No such endpoint")

    @app.errorhandler(Exception)
    def _unhandled(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return _http_error(error)  # type: ignore[return-value]
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "Internal server error")
