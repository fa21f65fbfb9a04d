"""Loaders for every trend chart: run its aggregate query, shape the result into what the chart shows.

A loader's frame is exactly what its chart plots and what its CSV download holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from pipeline.gazetteer import lga_centroids
from trends import quality_queries as qq
from trends import queries as q
from trends.data import fetch
from trends.filters import TrendFilters

TOP_GROUPS = 8
OTHER = "Other"


def top_groups(frame: pd.DataFrame, value_columns: list[str], n: int = TOP_GROUPS) -> pd.DataFrame:
    """Keep the ``n`` largest groups by the first value column; sum the rest per bucket as 'Other'."""
    if frame.empty or frame["grp"].nunique() <= n:
        return frame
    totals = frame.groupby("grp")[value_columns[0]].sum().sort_values(ascending=False)
    keep = set(totals.index[:n])
    top = frame[frame["grp"].isin(keep)]
    rest = frame[~frame["grp"].isin(keep)].groupby("bucket", as_index=False)[value_columns].sum()
    return pd.concat([top, rest.assign(grp=OTHER)], ignore_index=True)[frame.columns].sort_values(
        ["bucket", "grp"], ignore_index=True
    )


def add_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with geocoded/precise/valid shares of its events (0..1)."""
    events = frame["events"].where(frame["events"] > 0)
    return frame.assign(
        geocoded_rate=(frame["geocoded"] / events).astype(float),
        precise_rate=(frame["precise"] / events).astype(float),
        valid_rate=(frame["valid"] / events).astype(float),
    )


def _dates(frame: pd.DataFrame, column: str = "bucket") -> pd.DataFrame:
    if frame.empty:
        return frame
    return frame.assign(**{column: pd.to_datetime(frame[column])})


def conflict_series(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """Metric over time per value of the chosen dimension (top groups, rest as Other)."""
    frame = _dates(fetch(engine, q.series_select(filters, filters.group_by)))
    return top_groups(frame, ["value"])


def state_ranking(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """States ranked by the chosen metric."""
    return fetch(engine, q.ranking_select(filters, "state"))


def lga_ranking(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """LGAs ranked by the chosen metric."""
    return fetch(engine, q.ranking_select(filters, "lga"))


def event_map(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """Events and the chosen metric per LGA, at the LGA's centroid (gazetteer when available)."""
    frame = fetch(engine, q.map_select(filters))
    return with_gazetteer_centroids(frame)


def with_gazetteer_centroids(frame: pd.DataFrame) -> pd.DataFrame:
    """Replace mean event positions with the gazetteer's LGA centroids where it knows the LGA."""
    if frame.empty:
        return frame
    centroids = lga_centroids()[["state", "lga", "latitude", "longitude"]]
    merged = frame.merge(centroids, on=["state", "lga"], how="left", suffixes=("", "_gazetteer"))
    return merged.assign(
        latitude=merged["latitude_gazetteer"].fillna(merged["latitude"]),
        longitude=merged["longitude_gazetteer"].fillna(merged["longitude"]),
    )[frame.columns]


def quality_context(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """Shares of the selection geocoded to LGA or better, derived from vague words, failing validation."""
    frame = fetch(engine, q.context_select(filters))
    events = frame["events"].where(frame["events"] > 0)
    return frame.assign(
        precise_share=(frame["precise"] / events).astype(float),
        derived_share=(frame["derived"] / events).astype(float),
        failing_share=(frame["failing"] / events).astype(float),
    )


def rates_by_source(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """Geocoding and validation rates over time per source."""
    return _rates(engine, filters, "source")


def rates_by_state(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """Geocoding and validation rates over time per state."""
    return _rates(engine, filters, "state")


def _rates(engine: Engine, filters: TrendFilters, dimension: str) -> pd.DataFrame:
    frame = _dates(fetch(engine, qq.rates_select(filters, dimension)))
    return add_rates(top_groups(frame, ["events", "geocoded", "precise", "valid"]))


def precision_mix(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """Events per geocoding precision per time bucket, with each level's share of the bucket."""
    frame = _dates(fetch(engine, qq.precision_mix_select(filters)))
    if frame.empty:
        return frame.assign(share=pd.Series(dtype=float))
    return frame.assign(share=frame["events"] / frame.groupby("bucket")["events"].transform("sum"))


def failures_by_rule(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """Events failing each validation rule per time bucket."""
    return _dates(fetch(engine, qq.failures_select(filters)))


def completeness(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """Share of events with each key field filled (one row per field)."""
    row = fetch(engine, qq.completeness_select(filters)).iloc[0]
    events = int(row["events"])
    fields = list(qq.COMPLETENESS_FIELDS)
    if events == 0:
        return pd.DataFrame({"field": [], "filled": [], "events": [], "share": []})
    filled = [int(row[name]) for name in fields]
    return pd.DataFrame(
        {"field": fields, "filled": filled, "events": events, "share": [value / events for value in filled]}
    )


def worst_sources(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """Sources with the lowest validation pass rate."""
    return add_rates(fetch(engine, qq.worst_select(filters, "source")))


def worst_states(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """States with the lowest validation pass rate."""
    return add_rates(fetch(engine, qq.worst_select(filters, "state")))


def per_run(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """Rates recorded by each pipeline run, oldest first."""
    frame = fetch(engine, qq.runs_select(filters))
    return frame.iloc[::-1].reset_index(drop=True)


def drilldown(engine: Engine, filters: TrendFilters, drill: qq.Drill = qq.Drill()) -> pd.DataFrame:
    """Records behind a chart point that failed a rule or were geocoded imprecisely."""
    return fetch(engine, qq.drilldown_select(filters, drill))


@dataclass(frozen=True)
class Chart:
    """A chart's title and the loader that fetches exactly what it shows."""

    title: str
    load: Callable[[Engine, TrendFilters], pd.DataFrame]


CONFLICT_CHARTS = {
    "series": Chart("Over time", conflict_series),
    "states": Chart("States ranked", state_ranking),
    "lgas": Chart("LGAs ranked", lga_ranking),
    "map": Chart("Map by LGA", event_map),
}
QUALITY_CHARTS = {
    "rates_source": Chart("Rates by source", rates_by_source),
    "rates_state": Chart("Rates by state", rates_by_state),
    "precision": Chart("Geocoding precision mix", precision_mix),
    "failures": Chart("Validation failures by rule", failures_by_rule),
    "completeness": Chart("Completeness per field", completeness),
    "worst_sources": Chart("Worst sources", worst_sources),
    "worst_states": Chart("Worst states", worst_states),
    "runs": Chart("Rates per pipeline run", per_run),
}
