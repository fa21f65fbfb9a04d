"""Figure builders for the trend pages: each takes a chart loader's frame and returns a go.Figure.

Each figure is built in one ``go.Figure(data=[...], layout={...})`` call from plain dicts,
without plotly's per-property validation: validating took 5-30 ms per figure, more than the
database query of a narrow selection. tests/dashapp/test_figures.py validates every builder's
output instead, so a misspelt property still fails a test.

Plotly renders a subset of HTML (``<a href>``, ``<b>``, ``<br>``, ``<span style>``) in
trace names, titles, tick labels, annotations and hover text, and fills ``%{...}`` in a
hovertemplate. Every string that came from data (source, state, LGA, rule, precision...)
therefore goes through ``plot_text`` before it reaches a figure, and hovertemplates are
constants that take data only through ``customdata``. Where a click needs the raw value
(the quality page's drill-down), a point's customdata is ``[raw, label]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import plotly.graph_objects as go

EMPTY_MESSAGE = "No events match these filters"
PRECISION_ORDER = ("ward", "lga", "state", "none")
PRECISION_COLOURS = {"ward": "#1a7f37", "lga": "#4c9f70", "state": "#d29922", "none": "#cf222e"}
PALETTE = ("#0969da", "#cf222e", "#1a7f37", "#8250df", "#d29922", "#bf3989", "#57606a", "#0a3069", "#6e7781")
_AXIS = {"gridcolor": "#eaeef2", "zerolinecolor": "#d0d7de", "linecolor": "#d0d7de"}
# A small inline template: a named one ("plotly_white") is deep-copied into every figure (~7 ms each).
TEMPLATE = {
    "layout": {
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "colorway": list(PALETTE),
        "xaxis": _AXIS,
        "yaxis": _AXIS,
        "font": {"family": "system-ui, sans-serif"},
    }
}
LAYOUT = {"margin": {"l": 50, "r": 20, "t": 30, "b": 40}, "template": TEMPLATE, "height": 360}
# Nigeria's bounding box (degrees), so the map keeps the country's frame however few points it shows.
NIGERIA_LON = (2.6, 14.7)
NIGERIA_LAT = (4.2, 13.9)
PERCENT = {"tickformat": ".0%", "range": [0, 1.05]}
LEGEND_BELOW = {"orientation": "h", "y": -0.2}
DATE_HOVER = "%{x|%Y-%m-%d}: %{y}<extra>%{customdata[1]}</extra>"
RATE_HOVER = "%{x|%Y-%m-%d}: %{y:.0%}<extra>%{customdata[1]}</extra>"


def plot_text(value: object) -> str:
    """Return ``value`` as text Plotly shows literally: no tags, no entities, no template fields."""
    # Plotly decodes &amp; &lt; &gt; and numeric entities for display, so the text reads as it was;
    # it does not decode &quot;, so quotes stay as they are (harmless outside a tag).
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("%{", "%&#123;")


def plot_labels(values: Iterable[object]) -> list[str]:
    """Return each value through ``plot_text`` (category tick labels, per-point hover text)."""
    return [plot_text(value) for value in values]


def _tagged(value: object, count: int) -> list[list[object]]:
    # One [raw, label] pair per point: clicks read the raw value, hovertemplates show the label.
    return [[value, plot_text(value)]] * count


def _figure(data: list[dict[str, Any]], **layout: Any) -> go.Figure:
    return go.Figure(data=data, layout={**LAYOUT, **layout}, _validate=False)


def empty_figure(message: str = EMPTY_MESSAGE) -> go.Figure:
    """Return a blank figure that says why it is blank."""
    note = {
        "text": plot_text(message),
        "showarrow": False,
        "font": {"size": 16},
        "x": 0.5,
        "y": 0.5,
        "xref": "paper",
        "yref": "paper",
    }
    return _figure([], annotations=[note], xaxis={"visible": False}, yaxis={"visible": False})


def _lines(df: pd.DataFrame, y: str, **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "type": "scatter",
            "x": rows["bucket"],
            "y": rows[y],
            "name": plot_text(group),
            "mode": "lines+markers",
            "customdata": _tagged(group, len(rows)),
            "hovertemplate": DATE_HOVER,
            **extra,
        }
        for group, rows in df.groupby("grp", sort=False)
    ]


def make_series_figure(df: pd.DataFrame, y_label: str = "Events") -> go.Figure:
    """Plot value over time, one line per group (the group is each point's customdata)."""
    if df.empty:
        return empty_figure()
    return _figure(_lines(df, "value"), yaxis={"title": {"text": plot_text(y_label)}}, legend=LEGEND_BELOW)


def make_ranking_figure(df: pd.DataFrame, x_label: str = "Events") -> go.Figure:
    """Plot a horizontal bar per group, largest on top."""
    if df.empty:
        return empty_figure()
    bars = {"type": "bar", "x": df["value"], "y": plot_labels(df["grp"]), "orientation": "h", "customdata": df["grp"]}
    return _figure(
        [bars], xaxis={"title": {"text": plot_text(x_label)}}, yaxis={"autorange": "reversed", "automargin": True}
    )


def make_map_figure(df: pd.DataFrame, size_label: str = "Events") -> go.Figure:
    """Plot a bubble per LGA at its centroid on plain lon/lat axes (renders offline, no tiles, no WebGL)."""
    if df.empty:
        return empty_figure()
    peak = max(float(df["value"].max()), 1.0)
    bubbles = {
        "type": "scatter",
        "x": df["longitude"],
        "y": df["latitude"],
        "mode": "markers",
        "marker": {
            "size": 6 + 34 * (df["value"].astype(float) / peak) ** 0.5,
            "color": "#cf222e",
            "opacity": 0.6,
            "line": {"width": 1, "color": "#7d1a1a"},
        },
        "customdata": list(
            zip(plot_labels(df["state"]), plot_labels(df["lga"]), df["events"], df["value"], strict=False)
        ),
        "hovertemplate": f"%{{customdata[1]}}, %{{customdata[0]}}<br>events: %{{customdata[2]}}<br>"
        f"{plot_text(size_label)}: %{{customdata[3]}}<extra></extra>",
    }
    west, east = min(NIGERIA_LON[0], float(df["longitude"].min())), max(NIGERIA_LON[1], float(df["longitude"].max()))
    south, north = min(NIGERIA_LAT[0], float(df["latitude"].min())), max(NIGERIA_LAT[1], float(df["latitude"].max()))
    # constrain="domain": keep the aspect ratio by narrowing the plot, not by widening the longitude range.
    return _figure(
        [bubbles],
        height=520,
        xaxis={"title": {"text": "longitude"}, "range": [west, east], "constrain": "domain"},
        yaxis={"title": {"text": "latitude"}, "range": [south, north], "scaleanchor": "x", "scaleratio": 1},
    )


def make_rates_figure(df: pd.DataFrame) -> go.Figure:
    """Plot geocoding and validation pass rates over time, one line per group, in two stacked panels."""
    if df.empty:
        return empty_figure()
    data = []
    for n, (group, rows) in enumerate(df.groupby("grp", sort=False)):
        for axis, column in (("", "geocoded_rate"), ("2", "valid_rate")):
            data.append(
                {
                    "type": "scatter",
                    "x": rows["bucket"],
                    "y": rows[column],
                    "name": plot_text(group),
                    "legendgroup": plot_text(group),
                    "showlegend": not axis,
                    "mode": "lines+markers",
                    "customdata": _tagged(group, len(rows)),
                    "line": {"color": _colour(n)},
                    "xaxis": f"x{axis}",
                    "yaxis": f"y{axis}",
                    "hovertemplate": RATE_HOVER,
                }
            )
    return _figure(
        data,
        height=460,
        legend={"orientation": "h", "y": -0.15},
        xaxis={"anchor": "y", "matches": "x2", "showticklabels": False},
        xaxis2={"anchor": "y2"},
        yaxis={**PERCENT, "domain": [0.56, 1.0], "title": {"text": "geocoded"}},
        yaxis2={**PERCENT, "domain": [0.0, 0.44], "title": {"text": "passing validation"}},
    )


def make_precision_figure(df: pd.DataFrame) -> go.Figure:
    """Plot the share of events at each geocoding precision per time bucket, stacked."""
    if df.empty:
        return empty_figure()
    data = []
    for level in [*PRECISION_ORDER, *sorted(set(df["precision"]) - set(PRECISION_ORDER))]:
        rows = df[df["precision"] == level]
        if not rows.empty:
            data.append(
                {
                    "type": "bar",
                    "x": rows["bucket"],
                    "y": rows["share"],
                    "name": plot_text(level),
                    "customdata": _tagged(level, len(rows)),
                    "marker": {"color": PRECISION_COLOURS.get(level)},
                    "hovertemplate": RATE_HOVER,
                }
            )
    return _figure(data, barmode="stack", yaxis={"tickformat": ".0%", "title": {"text": "share of events"}})


def make_failures_figure(df: pd.DataFrame) -> go.Figure:
    """Plot events failing each validation rule per time bucket, stacked by rule."""
    if df.empty:
        return empty_figure("No validation failures for these filters")
    totals = df.groupby(["rule", "bucket"], as_index=False)["events"].sum()
    data = [
        {
            "type": "bar",
            "x": rows["bucket"],
            "y": rows["events"],
            "name": plot_text(rule),
            "customdata": _tagged(rule, len(rows)),
            "hovertemplate": DATE_HOVER,
        }
        for rule, rows in totals.groupby("rule", sort=True)
    ]
    return _figure(data, barmode="stack", yaxis={"title": {"text": "events failing"}})


def make_completeness_figure(df: pd.DataFrame) -> go.Figure:
    """Plot the share of events with each key field filled."""
    if df.empty:
        return empty_figure()
    bars = {
        "type": "bar",
        "x": df["share"],
        "y": plot_labels(df["field"]),
        "orientation": "h",
        "customdata": df["field"],
        "text": [f"{v:.0%}" for v in df["share"]],
        "textposition": "auto",
    }
    return _figure(
        [bars], xaxis={"tickformat": ".0%", "range": [0, 1]}, yaxis={"autorange": "reversed", "automargin": True}
    )


def make_worst_figure(df: pd.DataFrame) -> go.Figure:
    """Plot validation pass and LGA-or-better geocoding rates for the worst groups."""
    if df.empty:
        return empty_figure("Too few events per group for these filters")
    data = [
        {
            "type": "bar",
            "x": df[column],
            "y": plot_labels(df["grp"]),
            "name": name,
            "orientation": "h",
            "customdata": df["grp"],
            "hovertemplate": "%{y}: %{x:.0%}<extra></extra>",
        }
        for column, name in (("valid_rate", "passing validation"), ("precise_rate", "geocoded to LGA or better"))
    ]
    return _figure(
        data,
        barmode="group",
        xaxis={"tickformat": ".0%", "range": [0, 1]},
        yaxis={"autorange": "reversed", "automargin": True},
        legend=LEGEND_BELOW,
    )


def make_runs_figure(df: pd.DataFrame) -> go.Figure:
    """Plot the rates each pipeline run recorded, one line per rate and source."""
    if df.empty:
        return empty_figure("No pipeline runs recorded yet")
    data = [
        {
            "type": "scatter",
            "x": rows["timestamp"],
            "y": rows[column],
            "name": f"{plot_text(group)}: {label}",
            "mode": "lines+markers",
            "customdata": rows["run_id"],
            "hovertemplate": "run %{customdata}: %{y:.0%}<extra></extra>",
        }
        for group, rows in df.groupby("grp", sort=False)
        for column, label in (("geocoding_success_rate", "geocoding"), ("validation_pass_rate", "validation"))
    ]
    return _figure(data, yaxis=PERCENT)


def _colour(n: int) -> str:
    return PALETTE[n % len(PALETTE)]
