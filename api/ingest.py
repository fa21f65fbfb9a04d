"""Authenticated ingest: upload an export (XLSX/CSV) or post a JSON batch; runs the pipeline.

``Authorization: Bearer <INGEST_TOKEN>``; with no token configured every request is
refused (401). The run is synchronous; under gevent the request yields to the worker's
other greenlets between stages, so they stall at most one stage (real export, measured:
longest /healthz wait 0.64 s, the extract stage, instead of the whole 1.4 s run).
Rejections before the pipeline starts (auth, size, type, unparseable JSON, a body that
is not a list of objects or ``{"records": [objects]}``) touch nothing and record no run.
Content the pipeline cannot read (corrupt workbook, wrong columns, bad records) answers
422 with the reason, a workbook over the limits (``pipeline.limits``) 413, and both leave
events, issues and metrics as they were; the failed run is recorded (the monitor shows it,
with a reason that quotes nothing of the content) and its id is in the detail. Only parsed
records or an upload's bytes reach the pipeline: nothing from a request is ever a path.
"""

from __future__ import annotations

import hmac
import logging
import math
import sys
from collections.abc import Callable, Mapping
from functools import wraps
from pathlib import Path

from apiflask import APIBlueprint, HTTPError, HTTPTokenAuth, Schema, fields
from flask import Response, current_app, jsonify, request

import db
from api.errors import error_response
from models import DEFAULT_DATASET
from pipeline import columns as c
from pipeline.limits import Limits
from pipeline.load import Target
from pipeline.runner import RunFailed, RunSummary, run_pipeline
from pipeline.sources.registry import UPLOAD_SUFFIXES, Input

log = logging.getLogger(__name__)
bp = APIBlueprint("ingest", __name__, url_prefix="/api/v1/ingest", tag="Ingest")
auth = HTTPTokenAuth(scheme="Bearer", description="The INGEST_TOKEN of this deployment")
FILE_TYPES = UPLOAD_SUFFIXES
# A timed sleep (not sleep(0)) so the event loop polls I/O and short requests can finish.
YIELD_SECONDS = 0.005
# How long a request waits for another run's write lock before answering 503 (SQLite's busy
# timeout is the same), well inside gunicorn's 30 s worker timeout.
LOCK_WAIT_SECONDS = 10
NO_TOKEN = "this server has no INGEST_TOKEN configured: ingest is disabled"
WRONG_TOKEN = "missing or wrong token"
ERRORS = {
    401: "Missing or wrong token, or no INGEST_TOKEN configured (message says which)",
    413: "Body over the upload size limit, or a workbook over the unpacking limits",
    415: "Unsupported file or content type",
    422: "Content that cannot be ingested (detail says why)",
    500: "The run failed (recorded as failed)",
    503: "Another run held the database's write lock too long (Retry-After says when to retry)",
}


@auth.verify_token
def _verify(token: str) -> str | None:
    expected = str(current_app.config.get("INGEST_TOKEN") or "")
    if expected and token and hmac.compare_digest(token.encode(), expected.encode()):
        return "ingest"
    return None


@auth.error_processor
def _refused(error: HTTPError) -> Response:
    # Whether a token is configured is all a caller learns of it: never its value or length.
    configured = bool(current_app.config.get("INGEST_TOKEN"))
    return error_response(error.status_code, WRONG_TOKEN if configured else NO_TOKEN)


class FileIn(Schema):
    file = fields.File(required=True, metadata={"description": f"An NVCD export ({', '.join(FILE_TYPES)})"})
    sheet = fields.String(metadata={"description": "The workbook's events sheet, when several visible sheets have "
                                                   "NVCD event headers (hidden sheets are never read)"})  # fmt: skip
    dataset = fields.String(metadata={"description": f"The dataset the events belong to (default {DEFAULT_DATASET!r})"})
    snapshot = fields.Boolean(metadata={"description": "The file is the full export: also withdraw the dataset's "
                                                       "stored events it no longer holds"})  # fmt: skip
    dry_run = fields.Boolean(metadata={"description": "Run everything, write nothing but the run; the summary's "
                                                      "`diff` says what would change"})  # fmt: skip
    force = fields.Boolean(metadata={"description": "Let a snapshot withdraw more than SNAPSHOT_MAX_WITHDRAW "
                                                    "(default 5 %) of the dataset"})  # fmt: skip


class BatchIn(Schema):
    records = fields.List(
        fields.Dict(), required=True, metadata={"description": "Records keyed by field: " + ", ".join(c.RAW_COLUMNS)}
    )
    dataset = fields.String(metadata={"description": f"The dataset the events belong to (default {DEFAULT_DATASET!r}); "
                                                     "a batch only creates and updates"})  # fmt: skip
    dry_run = fields.Boolean(metadata={"description": "Run everything, write nothing but the run"})


FLAGS = ("snapshot", "dry_run", "force")
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


