"""Authenticated ingest: upload an export (XLSX/CSV) or post a JSON batch; queues a run for the job worker.

``Authorization: Bearer <INGEST_TOKEN>``; with no token configured every request is
refused (401). A request that passes the checks below answers ``202 Accepted`` at once with
the run's id and ``Location: /api/v1/runs/<id>``: the input is stored with the queued run
(``jobs.runs.submit``) and the job worker (``python -m pipeline worker``) runs it; a web worker
never runs a pipeline. Rejections before the run is queued (auth, size, type, unparseable JSON,
a body that is not a list of objects or ``{"records": [objects]}``, bad options) touch nothing
and record no run. Content the pipeline cannot read (corrupt workbook, wrong columns, bad
records, a workbook over ``pipeline.limits``) fails the run: ``GET /api/v1/runs/<id>`` then says
``failed`` with the reason (quoting nothing of the content), and events, issues and metrics are
as they were. Only an upload's bytes or the parsed records are stored: nothing from a request
is ever a path.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Mapping
from functools import wraps
from pathlib import Path

from apiflask import APIBlueprint, HTTPError, HTTPTokenAuth, Schema, fields
from flask import Request, Response, current_app, jsonify, request, url_for
from sqlalchemy.exc import OperationalError

import db
from api.errors import error_response
from jobs.runs import Busy, QueueFull, Submission, submit
from models import DEFAULT_DATASET
from pipeline import columns as c
from pipeline.load import Target
from pipeline.sources.registry import UPLOAD_SUFFIXES

log = logging.getLogger(__name__)
bp = APIBlueprint("ingest", __name__, url_prefix="/api/v1/ingest", tag="Ingest")
auth = HTTPTokenAuth(scheme="Bearer", description="The INGEST_TOKEN of this deployment")
FILE_TYPES = UPLOAD_SUFFIXES
RETRY_AFTER_SECONDS = 30
NO_TOKEN = "this server has no INGEST_TOKEN configured: ingest is disabled"
WRONG_TOKEN = "missing or wrong token"
ERRORS = {
    401: "Missing or wrong token, or no INGEST_TOKEN configured (message says which)",
    413: "Body over the upload size limit",
    415: "Unsupported file or content type",
    422: "A request the pipeline cannot take: no file, a body that is not a batch, bad options (detail says why)",
    503: "The queue of waiting inputs is full, or the database did not take the run (Retry-After says when)",
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


def token_given(req: Request) -> bool:
    """Tell whether ``req`` carries this deployment's ingest token (for views open to everyone)."""
    scheme, _, token = (req.headers.get("Authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and _verify(token.strip()) is not None


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
BATCH_NAME = "batch.json"
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


class RunQueued(Schema):
    run_id = fields.Integer(metadata={"description": "The queued run; follow `location` for its progress"})
    status = fields.String(metadata={"description": "`queued`"})
    location = fields.String(metadata={"description": "`/api/v1/runs/<run_id>`"})


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


def _queue(job: Submission) -> Response:
    """Store the input with a queued run and queue its job; answer 202 with where to follow it."""
    limit = int(current_app.config.get("MAX_QUEUED_MB", 500)) * 1024 * 1024
    retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    try:
        run_id = submit(db.engine(), db.jobs(), job, limit)
    except QueueFull:
        return error_response(503, "Too many inputs wait for the worker; retry later", None, retry)
    except Busy:
        return error_response(503, "A run is writing to the database; retry later", None, retry)
    except OperationalError:
        log.exception("queueing a run failed")
        return error_response(503, "The database did not take the run; retry later", None, retry)
    except Exception:  # the queue's own storage (huey: SQLite file, PostgreSQL, Redis) refused the job
        log.exception("the job queue did not take the run")
        return error_response(503, "The job queue did not take the run; retry later", None, retry)
    location = url_for("runs.get_run", run_id=run_id)
    response = jsonify({"run_id": run_id, "status": "queued", "location": location})
    response.status_code = 202
    response.headers["Location"] = location
    return response


@bp.post("/file")
@bp.auth_required(auth)
@bp.input(FileIn, location="files", validation=False)
@bp.output(RunQueued, status_code=202, description="The run is queued; `Location` is where to follow it")
@bp.doc(summary="Upload an NVCD export (XLSX or CSV) to be ingested by the job worker", responses=ERRORS)
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
    return _queue(Submission("api", Path(upload.filename).name, upload.read(), target, sheet))


@bp.post("/batch")
@bp.auth_required(auth)
@_json_body
@bp.input(BatchIn, location="json", validation=False)
@bp.output(RunQueued, status_code=202, description="The run is queued; `Location` is where to follow it")
@bp.doc(summary='Queue a JSON batch: {"records": [...]} or a bare list of records', responses=ERRORS)
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
    return _queue(Submission("api", BATCH_NAME, json.dumps(payload).encode(), target))


def _json_type(value: object) -> str:
    """Name a JSON value's type as JSON does (never its content)."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
