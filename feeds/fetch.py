"""Fetch a feed's export over HTTP(S), safely and conditionally, into a file the server names.

Only ``http`` and ``https``. The host is resolved here and every address it resolves to is
checked: private, loopback, link-local, multicast, reserved and other non-global addresses are
refused unless ``FEEDS_ALLOW_PRIVATE`` is set. The connection then goes to the address that
was checked (urllib3 pool on the IP; ``Host``, SNI and the certificate check use the name), so
a second DNS answer cannot swap in another address (DNS rebinding). Redirects are followed by
hand, at most ``MAX_REDIRECTS``, each hop checked the same way; https never redirects to http.
No proxy is used (``HTTP(S)_PROXY`` is ignored: a proxy would connect where we did not check).

Bounded: connect and read timeouts, an overall deadline, and ``max_bytes`` (``Content-Length``
refused up front, the body counted while streaming). ``If-None-Match`` / ``If-Modified-Since``
carry the last import's validators; a ``304``, or a ``200`` whose SHA-256 equals the last
import's, is ``unchanged``. A changed body goes to a temporary file in ``folder`` with a name
chosen here; its suffix comes from the ``Content-Type``, else the URL path's suffix, and must be
one the pipeline reads (``pipeline.sources.registry.SUFFIXES``). The URL never becomes a path.

Reasons in ``FetchError`` are public (the monitor shows them): they never quote the URL or an
address.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import socket
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import SplitResult, urljoin, urlsplit

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError, SSLError

from models.feed import MAX_FEED_URL
from pipeline.sources.registry import SUFFIXES

log = logging.getLogger(__name__)

SCHEMES = ("http", "https")
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024
# Content types that name a format the pipeline reads; anything else falls back to the URL's suffix.
TYPE_SUFFIXES = {
    "text/csv": ".csv",
    "application/csv": ".csv",
    "application/json": ".json",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.12": ".xlsm",
}
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchError(Exception):
    """A fetch that failed; ``reason`` is public (no URL, no address)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unreachable(FetchError):
    """No connection to one address (the next one the host resolves to may answer)."""


@dataclass(frozen=True)
class FetchSettings:
    """Limits of a fetch (``FEEDS_*`` settings)."""

    allow_private: bool = False
    max_bytes: int = 50 * 1024 * 1024
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 300.0
    folder: Path = Path(tempfile.gettempdir()) / "nvcd-feeds"

    @classmethod
    def from_settings(cls, settings: Mapping[str, object]) -> FetchSettings:
        """Build the fetch settings from the app's settings (``config.from_environment``)."""
        defaults = cls()

        def number(key: str, default: float) -> float:
            value = settings.get(key, default)
            return float(value) if isinstance(value, int | float) else default

        return cls(
            allow_private=bool(settings.get("FEEDS_ALLOW_PRIVATE", False)),
            max_bytes=int(number("FEEDS_MAX_BYTES", defaults.max_bytes)),
            connect_timeout=number("FEEDS_CONNECT_TIMEOUT_SECONDS", defaults.connect_timeout),
            read_timeout=number("FEEDS_READ_TIMEOUT_SECONDS", defaults.read_timeout),
            deadline=number("FEEDS_DEADLINE_SECONDS", defaults.deadline),
            folder=Path(str(settings.get("FEEDS_DIR") or defaults.folder)),
        )


@dataclass(frozen=True)
class Validators:
    """What identifies the export last imported: its ETag, Last-Modified and SHA-256."""

    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Fetched:
    """A fetch that answered: ``changed`` (the body is at ``path``; the caller deletes it) or ``unchanged``."""

    outcome: Literal["changed", "unchanged"]
    validators: Validators
    path: Path | None = None
    suffix: str | None = None
    size: int = 0


