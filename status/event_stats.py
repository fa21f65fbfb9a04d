"""Event-table aggregates for the snapshot (counts per source, recent dates, totals), cached.

They count live events only, and the demo dataset only while no other event is live
(``status.datasets``): withdrawn events and generated ones beside real data are never totalled.

Exact counts over millions of events cost a full index scan (~100 ms per million rows on
PostgreSQL), far more than the rest of the snapshot. Events only change when a pipeline run
commits its load (events, issues and the run's final state in one transaction), so the
aggregates (and the weekly counts per state the spike rule reads) are cached per
process under a marker read with a few index lookups: the newest
event id and its creation time, the newest validation issue id, and the newest run's id,
status and end (and today's date). Any insert, any finished run, or ``EVENT_STATS_TTL_S`` passing (for edits
made outside the pipeline) recomputes them. The marker is read every time, so equal data
gives equal results in every process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import cast

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    column,
    func,
    lateral,
    literal,
    select,
    text,
    true,
    union_all,
    values,
)
from sqlalchemy.engine import Result
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import CompoundSelect

from models import ConflictEvent, PipelineRun, ValidationIssue
from status.anomalies import WeekWindow, state_days_lateral, state_days_query, week_window, weekly_counts
from status.datasets import IS_DEMO, LIVE, counted_events

EVENT_STATS_TTL_S = 300.0
# Whether another transaction holds conflict_events exclusively (PostgreSQL; a load that dropped its indexes).
EVENTS_LOCKED = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = 'conflict_events'::regclass"
    " AND mode = 'AccessExclusiveLock' AND granted AND pid <> pg_backend_pid())"
)
GAP_SAMPLE_DATES = 30  # gaps sampled per source for its usual gap (from the newest 31 distinct dates)
MAX_UNION_SOURCES = 400  # SQLite allows 500 terms in one compound SELECT


@dataclass(frozen=True)
class SourceDates:
    """What the database says about one source (None = events without a source)."""

    source: str | None
    events: int
    dates: tuple[date, ...]  # newest first, at most GAP_SAMPLE_DATES + 1


@dataclass(frozen=True)
class EventStats:
    """Aggregates over the events table."""

    sources: tuple[SourceDates, ...]
    events: int
    validation_failures: int
    window: WeekWindow | None  # the latest data week and its trailing weeks
    weeks: dict[str, list[int]]  # per state, event counts per week (0 = latest)


def marker_query() -> Select:
    """Select the cheap row that changes whenever the event aggregates may have changed."""
    newest_event = select(ConflictEvent.id, ConflictEvent.created_at).order_by(ConflictEvent.id.desc()).limit(1)
    newest_run = (
        select(PipelineRun.id, PipelineRun.status, PipelineRun.finished_at)
        .order_by(PipelineRun.started_at.desc(), PipelineRun.id.desc())
        .limit(1)
        .subquery()
    )
    return select(
        newest_event.with_only_columns(ConflictEvent.id).scalar_subquery(),
        newest_event.with_only_columns(ConflictEvent.created_at).scalar_subquery(),
        select(func.max(ValidationIssue.id)).scalar_subquery(),
        select(newest_run.c.id).scalar_subquery(),
        select(newest_run.c.status).scalar_subquery(),
        select(newest_run.c.finished_at).scalar_subquery(),
    )


def source_counts_query() -> Select[str | None, bool, int]:
    """Select every source's live events, demo and other datasets counted apart (NULL source included)."""
    demo = IS_DEMO.label("demo")
    return select(ConflictEvent.source, demo, func.count()).where(LIVE).group_by(ConflictEvent.source, demo)


def counted_sources(rows: list[tuple[str | None, bool, int]]) -> tuple[dict[str | None, int], bool]:
    """Fold (source, demo, n) rows into the counted events per source; say whether a real event is live."""
    real_live = any(not demo for _source, demo, _n in rows)
    counts: dict[str | None, int] = {}
    for source, demo, n in rows:
        if not (demo and real_live):
            counts[source] = counts.get(source, 0) + int(n)
    return counts, real_live


def failing_events_query(counted: ColumnElement[bool]) -> Select:
    """Select the number of counted events failing validation (an error-severity issue; warnings do not fail)."""
    # The same rule as the validation pass rate (pipeline.measure), not the count of issue rows:
    # an event can have several issues, and warnings alone leave it passing.
    return select(func.count()).select_from(ConflictEvent).where(counted, ConflictEvent.error_count > 0)


def recent_dates_lateral(sources: list[str], sample: int, counted: ColumnElement[bool]) -> Select[str, date]:
    """Select each source's newest distinct dates by one backward index probe per source (PostgreSQL)."""
    names = values(column("source", String), name="names").data([(s,) for s in sources])
    dates = lateral(
        select(ConflictEvent.event_date)
        .where(ConflictEvent.source == names.c.source, ConflictEvent.event_date.is_not(None), counted)
        .distinct()
        .order_by(ConflictEvent.event_date.desc())
        .limit(sample)
    )
    return select(names.c.source, dates.c.event_date).join(dates, true())


