"""Loaders for every trend chart: run its aggregate query, shape the result into what the chart shows.

A loader's frame is exactly what its chart plots and what its CSV download holds. Loaders whose
query has no LIMIT of its own are capped (``trends.data.fetch``): too broad a selection raises
``TooManyRows`` instead of building a chart nobody can read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from reference.gazetteer import lga_centroids
from trends import quality_queries as qq
from trends import queries as q
from trends.data import fetch
from trends.filters import TrendFilters

TOP_GROUPS = 8
RANK_LIMIT = 15
WORST_LIMIT = 10
WORST_MIN_EVENTS = 3
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
    frame = _dates(fetch(engine, q.series_select(filters, filters.group_by), capped=True))
    return top_groups(frame, ["value"])


def place_summary(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """Events, the chosen metric, positions and quality tallies per (state, LGA): one scan for four charts."""
    return fetch(engine, q.place_select(filters), capped=True)


def rank(frame: pd.DataFrame, limit: int = RANK_LIMIT) -> pd.DataFrame:
    """Sum ``value`` per ``grp`` and keep the ``limit`` largest (ties by name)."""
    totals = frame.groupby("grp", as_index=False)["value"].sum()
    return totals.sort_values(["value", "grp"], ascending=[False, True]).head(limit).reset_index(drop=True)


def states_from(summary: pd.DataFrame) -> pd.DataFrame:
    """Rank states by the chosen metric from the per-LGA summary."""
    rows = summary[summary["state"].notna()]
    return rank(pd.DataFrame({"grp": rows["state"], "value": rows["value"]}))


def lgas_from(summary: pd.DataFrame) -> pd.DataFrame:
    """Rank LGAs (labelled "LGA, State": names repeat across states) by the chosen metric."""
    rows = summary[summary["state"].notna() & summary["lga"].notna()]
    return rank(pd.DataFrame({"grp": rows["lga"] + ", " + rows["state"], "value": rows["value"]}))


def map_from(summary: pd.DataFrame) -> pd.DataFrame:
    """Events with coordinates and their metric per LGA, at the LGA's centroid (gazetteer when available)."""
    rows = summary[summary["lga"].notna() & (summary["located"] > 0)]
    frame = rows[["state", "lga", "latitude", "longitude", "located", "located_value"]].rename(
        columns={"located": "events", "located_value": "value"}
    )
    return with_gazetteer_centroids(frame.sort_values(["state", "lga"]).reset_index(drop=True))


def context_from(summary: pd.DataFrame) -> pd.DataFrame:
    """Shares of the selection geocoded to LGA or better, derived from vague words, failing validation."""
    totals = {name: int(summary[name].sum()) for name in ("events", "precise", "derived", "failing")}
    frame = pd.DataFrame([totals])
    events = frame["events"].where(frame["events"] > 0)
    return frame.assign(
        precise_share=(frame["precise"] / events).astype(float),
        derived_share=(frame["derived"] / events).astype(float),
        failing_share=(frame["failing"] / events).astype(float),
    )


def state_ranking(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """States ranked by the chosen metric."""
    return states_from(place_summary(engine, filters))


def lga_ranking(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """LGAs ranked by the chosen metric."""
    return lgas_from(place_summary(engine, filters))


def event_map(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """Events and the chosen metric per LGA, at the LGA's centroid (gazetteer when available)."""
    return map_from(place_summary(engine, filters))


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


def quality_tallies(engine: Engine, filters: TrendFilters, dimension: str) -> pd.DataFrame:
    """Events, geocoded, precise and valid counts per time bucket and ``dimension`` value, undated rows included.

    One scan feeds both the rates-over-time chart (dated rows) and the worst-groups chart (all rows).
    """
    return fetch(engine, qq.rates_select(filters, dimension, undated=True), capped=True)


def rates_from(tallies: pd.DataFrame) -> pd.DataFrame:
    """Geocoding and validation rates over time per group (top groups, rest as Other), from the tallies."""
    frame = _dates(tallies[tallies["bucket"].notna()].reset_index(drop=True))
    return add_rates(top_groups(frame, ["events", "geocoded", "precise", "valid"]))


def worst_from(tallies: pd.DataFrame, limit: int = WORST_LIMIT, min_events: int = WORST_MIN_EVENTS) -> pd.DataFrame:
    """The ``limit`` groups with the lowest validation pass rate (then LGA-or-better rate, then name)."""
    totals = tallies.groupby("grp", as_index=False)[["events", "geocoded", "precise", "valid"]].sum()
    ranked = add_rates(totals[totals["events"] >= min_events])
    ranked = ranked.sort_values(["valid_rate", "precise_rate", "grp"])
    return ranked.head(limit).reset_index(drop=True)


def rates_by_source(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """Geocoding and validation rates over time per source."""
    return rates_from(quality_tallies(engine, filters, "source"))


def rates_by_state(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """Geocoding and validation rates over time per state."""
    return rates_from(quality_tallies(engine, filters, "state"))


def precision_mix(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """Events per geocoding precision per time bucket, with each level's share of the bucket."""
    frame = _dates(fetch(engine, qq.precision_mix_select(filters), capped=True))
    if frame.empty:
        return frame.assign(share=pd.Series(dtype=float))
    return frame.assign(share=frame["events"] / frame.groupby("bucket")["events"].transform("sum"))


def failures_by_rule(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """Events failing each validation rule per time bucket."""
    return _dates(fetch(engine, qq.failures_select(filters), capped=True))


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
    return worst_from(quality_tallies(engine, filters, "source"))


def worst_states(engine: Engine, filters: TrendFilters) -> pd.DataFrame:
    """States with the lowest validation pass rate."""
    return worst_from(quality_tallies(engine, filters, "state"))


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