def check_url(url: str) -> SplitResult:
    """Return the parts of a feed URL, or raise ValueError saying why it cannot be one."""
    if not url or len(url) > MAX_FEED_URL:
        raise ValueError(f"a feed URL is 1 to {MAX_FEED_URL} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValueError("a feed URL holds no spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise ValueError(f"only http and https URLs are fetched, not {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise ValueError("the URL names no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("credentials in the URL are not supported")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValueError("the URL's port is not a number from 0 to 65535") from None
    return parts


def refused_reason(address: Address) -> str | None:
    """Say why ``address`` may not be fetched from without FEEDS_ALLOW_PRIVATE (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "refused loopback address"
    if address.is_link_local:
        return "refused link-local address"
    if address.is_multicast:
        return "refused multicast address"
    if address.is_unspecified:
        return "refused reserved address"
    if address.is_private:
        return "refused private address"
    if address.is_reserved or not address.is_global:
        return "refused reserved address"
    return None


def resolve(host: str, port: int, allow_private: bool) -> list[str]:
    """Return the addresses to connect to for ``host``, in the resolver's order, after checking every one."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        log.info("feed host %s does not resolve: %s", host, exc)
        raise FetchError("cannot resolve the host") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise FetchError("cannot resolve the host")
    if not allow_private:
        for address in addresses:
            reason = refused_reason(address)
            if reason:
                log.warning("feed host %s resolves to %s: %s", host, address, reason)
                raise FetchError(reason)
    return list(dict.fromkeys(str(address) for address in addresses))


def suffix_for(content_type: str | None, path: str) -> str:
    """Return the suffix the pipeline reads the body by: from the Content-Type, else the URL path."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind in TYPE_SUFFIXES:
        return TYPE_SUFFIXES[kind]
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in SUFFIXES:
        return suffix
    accepted = ", ".join(SUFFIXES)
    raise FetchError(f"cannot tell the export's format (Content-Type {kind or 'none'!r}, URL suffix "
                     f"{suffix or 'none'!r}); serve one of {accepted}")  # fmt: skip


def _headers(parts: SplitResult, validators: Validators) -> dict[str, str]:
    headers = {"Host": parts.netloc, "Accept-Encoding": "identity", "User-Agent": "nvcd-monitor-feeds/1"}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _pool(parts: SplitResult, address: str, settings: FetchSettings) -> urllib3.HTTPConnectionPool:
    """Return a one-connection pool to ``address``, a checked address of the URL's host."""
    https = parts.scheme.lower() == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    timeout = urllib3.Timeout(connect=settings.connect_timeout, read=settings.read_timeout)
    if https:
        return urllib3.HTTPSConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1,
                                           cert_reqs="CERT_REQUIRED", server_hostname=host,
                                           assert_hostname=host)  # fmt: skip
    return urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)


def _open(pool: urllib3.HTTPConnectionPool, parts: SplitResult, validators: Validators,
          settings: FetchSettings) -> urllib3.BaseHTTPResponse:  # fmt: skip
    """Send the GET for one hop; return the response, body unread."""
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        return pool.urlopen("GET", target, headers=_headers(parts, validators), redirect=False,
                            preload_content=False, assert_same_host=False, release_conn=False)  # fmt: skip
    except ConnectTimeoutError:
        raise Unreachable(f"timed out connecting after {settings.connect_timeout:g} s") from None
    except ReadTimeoutError:
        raise FetchError(f"timed out after {settings.read_timeout:g} s") from None
    except SSLError as exc:
        log.info("feed TLS error: %s", exc)
        raise FetchError("TLS error (certificate or handshake)") from None
    except NewConnectionError:
        raise Unreachable("cannot connect to the host") from None
    except HTTPError as exc:
        raise FetchError(f"HTTP error ({exc.__class__.__name__})") from None


