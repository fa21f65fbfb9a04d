"""Read the environment once and turn it into the application's settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parent
DEFAULT_INSTANCE_PATH = PROJECT_ROOT / "instance"
DEVELOPMENT_ENVS = {"development", "testing"}
# Railway's health checker sends this Host; it must pass TRUSTED_HOSTS for /healthz.
RAILWAY_HEALTHCHECK_HOST = "healthcheck.railway.app"
RAILWAY_MARKERS = ("RAILWAY_ENVIRONMENT_ID", "RAILWAY_ENVIRONMENT_NAME", "RAILWAY_ENVIRONMENT")


class ConfigError(RuntimeError):
    """Raised when the environment cannot make a safe configuration."""


def normalise_database_url(url: str) -> str:
    """Return a SQLAlchemy URL that selects psycopg 3 for any PostgreSQL URL.

    Railway and Heroku hand out ``postgres://``; SQLAlchemy 2.1 rejects that
    scheme and would pick psycopg 2 for a bare ``postgresql://``. Only the
    scheme changes: encoded passwords and query options survive untouched.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in {"postgres", "postgresql"} or scheme.startswith("postgresql+"):
        return urlunsplit(parts._replace(scheme="postgresql+psycopg"))
    return url


def sqlite_url(instance_path: Path) -> str:
    """Return the URL of the embedded database file in the instance folder."""
    return f"sqlite:///{instance_path / 'nvcd.sqlite3'}"


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _number(env: Mapping[str, str], key: str, default: str, kind: type[int] | type[float]) -> int | float:
    """Read a number from the environment, or say which variable is wrong."""
    value = env.get(key, default)
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError(f"{key} must be a {kind.__name__}, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"{key} must not be negative, got {value!r}")
    return number


def trusted_hosts(env: Mapping[str, str]) -> list[str] | None:
    """Return the Host names the app answers (None: any), Railway's health-check host included."""
    hosts = _split(env.get("TRUSTED_HOSTS", env.get("RAILWAY_PUBLIC_DOMAIN", "")))
    if not hosts:
        return None
    return hosts if RAILWAY_HEALTHCHECK_HOST in hosts else [*hosts, RAILWAY_HEALTHCHECK_HOST]


def on_railway(env: Mapping[str, str]) -> bool:
    """Tell whether Railway runs us (it sets these in every deployment)."""
    return any(env.get(name) for name in RAILWAY_MARKERS)


def public_url(env: Mapping[str, str]) -> str:
    """Return the site's public base URL (OpenAPI `servers`), or "" to leave it out."""
    url = env.get("PUBLIC_URL", "").strip().rstrip("/")
    if not url and env.get("RAILWAY_PUBLIC_DOMAIN", "").strip():
        url = f"https://{env['RAILWAY_PUBLIC_DOMAIN'].strip()}"
    if url and urlsplit(url).scheme not in {"http", "https"}:
        raise ConfigError(f"PUBLIC_URL must start with http:// or https://, got {url!r}")
    return url


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, object]:
    """Build the settings mapping from environment variables."""
    env = os.environ if environ is None else environ
    app_env = env.get("APP_ENV", "production").strip().lower()
    instance_path = Path(env.get("INSTANCE_PATH", DEFAULT_INSTANCE_PATH))
    database_url = env.get("DATABASE_URL", "").strip()
    max_upload = int(_number(env, "MAX_UPLOAD_MB", "50", int)) * 1024 * 1024
    return {
        "APP_ENV": app_env,
        "SECRET_KEY": env.get("SECRET_KEY", ""),
        "INSTANCE_PATH": str(instance_path),
        "DATABASE_URL": normalise_database_url(database_url) if database_url else sqlite_url(instance_path),
        "STATEMENT_TIMEOUT_MS": _number(env, "STATEMENT_TIMEOUT_MS", "30000", int),
        "MAX_RESPONSE_ROWS": _number(env, "MAX_RESPONSE_ROWS", "50000", int),
        # Client-side bounds on a request's database work (api/deadline.py; 0: none): past them, 503.
        "DB_DEADLINE_SECONDS": _number(env, "DB_DEADLINE_SECONDS", "5", float),
        "HEALTH_DEADLINE_SECONDS": _number(env, "HEALTH_DEADLINE_SECONDS", "1.5", float),
        "INGEST_TOKEN": env.get("INGEST_TOKEN", ""),
        "MAX_CONTENT_LENGTH": max_upload,
        "MAX_XLSX_INFLATED_MB": _number(env, "MAX_XLSX_INFLATED_MB", "256", int),
        "MAX_XLSX_MEMBERS": _number(env, "MAX_XLSX_MEMBERS", "1000", int),
        "MAX_SHEET_ROWS": _number(env, "MAX_SHEET_ROWS", "500000", int),
        "MAX_SHEET_CELLS": _number(env, "MAX_SHEET_CELLS", "5000000", int),
        # The job queue's storage (jobs.queue): default beside the database.
        "JOBS_URL": env.get("JOBS_URL", "").strip(),
        "JOB_WORKERS": _number(env, "JOB_WORKERS", "1", int),
        # Inputs (uploads, batches) of the runs waiting for the worker may fill this much of the database.
        "MAX_QUEUED_MB": _number(env, "MAX_QUEUED_MB", "500", int),
        "SNAPSHOT_MAX_WITHDRAW": _number(env, "SNAPSHOT_MAX_WITHDRAW", "0.05", float),
        "BODY_TIMEOUT_SECONDS": _number(env, "BODY_TIMEOUT_SECONDS", "20", float),
        "BODY_MIN_RATE": _number(env, "BODY_MIN_RATE", "65536", int),
        "WS_MAX_CLIENTS": _number(env, "WS_MAX_CLIENTS", "100", int),
        "WS_ALLOWED_ORIGINS": _split(env.get("WS_ALLOWED_ORIGINS", "")),
        "WS_ACCESS_TOKEN": env.get("WS_ACCESS_TOKEN", ""),
        "WS_HEARTBEAT_SECONDS": _number(env, "WS_HEARTBEAT_SECONDS", "5", float),
        "WS_PING_SECONDS": _number(env, "WS_PING_SECONDS", "25", float),
        "WS_MAX_MESSAGE_BYTES": _number(env, "WS_MAX_MESSAGE_BYTES", str(64 * 1024), int),
        "WS_SEND_TIMEOUT_SECONDS": _number(env, "WS_SEND_TIMEOUT_SECONDS", "10", float),
        "WS_REBUILD_SECONDS": _number(env, "WS_REBUILD_SECONDS", "30", float),
        "WS_POLL_SECONDS": _number(env, "WS_POLL_SECONDS", "1", float),
        "EMBED_ALLOWED_ORIGINS": _split(env.get("EMBED_ALLOWED_ORIGINS", "")),
        "TRUSTED_HOSTS": trusted_hosts(env),
        "PUBLIC_URL": public_url(env),
        # Railway runs one proxy in front of the app; elsewhere trust no X-Forwarded-* by default.
        "PROXY_FIX_HOPS": _number(env, "PROXY_FIX_HOPS", "1" if on_railway(env) else "0", int),
        "HSTS_SECONDS": _number(env, "HSTS_SECONDS", "31536000", int),
        **feed_settings(env, instance_path, max_upload),
    }


