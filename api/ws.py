"""The live pipeline-status WebSocket (flask-sock): admission before the upgrade, then pushes.

Admission runs as a before_request hook, i.e. before flask-sock upgrades the
connection, so refusals are ordinary JSON errors: 400 for a malformed handshake
(no valid Sec-WebSocket-Key, several token subprotocols), 426 for a version other
than 13, 403 for a foreign Origin, 401 without the access token (api/access.py),
503 + Retry-After when this process is at its socket cap (api/handshake.py has
the handshake rules). A Host outside TRUSTED_HOSTS is refused with 400 by Flask
before any of this. After the upgrade the process's publisher (api/broadcaster.py,
api/fanout.py) writes to the socket directly; the handler sends the first snapshot, finishes
what a slow client could not take, pings, and closes with 1001 on shutdown. What it needs
of flask-sock/simple-websocket/wsproto beyond their public API goes through api/transport.py.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time

from apiflask import APIBlueprint, APIFlask
from flask import Response, current_app, g, request
from flask_sock import Sock
from simple_websocket import Server

from api.access import ACCEPTED, TOKEN_SUBPROTOCOL_PREFIX, token_ok
from api.broadcaster import Broadcaster, app_broadcaster, register_broadcaster
from api.errors import error_response
from api.fanout import CapacityError, Fanout, Subscription
from api.handshake import handshake_refusal, origin_allowed
from api.transport import PING_FRAME, FrameRefused, Link, rewrite_deflate_offer
from api.wire import SendTimeout
from status.snapshot import build_snapshot

log = logging.getLogger(__name__)

ROUTES = ("/api/v1/ws/monitoring/pipeline-status", "/ws/monitoring/pipeline-status")
SUBPROTOCOL = "nvcd.v1"
RETRY_AFTER_SECONDS = 30
CLOSE_GOING_AWAY = 1001
CLOSE_PING_TIMEOUT = 1011
CLOSE_SEND_SECONDS = 1.0

sock = Sock()
bp = APIBlueprint("ws", __name__, enable_openapi=False)


def init_app(app: APIFlask) -> None:
    """Bind the WebSocket routes and this app's Broadcaster (started lazily per process)."""
    app.config.setdefault(
        "SOCK_SERVER_OPTIONS",
        {
            "subprotocols": [SUBPROTOCOL],
            # simple-websocket closes with 1009 when a client message exceeds this.
            "max_message_size": app.config["WS_MAX_MESSAGE_BYTES"],
            # Pings come from our handler, so only our code writes data and ping frames
            # (simple-websocket's reader writes just pongs and close replies).
            "ping_interval": None,
        },
    )
    register_broadcaster(
        app,
        Broadcaster(
            app.extensions["engine"],
            build_snapshot,
            max_clients=app.config["WS_MAX_CLIENTS"],
            heartbeat_s=app.config["WS_HEARTBEAT_SECONDS"],
            rebuild_s=app.config["WS_REBUILD_SECONDS"],
            poll_s=app.config["WS_POLL_SECONDS"],
            deadline_s=app.config["DB_DEADLINE_SECONDS"],
        ),
    )
    sock.init_app(app)
    app.register_blueprint(bp)


def broadcaster(app: APIFlask | None = None) -> Broadcaster:
    """Return the app's Broadcaster (init_app registered it)."""
    hub = app_broadcaster(app)
    if hub is None:
        raise RuntimeError("api.ws.init_app was not called for this app")
    return hub


