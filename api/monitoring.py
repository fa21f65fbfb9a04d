"""Monitoring endpoints: the pipeline-status snapshot (HTTP fallback of the WebSocket) and
the data-quality history. Both read through ``status``; the database being down is a 503.

With WS_ACCESS_TOKEN set the snapshot needs the token, as over the WebSocket (api/access.py);
the data-quality history stays public, like the trend pages that chart the same rates."""

from __future__ import annotations

import logging
from collections.abc import Callable

from apiflask import APIBlueprint
from flask import Response, current_app, jsonify, request
from marshmallow import RAISE
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import db
from api.access import ACCEPTED, token_ok
from api.broadcaster import app_broadcaster
from api.errors import error_response
from api.monitoring_schemas import QualityQuery, QualityResponse, Snapshot
from models import current_version
from status import build_snapshot
from status.quality import quality_query
from status.shapes import dq_dict, iso

log = logging.getLogger(__name__)
bp = APIBlueprint("monitoring", __name__, url_prefix="/api/v1/monitoring", tag="Monitoring")

CACHE_CONTROL = "no-cache"


def etag_for(version: int) -> str:
    """Return the weak ETag of a snapshot version (weak: time-relative fields may differ)."""
    return f'W/"{version}"'


def connected_clients() -> int:
    """Return the WebSocket clients connected to this process (0 without a broadcaster)."""
    broadcaster = app_broadcaster()
    return broadcaster.client_count() if broadcaster is not None else 0


def published_snapshot(version: int) -> dict | None:
    """Return the broadcaster's snapshot of ``version``, so polling clients cost no rebuild."""
    broadcaster = app_broadcaster()
    snapshot = broadcaster.latest_snapshot() if broadcaster is not None else None
    return snapshot if snapshot is not None and snapshot["version"] == version else None


def database_unavailable(exc: SQLAlchemyError) -> Response:
    """Answer 503 when the database cannot be read."""
    log.warning("monitoring: database unavailable: %s", exc.__class__.__name__)
    return error_response(
        503,
        "Database unavailable",
        {"database": "unreachable", "error": exc.__class__.__name__},
        headers={"Retry-After": "5", "Cache-Control": CACHE_CONTROL},
    )


def read(work: Callable[[Session], Response]) -> Response:
    """Run ``work`` in a read-only session, turning database failures into a 503."""
    try:
        with Session(db.engine()) as session:
            return work(session)
    except SQLAlchemyError as exc:
        return database_unavailable(exc)


def _with_etag(response: Response, version: int) -> Response:
    response.headers["ETag"] = etag_for(version)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@bp.get("/pipeline-status")
@bp.output(Snapshot, description="The pipeline-status snapshot (same data the WebSocket pushes)")
@bp.doc(
    summary="Pipeline status snapshot",
    description="ETag is the data version; send it back in If-None-Match to get 304 while nothing changed.",
    responses={
        304: "Not modified since the ETag sent",
        401: "WS_ACCESS_TOKEN is set and no valid token was sent",
        503: "Database unavailable",
    },
)
def pipeline_status() -> Response:
    """Return the snapshot, or 304 when the client already has this version."""
    if not token_ok(current_app.config["WS_ACCESS_TOKEN"]):  # the same gate as the WebSocket's
        return error_response(
            401,
            "Access token required: sign in at /sign-in",
            {"accepted": ACCEPTED},
            headers={"WWW-Authenticate": "Bearer", "Cache-Control": CACHE_CONTROL},
        )

    def work(session: Session) -> Response:
        version = current_version(session)
        if request.if_none_match.contains_weak(str(version)):
            return _with_etag(Response(status=304), version)
        snapshot = published_snapshot(version) or build_snapshot(session, clients=connected_clients())
        return _with_etag(jsonify(snapshot), snapshot["version"])

    return read(work)


def default_metric_type(source: str | None, metric_type: str | None) -> str:
    """Return the row type to read: the one asked for, else source rows for a source, else aggregate rows."""
    # Mixing types would make `latest` an arbitrary per-source or hourly row.
    if metric_type:
        return metric_type
    return "source" if source is not None else "aggregate"


@bp.get("/data-quality")
# unknown=RAISE: a misspelt parameter is a 422, not silently ignored.
@bp.input(QualityQuery, location="query", arg_name="query", unknown=RAISE)
@bp.output(QualityResponse, description="Latest data-quality row and the matching history")
@bp.doc(
    summary="Data-quality metrics, latest and history",
    description="Without metric_type, `latest` and `history` are the whole-run `aggregate` rows (the "
    "`source` rows when a source is given), never a mix of row types. Pass metric_type=source "
    "or hourly for the per-source or per-hour rows; `filters.metric_type` says which type answered.",
    responses={503: "Database unavailable"},
)
def data_quality(query: dict) -> Response:
    """Return the latest row for the source/type and the filtered history, oldest first."""

    def work(session: Session) -> Response:
        source = query.get("source")
        metric_type = default_metric_type(source, query.get("metric_type"))
        latest = session.scalars(quality_query(source=source, metric_type=metric_type, limit=1)).first()
        history = quality_query(source=source, metric_type=metric_type, since=query.get("since"),
                                until=query.get("until"), limit=query["limit"])  # fmt: skip
        rows = list(session.scalars(history))
        filters = {"source": source, "metric_type": metric_type, "since": iso(query.get("since")),
                   "until": iso(query.get("until")), "limit": query["limit"]}  # fmt: skip
        body = {
            "latest": dq_dict(latest) if latest else None,
            "history": [dq_dict(row) for row in reversed(rows)],
            "count": len(rows),
            "filters": filters,
        }
        response = jsonify(body)
        response.headers["Cache-Control"] = CACHE_CONTROL
        return response

    return read(work)
