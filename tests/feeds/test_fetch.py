"""feeds.fetch against a local HTTP server: conditional requests, hashes, limits, refused addresses and redirects."""

from __future__ import annotations

import ipaddress
import shutil
import socket
from pathlib import Path

import pytest

from feeds import fetch as fetch_module
from feeds.fetch import FetchError, FetchSettings, Validators, check_url, fetch, refused_reason, suffix_for
from tests.feeds.exports import Exports, export_csv, make_certificates, serving


@pytest.fixture
def settings(tmp_path: Path) -> FetchSettings:
    """Fetch settings for the local server: private addresses allowed, short timeouts, a small size limit."""
    return FetchSettings(allow_private=True, max_bytes=1_000_000, connect_timeout=2, read_timeout=0.5, deadline=10,
                         folder=tmp_path / "feeds")  # fmt: skip


def test_a_200_then_a_304_then_the_same_bytes_then_new_bytes(settings: FetchSettings) -> None:
    with serving(Exports(body=export_csv(5))) as server:
        first = fetch(f"{server.url}/export.csv", Validators(), settings)
        assert first.outcome == "changed" and first.suffix == ".csv" and first.path is not None
        assert first.path.parent == settings.folder and first.path.name.startswith("feed-")
        assert first.path.read_bytes() == server.body and first.validators.etag == server.etag
        assert "if-none-match" not in server.seen[-1]
        assert server.seen[-1]["host"] == server.url.removeprefix("http://")  # the name, though we dialled the IP

        second = fetch(f"{server.url}/export.csv", first.validators, settings)
        assert second.outcome == "unchanged" and second.path is None
        assert server.seen[-1]["if-none-match"] == server.etag

        server.conditional = False  # the server ignores If-None-Match: the same bytes are still unchanged
        third = fetch(f"{server.url}/export.csv", first.validators, settings)
        assert third.outcome == "unchanged" and third.path is None
        assert third.validators.sha256 == first.validators.sha256

        server.body = export_csv(6)
        fourth = fetch(f"{server.url}/export.csv", first.validators, settings)
        assert fourth.outcome == "changed" and fourth.path is not None and fourth.path != first.path
    assert sorted(p.name for p in settings.folder.iterdir()) == sorted([first.path.name, fourth.path.name])


def test_an_error_status_fails_with_it(settings: FetchSettings) -> None:
    with serving(Exports(body=b"x", status=500)) as server, pytest.raises(FetchError, match=r"^HTTP 500$"):
        fetch(f"{server.url}/export.csv", Validators(), settings)


@pytest.mark.parametrize("declared", [True, False])
def test_an_export_over_the_size_limit_is_refused_and_leaves_no_file(settings: FetchSettings, declared: bool) -> None:
    small = FetchSettings(**{**settings.__dict__, "max_bytes": 100_000})
    exports = Exports(body=b"a" * 200_000, big_bytes=200_000)
    with serving(exports) as server, pytest.raises(FetchError, match="larger than 100000 bytes"):
        fetch(f"{server.url}/{'export.csv' if declared else 'big'}", Validators(), small)
    assert not small.folder.exists() or not list(small.folder.iterdir())


def test_a_server_that_does_not_answer_times_out(settings: FetchSettings) -> None:
    with serving(Exports(slow_seconds=2)) as server, pytest.raises(FetchError, match=r"^timed out after 0.5 s$"):
        fetch(f"{server.url}/slow", Validators(), settings)


def test_a_server_that_drips_is_stopped_at_the_deadline(settings: FetchSettings) -> None:
    short = FetchSettings(**{**settings.__dict__, "deadline": 0.5})
    with serving() as server, pytest.raises(FetchError, match=r"^took longer than 0.5 s"):
        fetch(f"{server.url}/drip", Validators(), short)
    assert list(short.folder.iterdir()) == []


def test_a_format_it_cannot_tell_is_refused(settings: FetchSettings) -> None:
    with serving() as server, pytest.raises(FetchError, match="cannot tell the export's format"):
        fetch(f"{server.url}/page", Validators(), settings)


@pytest.mark.parametrize(
    ("content_type", "path", "suffix"),
    [("text/csv; charset=utf-8", "/x", ".csv"), ("application/octet-stream", "/a/export.XLSX", ".xlsx"),
     (None, "/data.json", ".json"),
     ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "/download", ".xlsx")],
)  # fmt: skip
def test_the_suffix_comes_from_the_content_type_else_the_path(content_type: str | None, path: str, suffix: str) -> None:
    assert suffix_for(content_type, path) == suffix


