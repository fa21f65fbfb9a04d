"""Schemas of the trend endpoints: query parameters in, documented JSON out (the views answer with jsonify)."""

from __future__ import annotations

from apiflask import Schema, fields
from apiflask.validators import Length, OneOf, Range
from marshmallow import ValidationError, validates_schema

from models import DEFAULT_DATASET, DEMO_DATASET
from models.event import MAX_DATASET_NAME
from trends.datasets import WITHDRAWN
from trends.filters import DIMENSIONS, GRANULARITIES, MAX_VALUES, METRICS

MAX_LIMIT = 1000
# Past these an offset (a signed 64-bit integer in SQL) or a cursor (compared with event ids, INTEGER
# columns: 32-bit on PostgreSQL) cannot be bound: it was a 500. No event id is larger.
MAX_OFFSET = 2**63 - 1
MAX_CURSOR = 2**31 - 1
FORMATS = ("json", "csv")
# Documents what TrendFilters rejects (control characters), so clients and the fuzzer know.
NO_CONTROL_CHARS = "^[^\\x00-\\x1f\\x7f-\\x9f]+$"
FILTERS_DOC = "The filters applied (datasets: the chosen ones, [] for the default)"
DATASETS_DOC = (
    f"Dataset ({DEFAULT_DATASET}: imported NVCD exports; {DEMO_DATASET}: generated demo data; or another "
    f"dataset that holds events). Default: every dataset but {DEMO_DATASET} when another dataset has "
    f"live events, else every dataset"
)


def _list(description: str, max_length: int = 256) -> fields.List:
    value = fields.String(validate=Length(min=1, max=max_length), metadata={"pattern": NO_CONTROL_CHARS})
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
    dataset = _list(DATASETS_DOC, MAX_DATASET_NAME)
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
    withdrawn = fields.String(
        load_default="exclude",
        validate=OneOf(WITHDRAWN),
        metadata={
            "description": "Events a snapshot import no longer held: exclude (default), include or only; "
            "listed with withdrawn_at and withdrawn_run_id"
        },
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


def _text(description: str | None = None) -> fields.String:
    return fields.String(allow_none=True, metadata={"description": description} if description else {})


def _count() -> fields.Integer:
    return fields.Integer(allow_none=True)


class EventItem(Schema):
    id = fields.Integer(metadata={"description": "Internal row id, the order of the pages (cursor)"})
    event_id = fields.String(metadata={"description": "Stable public id (e.g. NGA123); its page: /events/<event_id>"})
    dataset = fields.String(metadata={"description": "The dataset the event belongs to"})
    event_date = fields.Date(allow_none=True)
    state = _text()
    lga = _text()
    community = _text()
    region = _text()
    actor1 = _text()
    actor2 = _text()
    actor3 = _text()
    crisis_type = _text()
    action = _text()
    gsa_casualties = _count()
    civilian_casualties = _count()
    total_deaths = _count()
    injured = _count()
    total_casualties = _count()
    kidnapped = _count()
    displaced = _count()
    is_derived = fields.Boolean(metadata={"description": "Some count was derived from vague words"})
    derived_fields = _text("Comma-separated count columns derived from vague words")
    source = _text("Canonical source name")
    source_url = _text()
    data_source = _text("primary or secondary")
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    geo_precision = fields.String(metadata={"description": "ward, lga, state or none"})
    geo_method = _text("exact, alias, fuzzy or village")
    geo_confidence = fields.Float(allow_none=True)
    error_count = fields.Integer()
    warning_count = fields.Integer()
    withdrawn_at = fields.String(
        allow_none=True,
        metadata={"format": "date-time", "description": "When it was withdrawn; only with withdrawn=include or only"},
    )
    withdrawn_run_id = fields.Integer(
        allow_none=True,
        metadata={"description": "The snapshot run that withdrew it; only with withdrawn=include or only"},
    )


class EventsPage(Schema):
    filters = fields.Dict(metadata={"description": FILTERS_DOC})
    datasets = fields.List(fields.String(), metadata={"description": "The datasets whose events are shown (cite each)"})
    withdrawn = fields.String(metadata={"description": "exclude, include or only"})
    limit = fields.Integer()
    offset = fields.Integer()
    cursor = fields.Integer(allow_none=True)
    count = fields.Integer()
    next_cursor = fields.Integer(allow_none=True, metadata={"description": "Pass as cursor for the next page"})
    next_offset = fields.Integer(allow_none=True, metadata={"description": "Pass as offset for the next page"})
    items = fields.List(fields.Nested(EventItem))


class TrendRow(Schema):
    bucket = fields.Date(metadata={"description": "First day of the day, week (Monday) or month"})
    group = fields.String(metadata={"description": "The group_by value; absent without group_by"})
    value = fields.Integer()


class TrendsAnswer(Schema):
    granularity = fields.String()
    group_by = fields.String(allow_none=True)
    metric = fields.String()
    filters = fields.Dict(metadata={"description": FILTERS_DOC})
    datasets = fields.List(fields.String(), metadata={"description": "The datasets whose events are shown (cite each)"})
    data = fields.List(fields.Nested(TrendRow))
