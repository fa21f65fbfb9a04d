"""Figure builders for the trend pages: each takes a chart loader's frame and returns a go.Figure."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

EMPTY_MESSAGE = "No events match these filters"
PRECISION_ORDER = ("ward", "lga", "state", "none")
PRECISION_COLOURS = {"ward": "#1a7f37", "lga": "#4c9f70", "state": "#d29922", "none": "#cf222e"}
LAYOUT = {"margin": {"l": 50, "r": 20, "t": 30, "b": 40}, "template": "plotly_white", "height": 360}


def empty_figure(message: str = EMPTY_MESSAGE) -> go.Figure:
    """Return a blank figure that says why it is blank."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": 16}, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(**LAYOUT, xaxis={"visible": False}, yaxis={"visible": False})
    return fig


def make_series_figure(df: pd.DataFrame, y_label: str = "Events") -> go.Figure:
    """Plot value over time, one line per group (the group is each point's customdata)."""
    if df.empty:
        return empty_figure()
    fig = go.Figure()
    for group, rows in df.groupby("grp", sort=False):
        fig.add_trace(go.Scatter(
            x=rows["bucket"], y=rows["value"], name=str(group), mode="lines+markers",
            customdata=[group] * len(rows), hovertemplate="%{x|%Y-%m-%d}: %{y}<extra>%{customdata}</extra>",
        ))
    fig.update_layout(**LAYOUT, yaxis_title=y_label, legend={"orientation": "h", "y": -0.2})
    return fig


def make_ranking_figure(df: pd.DataFrame, x_label: str = "Events") -> go.Figure:
    """Plot a horizontal bar per group, largest on top."""
    if df.empty:
        return empty_figure()
    fig = go.Figure(go.Bar(x=df["value"], y=df["grp"].astype(str), orientation="h", customdata=df["grp"]))
    fig.update_layout(**LAYOUT, xaxis_title=x_label, yaxis={"autorange": "reversed"})
    return fig


def make_map_figure(df: pd.DataFrame, size_label: str = "Events") -> go.Figure:
    """Plot a bubble per LGA at its centroid on plain lon/lat axes (renders offline, no tiles, no WebGL)."""
    if df.empty:
        return empty_figure()
    peak = max(float(df["value"].max()), 1.0)
    fig = go.Figure(go.Scatter(
        x=df["longitude"], y=df["latitude"], mode="markers",
        marker={"size": 6 + 34 * (df["value"].astype(float) / peak) ** 0.5, "color": "#cf222e", "opacity": 0.6,
                "line": {"width": 1, "color": "#7d1a1a"}},
        customdata=df[["state", "lga", "events", "value"]].to_numpy(),
        hovertemplate=f"%{{customdata[1]}}, %{{customdata[0]}}<br>events: %{{customdata[2]}}<br>"
                      f"{size_label}: %{{customdata[3]}}<extra></extra>",
    ))
    fig.update_layout(**LAYOUT, xaxis_title="longitude", yaxis_title="latitude")
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def make_context_figure(df: pd.DataFrame) -> go.Figure:
    """Plot the selection's data-quality shares as bars (0-100 %)."""
    if df.empty or int(df["events"].iloc[0]) == 0:
        return empty_figure()
    row = df.iloc[0]
    labels = ["Geocoded to LGA or better", "Counts derived from vague words", "Failing validation"]
    values = [row["precise_share"], row["derived_share"], row["failing_share"]]
    fig = go.Figure(go.Bar(x=[v * 100 for v in values], y=labels, orientation="h",
                           text=[f"{v:.0%}" for v in values], textposition="auto"))
    fig.update_layout(**{**LAYOUT, "height": 200}, xaxis={"range": [0, 100], "title": "% of events"})
    return fig


def make_rates_figure(df: pd.DataFrame) -> go.Figure:
    """Plot geocoding and validation pass rates over time, one line per group, in two panels."""
    if df.empty:
        return empty_figure()
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("Geocoded (any precision)", "Passing validation"))
    for n, (group, rows) in enumerate(df.groupby("grp", sort=False)):
        for row, column in ((1, "geocoded_rate"), (2, "valid_rate")):
            fig.add_trace(go.Scatter(
                x=rows["bucket"], y=rows[column], name=str(group), legendgroup=str(group), showlegend=row == 1,
                mode="lines+markers", customdata=[group] * len(rows), line={"color": _colour(n)},
                hovertemplate="%{x|%Y-%m-%d}: %{y:.0%}<extra>%{customdata}</extra>",
            ), row=row, col=1)
    fig.update_layout(**{**LAYOUT, "height": 460}, legend={"orientation": "h", "y": -0.15})
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
    return fig


