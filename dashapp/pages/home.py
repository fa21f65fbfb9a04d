"""Landing page: where to go next."""

from __future__ import annotations

import dash
from dash import html

dash.register_page(__name__, path="/", name="Home", order=0)


def layout(**_query: str) -> html.Div:
    """Point the visitor at the monitor and the trend pages."""
    return html.Div(
        [
            html.H1("NVCD Monitor"),
            html.P("Live status of the Nigeria Violent Conflicts Database ingestion pipeline, and trend charts."),
        ]
    )
