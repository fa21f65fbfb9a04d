"""The embeddable panel in a real browser: framed by an allowed origin, refused by others."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.browser.conftest import FAST, record_errors, screenshot
from tests.servers import free_port

pytestmark = pytest.mark.browser


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *_args: object) -> None:
        """Keep the test output clean."""


@pytest.fixture
def host_site(tmp_path: Path) -> Iterator:
    """Serve partner pages from a second local HTTP server; yield a page maker per origin."""
    servers: list[ThreadingHTTPServer] = []

    def make(embed_url: str, port: int) -> str:
        root = tmp_path / f"host{len(servers)}"
        root.mkdir()
        (root / "index.html").write_text(
            '<!doctype html><title>Partner</title><link rel="icon" href="data:,"><h1>Partner site</h1>'
            f'<iframe id="nvcd" src="{embed_url}" width="400" height="700" title="NVCD pipeline status"></iframe>'
        )
        httpd = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(QuietHandler, directory=str(root)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{port}/index.html"

    yield make
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def test_embed_renders_in_iframe_on_allowed_origin_only(server_factory, chromium, host_site, ingest) -> None:
    allowed_port, refused_port = free_port(), free_port()
    allowed_origin = f"http://127.0.0.1:{allowed_port}"
    server = server_factory(EMBED_ALLOWED_ORIGINS=allowed_origin)
    embed_url = f"{server.url}/embed/monitor?{urlencode(FAST)}"
    total = ingest(5)

    context = chromium.new_context(viewport={"width": 900, "height": 900})
    try:
        page = context.new_page()
        errors = record_errors(page)
        # The host page must be served from exactly the allowed origin.
        page.goto(host_site(embed_url, allowed_port))
        frame = page.frame_locator("#nvcd")
        frame.locator("#monitor-status.monitor-state-live").wait_for(timeout=10000)
        frame.locator("#monitor-total-events").filter(has_text=str(total)).wait_for(timeout=5000)
        embedded = page.frame(url=lambda u: "/embed/monitor" in u)
        assert embedded is not None
        assert embedded.evaluate(
            "() => document.querySelector('.site-header') === null"
            " || getComputedStyle(document.querySelector('.site-header')).display === 'none'"
        )
        assert embedded.evaluate("() => document.documentElement.scrollWidth") <= 400
        assert embedded.locator("nav").count() == 0 or not embedded.locator("nav").first.is_visible()
        screenshot(page, "embed-in-partner-page")
        assert errors == []

        narrow = context.new_page()
        narrow.set_viewport_size({"width": 400, "height": 900})
        narrow.goto(embed_url)
        narrow.locator("#monitor-status.monitor-state-live").wait_for(timeout=10000)
        assert narrow.evaluate("() => document.documentElement.scrollWidth") <= 400
        screenshot(narrow, "embed-400px")

        refused = context.new_page()
        refused_errors: list[str] = []
        refused.on("console", lambda msg: msg.type == "error" and refused_errors.append(msg.text))
        refused.goto(host_site(embed_url, refused_port))
        refused.wait_for_timeout(1500)
        frame = refused.frame(url=lambda u: "/embed/monitor" in u)
        assert frame is None or frame.locator("#monitor-status").count() == 0
        assert any("frame-ancestors" in e for e in refused_errors), refused_errors
    finally:
        context.close()