def make_precision_figure(df: pd.DataFrame) -> go.Figure:
    """Plot the share of events at each geocoding precision per time bucket, stacked."""
    if df.empty:
        return empty_figure()
    fig = go.Figure()
    for level in [*PRECISION_ORDER, *sorted(set(df["precision"]) - set(PRECISION_ORDER))]:
        rows = df[df["precision"] == level]
        if rows.empty:
            continue
        fig.add_trace(go.Bar(x=rows["bucket"], y=rows["share"], name=level, customdata=[level] * len(rows),
                             marker_color=PRECISION_COLOURS.get(level),
                             hovertemplate="%{x|%Y-%m-%d}: %{y:.0%}<extra>%{customdata}</extra>"))
    fig.update_layout(**LAYOUT, barmode="stack", yaxis={"tickformat": ".0%", "title": "share of events"})
    return fig


def make_failures_figure(df: pd.DataFrame) -> go.Figure:
    """Plot events failing each validation rule per time bucket, stacked by rule."""
    if df.empty:
        return empty_figure("No validation failures for these filters")
    fig = go.Figure()
    for rule, rows in df.groupby("rule", sort=True):
        totals = rows.groupby("bucket", as_index=False)["events"].sum()
        fig.add_trace(go.Bar(x=totals["bucket"], y=totals["events"], name=str(rule), customdata=[rule] * len(totals),
                             hovertemplate="%{x|%Y-%m-%d}: %{y}<extra>%{customdata}</extra>"))
    fig.update_layout(**LAYOUT, barmode="stack", yaxis_title="events failing")
    return fig


def make_completeness_figure(df: pd.DataFrame) -> go.Figure:
    """Plot the share of events with each key field filled."""
    if df.empty:
        return empty_figure()
    fig = go.Figure(go.Bar(x=df["share"], y=df["field"], orientation="h", customdata=df["field"],
                           text=[f"{v:.0%}" for v in df["share"]], textposition="auto"))
    fig.update_layout(**LAYOUT, xaxis={"tickformat": ".0%", "range": [0, 1]}, yaxis={"autorange": "reversed"})
    return fig


def make_worst_figure(df: pd.DataFrame) -> go.Figure:
    """Plot validation pass and LGA-or-better geocoding rates for the worst groups."""
    if df.empty:
        return empty_figure("Too few events per group for these filters")
    fig = go.Figure()
    for column, name in (("valid_rate", "passing validation"), ("precise_rate", "geocoded to LGA or better")):
        fig.add_trace(go.Bar(x=df[column], y=df["grp"].astype(str), name=name, orientation="h",
                             customdata=df["grp"], hovertemplate="%{y}: %{x:.0%}<extra></extra>"))
    fig.update_layout(**LAYOUT, barmode="group", xaxis={"tickformat": ".0%", "range": [0, 1]},
                      yaxis={"autorange": "reversed"}, legend={"orientation": "h", "y": -0.2})
    return fig


def make_runs_figure(df: pd.DataFrame) -> go.Figure:
    """Plot the rates each pipeline run recorded, one line per rate and source."""
    if df.empty:
        return empty_figure("No pipeline runs recorded yet")
    fig = go.Figure()
    for group, rows in df.groupby("grp", sort=False):
        for column, label in (("geocoding_success_rate", "geocoding"), ("validation_pass_rate", "validation")):
            fig.add_trace(go.Scatter(x=rows["timestamp"], y=rows[column], name=f"{group}: {label}",
                                     mode="lines+markers", customdata=rows["run_id"],
                                     hovertemplate="run %{customdata}: %{y:.0%}<extra></extra>"))
    fig.update_layout(**LAYOUT, yaxis={"tickformat": ".0%", "range": [0, 1.05]})
    return fig


def _colour(n: int) -> str:
    palette = ("#0969da", "#cf222e", "#1a7f37", "#8250df", "#d29922", "#bf3989", "#57606a", "#0a3069", "#6e7781")
    return palette[n % len(palette)]
