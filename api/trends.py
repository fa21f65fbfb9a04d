"""Trend endpoints for researchers who script: filtered events (paged) and aggregated trends, JSON or CSV."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import pandas as pd
from apiflask import APIBlueprint, abort
from flask import Response, jsonify
from marshmallow import RAISE
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import db
from api.errors import error_response
from api.trends_schemas import EventsPage, EventsQuery, TrendsAnswer, TrendsQuery
from models import current_version
from status.shapes import iso
from trends import queries
from trends.csv import to_csv
from trends.data import QueryRefused, QueryTimeout, TooManyRows, fetch
from trends.datasets import check_known, datasets_select, scoped
from trends.filters import LIST_KEYS, FilterError, TrendFilters

log = logging.getLogger(__name__)
bp = APIBlueprint("trends", __name__, url_prefix="/api/v1", tag="Trends")

# What a client can change to make a refused query smaller (named in the 422/503 detail).
NARROWING = ("granularity", "group_by", "start", "end", *LIST_KEYS)
RETRY_AFTER_S = 5


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


def settled(filters: TrendFilters, withdrawn: str = "exclude") -> TrendFilters:
    """Return ``filters`` with their datasets settled (``scope``); answer 422 when a chosen dataset holds no events.

    Run like the trend queries (``fetch``): past the statement timeout they are a ``QueryTimeout`` too.
    """
    if filters.datasets:
        try:
            check_known(filters.datasets, fetch(db.engine(), datasets_select())["dataset"].tolist())
        except FilterError as exc:
            abort(422, "Validation error", {"query": {exc.key: [exc.message]}})
    return scoped(db.engine(), filters, withdrawn)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    frame = frame.astype(object).where(frame.notna(), None)
    rows = frame.to_dict("records")
    for row in rows:
        for key, value in row.items():
            if isinstance(value, date):
                row[key] = iso(value)
    return rows


def _csv(frame: pd.DataFrame, filters: TrendFilters, name: str) -> Response:
    with Session(db.engine()) as session:
        version = current_version(session)
    text = to_csv(frame, filters, version, date.today(), name, filters.scope or ())
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="nvcd-{name}-{date.today()}.csv"'},
    )


@bp.get("/events")
# unknown=RAISE: a misspelt filter is a 422, never a silently wider selection.
@bp.input(EventsQuery, location="query", arg_name="args", unknown=RAISE)
@bp.output(EventsPage, description="A page of events (JSON, or CSV with format=csv)")
@bp.doc(
    summary="Events matching the trend filters, paged",
    description="Page with limit and offset, or keyset with cursor (pass next_cursor back; "
    "CSV answers carry it in the X-Next-Cursor header). Live events of the default datasets unless "
    "dataset or withdrawn say otherwise; each item names its event_id and dataset.",
    responses={
        422: "Bad parameters, or a dataset that holds no events",
        503: "Database unavailable, or the query took too long",
    },
)
def list_events(args: dict[str, Any]) -> Response:
    """Return one page of events matching the filters."""
    filters = filters_from(args)
    limit, offset, cursor, withdrawn = args["limit"], args["offset"], args.get("cursor"), args["withdrawn"]
    try:
        filters = settled(filters, withdrawn)
        stmt = queries.events_select(filters, limit, offset, cursor, withdrawn)
        frame = fetch(db.engine(), stmt, keep_types=True)
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
            "datasets": list(filters.scope or ()),
            "withdrawn": withdrawn,
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
@bp.output(TrendsAnswer, description="Trend rows (JSON, or CSV with format=csv)")
@bp.doc(
    summary="A metric per time bucket, optionally per dimension value",
    description="Aggregated in the database over live events of the chosen datasets (default: every dataset "
    "but demo when another has live events); an event counts under each of its actors when grouped by actor. "
    "An answer of more than MAX_RESPONSE_ROWS rows (default 50,000) is refused with a 422 "
    "that says how to narrow the query; one running past STATEMENT_TIMEOUT_MS with a 503.",
    responses={
        422: "Bad parameters, a dataset that holds no events, or too many rows: narrow the query",
        503: "Database unavailable, or the query took too long",
    },
)
def trends(args: dict[str, Any]) -> Response:
    """Return the metric over time for the filters."""
    filters = filters_from(args)
    group_by = args.get("group_by")
    try:
        filters = settled(filters)
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
            "datasets": list(filters.scope or ()),
            "data": _records(frame),
        }
    )
