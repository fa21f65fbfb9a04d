"""The changes feed's cursor: an opaque string naming the last change a client has seen.

It encodes the id of that ``event_changes`` row. Those ids grow in commit order (the loader
writes them under its lock, one run at a time), so "every change after id N" never misses a
change committed later, and a cursor stays valid however many imports follow it.
"""

from __future__ import annotations

import base64
import binascii
import re

PREFIX = "v1:"
MAX_ID = 2**63 - 1  # event_changes.id is a BIGINT on PostgreSQL
# What encode() produces; documented in the OpenAPI spec so clients and the fuzzer know the shape.
PATTERN = "^[A-Za-z0-9_-]{1,40}$"
_DECODED = re.compile(r"^v1:(0|[1-9][0-9]{0,18})$")


class CursorError(ValueError):
    """A string that is not a cursor this feed gave out."""


def encode(last_id: int) -> str:
    """Return the cursor that follows the change ``last_id`` (0: before the first change)."""
    return base64.urlsafe_b64encode(f"{PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode(cursor: str) -> int:
    """Return the change id a cursor names; raise CursorError for anything encode() did not make."""
    if not re.fullmatch(PATTERN, cursor):
        raise CursorError("not a cursor of this feed")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise CursorError("not a cursor of this feed") from None
    match = _DECODED.match(text)
    if match is None or int(match[1]) > MAX_ID:
        raise CursorError("not a cursor of this feed")
    return int(match[1])
