"""Durations as the command line writes them: ``90s``, ``15m``, ``6h``, ``1d``."""

from __future__ import annotations

import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION = re.compile(r"^(\d{1,7})([smhd])$")
MAX_SECONDS = 366 * 86400


def parse_duration(text: str | int, minimum: int = 60) -> int:
    """Return ``text`` (``90s``, ``15m``, ``6h``, ``1d``; an int is seconds) in seconds, or raise ValueError."""
    if isinstance(text, int):
        seconds = text
    else:
        found = DURATION.match(text.strip().lower())
        if not found:
            raise ValueError(
                f"a duration is a whole number and a unit s, m, h or d (90s, 15m, 6h, 1d); got {text[:20]!r}"
            )
        seconds = int(found.group(1)) * UNITS[found.group(2)]
    if not minimum <= seconds <= MAX_SECONDS:
        raise ValueError(f"a duration is from {format_duration(minimum)} to {format_duration(MAX_SECONDS)}; "
                         f"got {format_duration(seconds)}")  # fmt: skip
    return seconds


def format_duration(seconds: int) -> str:
    """Write ``seconds`` in its largest whole unit: 900 -> ``15m``, 90 -> ``90s``."""
    for unit, size in sorted(UNITS.items(), key=lambda item: -item[1]):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
