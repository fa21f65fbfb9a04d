"""The live-status access token (WS_ACCESS_TOKEN): who presents it, and a sign-in that sets its cookie.

With WS_ACCESS_TOKEN set, the pipeline-status snapshot (WebSocket and HTTP) needs
the token: ``Authorization: Bearer …``, the ``nvcd_ws_token`` cookie, or (WebSocket
only) one ``token.<token>`` subprotocol; never the query string. Browsers sign in
once at /sign-in, which sets the cookie (HttpOnly, SameSite=Lax, Secure over HTTPS),
so the panel's fetches and socket carry it without any script seeing it.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, redirect, render_template_string, request
from werkzeug.wrappers import Response as BaseResponse

log = logging.getLogger(__name__)

TOKEN_COOKIE = "nvcd_ws_token"
TOKEN_SUBPROTOCOL_PREFIX = "token."
COOKIE_MAX_AGE_SECONDS = 30 * 24 * 3600
SIGN_IN_PATH = "/sign-in"
ACCEPTED = ["Authorization: Bearer <token>", f"cookie {TOKEN_COOKIE} (sign in at {SIGN_IN_PATH})"]

bp = Blueprint("access", __name__)


def token_subprotocols() -> list[str]:
    """Return the tokens offered as ``token.<token>`` WebSocket subprotocols."""
    offered = [proto.strip() for proto in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    return [proto[len(TOKEN_SUBPROTOCOL_PREFIX) :] for proto in offered if proto.startswith(TOKEN_SUBPROTOCOL_PREFIX)]


def presented_tokens() -> list[str]:
    """Return the access tokens the request carries (header, subprotocol, cookie; never the query)."""
    tokens = []
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        tokens.append(value.strip())
    tokens.extend(token_subprotocols())
    if request.cookies.get(TOKEN_COOKIE):
        tokens.append(request.cookies[TOKEN_COOKIE])
    return tokens


def matches(candidate: str, expected: str) -> bool:
    """Compare a presented token with the configured one in constant time."""
    return hmac.compare_digest(candidate.encode(), expected.encode())


def token_ok(expected: str) -> bool:
    """Return True when no token is configured or one presented token matches it."""
    if not expected:
        return True
    return any(matches(token, expected) for token in presented_tokens())


def origin_key(url: str) -> tuple[str, str, int] | None:
    """Return (scheme, host, port) of an origin or URL, default ports filled in; None if it has none."""
    try:
        parts = urlsplit(url.strip().rstrip("/").lower())
        port = parts.port
    except ValueError:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    if scheme not in {"http", "https"} or not parts.hostname:
        return None
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def same_origin(origin: str | None) -> bool:
    """Tell whether a browser Origin header names this site itself (scheme, host and port)."""
    return origin is not None and origin_key(origin) is not None and origin_key(origin) == origin_key(request.host_url)


# -- sign-in for browsers ---------------------------------------------------------------------
PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="UTF-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - NVCD Monitor</title><link rel="stylesheet" href="/assets/style.css"></head>
<body><main class="page">
  <h1>Sign in to the live monitor</h1>
  {% if message %}<p class="alert" role="alert">{{ message }}</p>{% endif %}
  <form method="post" action="{{ action }}">
    <label for="token">Access token</label>
    <input id="token" name="token" type="password" autocomplete="current-password" required>
    <input type="hidden" name="next" value="{{ next }}">
    <button type="submit">Sign in</button>
  </form>
</main></body></html>
"""


def safe_next(target: str | None) -> str:
    """Return a local path to go on to after signing in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/monitor"
    return target


def sign_in_page(message: str = "", status: int = 200) -> Response:
    """Render the sign-in form."""
    html = render_template_string(
        PAGE, message=message, action=request.script_root + SIGN_IN_PATH, next=safe_next(request.values.get("next"))
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get(SIGN_IN_PATH)
def sign_in_form() -> Response:
    """Show the form that takes the access token."""
    if not current_app.config["WS_ACCESS_TOKEN"]:
        return sign_in_page("No access token is configured: the live status is public.")
    return sign_in_page()


@bp.post(SIGN_IN_PATH)
def sign_in() -> BaseResponse:
    """Set the token cookie when the form's token is right, then go back to the monitor."""
    expected = current_app.config["WS_ACCESS_TOKEN"]
    origin = request.headers.get("Origin")
    if origin is not None and not same_origin(origin):  # another site cannot sign a browser in
        return sign_in_page("Sign in from this site's own form.", 403)
    if not expected:
        return sign_in_page("No access token is configured: the live status is public.", 404)
    if not matches(request.form.get("token", ""), expected):
        log.info("sign-in refused: wrong token")
        return sign_in_page("That is not the access token.", 401)
    response = redirect(request.script_root + safe_next(request.form.get("next")), code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        expected,
        max_age=COOKIE_MAX_AGE_SECONDS,
        path="/",
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.post("/sign-out")
def sign_out() -> BaseResponse:
    """Forget the token cookie."""
    response = redirect(request.script_root + SIGN_IN_PATH, code=303)
    response.delete_cookie(TOKEN_COOKIE, path="/", secure=request.is_secure, httponly=True, samesite="Lax")
    return response