def _target(values: Mapping[str, object], allowed: tuple[str, ...]) -> Target | Response:
    """Build the run's target from form or JSON values, or answer 422 naming the bad one."""
    given: dict[str, object] = {}
    for name in allowed:
        value = values.get(name)
        if isinstance(value, str):
            folded = value.strip().lower()
            if folded not in TRUE + FALSE:
                return error_response(422, f"{name} must be true or false", {"field": name})
            value = folded in TRUE
        if value is not None and not isinstance(value, bool):
            return error_response(422, f"{name} must be true or false", {"field": name})
        if value is not None:
            given[name] = value
    dataset = values.get("dataset")
    if dataset is not None and not isinstance(dataset, str):
        return error_response(422, "dataset must be a string", {"field": "dataset"})
    try:
        return Target.from_settings(current_app.config, dataset=dataset or DEFAULT_DATASET, **given)
    except ValueError as exc:
        return error_response(422, str(exc), {"field": "dataset"})


class RunOut(Schema):
    run_id = fields.Integer()
    status = fields.String()
    summary = fields.Dict(metadata={"description": "rows read/skipped, events new/updated/unchanged, duplicates, "
                                                   "precision counts, issues by rule, seconds per stage"})  # fmt: skip


def _json_body(view: Callable[..., Response]) -> Callable[..., Response]:
    """Answer 415 for a non-JSON body and 422 for malformed JSON, before the body is parsed."""

    @wraps(view)
    def checked(*args: object, **kwargs: object) -> Response:
        if not request.is_json:
            return error_response(415, "Send the batch as application/json", {"content_type": request.mimetype})
        if request.get_json(silent=True) is None:
            return error_response(422, "The body is not valid JSON")
        return view(*args, **kwargs)

    return checked


def _yield_between_stages(stage: str, _done: int, _total: int) -> None:
    """Under gevent, let the worker's other greenlets (WebSocket pushes, health checks) run between stages.

    Never inside the run's data transaction (load, measure): on SQLite a greenlet waiting
    for the write lock would block the whole worker.
    """
    if stage in ("load", "measure") or "gevent" not in sys.modules:
        return
    from gevent import monkey, sleep

    if monkey.is_module_patched("socket"):
        sleep(YIELD_SECONDS)


def _run(source: Input, filename: str | None, target: Target, sheet: str | None = None) -> Response:
    try:
        summary: RunSummary = run_pipeline(db.engine(), source, trigger="api", filename=filename,
                                           on_progress=_yield_between_stages, lock_wait_s=LOCK_WAIT_SECONDS,
                                           limits=Limits.from_settings(current_app.config), sheet=sheet,
                                           target=target)  # fmt: skip
    except RunFailed as exc:
        detail = {"run_id": exc.summary.run_id, "error": exc.summary.error}
        if exc.input_error:
            return error_response(413 if exc.too_large else 422, exc.message(), detail)
        if exc.busy:
            retry = {"Retry-After": str(math.ceil(LOCK_WAIT_SECONDS))}
            return error_response(503, "Another run is writing to the database; retry later", detail, retry)
        return error_response(500, "The pipeline run failed", detail)
    response = jsonify({"run_id": summary.run_id, "status": summary.status, "summary": summary.as_dict()})
    response.status_code = 201
    return response


@bp.post("/file")
@bp.auth_required(auth)
@bp.input(FileIn, location="files", validation=False)
@bp.output(RunOut, status_code=201, description="The run's id and summary")
@bp.doc(summary="Upload an NVCD export (XLSX or CSV) and ingest it", responses=ERRORS)
def ingest_file(files_data: object = None) -> Response:
    """Ingest one uploaded export file."""
    if request.mimetype != "multipart/form-data":
        return error_response(415, "Send the file as multipart/form-data", {"content_type": request.mimetype})
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return error_response(422, "No file: send it in a form field named 'file'", {"fields": sorted(request.files)})
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in FILE_TYPES:
        return error_response(415, f"Unsupported file type {suffix or '(none)'!r}", {"allowed": list(FILE_TYPES)})
    sheet = request.form.get("sheet") or None
    target = _target(request.form.to_dict(), FLAGS)
    if isinstance(target, Response):
        return target
    return _run((upload.read(), Path(upload.filename).name), None, target, sheet)


@bp.post("/batch")
@bp.auth_required(auth)
@_json_body
@bp.input(BatchIn, location="json", validation=False)
@bp.output(RunOut, status_code=201, description="The run's id and summary")
@bp.doc(summary='Ingest a JSON batch: {"records": [...]} or a bare list of records', responses=ERRORS)
def ingest_batch(json_data: object = None) -> Response:
    """Ingest a batch of records posted as JSON."""
    payload = request.get_json(silent=True)
    options: dict[str, object] = {}
    if isinstance(payload, dict):
        options = {name: payload.get(name) for name in ("dataset", "dry_run")}
        if "records" not in payload:
            keys = {"keys": sorted(payload)[:20]}
            return error_response(422, "Expected a list of records or an object with 'records'", keys)
        payload = payload["records"]
    # Only the documented shape reaches the pipeline; checked before any run is recorded.
    if not isinstance(payload, list):
        return error_response(422, "The records must be a list of objects", {"got": _json_type(payload)})
    odd = next((i for i, record in enumerate(payload, start=1) if not isinstance(record, dict)), None)
    if odd is not None:
        got = {"record": odd, "got": _json_type(payload[odd - 1])}
        return error_response(422, f"Record {odd} must be an object", got)
    target = _target(options, ("dry_run",))
    if isinstance(target, Response):
        return target
    return _run(payload, "batch", target)


def _json_type(value: object) -> str:
    """Name a JSON value's type as JSON does (never its content)."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
