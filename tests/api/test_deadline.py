"""The request deadline on SQLite: a locked database is a 503 within the budget, then reads go on."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from flask.testing import FlaskClient
from sqlalchemy import text

from api.deadline import DatabaseNotAnswering, bounded
from app import create_app
from models.database import SQLITE_BUSY_TIMEOUT_MS
from tests.conftest import alembic_config

BUDGET_S = 1.0


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    path = tmp_path / "deadline.sqlite3"
    command.upgrade(alembic_config(f"sqlite:///{path}"), "head")
    return path


@pytest.fixture
def sqlite_client(sqlite_path: Path, tmp_path: Path) -> Iterator[FlaskClient]:
    app = create_app({"APP_ENV": "testing", "TESTING": True, "SECRET_KEY": "test", "INSTANCE_PATH": str(tmp_path),
                      "DATABASE_URL": f"sqlite:///{sqlite_path}", "DB_DEADLINE_SECONDS": BUDGET_S,
                      "HEALTH_DEADLINE_SECONDS": BUDGET_S})  # fmt: skip
    yield app.test_client()
    app.extensions["engine"].dispose()


def lock_out_readers(path: Path) -> sqlite3.Connection:
    """Hold the database so that even WAL readers wait (exclusive locking mode, a write in progress)."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("UPDATE status_version SET version = version")
    return holder


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/events", "/api/v1/trends", "/api/v1/changes"])
def test_a_locked_database_is_a_503_within_the_budget(sqlite_client: FlaskClient, sqlite_path: Path,
                                                      path: str) -> None:  # fmt: skip
    assert sqlite_client.get(path).status_code == 200
    sqlite_client.application.extensions["engine"].dispose()  # exclusive mode needs the file to itself
    holder = lock_out_readers(sqlite_path)
    try:
        started = time.monotonic()
        response = sqlite_client.get(path)
        took = time.monotonic() - started
    finally:
        holder.close()
    assert response.status_code == 503 and took < BUDGET_S + 0.5, took
    assert response.get_json()["message"] == "Database not answering"
    assert response.headers["Retry-After"] == "5"
    assert sqlite_client.get(path).status_code == 200


def test_a_connection_leaves_the_block_with_its_usual_busy_timeout(sqlite_client: FlaskClient) -> None:
    engine = sqlite_client.application.extensions["engine"]
    with bounded(BUDGET_S), engine.connect() as conn:
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() <= BUDGET_S * 1000
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == SQLITE_BUSY_TIMEOUT_MS


def test_work_past_the_deadline_counts_as_not_answering() -> None:
    with pytest.raises(DatabaseNotAnswering), bounded(0.05):
        time.sleep(0.1)
    with bounded(0):  # no bound
        time.sleep(0.01)
