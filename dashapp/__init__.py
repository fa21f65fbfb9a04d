"""The Dash UI, mounted on the Flask server with Dash Pages."""

from __future__ import annotations

import dash
from dash import Dash, dcc, html
from flask import Flask

from config import PROJECT_ROOT
from dashapp import callback_guard
from dashapp.security import register_security_headers


def init_dash(server: Flask) -> Dash:
    """Create the Dash app on ``server`` and register its pages."""
    app = Dash(
        __name__,
        server=server,
        use_pages=True,
        pages_folder="pages",
        assets_folder=str(PROJECT_ROOT / "assets"),
        title="NVCD Monitor",
        suppress_callback_exceptions=True,
        update_title=None,
    )
    app.layout = layout
    server.extensions["dash"] = app
    register_security_headers(server, app.config.routes_pathname_prefix)
    callback_guard.init_app(server, app)
    return app


def layout() -> html.Div:
    """Wrap every page in the site navigation."""
    return html.Div(
        [
            html.Header(
                [
                    html.Span("NVCD Monitor", className="brand"),
                    html.Nav(
                        [
                            dcc.Link(page["name"], href=page["relative_path"])
                            for page in dash.page_registry.values()
                            if not page.get("hide_nav")
                        ],
                        className="nav",
                    ),
                ],
                className="site-header",
            ),
            html.Main(dash.page_container, className="page"),
        ]
    )
