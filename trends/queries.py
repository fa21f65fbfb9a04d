"""Select builders for the conflict trends: series, places (rankings, map, quality context), events.

Every function returns a SQLAlchemy ``Select`` that aggregates in the database and
runs unchanged on PostgreSQL and SQLite; ``trends.data.fetch`` executes them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, func, literal, select

from trends.filters import TrendFilters
from trends.sql import (
    ROLLUP_DIMENSIONS,
    E,
    actor_rows,
    bucket,
    count_columns,
    count_if,
    dimension_column,
    metric_column,
    per_bucket,
    where,
)

PRECISE_LEVELS = ("ward", "lga")
EVENT_COLUMNS = (
    "id",
    "event_id",
    "dataset",
    "event_date",
    "state",
    "lga",
    "community",
    "region",
    "actor1",
    "actor2",
    "actor3",
    "crisis_type",
    "action",
    "gsa_casualties",
    "civilian_casualties",
    "total_deaths",
    "injured",
    "total_casualties",
    "kidnapped",
    "displaced",
    "is_derived",
    "derived_fields",
    "source",
    "source_url",
    "data_source",
    "latitude",
    "longitude",
    "geo_precision",
    "geo_method",
    "geo_confidence",
    "error_count",
    "warning_count",
)
# Listed too when withdrawn events are asked for.
WITHDRAWAL_COLUMNS = ("withdrawn_at", "withdrawn_run_id")


def series_select(filters: TrendFilters, dimension: str | None = None, metric: str | None = None) -> Select:
    """Return (bucket, grp, value) rows: ``metric`` per time bucket, per ``dimension`` value if given."""
    metric = metric or filters.metric
    if dimension == "actor":
        rows = actor_rows(filters, E.event_date.label("event_date"), *count_columns())
        daily = (
            select(rows.c.event_date, rows.c.grp, metric_column(metric, rows).label("value"))
            .where(rows.c.event_date.is_not(None))
            .group_by(rows.c.event_date, rows.c.grp)
        )
        return per_bucket(daily, filters.granularity, ("grp",), ("value",))
    group = (dimension_column(dimension) if dimension else literal("all")).label("grp")
    return by_bucket(filters, dimension, group, [metric_column(metric).label("value")])


def by_bucket(
    filters: TrendFilters, dimension: str | None, group: Any, aggregates: list[Any], undated: bool = False
) -> Select:
    """Return (bucket, grp, *aggregates) over the filtered events, by the faster plan for ``dimension``.

    ``undated`` keeps events without a date, in rows whose bucket is NULL.
    """
    conds = [where(filters), *([] if undated else [E.event_date.is_not(None)])]
    if dimension:
        conds.append(group.is_not(None))
    if dimension in ROLLUP_DIMENSIONS:
        keys = (E.event_date, group) if dimension else (E.event_date,)
        daily = select(E.event_date, group, *aggregates).where(*conds).group_by(*keys)
        return per_bucket(daily, filters.granularity, ("grp",), tuple(a.name for a in aggregates))
    period = bucket(E.event_date, filters.granularity).label("bucket")
    return select(period, group, *aggregates).where(*conds).group_by(period, group).order_by(period, group)


def place_select(filters: TrendFilters, metric: str | None = None) -> Select:
    """Return one row per (state, LGA): events, ``metric``, geocoded position and quality tallies.

    One scan feeds the state and LGA rankings, the map and the quality context; trends.charts
    derives each from these few hundred rows. ``located``/``located_value`` count only events
    with coordinates, which the map plots at their mean position.
    """
    metric = metric or filters.metric
    located = and_(E.latitude.is_not(None), E.longitude.is_not(None))
    return (
        select(
            E.state,
            E.lga,
            func.count().label("events"),
            metric_column(metric).label("value"),
            count_if(located).label("located"),
            metric_column(metric, only=located).label("located_value"),
            func.avg(E.latitude).filter(located).label("latitude"),
            func.avg(E.longitude).filter(located).label("longitude"),
            count_if(E.geo_precision.in_(PRECISE_LEVELS)).label("precise"),
            count_if(E.is_derived.is_(True)).label("derived"),
            count_if(E.error_count > 0).label("failing"),
        )
        .where(where(filters))
        .group_by(E.state, E.lga)
    )


def events_select(
    filters: TrendFilters, limit: int, offset: int = 0, after_id: int | None = None, withdrawn: str = "exclude"
) -> Select:
    """Return a page of events matching ``filters`` in id order (keyset when ``after_id`` is given).

    ``withdrawn`` (``trends.datasets.WITHDRAWN``) also lists withdrawn events, or only them, with when and by which run.
    """
    names = EVENT_COLUMNS + (WITHDRAWAL_COLUMNS if withdrawn != "exclude" else ())
    stmt = select(*(getattr(E, name) for name in names)).where(where(filters, withdrawn))
    if after_id is not None:
        stmt = stmt.where(E.id > after_id)
    return stmt.order_by(E.id).offset(offset).limit(limit)
