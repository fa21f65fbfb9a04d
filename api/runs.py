"""Runs as the data team follows them: ``GET /api/v1/runs``, ``GET /api/v1/runs/<id>``, ``POST …/cancel``.

Reading is public, like the monitor that shows the same runs; cancelling takes the ingest token,
and with the token a failed run also shows what its input error quoted of the input (the headers
found, the sheet names): for whoever sent it, never on the public monitor.
Cancelling a queued run ends it at once (``cancelled``); a running run is asked to stop, rolls
back at its next stage or load chunk and ends ``cancelled`` with nothing written; an ended run
answers 409.
"""

from __future__ import annotations

import logging
from typing import Any

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import OneOf, Range
from flask import Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import db
from api.errors import error_response
from api.ingest import auth, token_given
from api.monitoring_schemas import Run, RunShort
from jobs.runs import cancel, quoted_detail
from status.runs import list_runs, run_detail

log = logging.getLogger(__name__)
bp = APIBlueprint("runs", __name__, url_prefix="/api/v1/runs", tag="Ingest")
RETRY_AFTER_S = 5
MAX_LIMIT = 100
MAX_ID = 2**31 - 1  # pipeline_runs.id is an INTEGER: a larger number names no run (and would overflow the driver)
UNAVAILABLE = {503: "Database unavailable"}


class RunsQuery(Schema):
    limit = fields.Integer(load_default=20, validate=Range(min=1, max=MAX_LIMIT))
    before = fields.Integer(validate=Range(min=1, max=MAX_ID), metadata={"description": "Only runs older than this id"})


class RunPath(Schema):
    run_id = fields.Integer(required=True, validate=Range(min=1, max=MAX_ID))


class RunProgress(Schema):
    stage = fields.String(allow_none=True, metadata={"description": "The stage running now"})
    done = fields.Integer(metadata={"description": "Stages succeeded"})
    total = fields.Integer()


class RunIssueCount(Schema):
    rule = fields.String()
    severity = fields.String()
    count = fields.Integer()


class RunDiff(Schema):
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "created, updated, withdrawn, restored, unchanged"})  # fmt: skip
    samples = fields.Dict(keys=fields.String(), values=fields.List(fields.Dict()),
                          metadata={"description": "A sample of each kind: id, date, state, changes"})  # fmt: skip
    refused = fields.String(allow_none=True, metadata={"description": "Why a real run would refuse (dry runs)"})


class RunDetail(Run):
    heartbeat_at = fields.String(allow_none=True, metadata={"description": "Last sign of life of its process"})
    attempts = fields.Integer(metadata={"description": "Earlier tries of this run (after a worker died, say)"})
    cancel_requested = fields.Boolean()
    progress = fields.Nested(RunProgress)
    issues = fields.List(fields.Nested(RunIssueCount), metadata={"description": "Validation issues by rule"})
    diff = fields.Nested(RunDiff, allow_none=True)
    input_detail = fields.String(
        allow_none=True, metadata={"description": "With the ingest token: what a failed run's input error quoted"}
    )


class RunList(Schema):
    items = fields.List(fields.Nested(RunShort))


class RunCancelled(Schema):
    run_id = fields.Integer()
    status = fields.String(validate=OneOf(("cancelled", "cancelling")))


def _progress(stages: list[dict[str, Any]]) -> dict[str, Any]:
    current = next((stage["name"] for stage in stages if stage["status"] == "running"), None)
    return {"stage": current, "done": sum(stage["status"] == "succeeded" for stage in stages), "total": len(stages)}


def _unavailable(exc: Exception) -> Response:
    log.warning("runs query failed: %s", exc.__class__.__name__)
    return error_response(503, "Database unavailable", headers={"Retry-After": str(RETRY_AFTER_S)})


@bp.get("")
@bp.input(RunsQuery, location="query", arg_name="query")
@bp.output(RunList, description="Runs, newest first")
@bp.doc(summary="The recent runs, newest first", responses=UNAVAILABLE)
def get_runs(query: dict[str, int]) -> Response:
    """List runs, newest first."""
    try:
        with Session(db.engine()) as session:
            return jsonify({"items": list_runs(session, query["limit"], query.get("before"))})
    except SQLAlchemyError as exc:
        return _unavailable(exc)


@bp.get("/<int:run_id>")
@bp.input(RunPath, location="path", arg_name="path")
@bp.output(RunDetail, description="The run, its stages, progress, issues by rule and diff")
@bp.doc(summary="One run: status, stages, progress, counts, diff and error",
        responses={404: "No run has this id", **UNAVAILABLE})  # fmt: skip
def get_run(run_id: int, path: dict[str, int]) -> Response:
    """Return one run."""
    try:
        with Session(db.engine()) as session:
            body = run_detail(session, path["run_id"])
            if body is not None:
                body["progress"] = _progress(body["stages"])
                if token_given(request):
                    body["input_detail"] = quoted_detail(session, path["run_id"])
    except SQLAlchemyError as exc:
        return _unavailable(exc)
    return error_response(404, "No such run") if body is None else jsonify(body)


@bp.post("/<int:run_id>/cancel")
@bp.auth_required(auth)
@bp.input(RunPath, location="path", arg_name="path")
@bp.output(RunCancelled, status_code=202, description="Cancelled (it was queued) or cancelling (it is running)")
@bp.doc(summary="Cancel a queued or running run",
        responses={401: "Missing or wrong token", 404: "No run has this id", 409: "The run has ended",
                   **UNAVAILABLE})  # fmt: skip
def cancel_run(run_id: int, path: dict[str, int]) -> Response:
    """Cancel a run."""
    try:
        outcome = cancel(db.engine(), path["run_id"])
    except SQLAlchemyError as exc:
        return _unavailable(exc)
    if outcome is None:
        return error_response(404, "No such run")
    status, changed = outcome
    if not changed:
        return error_response(409, f"The run has ended ({status})", {"status": status})
    response = jsonify({"run_id": path["run_id"], "status": status})
    response.status_code = 202
    return response
