"""Measure: data-quality metrics of a run, aggregate, per source and hourly.

Semantics (what the monitor and the trend pages show):

- The population is the run's distinct events (after exact duplicates inside the
  batch were merged), whether they were new, updated or unchanged in the database:
  the metrics describe the quality of what was ingested.
- Geocoding: every event is an attempt; a success is precision ``ward`` or ``lga``
  (a state-only or missing location is not good enough for the LGA map).
- Validation: every event is an attempt; a pass is an event with no error-severity
  issue (warnings do not fail it).
- Status per row: ``error`` when either rate is below its ``*_ERROR_BELOW`` threshold,
  else ``warning`` when below ``*_WARNING_BELOW``, else ``healthy``.
- ``aggregate``: one row per run, timestamped when the run measured.
  ``source``: one row per source named in the run (``UNKNOWN_SOURCE`` when empty).
  ``hourly``: one row per UTC hour of ingestion, i.e. the hour in which runs measured;
  every run adds its counts to the row of its hour (rates, completeness and status are
  recomputed from the sums), so many small replay runs build one row per hour.
- Completeness: share of events with each of ``KEY_FIELDS`` filled, and their mean.
- ``duplicates``: exact duplicate rows merged inside the batch; ``derived_counts``:
  events with at least one count derived from a vague word ("a few").
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import DataQualityMetric
from pipeline import columns as c

GEOCODED_PRECISIONS = ("ward", "lga")
GEOCODING_WARNING_BELOW = 0.95
GEOCODING_ERROR_BELOW = 0.80
VALIDATION_WARNING_BELOW = 0.90
VALIDATION_ERROR_BELOW = 0.70
UNKNOWN_SOURCE = "Unknown"
KEY_FIELDS: tuple[str, ...] = (
    c.EVENT_DATE, c.STATE, c.LGA, c.COMMUNITY, c.ACTOR1, c.ACTOR2, c.CRISIS_TYPE, "total_deaths",
    c.DESCRIPTION, c.SOURCE, c.SOURCE_URL,
)  # fmt: skip
SUM_FIELDS = (
    "events", "geocoding_attempts", "geocoding_successes", "validation_attempts", "validation_passes",
    "precision_ward", "precision_lga", "precision_state", "precision_none", "duplicates", "derived_counts",
)  # fmt: skip


def rate_status(geocoding_rate: float, validation_rate: float) -> str:
    """Name the health of a pair of rates from the named thresholds."""
    if geocoding_rate < GEOCODING_ERROR_BELOW or validation_rate < VALIDATION_ERROR_BELOW:
        return "error"
    if geocoding_rate < GEOCODING_WARNING_BELOW or validation_rate < VALIDATION_WARNING_BELOW:
        return "warning"
    return "healthy"


def _filled(series: pd.Series) -> pd.Series:
    """Return a mask of cells that hold a value (empty text counts as missing)."""
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        # Stages trim text, so an empty string is the only blank left to catch.
        return series.notna() & series.ne("")
    return series.notna()


def indicators(events: pd.DataFrame) -> pd.DataFrame:
    """Return per-event 0/1 indicators that the metric sums are built from."""
    precision = events[c.GEO_PRECISION].fillna("none")
    frame = pd.DataFrame(
        {
            "events": 1,
            "geocoding_attempts": 1,
            "geocoding_successes": precision.isin(GEOCODED_PRECISIONS).astype(int),
            "validation_attempts": 1,
            "validation_passes": pd.to_numeric(events[c.ERROR_COUNT]).fillna(0).eq(0).astype(int),
            **{f"precision_{p}": precision.eq(p).astype(int) for p in c.PRECISIONS},
            "derived_counts": events[c.IS_DERIVED].fillna(False).astype(bool).astype(int),
            **{f"filled_{name}": _filled(events[name]).astype(int) for name in KEY_FIELDS},
        },
        index=events.index,
    )
    return frame.assign(source=events[c.SOURCE].fillna(UNKNOWN_SOURCE).replace("", UNKNOWN_SOURCE))


def finish_row(sums: dict[str, float], filled: dict[str, float]) -> dict[str, object]:
    """Turn summed counts into a metric row: rates, completeness and status."""
    events = int(sums["events"])
    geo_rate = sums["geocoding_successes"] / sums["geocoding_attempts"] if sums["geocoding_attempts"] else 0.0
    val_rate = sums["validation_passes"] / sums["validation_attempts"] if sums["validation_attempts"] else 0.0
    by_field = {name: round(filled.get(name, 0) / events, 4) if events else 0.0 for name in KEY_FIELDS}
    return {
        **{name: int(sums.get(name, 0)) for name in SUM_FIELDS},
        "geocoding_success_rate": round(geo_rate, 4),
        "validation_pass_rate": round(val_rate, 4),
        "completeness_by_field": by_field,
        "completeness": round(sum(by_field.values()) / len(by_field), 4) if events else 0.0,
        "status": rate_status(geo_rate, val_rate) if events else "warning",
    }


def _row_from(totals: pd.Series, duplicates: int) -> dict[str, object]:
    """Turn one group's summed indicators (``indicators`` columns) into a metric row."""
    sums = {name: float(totals[name]) for name in SUM_FIELDS if name in totals}
    sums["duplicates"] = float(duplicates)
    filled = {name: float(totals[f"filled_{name}"]) for name in KEY_FIELDS}
    return finish_row(sums, filled)


