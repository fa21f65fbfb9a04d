"""Conflict events as loaded by the pipeline, one row per distinct event."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Timestamps

# Casualty count columns in NVCD order; each has `_male` and `_female` splits
# except the two totals.
COUNT_COLUMNS = (
    "gsa_casualties",
    "civilian_casualties",
    "total_deaths",
    "injured",
    "total_casualties",
    "kidnapped",
    "displaced",
)
SPLIT_COUNT_COLUMNS = ("gsa_casualties", "civilian_casualties", "injured", "kidnapped", "displaced")


def byte_ordered(length: int) -> String:
    """Return a text type compared byte by byte, as SQLite does (PostgreSQL: the "C" collation).

    "C" sorts without the locale and with abbreviated keys: at 1M events the fingerprint's
    unique index builds in 0.6 s instead of 1.4-1.7 s (migration 0004), the four name indexes
    in 4.4-4.7 s instead of 4.9-5.4 s (migration 0005). Codes and canonical names lose nothing.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


# The dataset imported exports go to unless told otherwise, and the one generated events go to.
DEFAULT_DATASET = "nvcd"
DEMO_DATASET = "demo"
# What a dataset may be called: the pipeline accepts no other name, so the readers need check no other.
DATASET_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
MAX_DATASET_NAME = 32
# Public event ids: this prefix and a number (ACLED's ``event_id_cnty`` is the model); never reused.
EVENT_ID_PREFIX = "NGA"

# What every read filters on (``dataset``, ``withdrawn_run_id IS NULL``): carried by the covering indexes.
LIVE_FILTER = ["dataset", "withdrawn_run_id"]

# Events the trend drill-down lists: with validation issues (counted by the pipeline) or geocoded imprecisely.
FLAGGED_EVENTS = "error_count > 0 OR warning_count > 0 OR geo_precision IN ('state', 'none')"


class ConflictEvent(Timestamps, Base):
    __tablename__ = "conflict_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The public id (``NGA<n>``, or the one an input's ``event_id`` column gave): assigned on first sight.
    event_id: Mapped[str] = mapped_column(byte_ordered(64), unique=True)
    dataset: Mapped[str] = mapped_column(byte_ordered(32), default=DEFAULT_DATASET, server_default=DEFAULT_DATASET)
    # Identity of the export's record (normalised fields, never derived ones); not unique: two
    # incidents of one report share it, and the reconciler tells them apart (``pipeline.reconcile``).
    fingerprint: Mapped[str] = mapped_column(byte_ordered(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    # Set when a snapshot import no longer held the event: kept, but out of trends and the API by default.
    withdrawn_run_id: Mapped[int | None]
    withdrawn_at: Mapped[datetime | None]

    event_date: Mapped[date | None]
    state: Mapped[str | None] = mapped_column(byte_ordered(64))
    lga: Mapped[str | None] = mapped_column(byte_ordered(128))
    community: Mapped[str | None] = mapped_column(String(256))
    location_text: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(String(32))
    actor1: Mapped[str | None] = mapped_column(String(128))
    actor2: Mapped[str | None] = mapped_column(String(128))
    actor3: Mapped[str | None] = mapped_column(String(128))
    crisis_type: Mapped[str | None] = mapped_column(byte_ordered(64))
    action: Mapped[str | None] = mapped_column(String(256))

    gsa_casualties: Mapped[int | None]
    gsa_casualties_male: Mapped[int | None]
    gsa_casualties_female: Mapped[int | None]
    civilian_casualties: Mapped[int | None]
    civilian_casualties_male: Mapped[int | None]
    civilian_casualties_female: Mapped[int | None]
    total_deaths: Mapped[int | None]
    injured: Mapped[int | None]
    injured_male: Mapped[int | None]
    injured_female: Mapped[int | None]
    total_casualties: Mapped[int | None]
    kidnapped: Mapped[int | None]
    kidnapped_male: Mapped[int | None]
    kidnapped_female: Mapped[int | None]
    displaced: Mapped[int | None]
    displaced_male: Mapped[int | None]
    displaced_female: Mapped[int | None]
    # Comma-separated names of count columns derived from vague words ("a few").
    derived_fields: Mapped[str | None] = mapped_column(String(512))
    is_derived: Mapped[bool] = mapped_column(default=False)

    description: Mapped[str | None] = mapped_column(Text)
    verification: Mapped[str | None] = mapped_column(Text)
    confirmation_level: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[str | None] = mapped_column(byte_ordered(128))
    source_raw: Mapped[str | None] = mapped_column(String(256))  # as the export spelled it
    source_url: Mapped[str | None] = mapped_column(Text)
    other_sources: Mapped[str | None] = mapped_column(Text)
    data_source: Mapped[str | None] = mapped_column(String(16))  # primary / secondary

    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    geo_precision: Mapped[str] = mapped_column(String(16), default="none")  # ward, lga, state, none
    geo_method: Mapped[str | None] = mapped_column(String(16))  # exact, alias, fuzzy, village
    geo_confidence: Mapped[float | None]
    state_code: Mapped[str | None] = mapped_column(String(16))
    lga_code: Mapped[str | None] = mapped_column(String(32))
    ward_code: Mapped[str | None] = mapped_column(String(32))

    error_count: Mapped[int] = mapped_column(default=0)
    warning_count: Mapped[int] = mapped_column(default=0)

    # The run that last wrote the event; not a foreign key (migration 0003 says why).
    run_id: Mapped[int | None]
    source_file: Mapped[str | None] = mapped_column(String(512))
    source_row: Mapped[int | None]

    __table_args__ = (
        # Covering on PostgreSQL: broad trend aggregates run as index-only scans (migration 0002).
        Index(
            "ix_conflict_events_event_date",
            "event_date",
            postgresql_include=[
                "id",
                "state",
                "source",
                "geo_precision",
                "error_count",
                "is_derived",
                "dataset",
                "withdrawn_run_id",
            ],
        ),
        Index("ix_conflict_events_dataset_fingerprint", "dataset", "fingerprint"),
        # Events with issues or imprecise geocoding, newest first for the trend drill-down grid.
        Index(
            "ix_conflict_events_flagged",
            "event_date",
            postgresql_where=text(FLAGGED_EVENTS),
            sqlite_where=text(FLAGGED_EVENTS),
        ),
        # Covering the live/dataset filter on PostgreSQL, so series and counts by name stay index-only scans.
        Index("ix_conflict_events_state_date", "state", "event_date", postgresql_include=LIVE_FILTER),
        Index("ix_conflict_events_crisis_type_date", "crisis_type", "event_date", postgresql_include=LIVE_FILTER),
        Index("ix_conflict_events_source_date", "source", "event_date", postgresql_include=LIVE_FILTER),
        Index("ix_conflict_events_lga", "state", "lga"),
    )
