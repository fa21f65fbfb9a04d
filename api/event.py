"""One event by its public id, withdrawn or not, with its revisions: ``GET /api/v1/events/<event_id>``.

The id is checked against ``revisions.queries.EVENT_ID_PATTERN`` before any query (422
otherwise); an id no event has is a 404. Public, like ``/api/v1/events``.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import cast

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length, OneOf, Regexp
from flask import Response, jsonify
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import db
from api.errors import error_response
from models import CHANGES, ConflictEvent
from revisions.detail import event_detail
from revisions.queries import EVENT_ID_PATTERN
from revisions.shapes import EVENT_FIELDS

log = logging.getLogger(__name__)
bp = APIBlueprint("event", __name__, url_prefix="/api/v1", tag="Trends")

RETRY_AFTER_S = 5
FIELD_TYPES: dict[type, type[fields.Field]] = {
    int: fields.Integer, float: fields.Float, bool: fields.Boolean, date: fields.Date, datetime: fields.DateTime,
}  # fmt: skip
DESCRIPTIONS = {
    "id": "Internal row id (the /api/v1/events cursor); event_id is the stable public id",
    "event_id": "Public id, stable across imports",
    "dataset": "nvcd (imported exports) or demo (generated events)",
    "source_raw": "The source as the export spelled it",
    "withdrawn_run_id": "The snapshot import that no longer held the event; null while live",
    "withdrawn_at": "When it was withdrawn; null while live",
    "run_id": "The run that last wrote the event",
}


class EventPath(Schema):
    event_id = fields.String(
        required=True,
        validate=[Length(min=1, max=64), Regexp(EVENT_ID_PATTERN)],
        metadata={"description": "Public event id, e.g. NGA123"},
    )


def event_field(name: str) -> fields.Field:
    """Return the documented field of an event column, typed and nullable as the model says."""
    column = ConflictEvent.__table__.c[name]
    kind = FIELD_TYPES.get(column.type.python_type, fields.String)
    return kind(allow_none=bool(column.nullable), metadata={"description": DESCRIPTIONS.get(name, "")})


class Revision(Schema):
    change = fields.String(validate=OneOf(CHANGES))
    run_id = fields.Integer()
    at = fields.DateTime()
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.List(fields.Raw(allow_none=True)),
        allow_none=True,
        metadata={"description": "Updates: {field: [old, new]}; null for other changes"},
    )


# Built from the columns (names, types, nullability), so the documented shape follows the model.
EventDetail = cast(
    type[Schema],
    Schema.from_dict(
        {
            "status": fields.String(validate=OneOf(("live", "withdrawn"))),
            **{name: event_field(name) for name in EVENT_FIELDS},
            "revisions": fields.List(fields.Nested(Revision), metadata={"description": "Its changes, oldest first"}),
        },
        name="EventDetail",
    ),
)


@bp.get("/events/<event_id>")
@bp.input(EventPath, location="path", arg_name="path")
@bp.output(EventDetail, description="The event, its status and its revisions")
@bp.doc(
    summary="One event by its public id, with its revisions",
    description="Withdrawn events (no longer in a snapshot import) are returned too, with status withdrawn. "
    "revisions lists every change a run made to the event: created, updated (old and new value of each "
    "field), withdrawn, restored.",
    responses={404: "No event has this id", 422: "Not an event id", 503: "Database unavailable"},
)
def get_event(event_id: str, path: dict[str, str]) -> Response:
    """Return the event and its changes."""
    try:
        with Session(db.engine()) as session:
            body = event_detail(session, path["event_id"])
    except SQLAlchemyError as exc:
        log.warning("event query failed: %s", exc.__class__.__name__)
        return error_response(503, "Database unavailable", headers={"Retry-After": str(RETRY_AFTER_S)})
    if body is None:
        return error_response(404, "No such event")
    return jsonify(body)
