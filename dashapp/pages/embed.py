"""The embeddable monitor: the same panel, compact, without the site navigation."""

from __future__ import annotations

import dash
from dash import html

from dashapp.monitor_panel import panel

EMBED_PATH = "/embed/monitor"

dash.register_page(__name__, path=EMBED_PATH, name="Embedded monitor", title="NVCD pipeline status", hide_nav=True)


def layout(**query: str) -> html.Div:
    """Lay out the compact panel for iframes on partner sites."""
    return html.Div(
        [
            html.H1("NVCD pipeline status", className="monitor-embed-title"),
            panel(query, compact=True),
        ],
        className="monitor-embed",
    )
