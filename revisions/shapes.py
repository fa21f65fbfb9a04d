"""Turn events and their changes into JSON-ready dicts (their documented shapes: ``api.changes``, ``api.event``)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from models import SPLIT_COUNT_COLUMNS, ConflictEvent, EventChange

# Every public column of an event: the /api/v1/events list's fields and the rest of the record
# (never the fingerprint, content hash or the file and row it came from).
EVENT_FIELDS = (
    "id", "event_id", "dataset", "event_date", "state", "lga", "community", "location_text", "region",
    "actor1", "actor2", "actor3", "crisis_type", "action",
    "gsa_casualties", "civilian_casualties", "total_deaths", "injured", "total_casualties", "kidnapped", "displaced",
    *(f"{name}_{sex}" for name in SPLIT_COUNT_COLUMNS for sex in ("male", "female")),
    "is_derived", "derived_fields", "description", "verification", "confirmation_level",
    "source", "source_raw", "source_url", "other_sources", "data_source",
    "latitude", "longitude", "geo_precision", "geo_method", "geo_confidence", "state_code", "lga_code", "ward_code",
    "error_count", "warning_count", "run_id", "withdrawn_run_id", "withdrawn_at", "created_at", "updated_at",
)  # fmt: skip


def iso(value: datetime | date | None) -> str | None:
    """Format an instant as ISO-8601 UTC ending in "Z" (a date as YYYY-MM-DD)."""
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.isoformat().replace("+00:00", "Z")
    return value.isoformat() if value is not None else None


def changed_fields(change: EventChange) -> dict[str, list[Any]] | None:
    """Return an update's ``{field: [old, new]}``; None for any other change."""
    if change.change != "updated" or not change.fields:
        return None
    parsed = json.loads(change.fields)
    return parsed if isinstance(parsed, dict) else None


def feed_item(change: EventChange) -> dict[str, Any]:
    """Describe one change for the feed; ``fields`` only for an update."""
    item: dict[str, Any] = {"event_id": change.event_id, "dataset": change.dataset, "change": change.change,
                            "run_id": change.run_id, "at": iso(change.at)}  # fmt: skip
    fields = changed_fields(change)
    if fields is not None:
        item["fields"] = fields
    return item


def revision(change: EventChange) -> dict[str, Any]:
    """Describe one change in an event's history (``fields`` null unless an update)."""
    return {"change": change.change, "run_id": change.run_id, "at": iso(change.at), "fields": changed_fields(change)}


def event_status(event: ConflictEvent) -> str:
    """Return ``live``, or ``withdrawn`` when a snapshot import no longer held the event."""
    return "live" if event.withdrawn_run_id is None else "withdrawn"


def event_dict(event: ConflictEvent) -> dict[str, Any]:
    """Describe one event: its status and every public field."""
    out: dict[str, Any] = {"status": event_status(event)}
    for name in EVENT_FIELDS:
        value = getattr(event, name)
        out[name] = iso(value) if isinstance(value, (date, datetime)) else value
    return out
