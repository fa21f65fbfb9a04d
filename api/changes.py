"""The changes feed: every creation, update, withdrawal and restoration of an event, in commit order.

``GET /api/v1/changes?since=<cursor>`` pages through ``event_changes`` by id; ``next_cursor``
names the last item returned (the same cursor again when there is nothing new), so a client
that keeps passing it back sees every change exactly once, however many imports run meanwhile
(``revisions.cursor``). Public, like ``/api/v1/events``.
"""

from __future__ import annotations

import logging
from typing import Any

from apiflask import APIBlueprint, Schema, fields
from apiflask.validators import Length, OneOf, Range, Regexp
from flask import Response, jsonify
from marshmallow import RAISE, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import db
from api.errors import error_response
from models import CHANGES
from revisions import cursor
from revisions.queries import DATASET_PATTERN, changes_select
from revisions.shapes import feed_item

log = logging.getLogger(__name__)
bp = APIBlueprint("changes", __name__, url_prefix="/api/v1", tag="Changes")

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
RETRY_AFTER_S = 5
BAD_CURSOR = "Not a cursor of this feed: pass next_cursor back unchanged, or omit since to start at the first change."


class Cursor(fields.String):
    """The feed's opaque cursor, loaded as the change id it names."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {"pattern": cursor.PATTERN, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    # Documented as a String, loads an int (marshmallow types String._deserialize as str).
    def _deserialize(  # type: ignore[override]
        self, value: object, attr: str | None, data: object, **kwargs: object
    ) -> int:
        try:
            return cursor.decode(super()._deserialize(value, attr, data, **kwargs))
        except cursor.CursorError:
            raise ValidationError(BAD_CURSOR) from None


class ChangesQuery(Schema):
    since = Cursor(metadata={"description": "next_cursor of the previous page; omit to start at the first change"})
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Changes per page (1..{MAX_LIMIT})"},
    )
    dataset = fields.String(
        validate=[Length(min=1, max=32), Regexp(DATASET_PATTERN)],
        metadata={"description": "Only changes to this dataset's events (nvcd, demo, ...); omit for all"},
    )


class FeedItem(Schema):
    event_id = fields.String(metadata={"description": "The event's public id (its page: /events/<event_id>)"})
    dataset = fields.String()
    change = fields.String(validate=OneOf(CHANGES))
    run_id = fields.Integer(metadata={"description": "The pipeline run that made the change"})
    at = fields.DateTime(metadata={"description": "When the run committed it (UTC)"})
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.List(fields.Raw(allow_none=True)),
        required=False,
        metadata={"description": "Updates only: {field: [old, new]} of every field that changed"},
    )


class ChangesPage(Schema):
    items = fields.List(fields.Nested(FeedItem), metadata={"description": "Changes in the order they were committed"})
    next_cursor = fields.String(
        metadata={"description": "Pass as since for the next page; the same cursor when there was nothing new"}
    )
    has_more = fields.Boolean(metadata={"description": "More changes are waiting after this page"})


@bp.get("/changes")
# unknown=RAISE: a misspelt parameter is a 422, not silently ignored.
@bp.input(ChangesQuery, location="query", arg_name="args", unknown=RAISE)
@bp.output(ChangesPage, description="A page of changes after the cursor")
@bp.doc(
    summary="Changes to events since a cursor",
    description="Every event created, updated (with the fields' old and new values), withdrawn (no longer in a "
    "snapshot import) or restored, in commit order. Start without since, then pass next_cursor back: "
    "each change is seen once, and a cursor stays valid through later imports.",
    responses={422: "Bad parameters or a cursor this feed did not give out", 503: "Database unavailable"},
)
def list_changes(args: dict[str, Any]) -> Response:
    """Return the changes after the cursor, oldest first."""
    after, limit = args.get("since", 0), args["limit"]
    try:
        with Session(db.engine()) as session:
            rows = list(session.scalars(changes_select(after, limit + 1, args.get("dataset"))))
    except SQLAlchemyError as exc:
        log.warning("changes query failed: %s", exc.__class__.__name__)
        return error_response(503, "Database unavailable", headers={"Retry-After": str(RETRY_AFTER_S)})
    page = rows[:limit]
    last = page[-1].id if page else after
    return jsonify({"items": [feed_item(row) for row in page], "next_cursor": cursor.encode(last),
                    "has_more": len(rows) > limit})  # fmt: skip
