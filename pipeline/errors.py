"""Errors the pipeline raises for input it cannot use."""

from __future__ import annotations

# What an error may quote of the input (header names, sheet names): enough to recognise it.
MAX_QUOTED_CHARS = 300


def one_line(text: object) -> str:
    """Fold whitespace so a message shows on one line."""
    return " ".join(str(text).split())


class InputError(Exception):
    """A file or batch that cannot be read; ``str(err)`` is a one-line human reason.

    The reason never quotes the input: it is stored on the failed run, which anyone may see on
    the monitor. ``quoted`` (headers found, sheet names) is for whoever sent the input only (the
    CLI's stderr, the 422 response), never stored.
    """

    def __init__(self, message: str, quoted: str | None = None) -> None:
        super().__init__(one_line(message))
        self.quoted = one_line(quoted)[:MAX_QUOTED_CHARS] if quoted else None


class LimitExceeded(InputError):
    """An input larger than a configured limit allows (CLI exit 2, HTTP 413)."""
