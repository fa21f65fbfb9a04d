"""Bind one SQLAlchemy engine to the Flask app and hand it to views."""

from __future__ import annotations

import math

from flask import Flask, current_app
from sqlalchemy import Engine

from jobs.queue import Jobs
from models.database import PG_CONNECT_TIMEOUT_S, make_engine


def init_app(app: Flask) -> None:
    """Create the app's engine from its configuration.

    Connecting and waiting for a pooled connection are bounded like the requests
    (api/deadline.py bounds the rest): a frozen database costs a request its budget, no more.
    """
    budget = app.config["DB_DEADLINE_SECONDS"] or PG_CONNECT_TIMEOUT_S
    shortest = min(app.config["HEALTH_DEADLINE_SECONDS"] or budget, budget)
    app.extensions["engine"] = make_engine(
        app.config["DATABASE_URL"],
        statement_timeout_ms=app.config["STATEMENT_TIMEOUT_MS"],
        max_rows=app.config.get("MAX_RESPONSE_ROWS"),
        connect_timeout_s=max(2, min(PG_CONNECT_TIMEOUT_S, math.ceil(shortest))),  # psycopg's least is 2 s
        pool_timeout=budget,
    )


def engine() -> Engine:
    """Return the engine of the current app."""
    return current_app.extensions["engine"]


def jobs() -> Jobs:
    """Return the app's job queue, made on first use (the web side only queues; the worker runs)."""
    queue = current_app.extensions.get("jobs")
    if queue is None:
        queue = current_app.extensions["jobs"] = Jobs.from_settings(dict(current_app.config), engine())
    return queue
