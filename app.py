"""The application factory: one Flask (APIFlask) server for API, WebSocket and Dash."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from apiflask import APIFlask
from dash import Dash

import config
import db


def create_app(overrides: Mapping[str, object] | None = None) -> APIFlask:
    """Build the app: defaults, then the environment, then the caller's overrides."""
    settings = config.from_environment()
    settings.update(overrides or {})
    config.check(settings)
    app = APIFlask(
        __name__,
        title="NVCD Monitor API",
        version="1",
        spec_path="/openapi.json",
        docs_path=None,  # api/docs.py serves the docs from a pinned package
        instance_path=str(settings["INSTANCE_PATH"]),
    )
    app.config.update(AUTO_200_RESPONSE=False)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config.update(settings)
    register_logging(app)
    db.init_app(app)
    register_api(app)
    dash_app = register_dash(app)
    register_security(app, dash_app)
    register_deadlines(app)
    return app


def register_logging(app: APIFlask) -> None:
    """Send the app's logs to stderr at INFO unless something configured logging."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)  # /healthz reads the migration scripts


def register_api(app: APIFlask) -> None:
    """Attach the JSON error shape and the API blueprints."""
    from api import access, bodylimit, changes, docs, errors, event, health, ingest, monitoring, runs, trends, ws

    errors.init_app(app)
    app.register_blueprint(access.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(monitoring.bp)
    app.register_blueprint(trends.bp)
    app.register_blueprint(event.bp)
    app.register_blueprint(changes.bp)
    app.register_blueprint(ingest.bp)
    app.register_blueprint(runs.bp)
    ws.init_app(app)
    bodylimit.init_app(app)


def register_dash(app: APIFlask) -> Dash:
    """Mount the Dash UI on the same server."""
    from dashapp import init_dash

    return init_dash(app)


def register_deadlines(app: APIFlask) -> None:
    """Bound the database work of every view that reads it (registered last: it wraps the views)."""
    from api import deadline

    deadline.init_app(app)


def register_security(app: APIFlask, dash_app: Dash) -> None:
    """Send the security headers on every response, trust the configured proxies."""
    from api import security

    security.init_app(app, dash_app)
