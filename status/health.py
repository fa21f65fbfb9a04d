"""Source health: when each source last reported, and whether it has gone quiet.

Definition (documented for users of the monitor):
- ``last_event_date``: the newest event date recorded for the source.
- ``last_ingested_at``: when a pipeline run last measured events from the source
  (its newest ``metric_type='source'`` data-quality row); null if never measured.
- ``usual_gap_days``: the median gap in days between consecutive distinct event dates
  of the source, over its newest ``GAP_SAMPLE_DATES + 1`` distinct dates; null with fewer
  than ``MIN_HISTORY_DATES`` distinct dates (not enough history to judge).
- ``silent_days``: days from the last event date to today (never negative).
- ``silent``: ``silent_days > max(SILENCE_GAP_FACTOR * usual_gap_days, SILENCE_FLOOR_DAYS)``,
  only for sources with enough history.

The counts and newest dates come from ``status.event_stats`` (aggregated in SQL, cached
until the events change); this module only applies the rules.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable
from datetime import date, datetime

from status.event_stats import GAP_SAMPLE_DATES, SourceDates
from status.shapes import iso

__all__ = ["GAP_SAMPLE_DATES", "is_silent", "source_health", "usual_gap_days"]

MIN_HISTORY_DATES = 5
SILENCE_GAP_FACTOR = 3.0
SILENCE_FLOOR_DAYS = 7


def usual_gap_days(dates: tuple[date, ...]) -> float | None:
    """Return the median gap between consecutive dates (newest first), or None if too few."""
    if len(dates) < MIN_HISTORY_DATES:
        return None
    gaps = [(newer - older).days for newer, older in itertools.pairwise(dates)]
    return float(statistics.median(gaps))


def is_silent(silent_days: int | None, usual_gap: float | None) -> bool:
    """Decide whether a source has been quiet much longer than it usually is."""
    if silent_days is None or usual_gap is None:
        return False
    return silent_days > max(SILENCE_GAP_FACTOR * usual_gap, SILENCE_FLOOR_DAYS)


def source_health(rows: Iterable[SourceDates], last_ingested: dict[str, datetime], today: date) -> list[dict]:
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
    out.sort(key=lambda s: str(s["source"]))
    return sorted(out, key=lambda s: str(s["last_event_date"] or ""), reverse=True)