def feed_settings(env: Mapping[str, str], instance_path: Path, max_upload: int) -> dict[str, object]:
    """Return the scheduled feeds' fetch settings (``feeds.fetch``)."""
    return {
        "FEEDS_ALLOW_PRIVATE": env.get("FEEDS_ALLOW_PRIVATE", "").strip().lower() in {"1", "true", "yes"},
        "FEEDS_MAX_BYTES": _number(env, "FEEDS_MAX_BYTES", str(max_upload), int),
        "FEEDS_CONNECT_TIMEOUT_SECONDS": _number(env, "FEEDS_CONNECT_TIMEOUT_SECONDS", "10", float),
        "FEEDS_READ_TIMEOUT_SECONDS": _number(env, "FEEDS_READ_TIMEOUT_SECONDS", "20", float),
        "FEEDS_DEADLINE_SECONDS": _number(env, "FEEDS_DEADLINE_SECONDS", "300", float),
        "FEEDS_DIR": env.get("FEEDS_DIR", "").strip() or str(instance_path / "feeds"),
    }


def check(settings: dict[str, object]) -> None:
    """Refuse settings that are unsafe outside development and testing."""
    if settings["APP_ENV"] not in DEVELOPMENT_ENVS and not settings["SECRET_KEY"]:
        raise ConfigError("SECRET_KEY must be set when APP_ENV is not development or testing")
