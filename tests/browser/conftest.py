"""Browser tests: Debian's headless Chromium driven by Playwright against gunicorn.

Skipped when /usr/bin/chromium is missing, except under CI=true where that fails.
Every test gets the app under gunicorn (tests/servers.py) on a freshly migrated
database of each backend, and a page whose monitor timings are shortened by
query parameters so backoff, polling and dead-connection paths run in seconds.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine

from config import PROJECT_ROOT
from tests.browser.ingest import ingest_generated
from tests.servers import LiveServer

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
# Fast timings for the state machine; the production defaults are in dashapp.monitor_panel.
FAST = {
    "backoff_base_ms": 100,
    "backoff_cap_ms": 400,
    "poll_interval_ms": 400,
    "dead_after_ms": 4000,
    "stale_after_ms": 20000,
    "initial_fetch_ms": 300,
    "tick_ms": 200,
}
# The browser itself logs refused handshakes and failed fetches; only the tests
# that refuse or kill the server on purpose tolerate these lines.
NETWORK_NOISE = ("WebSocket connection to", "Failed to load resource", "net::ERR_")


@pytest.fixture
def server_factory(database_url: str, tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Return a maker of gunicorn servers on the test database; stop them all afterwards."""
    servers: list[LiveServer] = []

    def make(**env: str) -> LiveServer:
        server = LiveServer(database_url, env={"WS_HEARTBEAT_SECONDS": "1", **env}, log_path=tmp_path / "gunicorn.log")
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        # Nothing left to prove at teardown: skip the graceful drain of open sockets.
        server.stop(signal.SIGKILL)


class PageWatch:
    """A Playwright page with its console errors and uncaught exceptions collected."""

    def __init__(self, page) -> None:  # playwright Page
        self.page = page
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(msg.text))
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))

    def unexpected_errors(self, allow_network: bool = False) -> list[str]:
        """Return console errors and page exceptions, optionally without browser network noise."""
        errors = list(self.page_errors)
        errors += [e for e in self.console_errors if not (allow_network and any(n in e for n in NETWORK_NOISE))]
        return errors

    def state(self) -> dict:
        """Return the monitor's state machine as the page exposes it."""
        return self.page.evaluate("() => window.nvcdMonitor && window.nvcdMonitor.state")

    def wait_for_state(self, key: str, timeout_ms: float = 10000) -> None:
        """Wait until the indicator's state is ``key`` (live, polling, reconnecting, offline, stale)."""
        self.page.wait_for_selector(f"#monitor-status.monitor-state-{key}", timeout=timeout_ms)

    def wait_for_events(self, total: int, timeout_ms: float = 2000) -> None:
        """Wait until the panel shows ``total`` events."""
        self.page.wait_for_function(
            "(n) => { const el = document.getElementById('monitor-total-events');"
            " return el && el.textContent.replace(/[^0-9]/g, '') === String(n); }",
            arg=total,
            timeout=timeout_ms,
        )


@pytest.fixture
def open_page(chromium) -> Iterator[Callable[..., PageWatch]]:
    """Return an opener of pages with fast monitor timings; close their contexts afterwards."""
    contexts = []

    def opener(url: str, path: str = "/monitor", width: int = 1280, **settings: float) -> PageWatch:
        context = chromium.new_context(viewport={"width": width, "height": 900})
        contexts.append(context)
        watch = PageWatch(context.new_page())
        query = urlencode({**FAST, **settings})
        watch.page.goto(f"{url}{path}?{query}")
        return watch

    yield opener
    for context in contexts:
        context.close()


@pytest.fixture
def ingest(engine: Engine) -> Callable[[int], int]:
    """Return a function that runs the pipeline on ``n`` generated events and returns the new total."""
    return lambda n: ingest_generated(engine, n)


def record_errors(page) -> list[str]:  # a playwright Page
    """Return a list that collects the page's uncaught exceptions and console errors from now on."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    return errors


def screenshot(page, name: str) -> Path:  # a PageWatch or a playwright Page
    """Save a full-page screenshot into test-artifacts/ and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    getattr(page, "page", page).screenshot(path=str(path), full_page=True)
    return path