def measure(events: pd.DataFrame, duplicate_sources: pd.Series) -> list[dict[str, object]]:
    """Compute the aggregate row and one row per source (``metric_type`` and ``source`` set)."""
    return metric_rows(source_sums(events), duplicate_counts(duplicate_sources))


def source_sums(events: pd.DataFrame) -> pd.DataFrame:
    """Sum the events' indicators per source: one grouped sum (sums of parts of a batch add up)."""
    return indicators(events).groupby("source", sort=True).sum()


def duplicate_counts(duplicate_sources: pd.Series) -> pd.Series:
    """Count merged duplicate rows per source."""
    return duplicate_sources.fillna(UNKNOWN_SOURCE).replace("", UNKNOWN_SOURCE).value_counts()


def metric_rows(per_source: pd.DataFrame, dup_counts: pd.Series) -> list[dict[str, object]]:
    """Turn per-source sums into the aggregate row (their total) and one row per source."""
    rows = [{"metric_type": "aggregate", "source": None, **_row_from(per_source.sum(), int(dup_counts.sum()))}]
    for source, totals in per_source.iterrows():
        rows.append({"metric_type": "source", "source": source, **_row_from(totals, int(dup_counts.get(source, 0)))})
    return rows


def hour_of(moment: datetime) -> datetime:
    """Return the start of the UTC hour a moment falls in."""
    return moment.replace(minute=0, second=0, microsecond=0)


def merge_hourly(previous: DataQualityMetric | None, aggregate: dict[str, object]) -> dict[str, object]:
    """Add a run's aggregate to the hour's row (if any) and recompute the derived figures."""
    sums = {name: float(aggregate[name]) for name in SUM_FIELDS}  # type: ignore[arg-type]
    events = sums["events"]
    shares: dict[str, float] = aggregate["completeness_by_field"]  # type: ignore[assignment]
    filled = {name: float(share) * events for name, share in shares.items()}
    if previous is not None:
        for name in SUM_FIELDS:
            sums[name] += float(getattr(previous, name) or 0)
        for name, share in (previous.completeness_by_field or {}).items():
            filled[name] = filled.get(name, 0.0) + float(share) * previous.events
    return {"metric_type": "hourly", "source": None, **finish_row(sums, filled)}


def write_metrics(session: Session, rows: list[dict[str, object]], *, run_id: int, at: datetime) -> int:
    """Store the run's aggregate and source rows and fold it into its hour; never commit."""
    for row in rows:
        session.add(DataQualityMetric(timestamp=at, run_id=run_id, created_at=at, updated_at=at, **row))
    hour = hour_of(at)
    stmt = select(DataQualityMetric).where(
        DataQualityMetric.metric_type == "hourly", DataQualityMetric.timestamp == hour
    )
    previous = session.scalars(stmt.limit(1)).first()
    merged = merge_hourly(previous, rows[0])
    if previous is None:
        session.add(DataQualityMetric(timestamp=hour, run_id=run_id, created_at=at, updated_at=at, **merged))
    else:
        for name, value in merged.items():
            setattr(previous, name, value)
        previous.run_id, previous.updated_at = run_id, at
    session.flush()
    return len(rows) + 1