def recent_dates_union(
    sources: list[str], sample: int, counted: ColumnElement[bool]
) -> Select[str, date] | CompoundSelect[str, date]:
    """Select each source's newest distinct dates as one UNION ALL of per-source index probes (SQLite)."""
    parts = []
    for name in sources:
        newest = (
            select(ConflictEvent.event_date)
            .where(ConflictEvent.source == name, ConflictEvent.event_date.is_not(None), counted)
            .distinct()
            .order_by(ConflictEvent.event_date.desc())
            .limit(sample)
            .subquery()
        )
        parts.append(select(literal(name, String).label("source"), newest.c.event_date))
    return union_all(*parts) if len(parts) > 1 else parts[0]


def recent_dates_window(sample: int, counted: ColumnElement[bool]) -> Select[str, date]:
    """Select each source's newest distinct dates with a window over (source, date) pairs (any SQL)."""
    pairs = (
        select(ConflictEvent.source, ConflictEvent.event_date)
        .where(ConflictEvent.source.is_not(None), ConflictEvent.event_date.is_not(None), counted)
        .group_by(ConflictEvent.source, ConflictEvent.event_date)
        .subquery()
    )
    rank = func.row_number().over(partition_by=pairs.c.source, order_by=pairs.c.event_date.desc())
    ranked = select(pairs.c.source, pairs.c.event_date, rank.label("rn")).subquery()
    return select(ranked.c.source, ranked.c.event_date).where(ranked.c.rn <= sample)


def compute_event_stats(session: Session, today: date, sample: int = GAP_SAMPLE_DATES + 1) -> EventStats:
    """Run the aggregate queries (five, whatever the data size) over the counted events (``status.datasets``)."""
    by_dataset = [(source, bool(demo), int(n)) for source, demo, n in session.execute(source_counts_query())]
    counts, real_live = counted_sources(by_dataset)
    counted = counted_events(real_live)
    named = sorted(s for s in counts if s is not None)
    postgres = session.get_bind().dialect.name == "postgresql"
    rows: Iterable[tuple[str, date]] | Result[str, date]
    if not named:
        rows = []
    elif postgres:
        rows = session.execute(recent_dates_lateral(named, sample, counted))
    elif len(named) <= MAX_UNION_SOURCES:
        rows = session.execute(recent_dates_union(named, sample, counted))
    else:
        rows = session.execute(recent_dates_window(sample, counted))
    dates: dict[str, list[date]] = {}
    for source, event_date in rows:
        dates.setdefault(source, []).append(event_date)
    sources = tuple(
        SourceDates(s, n, tuple(sorted(dates.get(s, []), reverse=True)) if s is not None else ())
        for s, n in counts.items()
    )
    failures = session.scalar(failing_events_query(counted)) or 0
    window = week_window(session, today, counted)
    weeks: dict[str, list[int]] = {}
    if window is not None:
        by_day = state_days_lateral(window, counted) if postgres else state_days_query(window, counted)
        # Both queries keep named states and dated events only (WHERE ... IS NOT NULL / BETWEEN).
        day_counts = cast(list[tuple[str, date, int]], [tuple(row) for row in session.execute(by_day)])
        weeks = weekly_counts(day_counts, window)
    return EventStats(sources=sources, events=sum(counts.values()), validation_failures=int(failures),
                      window=window, weeks=dict(weeks))  # fmt: skip


class _Cache:
    """The last computed aggregates per database, with their marker and age."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[tuple, float, EventStats]] = {}

    def get(self, key: str, marker: tuple) -> EventStats | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry and entry[0] == marker and time.monotonic() - entry[1] < EVENT_STATS_TTL_S:
            return entry[2]
        return None

    def last(self, key: str) -> EventStats | None:
        """Return the last aggregates computed for a database, however old."""
        with self._lock:
            entry = self._entries.get(key)
        return entry[2] if entry else None

    def put(self, key: str, marker: tuple, stats: EventStats) -> None:
        with self._lock:
            self._entries[key] = (marker, time.monotonic(), stats)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache = _Cache()


def clear_cache() -> None:
    """Forget cached aggregates (benchmarks use it to time the cold path)."""
    _cache.clear()


def load_event_stats(session: Session, today: date, *, running: bool = False) -> EventStats:
    """Return the event aggregates, recomputed only when the marker changed or the TTL passed.

    While a run is ``running``, a first large load on PostgreSQL may hold the events table
    exclusively until it commits (``pipeline.bulk.drop_indexes``). Waiting for it would freeze
    the monitor for the whole load; instead the last aggregates this process computed stand,
    since nothing else writes events until that load commits.
    """
    key = session.get_bind().engine.url.render_as_string(hide_password=True)
    last = _cache.last(key) if running and session.get_bind().dialect.name == "postgresql" else None
    if last is not None and session.scalar(EVENTS_LOCKED):
        return last
    marker = (*session.execute(marker_query()).one(), today)
    stats = _cache.get(key, marker)
    if stats is None:
        stats = compute_event_stats(session, today)
        _cache.put(key, marker, stats)
    return stats
