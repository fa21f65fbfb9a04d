"""Shared fixtures: one fresh database per backend per test session, app and client.

The suite runs on SQLite always and on PostgreSQL when TEST_POSTGRES_URL names
a server (an admin URL such as postgresql://postgres@127.0.0.1:5432/postgres):
each session creates its own database there and drops it at the end, so runs
never collide. Under CI=true an unreachable PostgreSQL fails instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from config import PROJECT_ROOT, normalise_database_url
from models import Base
from models.database import make_engine
from pipeline.sources.base import Extracted
from pipeline.sources.registry import read_file

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REAL_EXPORT = PROJECT_ROOT.parent / "shared" / "data" / "nextier-nvcd.xlsx"
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", "postgresql"]


def alembic_config(url: str) -> Config:
    """Return an alembic config for the project's migrations on ``url``."""
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def _create_postgres_database() -> tuple[str, str]:
    if not POSTGRES_ADMIN_URL:
        if IN_CI:
            pytest.fail("CI needs TEST_POSTGRES_URL")
        pytest.skip("TEST_POSTGRES_URL not set")
    admin_url = normalise_database_url(POSTGRES_ADMIN_URL)
    name = f"nvcd_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            # A test database need not outlive a crash: commits need not wait for the WAL's flush.
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except Exception as exc:  # noqa: BLE001 - any failure here means "no server"
        if IN_CI:
            pytest.fail(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc.__class__.__name__}")
    finally:
        admin.dispose()
    return admin_url, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Yield the URL of a freshly migrated database for each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        command.upgrade(alembic_config(url), "head")
        yield url
        return
    admin_url, url = _create_postgres_database()
    command.upgrade(alembic_config(url), "head")
    yield url
    _drop_postgres_database(admin_url, url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """Yield an engine on the session's database."""
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table after a test that used the database."""
    yield
    if "engine" not in request.fixturenames:
        return
    empty_tables(request.getfixturevalue("engine"))


def empty_tables(eng: Engine) -> None:
    """Delete every row of every table (the change counter moves on)."""
    with eng.begin() as conn:
        # The change counter only ever grows, as in production: servers that outlive a
        # test must see the cleaning as one more change, not as an old version again.
        version = conn.execute(text("SELECT COALESCE(MAX(version), 0) FROM status_version")).scalar()
        # Children first. On PostgreSQL a DELETE of a test's few rows takes a tenth of the time of a
        # TRUNCATE (which swaps every table's and index's files, and waits for a live server's readers),
        # then the identities restart as TRUNCATE ... RESTART IDENTITY would.
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'"))
        conn.execute(
            text("INSERT INTO status_version (id, version, changed_at) VALUES (1, :v, CURRENT_TIMESTAMP)"),
            {"v": version + 1},
        )


@pytest.fixture
def app_overrides() -> dict[str, object]:
    """Settings a test module may extend before the app is built."""
    return {}


@pytest.fixture
def app(engine: Engine, database_url: str, tmp_path: Path, app_overrides: dict[str, object]):
    """Return an app bound to the test database."""
    settings = {
        "APP_ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path),
        "INGEST_TOKEN": "test-token",
        # The queue in a file of the test's own on both backends (PostgreSQL storage: tests/jobs).
        "JOBS_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
    }
    settings.update(app_overrides)
    return create_app(settings)


@pytest.fixture
def run_jobs(app):
    """Return a function that runs the app's queued jobs in this process, as the worker would; returns how many."""
    import db

    def drain() -> int:
        with app.app_context():
            return db.jobs().drain()

    return drain


@pytest.fixture
def client(app):
    """Return a test client for the app."""
    return app.test_client()


@pytest.fixture(scope="session")
def real_export() -> Path:
    """Return the real NVCD export, skipping cleanly when it is absent."""
    if not REAL_EXPORT.exists():
        pytest.skip(f"real NVCD export not found at {REAL_EXPORT}")
    return REAL_EXPORT


@pytest.fixture(scope="session")
def real_extracted(real_export: Path) -> Extracted:
    """Return the real export read once for the session: tests whose subject is not the extract start from it.

    A run given it (``run_pipeline(engine, real_extracted, filename=real_export.name)``) stores what a run
    on the file stores; the file's own extract is tested end to end in tests/pipeline/test_real_export.py.
    """
    return read_file(real_export)


@pytest.fixture(scope="session")
def chromium():
    """Launch Debian's Chromium once per session (no browser download); skip without it, except in CI."""
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is required under CI")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
