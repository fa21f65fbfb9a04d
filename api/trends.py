"""Trend endpoints for researchers who script: filtered events (paged) and aggregated trends, JSON or CSV."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import pandas as pd
from apiflask import APIBlueprint, Schema, abort, fields
from apiflask.validators import Length, OneOf, Range
from flask import Response, jsonify
from marshmallow import RAISE, ValidationError, validates_schema
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import db
from api.errors import error_response
from models import current_version
from trends import queries
from trends.csv import to_csv
from trends.data import QueryRefused, QueryTimeout, TooManyRows, fetch
from trends.filters import DIMENSIONS, GRANULARITIES, LIST_KEYS, MAX_VALUES, METRICS, FilterError, TrendFilters

log = logging.getLogger(__name__)
bp = APIBlueprint("trends", __name__, url_prefix="/api/v1", tag="Trends")

MAX_LIMIT = 1000
# Past these an offset (a signed 64-bit integer in SQL) or a cursor (compared with event ids, INTEGER
# columns: 32-bit on PostgreSQL) cannot be bound: it was a 500. No event id is larger.
MAX_OFFSET = 2**63 - 1
MAX_CURSOR = 2**31 - 1
FORMATS = ("json", "csv")
# What a client can change to make a refused query smaller (named in the 422/503 detail).
NARROWING = ("granularity", "group_by", "start", "end", *LIST_KEYS)
RETRY_AFTER_S = 5


# Documents what TrendFilters rejects (control characters), so clients and the fuzzer know.
NO_CONTROL_CHARS = "^[^\\x00-\\x1f\\x7f-\\x9f]+$"


def _list(description: str) -> fields.List:
    value = fields.String(validate=Length(min=1, max=256), metadata={"pattern": NO_CONTROL_CHARS})
    return fields.List(
        value,
        validate=Length(min=1, max=MAX_VALUES),
        metadata={"description": f"{description}; repeat the parameter for several (at most {MAX_VALUES})"},
    )


class FilterQuery(Schema):
    start = fields.Date(metadata={"description": "First event date, inclusive (YYYY-MM-DD)"})
    end = fields.Date(metadata={"description": "Last event date, inclusive (YYYY-MM-DD)"})
    state = _list("State name")
    region = _list("Region (geopolitical zone)")
    lga = _list("LGA name")
    crisis_type = _list("Crisis type")
    actor = _list("Actor (matches actor 1, 2 or 3)")
    source = _list("Source name")
    format = fields.String(load_default="json", validate=OneOf(FORMATS), metadata={"description": "json or csv"})

    @validates_schema
    def _start_before_end(self, data: dict, **_kwargs: object) -> None:
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError("start must not be after end.", "start")


class EventsQuery(FilterQuery):
    limit = fields.Integer(
        load_default=100,
        validate=Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Events per page (1..{MAX_LIMIT})"},
    )
    offset = fields.Integer(
        load_default=0, validate=Range(min=0, max=MAX_OFFSET), metadata={"description": "Events to skip"}
    )
    cursor = fields.Integer(
        validate=Range(min=0, max=MAX_CURSOR),
        metadata={"description": "Return events with id above this (next_cursor of the last page)"},
    )

    @validates_schema
    def _cursor_or_offset(self, data: dict, **_kwargs: object) -> None:
        if data.get("cursor") is not None and data.get("offset"):
            raise ValidationError("Use either cursor or offset, not both.", "cursor")


class TrendsQuery(FilterQuery):
    granularity = fields.String(
        load_default="month", validate=OneOf(GRANULARITIES), metadata={"description": "day, week or month"}
    )
    group_by = fields.String(validate=OneOf(DIMENSIONS), metadata={"description": "Dimension; omit for totals"})
    metric = fields.String(
        load_default="events", validate=OneOf(list(METRICS)), metadata={"description": "events or a casualty count"}
    )


def filters_from(args: dict[str, Any]) -> TrendFilters:
    """Build TrendFilters from validated query arguments; answer 422 for a value the filters reject."""
    lists = {name: tuple(args.get(key) or ()) for key, name in LIST_KEYS.items()}
    view = {key: args[key] for key in ("granularity", "group_by", "metric") if args.get(key)}
    chosen: dict[str, Any] = {**lists, **view}  # validated by FilterQuery, checked again by TrendFilters
    try:
        return TrendFilters(start=args.get("start"), end=args.get("end"), **chosen)
    except FilterError as exc:
        # Same shape as APIFlask's own query validation errors.
        abort(422, "Validation error", {"query": {exc.key: [exc.message]}})
        raise  # abort always raises; this keeps the type checker content


def refused(exc: QueryRefused) -> Response:
    """Answer a query the server would not finish: 422 over the row cap, 503 past the statement timeout."""
    if isinstance(exc, TooManyRows):
        return error_response(422, str(exc), {"max_rows": exc.max_rows, "narrow": list(NARROWING)})
    timeout_ms = exc.timeout_ms if isinstance(exc, QueryTimeout) else None
    # A timeout may come from load as well as breadth: retrying later can succeed, hence 503.
    return error_response(
        503,
        str(exc),
        {"timeout_ms": timeout_ms, "narrow": list(NARROWING)},
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    frame = frame.astype(object).where(frame.notna(), None)
    rows = frame.to_dict("records")
    for row in rows:
        for key, value in row.items():
            if isinstance(value, date):
                row[key] = value.isoformat()
    return rows


def _csv(frame: pd.DataFrame, filters: TrendFilters, name: str) -> Response:
    with Session(db.engine()) as session:
        version = current_version(session)
    text = to_csv(frame, filters, version, date.today(), name)
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="nvcd-{name}-{date.today()}.csv"'},
    )


@bp.get("/events")
# unknown=RAISE: a misspelt filter is a 422, never a silently wider selection.
@bp.input(EventsQuery, location="query", arg_name="args", unknown=RAISE)
@bp.doc(
    summary="Events matching the trend filters, paged",
    description="Page with limit and offset, or keyset with cursor (pass next_cursor back; "
    "CSV answers carry it in the X-Next-Cursor header).",
    responses={
        200: "A page of events (JSON or CSV)",
        422: "Bad parameters",
        503: "Database unavailable, or the query took too long",
    },
)
def list_events(args: dict[str, Any]) -> Response:
    """Return one page of events matching the filters."""
    filters = filters_from(args)
    limit, offset, cursor = args["limit"], args["offset"], args.get("cursor")
    try:
        frame = fetch(db.engine(), queries.events_select(filters, limit, offset, cursor), keep_types=True)
    except QueryRefused as exc:
        return refused(exc)
    except SQLAlchemyError as exc:
        log.warning("events query failed: %s", exc.__class__.__name__)
        return error_response(503, "Database unavailable")
    full = len(frame) == limit
    next_cursor = int(frame["id"].iloc[-1]) if full else None
    if args["format"] == "csv":
        response = _csv(frame, filters, "events")
        if next_cursor is not None:
            # CSV has no envelope: the next page's cursor travels in a header.
            response.headers["X-Next-Cursor"] = str(next_cursor)
        return response
    return jsonify(
        {
            "filters": filters.as_dict() | {"group_by": None, "metric": None, "granularity": None},
            "limit": limit,
            "offset": offset,
            "cursor": cursor,
            "count": len(frame),
            "next_cursor": next_cursor,
            "next_offset": offset + limit if full and cursor is None else None,
            "items": _records(frame),
        }
    )


@bp.get("/trends")
@bp.input(TrendsQuery, location="query", arg_name="args", unknown=RAISE)
@bp.doc(
    summary="A metric per time bucket, optionally per dimension value",
    description="Aggregated in the database; an event counts under each of its actors when grouped by actor. "
    "An answer of more than MAX_RESPONSE_ROWS rows (default 50,000) is refused with a 422 "
    "that says how to narrow the query; one running past STATEMENT_TIMEOUT_MS with a 503.",
    responses={
        200: "Trend rows (JSON or CSV)",
        422: "Bad parameters, or too many rows: narrow the query",
        503: "Database unavailable, or the query took too long",
    },
)
def trends(args: dict[str, Any]) -> Response:
    """Return the metric over time for the filters."""
    filters = filters_from(args)
    group_by = args.get("group_by")
    try:
        frame = fetch(db.engine(), queries.series_select(filters, group_by, filters.metric), capped=True)
    except QueryRefused as exc:
        return refused(exc)
    except SQLAlchemyError as exc:
        log.warning("trends query failed: %s", exc.__class__.__name__)
        return error_response(503, "Database unavailable")
    frame = frame.rename(columns={"grp": "group"})
    if not group_by:
        frame = frame.drop(columns="group")
    if args["format"] == "csv":
        return _csv(frame, filters, "trends")
    return jsonify(
        {
            "granularity": filters.granularity,
            "group_by": group_by,
            "metric": filters.metric,
            "filters": {key: value for key, value in filters.as_dict().items() if key not in ("group_by", "metric")},
            "data": _records(frame),
        }
    )
