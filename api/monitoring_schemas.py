"""Schemas of the monitoring endpoints: query parameters in, documented JSON out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length, OneOf, Range
from marshmallow import ValidationError, validates_schema

from models import FEED_OUTCOMES, METRIC_TYPES, MODES
from status.health import GAP_SAMPLE_DATES, MIN_HISTORY_DATES, SILENCE_FLOOR_DAYS, SILENCE_GAP_FACTOR
from status.runs import STRIP_RUNS

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# ISO-8601 extended form only: a date, or a date and time with an optional offset.
ISO_INSTANT = re.compile(
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)


class IsoInstant(fields.String):
    """An ISO-8601 date or datetime, returned as an aware UTC datetime.

    A bare date means the start of that day (UTC), or with ``end_of_day`` the start of
    the next day, so ``until=2026-05-31`` includes all of 31 May. Naive times are UTC.
    """

    def __init__(self, *, end_of_day: bool = False, **kwargs: Any) -> None:
        # The pattern documents the accepted forms in the OpenAPI spec (clients and the fuzzer read it).
        kwargs["metadata"] = {"pattern": ISO_INSTANT.pattern, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)
        self.end_of_day = end_of_day

    # A String in the OpenAPI spec that loads a datetime, where marshmallow types String._deserialize as str.
    def _deserialize(  # type: ignore[override]
        self, value: object, attr: str | None, data: object, **kwargs: object
    ) -> datetime:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not ISO_INSTANT.match(text):
            raise ValidationError("Not an ISO-8601 date or datetime (e.g. 2026-05-31 or 2026-05-31T12:00:00Z).")
        try:
            return self._instant(datetime.fromisoformat(text.replace("Z", "+00:00")), bare_date=len(text) == 10)
        except ValueError as exc:
            raise ValidationError(f"Not a valid date or time: {exc}.") from exc
        except OverflowError:
            # 9999-12-31 through its end, or 0001-01-01T00:00+14:00 in UTC, is outside datetime's range.
            raise ValidationError("Date or time out of range (years 0001 to 9999, in UTC).") from None

    def _instant(self, parsed: datetime, bare_date: bool) -> datetime:
        if bare_date:
            parsed = datetime.combine(parsed.date(), time(), tzinfo=UTC)
            return parsed + timedelta(days=1) if self.end_of_day else parsed
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class QualityQuery(Schema):
    since = IsoInstant(metadata={"description": "Only rows at or after this ISO-8601 date/datetime (UTC)"})
    until = IsoInstant(
        end_of_day=True,
        metadata={"description": "Only rows before this datetime, or through the end of this date (UTC)"},
    )
    source = fields.String(validate=Length(min=1, max=128), metadata={"description": "Source name (exact)"})
    metric_type = fields.String(
        validate=OneOf(METRIC_TYPES),
        metadata={"description": "aggregate, source or hourly; default aggregate (source when a source is given)"},
    )
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Newest rows to return (1..{MAX_LIMIT})"},
    )

    @validates_schema
    def _since_before_until(self, data: dict, **_kwargs: object) -> None:
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise ValidationError("since must be before until.", "since")


class Precision(Schema):
    ward = fields.Integer()
    lga = fields.Integer()
    state = fields.Integer()
    none = fields.Integer()


class Quality(Schema):
    timestamp = fields.String(metadata={"format": "date-time"})
    metric_type = fields.String()
    source = fields.String(allow_none=True)
    run_id = fields.Integer(allow_none=True)
    events = fields.Integer()
    geocoding_attempts = fields.Integer()
    geocoding_successes = fields.Integer()
    geocoding_success_rate = fields.Float(metadata={"description": "fraction 0..1"})
    validation_attempts = fields.Integer()
    validation_passes = fields.Integer()
    validation_pass_rate = fields.Float(metadata={"description": "fraction 0..1"})
    completeness = fields.Float(allow_none=True)
    precision = fields.Nested(Precision)
    duplicates = fields.Integer()
    derived_counts = fields.Integer()
    status = fields.String()


class QualityResponse(Schema):
    latest = fields.Nested(Quality, allow_none=True, metadata={"description": "Newest row for source/metric_type"})
    history = fields.List(fields.Nested(Quality), metadata={"description": "Matching rows, oldest first"})
    count = fields.Integer()
    filters = fields.Dict()


class Stage(Schema):
    name = fields.String()
    position = fields.Integer()
    status = fields.String()
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    duration_s = fields.Float(allow_none=True)
    items_in = fields.Integer()
    items_out = fields.Integer()
    error = fields.String(allow_none=True)


class RunShort(Schema):
    id = fields.Integer()
    status = fields.String()
    trigger = fields.String()
    source_file = fields.String(allow_none=True)
    dataset = fields.String(metadata={"description": "The dataset the run loads into (nvcd, demo, ...)"})
    mode = fields.String(
        validate=OneOf(MODES),
        metadata={"description": "import (create and update) or snapshot (a full export: also withdraw the rest)"},
    )
    dry_run = fields.Boolean(metadata={"description": "Nothing was written: the counts say what the run would do"})
    started_at = fields.String()
    finished_at = fields.String(allow_none=True)
    duration_s = fields.Float(allow_none=True)
    items_in = fields.Integer()
    items_out = fields.Integer()
    rows_skipped = fields.Integer()
    events_new = fields.Integer(metadata={"description": "Events created"})
    events_updated = fields.Integer()
    events_unchanged = fields.Integer()
    events_withdrawn = fields.Integer(metadata={"description": "Stored events a snapshot no longer held"})
    events_restored = fields.Integer(metadata={"description": "Withdrawn events the run held again"})
    duplicates_in_batch = fields.Integer()
    error = fields.String(allow_none=True)


class Run(RunShort):
    stages = fields.List(fields.Nested(Stage))


class SourceQuality(Quality):
    trend = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))


class DataQualitySection(Schema):
    latest = fields.Nested(Quality, allow_none=True)
    previous = fields.Nested(Quality, allow_none=True)
    trend = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    history = fields.List(fields.Dict())
    by_source = fields.List(fields.Nested(SourceQuality))


class SourceHealth(Schema):
    source = fields.String()
    events = fields.Integer(metadata={"description": "Events stored from this source"})
    last_event_date = fields.String(allow_none=True, metadata={"format": "date", "description": "Newest event date"})
    last_ingested_at = fields.String(
        allow_none=True,
        metadata={"format": "date-time", "description": "When a pipeline run last measured events from this source"},
    )
    usual_gap_days = fields.Float(
        allow_none=True,
        metadata={
            "description": f"Median gap between its newest {GAP_SAMPLE_DATES + 1} distinct event dates; "
            f"null with fewer than {MIN_HISTORY_DATES}"
        },
    )
    silent_days = fields.Integer(allow_none=True, metadata={"description": "Days from the last event date to today"})
    silent = fields.Boolean(
        metadata={"description": f"silent_days > max({SILENCE_GAP_FACTOR:g} x usual_gap_days, {SILENCE_FLOOR_DAYS})"}
    )


class Anomaly(Schema):
    kind = fields.String(metadata={"description": "quality_drop, weekly_spike or source_silent"})
    severity = fields.String(validate=OneOf(("warning", "error")))
    subject = fields.String()
    message = fields.String()
    value = fields.Float()
    baseline = fields.Float(allow_none=True)


class Alert(Schema):
    severity = fields.String()
    message = fields.String()
    kind = fields.String()
    run_id = fields.Integer(allow_none=True, metadata={"description": "The run the alert is about, if any"})


class OpenFailure(Schema):
    id = fields.Integer(metadata={"description": "The newest failed run of its kind"})
    trigger = fields.String()
    dataset = fields.String()
    dry_run = fields.Boolean()
    source_file = fields.String(allow_none=True)
    started_at = fields.String(metadata={"format": "date-time"})
    finished_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    error = fields.String(allow_none=True, metadata={"description": "The run's public error text"})


class FeedStatus(Schema):
    name = fields.String()
    dataset = fields.String()
    snapshot = fields.Boolean(metadata={"description": "Each export is the full dataset (withdrawals honoured)"})
    every_seconds = fields.Integer(metadata={"description": "How often the feed is fetched"})
    expect_change_seconds = fields.Integer(
        metadata={"description": "An export unchanged for longer raises a feed_unchanged alert"}
    )
    last_fetch_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    last_outcome = fields.String(allow_none=True, validate=OneOf(FEED_OUTCOMES))
    last_error = fields.String(allow_none=True)
    last_success_at = fields.String(
        allow_none=True, metadata={"format": "date-time", "description": "Last fetch that answered"}
    )
    last_changed_at = fields.String(
        allow_none=True, metadata={"format": "date-time", "description": "Last fetch that brought a new export"}
    )
    next_due_at = fields.String(metadata={"format": "date-time"})
    last_run_id = fields.Integer(allow_none=True)


class Snapshot(Schema):
    version = fields.Integer(metadata={"description": "Change counter: equal data, equal version"})
    timestamp = fields.String(metadata={"format": "date-time"})
    status = fields.String(validate=OneOf(("idle", "running", "healthy", "warning", "error")))
    current_run = fields.Nested(Run, allow_none=True)
    last_run = fields.Nested(Run, allow_none=True, metadata={"description": "The run that finished last, any trigger"})
    last_import_run = fields.Nested(
        Run, allow_none=True, metadata={"description": "The run that finished last of an import trigger (no replay)"}
    )
    recent_runs = fields.List(
        fields.Nested(RunShort),
        metadata={"description": f"Up to {STRIP_RUNS} runs: unfinished first (newest first), then last finished first"},
    )
    recent_import_runs = fields.List(fields.Nested(RunShort), metadata={"description": "The same, without replay runs"})
    open_failures = fields.List(
        fields.Nested(OpenFailure),
        metadata={
            "description": "Failed runs not made good yet: each stays until a later run of its kind (trigger and "
            "dataset) succeeds; a dry run's success makes good only a dry run's failure"
        },
    )
    data_quality = fields.Nested(DataQualitySection)
    sources = fields.List(fields.Nested(SourceHealth))
    anomalies = fields.List(fields.Nested(Anomaly))
    alerts = fields.List(fields.Nested(Alert))
    feeds = fields.List(fields.Nested(FeedStatus), metadata={"description": "Scheduled feeds, by name (no URLs)"})
    totals = fields.Dict(keys=fields.String(), values=fields.Integer())
    system = fields.Dict()