@pytest.mark.parametrize(
    ("url", "words"),
    [("ftp://example.org/x.csv", "only http and https"), ("file:///etc/passwd", "only http and https"),
     ("http:///x.csv", "names no host"), ("https://user:pw@example.org/x.csv", "credentials"),
     ("https://example.org:99999/x.csv", "port"), ("https://example.org/a b.csv", "spaces"),
     ("https://example.org/" + "a" * 2100, "characters")],
)  # fmt: skip
def test_urls_that_are_not_feeds(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        check_url(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [("http://127.0.0.1:9/x.csv", "loopback"), ("http://10.0.0.1/x.csv", "private"),
     ("http://[::1]:9/x.csv", "loopback"),
     ("http://localhost:9/x.csv", "loopback"), ("http://169.254.169.254/latest", "link-local"),
     ("http://[::ffff:127.0.0.1]/x.csv", "loopback"), ("http://224.0.0.1/x.csv", "multicast"),
     ("http://0.0.0.0/x.csv", "reserved"), ("http://100.64.0.1/x.csv", "reserved")],
)  # fmt: skip
def test_private_and_loopback_addresses_are_refused_without_the_setting(settings: FetchSettings, url: str,
                                                                         reason: str) -> None:  # fmt: skip
    strict = FetchSettings(**{**settings.__dict__, "allow_private": False})
    with pytest.raises(FetchError, match=rf"^refused {reason} address$"):
        fetch(url, Validators(), strict)


def test_every_address_a_name_resolves_to_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 80)),
               (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 80))]  # fmt: skip
    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", lambda *_a, **_k: answers)
    with pytest.raises(FetchError, match="private"):
        fetch_module.resolve("mixed.example", 80, allow_private=False)
    assert fetch_module.resolve("mixed.example", 80, allow_private=True) == ["93.184.215.14", "10.1.2.3"]


def test_public_addresses_pass() -> None:
    assert refused_reason(ipaddress.ip_address("93.184.215.14")) is None
    assert refused_reason(ipaddress.ip_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c")) is None


def test_a_redirect_on_the_same_server_is_followed(settings: FetchSettings) -> None:
    with serving(Exports(body=export_csv(3))) as server:
        found = fetch(f"{server.url}/to/%2Fexport.csv", Validators(), settings)
    assert found.outcome == "changed" and [seen["path"] for seen in server.seen] == ["/to/%2Fexport.csv", "/export.csv"]


def test_a_redirect_to_a_private_address_is_refused(settings: FetchSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    # The test server is on loopback: let exactly 127.0.0.1 pass, as if it were public, and nothing else.
    checked: list[str] = []

    def only_the_test_server(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        checked.append(str(address))
        return None if str(address) == "127.0.0.1" else refused_reason(address)

    monkeypatch.setattr(fetch_module, "refused_reason", only_the_test_server)
    strict = FetchSettings(**{**settings.__dict__, "allow_private": False})
    with serving(Exports(body=export_csv(3))) as server, pytest.raises(FetchError, match=r"^refused private address$"):
        fetch(f"{server.url}/to/http%3A%2F%2F10.0.0.1%2Fexport.csv", Validators(), strict)
    assert checked == ["127.0.0.1", "10.0.0.1"] and len(server.seen) == 1


def test_too_many_redirects_and_a_redirect_to_another_scheme(settings: FetchSettings) -> None:
    with serving() as server:
        with pytest.raises(FetchError, match=r"^more than 5 redirects$"):
            fetch(f"{server.url}/loop", Validators(), settings)
        assert len(server.seen) == 6
        with pytest.raises(FetchError, match=r"^redirect refused: only http and https"):
            fetch(f"{server.url}/to/file%3A%2F%2F%2Fetc%2Fpasswd", Validators(), settings)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[Path, Path]]:
    """A test CA and a certificate for localhost signed by it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    return make_certificates(tmp_path_factory.mktemp("tls"))


def test_https_dials_the_checked_address_and_verifies_the_name(settings: FetchSettings, certificates,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    ca, chain = certificates
    with serving(Exports(body=export_csv(3)), certificate=chain, name="localhost") as server:
        with pytest.raises(FetchError, match=r"^TLS error"):  # our CA is not trusted yet
            fetch(f"{server.url}/export.csv", Validators(), settings)
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))
        found = fetch(f"{server.url}/export.csv", Validators(), settings)
        assert found.outcome == "changed" and server.seen[-1]["host"] == server.url.removeprefix("https://")
        with pytest.raises(FetchError, match=r"^TLS error"):  # the certificate names localhost, not the address
            fetch(server.url.replace("localhost", "127.0.0.1") + "/export.csv", Validators(), settings)