def _connect(parts: SplitResult, last: Validators,
             settings: FetchSettings) -> tuple[urllib3.HTTPConnectionPool, urllib3.BaseHTTPResponse]:  # fmt: skip
    """Send the GET for one hop to the first checked address that takes the connection."""
    https = parts.scheme.lower() == "https"
    addresses = resolve(parts.hostname or "", parts.port or (443 if https else 80), settings.allow_private)
    failure = Unreachable("cannot connect to the host")
    for address in addresses:
        pool = _pool(parts, address, settings)
        try:
            return pool, _open(pool, parts, last, settings)
        except Unreachable as exc:
            pool.close()
            failure = exc
        except BaseException:
            pool.close()
            raise
    raise failure


def _next_hop(parts: SplitResult, response: urllib3.BaseHTTPResponse) -> SplitResult:
    location = response.headers.get("Location")
    if not location:
        raise FetchError(f"HTTP {response.status} without a Location")
    try:
        following = check_url(urljoin(parts.geturl(), location))
    except ValueError as exc:
        raise FetchError(f"redirect refused: {exc}") from None
    if parts.scheme.lower() == "https" and following.scheme.lower() != "https":
        raise FetchError("redirect refused: from https to http")
    return following


def _store(response: urllib3.BaseHTTPResponse, suffix: str, settings: FetchSettings,
           began: float) -> tuple[Path, str, int]:  # fmt: skip
    """Stream the body into a new file in ``settings.folder``; return its path, SHA-256 and size."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > settings.max_bytes:
        raise FetchError(f"the export is larger than {settings.max_bytes} bytes (FEEDS_MAX_BYTES)")
    try:
        settings.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="feed-", suffix=suffix, dir=settings.folder)
    except OSError as exc:
        log.error("cannot write to FEEDS_DIR %s: %s", settings.folder, exc)
        raise FetchError("cannot store the export (FEEDS_DIR)") from None
    path, digest, size = Path(name), hashlib.sha256(), 0
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := response.read1(CHUNK):
                size += len(chunk)
                if size > settings.max_bytes:
                    raise FetchError(f"the export is larger than {settings.max_bytes} bytes (FEEDS_MAX_BYTES)")
                if time.monotonic() - began > settings.deadline:
                    raise FetchError(f"took longer than {settings.deadline:g} s (FEEDS_DEADLINE_SECONDS)")
                digest.update(chunk)
                out.write(chunk)
    except ReadTimeoutError:
        path.unlink(missing_ok=True)
        raise FetchError(f"timed out after {settings.read_timeout:g} s") from None
    except (HTTPError, OSError) as exc:
        path.unlink(missing_ok=True)
        raise FetchError(f"the download broke off ({exc.__class__.__name__})") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


def fetch(url: str, last: Validators, settings: FetchSettings) -> Fetched:
    """Fetch ``url`` with the last import's validators; raise FetchError with a public reason when it fails."""
    began = time.monotonic()
    try:
        parts = check_url(url)
    except ValueError as exc:
        raise FetchError(str(exc)) from None
    for _hop in range(MAX_REDIRECTS + 1):
        pool, response = _connect(parts, last, settings)
        with pool:
            try:
                if response.status in REDIRECTS:
                    parts = _next_hop(parts, response)
                    continue
                return _answer(response, parts, last, settings, began)
            finally:
                response.release_conn()
                response.close()
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def _answer(response: urllib3.BaseHTTPResponse, parts: SplitResult, last: Validators, settings: FetchSettings,
            began: float) -> Fetched:  # fmt: skip
    """Turn the final hop's response into what the fetch found."""
    if response.status == 304 and (last.etag or last.last_modified):
        return Fetched("unchanged", last)
    if response.status != 200:
        raise FetchError(f"HTTP {response.status}")
    suffix = suffix_for(response.headers.get("Content-Type"), parts.path)
    path, sha256, size = _store(response, suffix, settings, began)
    found = Validators(response.headers.get("ETag"), response.headers.get("Last-Modified"), sha256)
    if sha256 == last.sha256:
        path.unlink(missing_ok=True)
        return Fetched("unchanged", found, size=size)
    return Fetched("changed", found, path, suffix, size)
