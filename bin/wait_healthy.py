#!/usr/bin/env python3
"""Wait until URL answers 200, at most --timeout seconds: exit 0 once it does, 1 if it never did.

`bin/run-demo` prints the app's address only after this returns 0, so the address a newcomer
sees is one that answers. --pid: stop waiting as soon as that process (the server) is gone.
Standard library only: it runs before, and apart from, the app.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.error
import urllib.request

POLL_SECONDS = 0.2


def answers(url: str) -> str | None:
    """Return None when ``url`` answers 200, else what happened instead."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except urllib.error.URLError as exc:  # not listening yet: refused
        return str(exc.reason)
    except OSError as exc:  # listening, but no answer in time or the connection reset
        return exc.__class__.__name__


def alive(pid: int | None) -> bool:
    """Tell whether process ``pid`` still runs (None: no process to watch)."""
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_healthy(url: str, timeout: float, pid: int | None = None) -> str | None:
    """Poll ``url`` until it answers 200 (None) or ``timeout`` passes or ``pid`` exits (the last reason)."""
    deadline = time.monotonic() + timeout
    while True:
        reason = answers(url)
        if reason is None:
            return None
        if not alive(pid):
            return f"the server (pid {pid}) exited"
        if time.monotonic() >= deadline:
            return f"{reason} after {timeout:g} s"
        time.sleep(POLL_SECONDS)


def main(argv: list[str] | None = None) -> int:
    """Wait for the URL given on the command line; say why on stderr when it never answered."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--pid", type=int, default=None)
    args = parser.parse_args(argv)
    reason = wait_healthy(args.url, args.timeout, args.pid)
    if reason is not None:
        print(f"{args.url} did not answer: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
