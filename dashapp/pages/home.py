"""Landing page: where to go next."""

from __future__ import annotations

import dash
from dash import dcc, html

dash.register_page(__name__, path="/", name="Home", order=0)


def layout(**_query: str) -> html.Div:
    """Point the visitor at the monitor and the trend pages."""
    return html.Div(
        [
            html.H1("NVCD Monitor"),
            html.P("Live status of the Nigeria Violent Conflicts Database ingestion pipeline, and trend charts."),
            html.P(dcc.Link("Open the live pipeline monitor", href="/monitor", className="home-monitor-link")),
        ]
    )
