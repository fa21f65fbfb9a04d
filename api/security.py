"""Security headers on every response (flask-talisman), the proxy in front, and the public URL.

One strict Content-Security-Policy for pages, API answers, errors and assets:
scripts only from this origin plus the hashes of Dash's own inline scripts (no
'unsafe-eval', no 'unsafe-inline' scripts); styles need 'unsafe-inline' (Dash and
Plotly set style attributes). HSTS goes out only on HTTPS, which behind Railway's
proxy is known from X-Forwarded-Proto once ProxyFix trusts PROXY_FIX_HOPS proxies.
"""

from __future__ import annotations

import logging

from apiflask import APIFlask
from dash import Dash
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger(__name__)


def content_security_policy(script_hashes: list[str]) -> dict[str, str | list[str]]:
    """Return the site-wide CSP: this origin only, Dash's inline scripts by hash."""
    return {
        "default-src": "'self'",
        "script-src": ["'self'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],  # Plotly's "download as PNG", Swagger UI's icons
        "font-src": ["'self'", "data:"],
        "connect-src": "'self'",  # includes ws:/wss: to this host (CSP 3)
        "worker-src": ["'self'", "blob:"],
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'self'",  # dashapp/security.py widens it on the embed page
    }


def dash_script_hashes(dash_app: Dash) -> list[str]:
    """Return the CSP sources of Dash's inline scripts (renderer start-up, inline callbacks)."""
    return list(dash_app.csp_hashes())  # already quoted: "'sha256-…'"


def init_app(app: APIFlask, dash_app: Dash) -> None:
    """Trust the configured proxies, pin the OpenAPI servers and send the security headers."""
    hops = int(app.config["PROXY_FIX_HOPS"])
    if hops:
        # Only the scheme and the client address: the Host the proxy forwards is the one checked.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.config["AUTO_SERVERS"] = False  # never take the spec's URL from a request's Host
    if app.config.get("PUBLIC_URL"):
        app.config["SERVERS"] = [{"url": app.config["PUBLIC_URL"], "description": "This deployment"}]
    if app.config.get("TRUSTED_HOSTS") is None and app.config["APP_ENV"] == "production":
        log.warning("TRUSTED_HOSTS is not set: any Host header is accepted")
    hsts = int(app.config["HSTS_SECONDS"])
    # One Talisman per app: it keeps its settings on itself, and tests build many apps.
    app.extensions["talisman"] = Talisman(
        app,
        force_https=False,  # the proxy terminates TLS; plain HTTP only reaches us from it or locally
        strict_transport_security=hsts > 0,
        strict_transport_security_max_age=hsts,
        strict_transport_security_include_subdomains=False,
        content_security_policy=content_security_policy(dash_script_hashes(dash_app)),
        referrer_policy="strict-origin-when-cross-origin",
        session_cookie_secure=app.config["APP_ENV"] == "production",
    )

    @app.before_request
    def _follow_dash_scripts() -> None:
        follow_dash_scripts(app.extensions["talisman"], dash_app)


def follow_dash_scripts(talisman: Talisman, dash_app: Dash) -> None:
    """Keep the policy's script hashes equal to Dash's inline scripts.

    Dash Pages adds an inline callback (the page title) during its first request's
    setup, which runs in before_request hooks registered ahead of this one.
    """
    hashes = dash_script_hashes(dash_app)
    if talisman.content_security_policy["script-src"][1:] != hashes:
        talisman.content_security_policy = content_security_policy(hashes)
