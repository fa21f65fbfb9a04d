"""The live monitor page: the full panel, with links to the trend pages."""

from __future__ import annotations

import dash
from dash import html

from dashapp.monitor_panel import panel

dash.register_page(__name__, path="/monitor", name="Monitor", title="Live monitor · NVCD Monitor", order=1)

TREND_LINKS = (("/trends/quality", "Data-quality trends"), ("/trends/conflict", "Conflict trends"))


def layout(**query: str) -> html.Div:
    """Lay out the full monitor page: heading, links to the trends, the live panel."""
    return html.Div(
        [
            html.Div(
                [
                    html.H1("Live pipeline monitor"),
                    # Plain links: a full page load also closes this page's WebSocket.
                    html.Nav(
                        [
                            html.A(label, href=dash.get_relative_path(path), className="monitor-trend-link")
                            for path, label in TREND_LINKS
                        ],
                        className="monitor-links",
                        **{"aria-label": "Trend pages"},
                    ),
                ],
                className="monitor-heading",
            ),
            panel(query, compact=False),
        ],
        className="monitor-page",
    )
