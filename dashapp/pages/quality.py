"""Data-quality trends: geocoding and validation over time, and the records behind every point."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

import dash
import dash_ag_grid as dag
import pandas as pd
import plotly.graph_objects as go
from dash import ALL, Input, Output, State, callback, ctx, dcc, html

import db
from dashapp import figures as fig
from dashapp import ids
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
    QUALITY_CHARTS,
    drilldown,
    quality_tallies,
    rates_from,
    worst_from,
)
from trends.filters import TrendFilters
from trends.quality_queries import DRILL_LIMIT, Drill

dash.register_page(__name__, path="/trends/quality", name="Data quality", order=4)
ALERT_TEXT = alert_state(ids.QUALITY_ALERT)  # database errors show in the page's alert (db_alert)

# Chart key -> what its customdata means when a point is clicked.
DRILL_MEANING = {
    "rates_source": "source",
    "rates_state": "state",
    "precision": "precision",
    "failures": "rule",
    "worst_sources": "source",
    "worst_states": "state",
}
TIME_CHARTS = {"rates_source", "rates_state", "precision", "failures"}
GRID_COLUMNS = ["event_id", "event_date", "state", "lga", "source", "reason", "severity", "detail"]
# Markdown's backslash-escapable punctuation: an event id given by an import stays text in its link.
MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def event_link(event_id: str) -> str:
    """Return a Markdown link from an event id to its page, under the app's path prefix (the grid renders it)."""
    text = MARKDOWN_PUNCTUATION.sub(r"\\\1", event_id)
    return f"[{text}]({dash.get_relative_path('/events/' + quote(event_id, safe=''))})"


def grid_column(name: str) -> dict[str, str]:
    """Return the grid's definition of column ``name`` (the event id as a link to the event's page)."""
    column = {"field": name, "headerName": name.replace("_", " ")}
    return column | {"cellRenderer": "markdown"} if name == "event_id" else column


def graph(key: str) -> dict[str, str]:
    """Return the id of one of this page's graphs."""
    return {"type": ids.QUALITY_GRAPH, "chart": key}


def _card(key: str, note: str = "") -> Any:
    return chart_card(ids.QUALITY_GRAPH, ids.QUALITY_CSV, key, QUALITY_CHARTS[key].title, note)


def layout(**query: Any) -> html.Div:
    """Render the filter bar from the URL, the quality charts and the drill-down grid."""
    options, db_error = page_options(db.engine())
    filters, error = parse_query(query, None if db_error else options["dataset"])
    error = error or db_error
    return html.Div(
        [
            dcc.Location(id=ids.QUALITY_URL, refresh=False),
            dcc.Store(id=ids.QUALITY_FILTERS),
            dcc.Download(id=ids.QUALITY_DOWNLOAD),
            html.H1("Data quality"),
            html.Div(error, id=ids.QUALITY_ALERT, className="trends-alert", hidden=error is None, role="alert"),
            filter_bar(ids.QUALITY_FILTER, filters, options, view=False),
            html.P("Click any point or bar to list the records behind it in the table below.", className="trends-note"),
            html.Div([_card("rates_source"), _card("rates_state")], className="trends-pair"),
            html.Div([_card("precision"), _card("failures")], className="trends-pair"),
            html.Div(
                [
                    _card("worst_sources", "Lowest validation pass rate; groups with at least 3 events."),
                    _card("worst_states", "Lowest validation pass rate; groups with at least 3 events."),
                ],
                className="trends-pair",
            ),
            html.Div(
                [
                    _card("completeness"),
                    _card("runs", "As recorded by each pipeline run (per source when sources are chosen)."),
                ],
                className="trends-pair",
            ),
            html.Section(
                [
                    html.H3("Records that failed a rule or were geocoded imprecisely"),
                    html.P(id=ids.QUALITY_DRILL, className="trends-note"),
                    dcc.Loading(
                        dag.AgGrid(
                            id=ids.QUALITY_GRID,
                            rowData=[],
                            columnDefs=[grid_column(name) for name in GRID_COLUMNS],
                            defaultColDef={"sortable": True, "filter": True, "resizable": True},
                            dashGridOptions={
                                "pagination": True,
                                "paginationPageSize": 20,
                                # Plain text: AG Grid treats overlay templates as HTML and Dash blocks them.
                                "localeText": {"noRowsToShow": "No records failed or were geocoded imprecisely here"},
                            },
                            style={"height": "520px"},
                        )
                    ),
                ],
                className="trends-card",
            ),
        ],
        className="trends-page",
    )


@callback(
    Output(ids.QUALITY_FILTERS, "data"),
    Output(ids.QUALITY_URL, "search"),
    Input({"type": ids.QUALITY_FILTER, "key": ALL}, "value"),
)
def sync_quality_filters(_values: list[Any]) -> tuple[str, str]:
    """Apply the controls: store the filters and write them into the URL."""
    return synced_filters()


def tally_figures(dimension: str, filters: TrendFilters) -> tuple[go.Figure, go.Figure]:
    """Draw the rates-by-``dimension`` and worst-groups charts from one aggregate per month and group."""
    tallies = quality_tallies(db.engine(), filters, dimension)
    return fig.make_rates_figure(rates_from(tallies)), fig.make_worst_figure(worst_from(tallies))


