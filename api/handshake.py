"""What a WebSocket handshake must carry before we upgrade it: a well-formed request, a known Origin.

simple-websocket hands the handshake to wsproto only after flask-sock has taken the
connection, and wsproto's complaints (no Sec-WebSocket-Key, version 8, no Host…)
then end as a 500. These checks (the last one is wsproto's own, through
api/transport.py) run first, in the admission hook of api/ws.py, and
answer in the JSON error shape instead; they log at INFO, never higher.
"""

from __future__ import annotations

import base64
import logging

from flask import Response, request

from api.access import TOKEN_SUBPROTOCOL_PREFIX, origin_key, token_subprotocols
from api.errors import error_response
from api.transport import handshake_problem

log = logging.getLogger(__name__)

WEBSOCKET_VERSION = "13"  # RFC 6455; anything else is answered 426 with this version


def origin_allowed(origin: str | None, own_origin: str, allowed: list[str]) -> bool:
    """Return True when a browser Origin may open the socket (no Origin: not a browser).

    Origins compare by scheme, host and port: http://site is not https://site.
    """
    if origin is None:
        return True
    key = origin_key(origin)
    if key is None:
        return False  # "null" (sandboxed frames, files) or not an origin at all
    if allowed:
        return "*" in allowed or key in {origin_key(entry) for entry in allowed}
    return key == origin_key(own_origin)


def handshake_refusal() -> Response | None:
    """Answer a malformed WebSocket handshake with a 4xx before the server library would 500 on it."""
    version = request.headers.get("Sec-WebSocket-Version", "")
    if version.strip() != WEBSOCKET_VERSION:
        log.info("refusing a WebSocket handshake with version %r", version[:20])
        return error_response(
            426,
            "Unsupported WebSocket version",
            {"supported": [WEBSOCKET_VERSION]},
            headers={"Sec-WebSocket-Version": WEBSOCKET_VERSION},
        )
    key = request.headers.get("Sec-WebSocket-Key", "")
    try:
        valid_key = len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        valid_key = False
    if not valid_key:
        log.info("refusing a WebSocket handshake without a valid Sec-WebSocket-Key")
        return error_response(
            400, "Invalid WebSocket handshake", {"reason": "Sec-WebSocket-Key must be 16 bytes in base64"}
        )
    if len(token_subprotocols()) > 1:
        return error_response(
            400,
            "At most one token subprotocol",
            {"reason": f"offer one {TOKEN_SUBPROTOCOL_PREFIX}<token> subprotocol, not several"},
        )
    problem = handshake_problem(request.environ)
    if problem is not None:
        log.info("refusing a WebSocket handshake: %s", problem)
        return error_response(400, "Invalid WebSocket handshake", {"reason": problem})
    return None
