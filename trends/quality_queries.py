"""Select builders for the data-quality trends: rates, precision mix, rule failures, completeness."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, String, cast, func, literal, or_, select, union_all

from models import DataQualityMetric, PipelineRun, ValidationIssue
from trends.datasets import dataset_condition
from trends.filters import TrendFilters
from trends.queries import PRECISE_LEVELS, by_bucket
from trends.sql import E, count_if, dimension_column, per_bucket, where

# Fields whose fill rate is "completeness"; each is a conflict_events column.
COMPLETENESS_FIELDS = (
    "event_date",
    "state",
    "lga",
    "community",
    "actor1",
    "crisis_type",
    "action",
    "total_deaths",
    "description",
    "source",
    "source_url",
    "data_source",
)
IMPRECISE_LEVELS = ("state", "none")
DRILL_LIMIT = 500


def _tallies() -> list[Any]:
    return [
        func.count().label("events"),
        count_if(E.geo_precision != "none").label("geocoded"),
        count_if(E.geo_precision.in_(PRECISE_LEVELS)).label("precise"),
        count_if(E.error_count == 0).label("valid"),
    ]


def rates_select(filters: TrendFilters, dimension: str | None = None, undated: bool = False) -> Select:
    """Return (bucket, grp, events, geocoded, precise, valid) per time bucket and ``dimension`` value.

    ``undated`` keeps events without a date, in a row whose bucket is NULL.
    """
    group = (dimension_column(dimension) if dimension else literal("all")).label("grp")
    return by_bucket(filters, dimension, group, _tallies(), undated)


def precision_mix_select(filters: TrendFilters) -> Select:
    """Return (bucket, precision, events): how events were geocoded, per time bucket."""
    daily = (
        select(E.event_date, E.geo_precision.label("precision"), func.count().label("events"))
        .where(where(filters), E.event_date.is_not(None))
        .group_by(E.event_date, E.geo_precision)
    )
    return per_bucket(daily, filters.granularity, ("precision",), ("events",))


def failures_select(filters: TrendFilters) -> Select:
    """Return (bucket, rule, severity, events): events failing each validation rule per time bucket."""
    I = ValidationIssue  # noqa: E741, N806 - table alias
    # An event has one date, so distinct events per day add up to distinct events per bucket.
    daily = (
        select(E.event_date, I.rule, I.severity, func.count(func.distinct(I.event_id)).label("events"))
        .join(E, E.id == I.event_id)
        .where(where(filters), E.event_date.is_not(None))
        .group_by(E.event_date, I.rule, I.severity)
    )
    return per_bucket(daily, filters.granularity, ("rule", "severity"), ("events",))


def completeness_select(filters: TrendFilters) -> Select:
    """Return one row: events, and per field how many events have it filled."""
    filled = []
    for name in COMPLETENESS_FIELDS:
        column = getattr(E, name)
        # The pipeline trims text, so "filled" is non-NULL and non-empty.
        condition = (column != "") if isinstance(column.type, String) else column.is_not(None)
        filled.append(count_if(condition).label(name))
    return select(func.count().label("events"), *filled).where(where(filters))


def runs_select(filters: TrendFilters, limit: int = 200) -> Select:
    """Return per-run rates recorded by the pipeline (aggregate rows, or per-source rows if sources are chosen).

    Only runs into the chosen datasets (the default's when none is chosen), and rows of no run.
    """
    M = DataQualityMetric  # noqa: N806 - table alias
    R = PipelineRun  # noqa: N806 - table alias
    stmt = select(
        M.run_id,
        M.timestamp,
        func.coalesce(M.source, "all sources").label("grp"),
        M.events,
        M.geocoding_success_rate,
        M.validation_pass_rate,
        M.completeness,
    )
    stmt = stmt.outerjoin(R, R.id == M.run_id).where(or_(R.id.is_(None), dataset_condition(R.dataset, filters)))
    if filters.sources:
        stmt = stmt.where(M.metric_type == "source", M.source.in_(filters.sources))
    else:
        stmt = stmt.where(M.metric_type == "aggregate")
    return stmt.order_by(M.timestamp.desc()).limit(limit)


@dataclass(frozen=True)
class Drill:
    """Which records a clicked chart point stands for: a period and/or a dimension value, rule or precision."""

    period_start: date | None = None
    period_end: date | None = None  # exclusive
    dimension: str | None = None
    value: str | None = None
    rule: str | None = None
    precision: str | None = None

    def label(self) -> str:
        """Describe the selection for the caption above the grid."""
        parts = []
        if self.period_start:
            parts.append(f"from {self.period_start.isoformat()}")
        if self.period_end:
            parts.append(f"before {self.period_end.isoformat()}")
        if self.dimension and self.value:
            parts.append(f"{self.dimension} = {self.value}")
        if self.rule:
            parts.append(f"rule = {self.rule}")
        if self.precision:
            parts.append(f"precision = {self.precision}")
        return ", ".join(parts) if parts else "all matching records"


def _drill_conditions(drill: Drill) -> list[Any]:
    conds: list[Any] = []
    if drill.period_start:
        conds.append(E.event_date >= drill.period_start)
    if drill.period_end:
        conds.append(E.event_date < drill.period_end)
    if drill.dimension and drill.value is not None:
        conds.append(dimension_column(drill.dimension) == drill.value)
    return conds


def drilldown_select(filters: TrendFilters, drill: Drill = Drill(), limit: int = DRILL_LIMIT) -> Select:
    """Return events that failed a rule or were geocoded imprecisely, one row per reason."""
    I = ValidationIssue  # noqa: E741, N806 - table alias
    base = [where(filters), *_drill_conditions(drill)]
    columns = (E.id, E.event_id, E.event_date, E.state, E.lga, E.source)
    parts = []
    if drill.precision is None:
        # The newest events with issues first, then their issues: a join walked in date order is
        # misestimated by PostgreSQL (it assumes few flagged events have issues) and reads every
        # flagged row. The pipeline counts error_count/warning_count from the issues (validate.count_issues),
        # which lets this walk ix_conflict_events_flagged and stop after ``limit`` events.
        flagged = select(*columns).where(*base, or_(E.error_count > 0, E.warning_count > 0))
        if drill.rule:
            flagged = flagged.where(E.id.in_(select(I.event_id).where(I.rule == drill.rule)))
        recent = flagged.order_by(E.event_date.desc().nulls_first(), E.id).limit(limit).subquery("flagged")
        failed = select(recent, I.rule.label("reason"), I.severity, func.coalesce(I.detail, "").label("detail")).join(
            I, I.event_id == recent.c.id
        )
        parts.append(failed.where(I.rule == drill.rule) if drill.rule else failed)
    if drill.rule is None:
        levels = (drill.precision,) if drill.precision else IMPRECISE_LEVELS
        parts.append(
            newest(
                select(
                    *columns,
                    ("geocoded_" + E.geo_precision).label("reason"),
                    literal("warning").label("severity"),
                    cast(func.coalesce(E.location_text, E.lga, E.state, ""), String).label("detail"),
                ).where(*base, E.geo_precision.in_(levels)),
                limit,
            )
        )
    union = union_all(*parts).subquery("drill")
    return select(union).order_by(union.c.event_date.desc().nulls_first(), union.c.id, union.c.reason).limit(limit)


def newest(stmt: Select, limit: int) -> Select:
    """Keep the ``limit`` most recent rows of one part (undated first, as the date index orders them)."""
    # Limiting each part lets PostgreSQL walk a date index backwards and stop early.
    part = stmt.order_by(E.event_date.desc().nulls_first(), E.id).limit(limit)
    return select(part.subquery())
