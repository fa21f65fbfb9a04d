"""The monitor panel's run history: the "include replay runs" control and the settings the strip needs.

The strip, the last finished run and the links to ``/runs/<id>`` are drawn in the browser from the
snapshot (assets/monitor-runs.js), which carries both views, so switching costs no round trip. The
choice starts from the page's query (``?replay=include``; anything else: replay hidden) and is kept in
the address when changed, so a copied or embedded URL shows the same runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import dash
from dash import ClientsideFunction, Input, clientside_callback, dcc, html

from dashapp import ids

log = logging.getLogger(__name__)

REPLAY_PARAM = "replay"
REPLAY_INCLUDE = "include"
REPLAY_CHOICES = {REPLAY_INCLUDE: True, "exclude": False}


def include_replay(query: Mapping[str, object] | None) -> bool:
    """Tell whether the page was asked to include replay runs (only ``replay=include`` does)."""
    raw = (query or {}).get(REPLAY_PARAM)
    if raw is None:
        return False
    if isinstance(raw, str) and raw in REPLAY_CHOICES:
        return REPLAY_CHOICES[raw]
    log.info("ignoring monitor setting %s=%r: not include or exclude", REPLAY_PARAM, raw)
    return False


def runs_settings(query: Mapping[str, object] | None) -> dict[str, object]:
    """Return what the browser needs for the run history: the choice and where run pages live."""
    return {
        "include_replay": include_replay(query),
        "replay_param": REPLAY_PARAM,
        "runs_path": dash.get_relative_path("/runs/"),
    }


def replay_control(include: bool) -> html.Div:
    """Lay out the control that shows or hides replay runs in the strip and the last finished run."""
    return html.Div(
        dcc.Checklist(
            id=ids.MONITOR_REPLAY,
            options=[{"label": " Include replay runs", "value": REPLAY_INCLUDE}],
            value=[REPLAY_INCLUDE] if include else [],
            inline=True,
        ),
        className="monitor-runsbar",
        title="Replay runs feed generated demo events; by default the run history shows imports only",
    )


clientside_callback(
    ClientsideFunction("monitorRuns", "onReplayToggle"), Input(ids.MONITOR_REPLAY, "value"), prevent_initial_call=True
)
