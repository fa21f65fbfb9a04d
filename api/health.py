"""Liveness and readiness: is the database reachable, which migration is it on."""

from __future__ import annotations

import logging
from functools import cache

from alembic.config import Config
from alembic.script import ScriptDirectory
from apiflask import APIBlueprint
from flask import Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

import db
from api.errors import error_response
from config import PROJECT_ROOT

log = logging.getLogger(__name__)


@cache
def migrations() -> ScriptDirectory:
    """Return the migrations this code ships (read once)."""
    return ScriptDirectory.from_config(Config(str(PROJECT_ROOT / "alembic.ini")))


def migrations_head() -> str | None:
    """Return the newest migration revision this code ships."""
    return migrations().get_current_head()


def schema_behind(revision: str | None) -> bool:
    """Tell whether the database lacks migrations this code needs.

    A revision this code does not know is newer (a later release migrated): not behind,
    so running replicas stay healthy while a deploy rolls out.
    """
    if revision is None:
        return True
    known = {script.revision for script in migrations().walk_revisions()}
    return revision in known and revision != migrations_head()


bp = APIBlueprint("health", __name__, tag="Health")


@bp.get("/healthz")
@bp.doc(summary="Database reachability and migration revision", responses={200: "Healthy", 503: "Database unreachable"})
def healthz() -> Response:
    """Report whether the database answers and which migration it is on."""
    try:
        with db.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
            try:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except SQLAlchemyError:
                revision = None
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
