"""Who may frame our pages: `frame-ancestors 'self'` everywhere, wider only for the embed page.

The site-wide policy (api/security.py) says `frame-ancestors 'self'`; on the
embed page this replaces that directive with the configured partner origins and
drops X-Frame-Options (SAMEORIGIN would forbid the partners' frames).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from flask import Flask, Response, request

log = logging.getLogger(__name__)

EMBED_PATHS = ("/embed/monitor",)
# A CSP source we accept from the environment: scheme://host[:port], host may
# start with "*."; anything else (spaces, ";", quotes) could inject directives.
ORIGIN_RE = re.compile(r"^https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$")


def clean_origins(origins: Iterable[str]) -> list[str]:
    """Return the configured origins that are safe to put in a CSP, dropping the rest."""
    kept: list[str] = []
    for origin in origins:
        value = origin.strip().rstrip("/")
        if ORIGIN_RE.match(value):
            kept.append(value)
        elif value:
            log.warning("EMBED_ALLOWED_ORIGINS: ignoring %r (expected scheme://host[:port])", origin)
    return kept


def frame_ancestors(origins: Iterable[str] = ()) -> str:
    """Return the CSP directive allowing this site plus ``origins`` to frame a page."""
    return " ".join(["frame-ancestors", "'self'", *clean_origins(origins)])


def is_embed_path(path: str, prefix: str = "") -> bool:
    """Tell whether ``path`` (as Flask sees it) is one of the embeddable pages."""
    path = path.rstrip("/") or "/"
    return any(path == (prefix.rstrip("/") + embed) for embed in EMBED_PATHS)


def with_frame_ancestors(policy: str | None, directive: str) -> str:
    """Return ``policy`` with its frame-ancestors directive replaced (or added) by ``directive``."""
    kept = [part.strip() for part in (policy or "").split(";") if part.strip() and part.split()[0] != "frame-ancestors"]
    return "; ".join([*kept, directive])


def register_security_headers(server: Flask, routes_prefix: str = "/") -> None:
    """Let the configured origins frame the embed pages; every other page keeps `'self'`."""
    embed_policy = frame_ancestors(server.config.get("EMBED_ALLOWED_ORIGINS") or ())
    default_policy = frame_ancestors()

    @server.after_request
    def _set_frame_ancestors(response: Response) -> Response:
        existing = response.headers.get("Content-Security-Policy")
        if is_embed_path(request.path, routes_prefix):
            response.headers["Content-Security-Policy"] = with_frame_ancestors(existing, embed_policy)
            response.headers.pop("X-Frame-Options", None)
        elif existing is None or "frame-ancestors" not in existing:
            response.headers["Content-Security-Policy"] = with_frame_ancestors(existing, default_policy)
        return response
