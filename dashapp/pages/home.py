"""Landing page: where to go next."""

from __future__ import annotations

import dash
from dash import dcc, html

dash.register_page(__name__, path="/", name="Home", order=0)

PLACES = (
    ("/monitor", "Live pipeline monitor", "Runs and their stages as they happen, data quality, source health, alerts."),
    (
        "/trends/conflict",
        "Conflict trends",
        "Events, deaths, casualties, kidnappings and displacement over time, by place, crisis type, actor and source.",
    ),
    (
        "/trends/quality",
        "Data quality",
        "Geocoding and validation rates by source and state, and the records behind them.",
    ),
)


def layout(**_query: str) -> html.Div:
    """Point the visitor at the monitor and the trend pages."""
    return html.Div(
        [
            html.H1("NVCD Monitor"),
            html.P("Live status of the Nigeria Violent Conflicts Database ingestion pipeline, and trend charts."),
            html.Ul([html.Li([dcc.Link(title, href=href), " — ", text]) for href, title, text in PLACES]),
        ]
    )
