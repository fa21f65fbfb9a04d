"""How the server-rendered pages show stored values: text for any value, instants to the second, durations."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import db

log = logging.getLogger(__name__)

MISSING = "—"


class Unavailable:
    """What ``read_detail`` returns when the database could not be read."""


UNAVAILABLE = Unavailable()


def read_detail(read: Callable[[Session], dict[str, Any] | None], page: str) -> dict[str, Any] | None | Unavailable:
    """Run one detail query for a page; UNAVAILABLE (logged as a warning) when the database fails."""
    try:
        with Session(db.engine()) as session:
            return read(session)
    except SQLAlchemyError as exc:
        log.warning("%s page: database unavailable: %s", page, exc.__class__.__name__)
        return UNAVAILABLE


def text(value: Any) -> str:
    """Show a stored value as text (missing: a dash)."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def when(instant: str | None) -> str:
    """Show an ISO-8601 UTC instant to the second ("2026-05-01 12:00:00 UTC")."""
    if not instant:
        return MISSING
    try:
        return datetime.fromisoformat(instant.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return instant


def duration(seconds: float | None) -> str:
    """Show a duration as the monitor panel does ("850 ms", "12.5 s", "3 min 4 s")."""
    if seconds is None:
        return MISSING
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes = int(seconds // 60)
    return f"{minutes} min {round(seconds - minutes * 60)} s"
