"""Anomalies computed from the data: quality rates dropping, weekly spikes, silent sources.

Thresholds are module constants so they can be read (and tuned) in one place.
- Quality drop: a rate of the latest aggregate (or of a source's latest row) is below the
  mean of the up to ``DQ_BASELINE_RUNS`` rows before it by at least ``DQ_DROP_WARNING``
  (``DQ_DROP_ERROR`` for an error); needs ``DQ_MIN_BASELINE_RUNS`` earlier rows, and a latest
  batch of at least ``DQ_AGGREGATE_MIN_EVENTS`` events (``DQ_SOURCE_MIN_EVENTS`` for a source):
  in a 10-25-event run one event moves a rate by 4-10 points, so a drop there is noise.
- Weekly spike: weeks are the 7-day blocks ending at the newest event date not in the
  future (the latest data week, so a historical import is judged on its own latest week).
  A state's latest-week count is a spike when it is >= ``SPIKE_RATIO`` x the mean of the
  ``SPIKE_TRAILING_WEEKS`` weeks before (the mean floored at ``SPIKE_BASELINE_FLOOR``) and
  >= ``SPIKE_MIN_COUNT``; only when the data reaches back over the whole trailing window.
  A spike is a warning, never an error: it may be real violence or a collection artefact.
- Silent source: see ``status.health``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, Select, func, lateral, select, true
from sqlalchemy.orm import Session

from models import ConflictEvent, DataQualityMetric

DQ_RATES = ("geocoding_success_rate", "validation_pass_rate", "completeness")
DQ_BASELINE_RUNS = 5
DQ_MIN_BASELINE_RUNS = 3
DQ_DROP_WARNING = 0.05
DQ_DROP_ERROR = 0.15
DQ_SOURCE_MIN_EVENTS = 20
# Smallest whole-run batch whose rates are judged (drops here, the row's own status in status.alerts).
DQ_AGGREGATE_MIN_EVENTS = 50

SPIKE_TRAILING_WEEKS = 8
SPIKE_RATIO = 3.0
SPIKE_MIN_COUNT = 10
SPIKE_BASELINE_FLOOR = 1.0


@dataclass(frozen=True)
class WeekWindow:
    """The latest data week and the trailing weeks before it."""

    latest: date  # last day of the latest week
    oldest: date  # first day of the oldest trailing week
    covered: bool  # the data reaches back to ``oldest``


def anomaly(kind: str, severity: str, subject: str, message: str, value: float, baseline: float | None) -> dict:
    """Build one anomaly record."""
    return {"kind": kind, "severity": severity, "subject": subject, "message": message,
            "value": value, "baseline": baseline}  # fmt: skip


def quality_drops(rows: list[DataQualityMetric], subject: str, min_events: int = DQ_AGGREGATE_MIN_EVENTS) -> list[dict]:
    """Flag rates of ``rows[0]`` that fell below the mean of the rows after it (newest first)."""
    if len(rows) < DQ_MIN_BASELINE_RUNS + 1 or rows[0].events < min_events:
        return []
    latest, earlier = rows[0], rows[1 : DQ_BASELINE_RUNS + 1]
    found = []
    for rate in DQ_RATES:
        values = [getattr(row, rate) for row in earlier if getattr(row, rate) is not None]
        value = getattr(latest, rate)
        if value is None or len(values) < DQ_MIN_BASELINE_RUNS:
            continue
        baseline = sum(values) / len(values)
        drop = baseline - value
        if drop >= DQ_DROP_WARNING:
            severity = "error" if drop >= DQ_DROP_ERROR else "warning"
            message = f"{subject}: {rate.replace('_', ' ')} {value:.1%} is below its recent baseline {baseline:.1%}"
            found.append(anomaly("quality_drop", severity, subject, message, round(value, 6), round(baseline, 6)))
    return found


def source_quality_drops(by_source: dict[str, list[DataQualityMetric]]) -> list[dict]:
    """Flag quality drops per source, skipping sources whose latest batch is too small to judge."""
    found = []
    for source, rows in sorted(by_source.items()):
        if rows:
            found.extend(quality_drops(rows, f"source {source}", DQ_SOURCE_MIN_EVENTS))
    return found


def date_bounds_query(today: date, counted: ColumnElement[bool]) -> Select[date | None, date | None]:
    """Select the oldest counted event date and the newest one not after ``today``."""
    newest = select(func.max(ConflictEvent.event_date)).where(counted, ConflictEvent.event_date <= today)
    oldest = select(func.min(ConflictEvent.event_date)).where(counted)
    return select(oldest.scalar_subquery().label("oldest"), newest.scalar_subquery().label("newest"))


def week_window(session: Session, today: date, counted: ColumnElement[bool]) -> WeekWindow | None:
    """Find the latest data week and its trailing window; None when no counted event has a date."""
    oldest, newest = session.execute(date_bounds_query(today, counted)).one()
    if newest is None:
        return None
    start = newest - timedelta(days=7 * (SPIKE_TRAILING_WEEKS + 1) - 1)
    return WeekWindow(latest=newest, oldest=start, covered=oldest is not None and oldest <= start)


def state_days_query(window: WeekWindow, counted: ColumnElement[bool]) -> Select[str | None, date | None, int]:
    """Select counted events per (state, date) inside the window; bounded by states x days."""
    return (
        select(ConflictEvent.state, ConflictEvent.event_date, func.count().label("n"))
        .where(
            ConflictEvent.event_date.between(window.oldest, window.latest), ConflictEvent.state.is_not(None), counted
        )
        .group_by(ConflictEvent.state, ConflictEvent.event_date)
    )


def state_days_lateral(window: WeekWindow, counted: ColumnElement[bool]) -> Select:
    """Select the same counts by walking the (state, event_date) index state by state (PostgreSQL).

    A recursive CTE lists the distinct states with one index probe each (a loose index
    scan, over every event: a state without counted ones just adds no rows), then each
    state's window is an index range scan whose rows are checked against ``counted``.
    """
    first = select(func.min(ConflictEvent.state).label("state")).cte("states", recursive=True)
    previous = first.alias("previous")
    following = select(func.min(ConflictEvent.state)).where(ConflictEvent.state > previous.c.state)
    states = first.union_all(select(following.scalar_subquery().label("state")).where(previous.c.state.is_not(None)))
    days = lateral(
        select(ConflictEvent.event_date, func.count().label("n"))
        .where(
            ConflictEvent.state == states.c.state,
            ConflictEvent.event_date.between(window.oldest, window.latest),
            counted,
        )
        .group_by(ConflictEvent.event_date)
    )
    return select(states.c.state, days.c.event_date, days.c.n).join(days, true()).where(states.c.state.is_not(None))


def weekly_counts(rows: list[tuple[str, date, int]], window: WeekWindow) -> dict[str, list[int]]:
    """Fold (state, date, n) rows into per-state week counts, index 0 = latest week."""
    weeks: dict[str, list[int]] = defaultdict(lambda: [0] * (SPIKE_TRAILING_WEEKS + 1))
    for state, day, n in rows:
        weeks[state][(window.latest - day).days // 7] += int(n)
    return weeks


def weekly_spikes(weeks: dict[str, list[int]], window: WeekWindow | None) -> list[dict]:
    """Flag states whose latest-week count is far above their trailing mean."""
    if window is None or not window.covered:
        return []
    first_day = window.latest - timedelta(days=6)
    found = []
    for state, counts in sorted(weeks.items()):
        value, baseline = counts[0], sum(counts[1:]) / SPIKE_TRAILING_WEEKS
        ratio = value / max(baseline, SPIKE_BASELINE_FLOOR)
        if value >= SPIKE_MIN_COUNT and ratio >= SPIKE_RATIO:
            message = (f"{state}: {value} events in the week {first_day.isoformat()} to "
                       f"{window.latest.isoformat()}, {ratio:.1f}x its {SPIKE_TRAILING_WEEKS}-week mean "
                       f"of {baseline:.1f}")  # fmt: skip
            found.append(anomaly("weekly_spike", "warning", state, message, value, round(baseline, 3)))
    return found


def silent_sources(sources: list[dict]) -> list[dict]:
    """Turn silent sources into anomalies."""
    return [
        anomaly("source_silent", "warning", s["source"],
                f"{s['source']}: no events for {s['silent_days']} days (usually every {s['usual_gap_days']:g})",
                s["silent_days"], s["usual_gap_days"])
        for s in sources
        if s["silent"]
    ]  # fmt: skip