# -- admission (before the upgrade) -----------------------------------------
@bp.before_request
def admit() -> Response | None:
    """Refuse the upgrade with a JSON error, or reserve a client slot for it."""
    if request.url_rule is None or not request.url_rule.websocket:
        return None
    cfg = current_app.config
    refusal = handshake_refusal()
    if refusal is not None:
        return refusal
    if not origin_allowed(request.headers.get("Origin"), request.host_url, cfg["WS_ALLOWED_ORIGINS"]):
        return error_response(403, "Origin not allowed", {"origin": request.headers.get("Origin")})
    if not token_ok(cfg["WS_ACCESS_TOKEN"]):
        return error_response(
            401, "Access token required", {"accepted": [*ACCEPTED, f"subprotocol {TOKEN_SUBPROTOCOL_PREFIX}<token>"]}
        )
    try:
        g.ws_subscription = broadcaster().fanout.reserve()
    except CapacityError as exc:
        return error_response(
            503,
            "Too many live connections; use polling or retry later",
            {"reason": str(exc), "retry_after_s": RETRY_AFTER_SECONDS},
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    g.ws_window_bits = rewrite_deflate_offer(request.environ)
    return None


@bp.teardown_request
def release_slot(_exc: BaseException | None) -> None:
    """Free the client slot when the connection's request ends, however it ends."""
    sub = g.pop("ws_subscription", None)
    if sub is not None:
        broadcaster().fanout.release(sub)


# -- the connection ------------------------------------------------------------
def close(link: Link, fanout: Fanout, sub: Subscription, code: int, reason: str) -> None:
    """Send a close frame between whole frames, with a bound, and mark the connection closed."""
    fanout.release(sub)
    if not link.connected:
        return
    link.mark_closed()
    try:
        fanout.send_control(sub, link.raw, link.close_frame(code, reason), CLOSE_SEND_SECONDS)
    except (SendTimeout, OSError, FrameRefused):
        abort(link)


def abort(link: Link) -> None:
    """Drop a connection without a close frame (it cannot take one)."""
    link.mark_closed()
    with contextlib.suppress(OSError):
        link.raw.shutdown(socket.SHUT_RDWR)


def serve(link: Link, hub: Broadcaster, sub: Subscription, window_bits: int | None) -> None:
    """Relay the broadcast to one client until it leaves, stalls or the process stops.

    The publisher writes to this socket directly while it is idle; this handler
    only sends the first snapshot, finishes what the publisher could not write,
    pings, and closes with 1001 when the process stops. Every write is bounded.
    """
    cfg = current_app.config
    send_timeout, ping_every = cfg["WS_SEND_TIMEOUT_SECONDS"], cfg["WS_PING_SECONDS"]
    fanout, raw = hub.fanout, link.raw
    link.route_reader_writes(fanout.control_writer(sub, raw, send_timeout))  # the reader's pongs take turns too
    fanout.attach(sub, raw, window_bits)
    next_ping = time.monotonic() + ping_every
    try:
        while link.connected and not sub.broken and not fanout.stopping:
            fanout.catch_up(sub, send_timeout)
            if time.monotonic() >= next_ping:
                if not link.take_pong():
                    close(link, fanout, sub, CLOSE_PING_TIMEOUT, "Ping timeout")
                    return
                fanout.send_control(sub, raw, PING_FRAME, send_timeout)
                next_ping = time.monotonic() + ping_every
            # Wake for the publisher, or to notice a client the reader saw leave.
            sub.wake.wait(max(0.0, min(next_ping - time.monotonic(), hub.heartbeat_s)))
            sub.wake.clear()
            link.discard_input()  # clients have nothing to tell us; size is capped upstream
        if sub.broken:
            abort(link)  # a write failed: the peer is gone
        elif fanout.stopping:
            fanout.catch_up(sub, CLOSE_SEND_SECONDS)  # the latest whole frame, then the close frame
            close(link, fanout, sub, CLOSE_GOING_AWAY, "Server shutting down")
    except SendTimeout as exc:
        hub.stats["dropped"] += 1
        log.info("dropping a stalled client: %s", exc)
        abort(link)
    except OSError as exc:
        log.debug("client went away: %s", exc)
        abort(link)
    finally:
        fanout.release(sub)


def pipeline_status(ws: Server) -> None:
    """Push the current snapshot, then every change and a heartbeat, to one client."""
    hub = broadcaster()
    hub.ensure_started()
    serve(Link(ws), hub, g.ws_subscription, g.ws_window_bits)


def upgrade_required() -> Response:
    """Answer a plain HTTP request to a WebSocket route with 426 (not a Dash page)."""
    return error_response(
        426,
        "WebSocket upgrade required",
        {"polling": "/api/v1/monitoring/pipeline-status"},
        headers={"Upgrade": "websocket"},
    )


for _path, _endpoint in zip(ROUTES, ("pipeline_status", "pipeline_status_legacy"), strict=True):
    sock.route(_path, bp=bp, endpoint=_endpoint)(pipeline_status)
    bp.add_url_rule(_path, f"{_endpoint}_http", upgrade_required, methods=["GET"])
