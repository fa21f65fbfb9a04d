"""The live monitor panel shared by /monitor and /embed/monitor.

The server only lays out empty containers and the per-page settings; the
connection state machine and all rendering of pushed snapshots run in the
browser (assets/monitor.js, assets/monitor-render.js), so neither a state
change nor a push costs a server round trip.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

import dash
from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    clientside_callback,
    dcc,
    html,
)
from dash_extensions import WebSocket

from dashapp import ids
from dashapp.monitor_runs import replay_control, runs_settings

log = logging.getLogger(__name__)

HTTP_STATUS_PATH = "/api/v1/monitoring/pipeline-status"
WS_STATUS_PATH = "/api/v1/ws/monitoring/pipeline-status"

# Timing defaults of the issue; each may be overridden per page by a query
# parameter of the same name (the browser tests shorten them), within limits
# that keep a hostile URL from turning the page into a load generator.
DEFAULT_SETTINGS: dict[str, float] = {
    "backoff_base_ms": 1000,
    "backoff_cap_ms": 30000,
    "backoff_jitter": 0.2,
    "poll_after_failures": 5,
    "poll_interval_ms": 5000,
    "dead_after_ms": 30000,
    "stale_after_ms": 60000,
    "initial_fetch_ms": 2000,
    "tick_ms": 1000,
}
SETTING_LIMITS: dict[str, tuple[float, float]] = {
    "backoff_base_ms": (100, 60000),
    "backoff_cap_ms": (100, 300000),
    "backoff_jitter": (0, 0.5),
    "poll_after_failures": (1, 100),
    "poll_interval_ms": (200, 300000),
    "dead_after_ms": (500, 600000),
    "stale_after_ms": (500, 3600000),
    "initial_fetch_ms": (0, 60000),
    "tick_ms": (100, 5000),
}
INTEGER_SETTINGS = {"poll_after_failures"}


def parse_settings(query: Mapping[str, str] | None = None) -> dict[str, float]:
    """Return the timing settings: defaults, overridden by valid query parameters."""
    settings = dict(DEFAULT_SETTINGS)
    for key, raw in (query or {}).items():
        if key not in SETTING_LIMITS:
            continue
        try:
            value = float(raw)
        except (TypeError, ValueError):
            log.info("ignoring monitor setting %s=%r: not a number", key, raw)
            continue
        if not math.isfinite(value):
            continue
        low, high = SETTING_LIMITS[key]
        value = min(max(value, low), high)
        settings[key] = int(value) if key in INTEGER_SETTINGS else value
    settings["backoff_cap_ms"] = max(settings["backoff_cap_ms"], settings["backoff_base_ms"])
    return settings


def external_prefix(requests_prefix: str, routes_prefix: str) -> str:
    """Return the path prefix the browser sees in front of the Flask routes.

    Behind a proxy Dash's requests_pathname_prefix is e.g. ``/nvcd/`` while its
    routes stay at ``/``; the API, served by the same Flask app, sits under the
    same outer prefix. A Dash mounted at ``/dash/`` has no outer prefix.
    """
    requests_prefix = requests_prefix or "/"
    routes_prefix = routes_prefix or "/"
    if routes_prefix != "/" and requests_prefix.endswith(routes_prefix):
        requests_prefix = requests_prefix[: -len(routes_prefix)] or "/"
    return requests_prefix.rstrip("/")


def endpoint_paths() -> dict[str, str]:
    """Return the HTTP and WebSocket paths of the pipeline status, prefix included."""
    config = dash.get_app().config
    prefix = external_prefix(config.requests_pathname_prefix, config.routes_pathname_prefix)
    return {"http_path": prefix + HTTP_STATUS_PATH, "ws_path": prefix + WS_STATUS_PATH}


def client_settings(query: Mapping[str, str] | None, *, compact: bool) -> dict[str, object]:
    """Return everything the browser needs: timings, endpoints and component ids."""
    return {
        **parse_settings(query),
        **endpoint_paths(),
        **runs_settings(query),
        "compact": compact,
        "ids": {
            "ws": ids.MONITOR_WS,
            "poll": ids.MONITOR_POLL,
            "status": ids.MONITOR_STATUS,
            "age": ids.MONITOR_AGE,
            "body": ids.MONITOR_BODY,
            "system": ids.MONITOR_SYSTEM,
        },
    }


def status_bar(*, compact: bool) -> html.Div:
    """Lay out the connection indicator, the age of the data and the Refresh button."""
    return html.Div(
        [
            # Only the state is live for screen readers; the age ticks every second.
            html.Div(
                html.Span("Connecting…", className="monitor-state-label"),
                id=ids.MONITOR_STATUS,
                className="monitor-state monitor-state-connecting",
                role="status",
                **{"aria-live": "polite", "aria-atomic": "true"},
            ),
            html.Span("no data yet", id=ids.MONITOR_AGE, className="monitor-age"),
            html.Button(
                "Refresh",
                id=ids.MONITOR_REFRESH,
                n_clicks=0,
                className="monitor-refresh",
                title="Fetch the pipeline status now",
            ),
        ],
        className="monitor-statusbar" + (" monitor-statusbar-compact" if compact else ""),
    )


def panel(query: Mapping[str, str] | None = None, *, compact: bool = False) -> html.Div:
    """Build the monitor panel: settings, socket, poll timer, status bar and empty sections."""
    settings = client_settings(query, compact=compact)
    return html.Div(
        [
            dcc.Store(id=ids.MONITOR_SETTINGS, data=settings),
            WebSocket(id=ids.MONITOR_WS),
            dcc.Interval(id=ids.MONITOR_POLL, interval=int(settings["poll_interval_ms"]), disabled=True),
            status_bar(compact=compact),
            replay_control(bool(settings["include_replay"])),
            html.Div(
                html.P("Loading the pipeline status…", className="monitor-loading"),
                id=ids.MONITOR_BODY,
                className="monitor-body",
                **{"aria-busy": "true"},
            ),
            html.Section(id=ids.MONITOR_SYSTEM, className="monitor-system", **{"aria-label": "System health"}),
        ],
        className="monitor-panel" + (" monitor-compact" if compact else ""),
    )


# Entry points of the state machine in assets/monitor.js; each reports back
# through dash_clientside.set_props, so only `start` has a declared output.
CLIENTSIDE_NAMESPACE = "monitor"
CLIENTSIDE_CALLBACKS: tuple[tuple[str, tuple[object, ...], bool], ...] = (
    ("start", (Output(ids.MONITOR_WS, "url"), Input(ids.MONITOR_SETTINGS, "data")), False),
    ("onState", (Input(ids.MONITOR_WS, "state"),), True),
    ("onMessage", (Input(ids.MONITOR_WS, "message"),), True),
    ("onPoll", (Input(ids.MONITOR_POLL, "n_intervals"),), True),
    ("onRefresh", (Input(ids.MONITOR_REFRESH, "n_clicks"), State(ids.MONITOR_SETTINGS, "data")), True),
)

for _name, _dependencies, _prevent_initial in CLIENTSIDE_CALLBACKS:
    clientside_callback(
        ClientsideFunction(CLIENTSIDE_NAMESPACE, _name), *_dependencies, prevent_initial_call=_prevent_initial
    )
