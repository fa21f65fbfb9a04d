"""Source health: when each source last reported, and whether it has gone quiet.

Definition (documented for users of the monitor):
- ``last_event_date``: the newest event date recorded for the source.
- ``last_ingested_at``: when a pipeline run last measured events from the source
  (its newest ``metric_type='source'`` data-quality row); null if never measured.
- ``usual_gap_days``: the median gap in days between consecutive distinct event dates
  of the source, over its last ``GAP_SAMPLE_DATES`` distinct dates; null with fewer
  than ``MIN_HISTORY_DATES`` distinct dates (not enough history to judge).
- ``silent_days``: days from the last event date to today (never negative).
- ``silent``: ``silent_days > max(SILENCE_GAP_FACTOR * usual_gap_days, SILENCE_FLOOR_DAYS)``,
  only for sources with enough history.

One grouped query over the (source, event_date) index gives every source's event count,
newest dates and total events; its result is bounded by sources x GAP_SAMPLE_DATES rows.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models import ConflictEvent
from status.shapes import iso

GAP_SAMPLE_DATES = 30
MIN_HISTORY_DATES = 5
SILENCE_GAP_FACTOR = 3.0
SILENCE_FLOOR_DAYS = 7


@dataclass(frozen=True)
class SourceDates:
    """What the database says about one source (None = events without a source)."""

    source: str | None
    events: int
    dates: tuple[date, ...]  # newest first, at most GAP_SAMPLE_DATES + 1


def source_dates_query(sample: int = GAP_SAMPLE_DATES) -> Select:
    """Select per source its event count and its newest ``sample + 1`` distinct event dates."""
    pairs = (
        select(ConflictEvent.source, ConflictEvent.event_date, func.count().label("n"))
        .group_by(ConflictEvent.source, ConflictEvent.event_date)
        .subquery()
    )
    ranked = select(
        pairs.c.source,
        pairs.c.event_date,
        func.row_number()
        .over(partition_by=pairs.c.source, order_by=pairs.c.event_date.desc().nulls_last())
        .label("rn"),
        func.sum(pairs.c.n).over(partition_by=pairs.c.source).label("events"),
    ).subquery()
    return (
        select(ranked.c.source, ranked.c.event_date, ranked.c.events)
        .where(ranked.c.rn <= sample + 1)
        .order_by(ranked.c.source, ranked.c.rn)
    )


def load_source_dates(session: Session) -> list[SourceDates]:
    """Run the per-source query once and fold its rows by source."""
    folded: dict[str | None, tuple[int, list[date]]] = {}
    for source, event_date, events in session.execute(source_dates_query()):
        total, dates = folded.setdefault(source, (int(events), []))
        if event_date is not None:
            dates.append(event_date)
    return [SourceDates(source, total, tuple(dates)) for source, (total, dates) in folded.items()]


def usual_gap_days(dates: tuple[date, ...]) -> float | None:
    """Return the median gap between consecutive dates (newest first), or None if too few."""
    if len(dates) < MIN_HISTORY_DATES:
        return None
    gaps = [(newer - older).days for newer, older in zip(dates, dates[1:], strict=False)]
    return float(statistics.median(gaps))


def is_silent(silent_days: int | None, usual_gap: float | None) -> bool:
    """Decide whether a source has been quiet much longer than it usually is."""
    if silent_days is None or usual_gap is None:
        return False
    return silent_days > max(SILENCE_GAP_FACTOR * usual_gap, SILENCE_FLOOR_DAYS)


def source_health(rows: list[SourceDates], last_ingested: dict[str, datetime], today: date) -> list[dict]:
    """Describe every named source's freshness, most recently active first."""
    out = []
    for row in rows:
        if row.source is None:
            continue
        last = row.dates[0] if row.dates else None
        silent_days = max((today - last).days, 0) if last else None
        gap = usual_gap_days(row.dates)
        out.append({
            "source": row.source,
            "events": row.events,
            "last_event_date": iso(last),
            "last_ingested_at": iso(last_ingested.get(row.source)),
            "usual_gap_days": gap,
            "silent_days": silent_days,
            "silent": is_silent(silent_days, gap),
        })  # fmt: skip
    out.sort(key=lambda s: s["source"])
    return sorted(out, key=lambda s: s["last_event_date"] or "", reverse=True)
