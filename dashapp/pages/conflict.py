"""Conflict trends: events and casualties over time and place, beside the data quality behind them."""

from __future__ import annotations

from typing import Any

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import ALL, Input, Output, State, callback, dcc, html

import db
from dashapp import ids
from dashapp.figures import make_map_figure, make_ranking_figure, make_series_figure
from dashapp.filters_ui import (
    alert_state,
    chart_card,
    clicked_csv,
    db_alert,
    filter_bar,
    page_options,
    parse_query,
    stored_filters,
    synced_filters,
)
from trends.charts import (
    CONFLICT_CHARTS,
    context_from,
    lgas_from,
    map_from,
    place_summary,
    states_from,
)
from trends.filters import DIMENSION_LABELS, METRIC_LABELS, TrendFilters

dash.register_page(__name__, path="/trends/conflict", name="Conflict trends", order=3)
ALERT_TEXT = alert_state(ids.CONFLICT_ALERT)  # database errors show in the page's alert (db_alert)


def graph(key: str) -> dict[str, str]:
    """Return the id of one of this page's graphs."""
    return {"type": ids.CONFLICT_GRAPH, "chart": key}


def layout(**query: Any) -> html.Div:
    """Render the filter bar from the URL, the quality context and the charts."""
    options, db_error = page_options(db.engine())
    filters, error = parse_query(query, None if db_error else options["dataset"])
    error = error or db_error
    return html.Div(
        [
            dcc.Location(id=ids.CONFLICT_URL, refresh=False),
            dcc.Store(id=ids.CONFLICT_FILTERS),
            dcc.Download(id=ids.CONFLICT_DOWNLOAD),
            html.H1("Conflict trends"),
            html.Div(error, id=ids.CONFLICT_ALERT, className="trends-alert", hidden=error is None, role="alert"),
            filter_bar(ids.CONFLICT_FILTER, filters, options, view=True),
            html.Div(
                [
                    html.Div(
                        [
                            chart_card(ids.CONFLICT_GRAPH, ids.CONFLICT_CSV, "series", "Over time"),
                            html.Div(
                                [
                                    chart_card(
                                        ids.CONFLICT_GRAPH, ids.CONFLICT_CSV, "states", CONFLICT_CHARTS["states"].title
                                    ),
                                    chart_card(
                                        ids.CONFLICT_GRAPH, ids.CONFLICT_CSV, "lgas", CONFLICT_CHARTS["lgas"].title
                                    ),
                                ],
                                className="trends-pair",
                            ),
                            chart_card(
                                ids.CONFLICT_GRAPH,
                                ids.CONFLICT_CSV,
                                "map",
                                CONFLICT_CHARTS["map"].title,
                                "Bubbles at LGA centroids; size by the chosen measure."
                                " No base map: it renders offline.",
                            ),
                        ],
                        className="trends-main",
                    ),
                    html.Aside(
                        [
                            html.H3("Can I trust it?"),
                            dcc.Loading(html.Div(id=ids.CONFLICT_CONTEXT)),
                        ],
                        className="trends-context",
                    ),
                ],
                className="trends-layout",
            ),
        ],
        className="trends-page",
    )


@callback(
    Output(ids.CONFLICT_FILTERS, "data"),
    Output(ids.CONFLICT_URL, "search"),
    Input({"type": ids.CONFLICT_FILTER, "key": ALL}, "value"),
)
def sync_conflict_filters(_values: list[Any]) -> tuple[str, str]:
    """Apply the controls: store the filters and write them into the URL."""
    return synced_filters()


@callback(Output(graph("series"), "figure"), Input(ids.CONFLICT_FILTERS, "data"), ALERT_TEXT)
@db_alert(ids.CONFLICT_ALERT)
def update_conflict_series(query: str | None) -> go.Figure:
    """Redraw the over-time chart."""
    filters = stored_filters(query)
    return make_series_figure(CONFLICT_CHARTS["series"].load(db.engine(), filters), METRIC_LABELS[filters.metric])


@callback(
    Output(graph("states"), "figure"),
    Output(graph("lgas"), "figure"),
    Output(graph("map"), "figure"),
    Output(ids.CONFLICT_CONTEXT, "children"),
    Input(ids.CONFLICT_FILTERS, "data"),
    ALERT_TEXT,
)
@db_alert(ids.CONFLICT_ALERT)
def update_conflict_places(query: str | None) -> tuple[go.Figure, go.Figure, go.Figure, list[Any]]:
    """Redraw the state and LGA rankings, the map and the quality context from one per-LGA aggregate."""
    filters = stored_filters(query)
    summary = place_summary(db.engine(), filters)
    label = METRIC_LABELS[filters.metric]
    return (
        make_ranking_figure(states_from(summary), label),
        make_ranking_figure(lgas_from(summary), label),
        make_map_figure(map_from(summary), label),
        context_tiles(context_from(summary), filters, query),
    )


def context_tiles(context: pd.DataFrame, filters: TrendFilters, query: str | None) -> list[Any]:
    """Show how good the data behind the selection is."""
    row = context.iloc[0]
    events = int(row["events"])
    if events == 0:
        return [html.P("No events match these filters.", className="trends-empty")]
    tiles = [
        ("Events in selection", f"{events:,}", "events"),
        ("Geocoded to LGA or better", f"{row['precise_share']:.0%}", "precise"),
        ("Counts derived from vague words", f"{row['derived_share']:.0%}", "derived"),
        ("Failing validation", f"{row['failing_share']:.0%}", "failing"),
    ]
    return [
        html.Div(
            [html.Span(value, className="trends-stat-value"), html.Span(label)],
            className="trends-stat",
            **{"data-stat": key},
        )
        for label, value, key in tiles
    ] + [
        html.P(
            f"Grouped by {DIMENSION_LABELS[filters.group_by].lower()}; see Data quality for detail.",
            className="trends-note",
        ),
        dcc.Link("Data quality for this selection", href=quality_href(query)),
    ]


def quality_href(query: str | None) -> str:
    """Return the link to the quality page for the same selection, under the app's path prefix."""
    path = dash.get_relative_path("/trends/quality")
    return f"{path}?{query}" if query else path


@callback(
    Output(ids.CONFLICT_DOWNLOAD, "data"),
    Input({"type": ids.CONFLICT_CSV, "chart": ALL}, "n_clicks"),
    State(ids.CONFLICT_FILTERS, "data"),
    ALERT_TEXT,
    prevent_initial_call=True,
)
@db_alert(ids.CONFLICT_ALERT)
def download_conflict_csv(clicks: list[int | None], query: str | None) -> dict[str, Any]:
    """Send the clicked chart's data as CSV with a citation line."""
    return clicked_csv(CONFLICT_CHARTS, clicks, query)
