"""The API documentation page, with Swagger UI served from a pinned package (works offline, under the CSP)."""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from apiflask import APIBlueprint
from flask import Response, abort, current_app, render_template_string, send_from_directory, url_for

DOCS_PATH = "/api/docs"
# Swagger UI's dist files as flask-swagger-ui ships them (its version is Swagger UI's: 5.x reads
# OpenAPI 3.1). Only the files the page loads are served; its blueprint and template are not used.
DIST = Path(flask_swagger_ui.__file__).parent / "dist"
ASSETS = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-32x32.png",
        "favicon-16x16.png",
    }
)

bp = APIBlueprint("docs", __name__, enable_openapi=False, static_folder="static", static_url_path=f"{DOCS_PATH}/static")

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <title>{{ title }} {{ version }} - Swagger UI</title>
  <link rel="stylesheet" href="{{ url_for('docs.asset', filename='swagger-ui.css') }}">
  <link rel="icon" type="image/png" href="{{ url_for('docs.asset', filename='favicon-32x32.png') }}">
  <style>html { box-sizing: border-box; overflow-y: scroll; } *, *:before, *:after { box-sizing: inherit; }
  body { margin: 0; background: #fafafa; }</style>
</head>
<body>
  <div id="swagger-ui" data-spec-url="{{ spec_url }}"></div>
  <script src="{{ url_for('docs.asset', filename='swagger-ui-bundle.js') }}"></script>
  <script src="{{ url_for('docs.asset', filename='swagger-ui-standalone-preset.js') }}"></script>
  <script src="{{ url_for('docs.static', filename='docs.js') }}"></script>
</body>
</html>
"""


@bp.get(DOCS_PATH)
def page() -> str:
    """Render the Swagger UI page for /openapi.json."""
    app = current_app
    title, version = app.title, app.version  # type: ignore[attr-defined]
    return render_template_string(PAGE, title=title, version=version, spec_url=url_for("openapi.spec"))


@bp.get(f"{DOCS_PATH}/swagger-ui/<filename>")
def asset(filename: str) -> Response:
    """Serve one of Swagger UI's files from the installed package."""
    if filename not in ASSETS:
        abort(404)
    return send_from_directory(DIST, filename)
