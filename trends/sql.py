"""SQL building blocks shared by the trend queries: date buckets, filters, dimensions, metrics."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Select,
    SQLColumnExpression,
    and_,
    cast,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from models import ConflictEvent
from trends.datasets import dataset_condition, withdrawn_condition
from trends.filters import DIMENSIONS, GRANULARITIES, METRICS, TrendFilters

E = ConflictEvent


class date_bucket(FunctionElement[date]):  # noqa: N801 - SQL function style
    """The first day of the day/week/month containing a date, as a DATE on every backend."""

    type = Date()
    name = "date_bucket"
    inherit_cache = True


def bucket(column: SQLColumnExpression[Any], granularity: str) -> date_bucket:
    """Return the start of ``column``'s day, ISO week (Monday) or month."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r}")
    return date_bucket(column, literal_column(f"'{granularity}'"))


def _parts(element: date_bucket, compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    column, unit = list(element.clauses)
    return compiler.process(column, **kw), unit.name.strip("'")


@compiles(date_bucket, "postgresql")
def _bucket_postgresql(element: date_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    column, unit = _parts(element, compiler, **kw)
    # Cast to TIMESTAMP first: date_trunc on a DATE resolves to the timestamptz variant, whose
    # time-zone arithmetic costs ~15 % of a broad aggregate; the result is the same day.
    return f"CAST(date_trunc('{unit}', CAST({column} AS TIMESTAMP)) AS DATE)"


@compiles(date_bucket)
def _bucket_sqlite(element: date_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    column, unit = _parts(element, compiler, **kw)
    # SQLite keeps dates as ISO text; its date() modifiers give the bucket start as ISO text too.
    if unit == "day":
        return f"date({column})"
    if unit == "week":
        return f"date({column}, 'weekday 0', '-6 days')"
    return f"date({column}, 'start of month')"


def conditions(filters: TrendFilters, withdrawn: str = "exclude") -> list[ColumnElement[bool]]:
    """Return the WHERE conditions on conflict_events for ``filters``: live events (by default) of their datasets."""
    conds = [withdrawn_condition(withdrawn), dataset_condition(E.dataset, filters)]
    if filters.start:
        conds.append(E.event_date >= filters.start)
    if filters.end:
        conds.append(E.event_date <= filters.end)
    for column, values in (
        (E.state, filters.states),
        (E.region, filters.regions),
        (E.lga, filters.lgas),
        (E.crisis_type, filters.crisis_types),
        (E.source, filters.sources),
    ):
        if values:
            conds.append(column.in_(values))
    if filters.actors:
        conds.append(or_(*(column.in_(filters.actors) for column in (E.actor1, E.actor2, E.actor3))))
    return conds


def where(filters: TrendFilters, withdrawn: str = "exclude") -> ColumnElement[bool]:
    """Return all of ``filters``' conditions as one clause; ``withdrawn`` as in ``trends.datasets.WITHDRAWN``."""
    return and_(True, *conditions(filters, withdrawn))


def dimension_column(dimension: str) -> ColumnElement[Any]:
    """Return the event column (or expression) a non-actor dimension groups by."""
    if dimension not in DIMENSIONS or dimension == "actor":
        raise ValueError(f"not a column dimension: {dimension!r}")
    if dimension == "lga":
        # LGA names repeat across states (e.g. Surulere, Obi): label them with their state.
        return E.lga + ", " + E.state
    return getattr(E, dimension)


def metric_column(metric: str, table: Any = E, only: ColumnElement[bool] | None = None) -> ColumnElement[Any]:
    """Return the aggregate for ``metric`` over ``table`` (count of rows, or a sum of a count column).

    ``only`` restricts the aggregate to the rows meeting it (an aggregate FILTER clause).
    """
    column = METRICS[metric]
    if column is None:
        return func.count() if only is None else count_if(only)
    total = func.sum(getattr(table.c, column) if hasattr(table, "c") else getattr(table, column))
    return func.coalesce(total if only is None else total.filter(only), 0)


def actor_rows(filters: TrendFilters, *columns: ColumnElement[Any], withdrawn: str = "exclude") -> Any:
    """Return a subquery with one row per (event, actor) - UNION ALL of actor1..3 - plus ``columns``."""
    parts: list[Select] = []
    for actor in (E.actor1, E.actor2, E.actor3):
        conds = [where(filters, withdrawn), actor.is_not(None), actor != ""]
        if filters.actors:
            # When grouping by actor under an actor filter, show only the chosen actors.
            conds.append(actor.in_(filters.actors))
        parts.append(select(E.id.label("event_id"), actor.label("grp"), *columns).where(*conds))
    return union_all(*parts).subquery("actor_rows")


def count_columns() -> list[ColumnElement[Any]]:
    """Return the event's count columns, for subqueries that aggregate metrics later."""
    return [getattr(E, column).label(column) for column in METRICS.values() if column]


# Dimensions with few values: grouping by (raw date, value) first and bucketing the few
# thousand daily rows after is ~40 % faster on PostgreSQL than bucketing every event row.
# With many values (states, LGAs, sources, actors) the daily groups outgrow work_mem and
# bucketing each row directly is faster.
ROLLUP_DIMENSIONS = (None, "region", "crisis_type")


def per_bucket(daily: Select, granularity: str, groups: tuple[str, ...], sums: tuple[str, ...]) -> Select:
    """Roll a per-day aggregate (event_date, *groups, *sums) up to day/week/month buckets."""
    inner = daily.subquery("daily")
    period = bucket(inner.c.event_date, granularity).label("bucket")
    keys = [inner.c[name] for name in groups]
    totals = [cast(func.sum(inner.c[name]), BigInteger).label(name) for name in sums]
    return select(period, *keys, *totals).group_by(period, *keys).order_by(period, *keys)


def count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """Return the number of rows meeting ``condition`` (COUNT(*) FILTER (WHERE ...), PostgreSQL and SQLite)."""
    return func.count().filter(condition)
