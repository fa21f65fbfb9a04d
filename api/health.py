"""Liveness and readiness: is the database reachable, which migration is it on."""

from __future__ import annotations

import logging

from apiflask import APIBlueprint
from flask import Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

import db
from api.errors import error_response
from models.migration_state import current_revision, migrations_head, schema_behind

log = logging.getLogger(__name__)


bp = APIBlueprint("health", __name__, tag="Health")


@bp.get("/healthz")
@bp.doc(summary="Database reachability and migration revision", responses={200: "Healthy", 503: "Database unreachable"})
def healthz() -> Response:
    """Report whether the database answers and which migration it is on."""
    try:
        with db.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
            revision = current_revision(conn)
    except SQLAlchemyError as exc:
        log.warning("health check failed: %s", exc.__class__.__name__)
        return error_response(503, "Database unreachable", {"database": "unreachable", "error": exc.__class__.__name__})
    if schema_behind(revision):
        return error_response(
            503,
            "Database not migrated to this release: run `alembic upgrade head`",
            {"database": "reachable", "revision": revision, "expected": migrations_head()},
        )
    return jsonify({"status": "ok", "database": "reachable", "revision": revision})
