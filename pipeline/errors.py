"""Errors the pipeline raises for input it cannot use."""

from __future__ import annotations


class InputError(Exception):
    """A file or batch that cannot be read; ``str(err)`` is a one-line human reason."""

    def __init__(self, message: str) -> None:
        # One line, so the CLI and 422 responses can show it as is.
        super().__init__(" ".join(str(message).split()))