def chart_figure(key: str, make: Callable[[pd.DataFrame], go.Figure], filters: TrendFilters) -> go.Figure:
    """Load chart ``key`` for the filters and build its figure with ``make``."""
    return make(QUALITY_CHARTS[key].load(db.engine(), filters))


# Callback name (update_quality_<name>) -> the graphs it redraws when the filters change and how it
# draws them (one figure per graph). The rates and worst groups of a dimension share one aggregate.
REDRAWS: dict[str, tuple[tuple[str, ...], Callable[[TrendFilters], Any]]] = {
    "sources": (("rates_source", "worst_sources"), partial(tally_figures, "source")),
    "states": (("rates_state", "worst_states"), partial(tally_figures, "state")),
    "precision": (("precision",), partial(chart_figure, "precision", fig.make_precision_figure)),
    "failures": (("failures",), partial(chart_figure, "failures", fig.make_failures_figure)),
    "completeness": (("completeness",), partial(chart_figure, "completeness", fig.make_completeness_figure)),
    "runs": (("runs",), partial(chart_figure, "runs", fig.make_runs_figure)),
}


def redraw_callback(name: str, graphs: tuple[str, ...], draw: Callable[[TrendFilters], Any]) -> Callable[..., Any]:
    """Register the callback that redraws ``graphs`` with ``draw`` for the stored filters, and return it."""

    def update(query: str | None) -> Any:
        return draw(stored_filters(query))

    update.__name__ = update.__qualname__ = f"update_quality_{name}"  # what the logs name
    update.__doc__ = f"Redraw the {', '.join(graphs)} chart{'s' if len(graphs) > 1 else ''}."
    outputs = [Output(graph(key), "figure") for key in graphs]
    return callback(*outputs, Input(ids.QUALITY_FILTERS, "data"), ALERT_TEXT)(db_alert(ids.QUALITY_ALERT)(update))


UPDATES = {name: redraw_callback(name, graphs, draw) for name, (graphs, draw) in REDRAWS.items()}


def period_end(start: date, granularity: str) -> date:
    """Return the first day after the day/week/month starting at ``start``."""
    if granularity == "day":
        return start + timedelta(days=1)
    if granularity == "week":
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def drill_from_click(key: str, click: Mapping[str, Any] | None, granularity: str) -> Drill:
    """Turn a chart's clickData into the records it stands for."""
    points = (click or {}).get("points") or []
    if not points:
        return Drill()
    point = points[0]
    value = point.get("customdata")
    value = value[0] if isinstance(value, list) else value
    changes: dict[str, Any] = {}
    if key in TIME_CHARTS and point.get("x"):
        start = date.fromisoformat(str(point["x"])[:10])
        changes.update(period_start=start, period_end=period_end(start, granularity))
    meaning = DRILL_MEANING.get(key)
    if meaning in ("source", "state") and value not in (None, "Other"):
        changes.update(dimension=meaning, value=str(value))
    elif meaning in ("rule", "precision") and value is not None:
        changes[meaning] = str(value)
    return Drill(**changes)


@callback(
    Output(ids.QUALITY_GRID, "rowData"),
    Output(ids.QUALITY_DRILL, "children"),
    Input(ids.QUALITY_FILTERS, "data"),
    Input({"type": ids.QUALITY_GRAPH, "chart": ALL}, "clickData"),
    ALERT_TEXT,
)
@db_alert(ids.QUALITY_ALERT)
def update_quality_grid(query: str | None, _clicks: list[Any]) -> tuple[list[dict[str, Any]], str]:
    """List the records behind the clicked point (or all of them when nothing is clicked)."""
    filters = stored_filters(query)
    drill = Drill()
    trigger = ctx.triggered_id
    if isinstance(trigger, dict):
        click = next((item.get("value") for item in ctx.inputs_list[1] if item["id"] == trigger), None)
        drill = drill_from_click(trigger["chart"], click, filters.granularity)
    frame = drilldown(db.engine(), filters, drill)
    frame = frame.assign(
        event_id=[event_link(str(name)) for name in frame["event_id"]],
        event_date=[day.isoformat() if day else "" for day in frame["event_date"]],
    )
    return frame.to_dict("records"), drill_caption(len(frame), drill)


def drill_caption(count: int, drill: Drill, limit: int = DRILL_LIMIT) -> str:
    """Say how many record reasons the grid lists, and that only the newest are shown at the cap."""
    if count < limit:
        return f"{count:,} record reasons: {drill.label()}"
    # The query stops at the cap: more records may match, so never claim "all".
    scope = "" if drill == Drill() else f": {drill.label()}"
    return f"Record reasons, newest {limit:,} shown (more may match){scope}"


@callback(
    Output(ids.QUALITY_DOWNLOAD, "data"),
    Input({"type": ids.QUALITY_CSV, "chart": ALL}, "n_clicks"),
    State(ids.QUALITY_FILTERS, "data"),
    ALERT_TEXT,
    prevent_initial_call=True,
)
@db_alert(ids.QUALITY_ALERT)
def download_quality_csv(clicks: list[int | None], query: str | None) -> dict[str, Any]:
    """Send the clicked chart's data as CSV with a citation line."""
    return clicked_csv(QUALITY_CHARTS, clicks, query)
