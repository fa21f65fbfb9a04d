"""The command line's failures: one line and an exit status, the traceback only with --verbose."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from config import PROJECT_ROOT
from models import PipelineRun
from models.migration_state import migrations_head
from pipeline import serial
from pipeline.cli import cli
from pipeline.cli_errors import RERUN, shown_url, unreachable
from pipeline.demo.generate import generate_events, write_csv
from tests.conftest import _create_postgres_database, _drop_postgres_database, alembic_config

UNREACHABLE = "postgresql://nvcd:s3cret-pw@127.0.0.1:1/nvcd"
MIGRATE = 'run "alembic upgrade head" (or make migrate)'


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _lines(text_: str) -> list[str]:
    return [line for line in text_.splitlines() if line.strip()]


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "export.csv"
    write_csv(generate_events(5, seed=1), str(path))
    return path


def test_an_unmigrated_sqlite_file_exits_2_naming_the_revision_and_the_fix(tmp_path, export):
    path = tmp_path / "old.sqlite3"
    fresh = _invoke("--database-url", f"sqlite:///{path}", "ingest", str(export), "--no-progress")
    assert fresh.exit_code == 2
    assert _lines(fresh.output) == [
        f"error: database at sqlite:///{path} is not migrated (no migration applied, need {migrations_head()}): "
        + MIGRATE
    ]
    behind = create_engine(f"sqlite:///{path}")
    with behind.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
    behind.dispose()
    for args in (["seed"], ["replay", "--batches", "1"], ["ingest", str(export)]):
        result = _invoke("--database-url", f"sqlite:///{path}", *args)
        assert result.exit_code == 2, result.output
        assert _lines(result.output) == [
            f"error: database at sqlite:///{path} is not migrated (at revision 0001, need {migrations_head()}): "
            + MIGRATE
        ]


def test_an_empty_postgresql_database_exits_2_in_one_line(export):
    admin_url, url = _create_postgres_database()  # a database of its own, dropped after
    try:
        result = _invoke("--database-url", url, "ingest", str(export), "--no-progress")
    finally:
        _drop_postgres_database(admin_url, url)
    assert result.exit_code == 2
    [line] = _lines(result.output)
    assert line.startswith(f"error: database at {shown_url(url)} is not migrated (no migration applied")
    assert line.endswith(MIGRATE)


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pipeline`` for real: its logging, not pytest's, decides what reaches stderr."""
    argv = [sys.executable, "-m", "pipeline", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT, check=False)


def test_an_unreachable_database_is_one_line_and_the_traceback_only_with_verbose(export):
    quiet = _run_cli("--database-url", UNREACHABLE, "ingest", str(export), "--no-progress")
    assert quiet.returncode == 1
    assert quiet.stdout == ""
    assert _lines(quiet.stderr) == ["error: database unreachable (postgresql://nvcd:***@127.0.0.1:1/nvcd): "
                                    "connection refused"]  # fmt: skip
    verbose = _run_cli("--verbose", "--database-url", UNREACHABLE, "seed")
    assert verbose.returncode == 1
    assert "Traceback (most recent call last)" in verbose.stderr and "OperationalError" in verbose.stderr
    assert _lines(verbose.stderr)[-1].startswith("error: database unreachable (")
    assert "s3cret-pw" not in quiet.stderr + verbose.stderr + verbose.stdout


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@db.example:5432/nvcd?sslmode=require", "postgresql://u:***@db.example:5432/nvcd?sslmode="),
        ("postgresql://u@db.example/nvcd?password=pw", "postgresql://u@db.example/nvcd"),
        ("sqlite:///instance/nvcd.sqlite3", "sqlite:///instance/nvcd.sqlite3"),
    ],
)
def test_a_shown_url_never_has_the_password(url, shown):
    assert shown_url(url).startswith(shown) and "pw" not in shown_url(url)


@pytest.fixture
def invoke(database_url, engine):  # engine: so the tables are emptied after each test
    return lambda *args: _invoke("--database-url", database_url, *args)


def test_an_internal_error_names_the_run_and_the_exception_class(invoke, engine, export, monkeypatch):
    def broken(*_args: object) -> None:
        raise KeyError("some column")

    monkeypatch.setattr(serial, "run", broken)
    result = invoke("ingest", str(export), "--no-progress")
    assert result.exit_code == 1
    with Session(engine) as session:
        run_id = session.scalar(select(func.max(PipelineRun.id)))
    assert _lines(result.output) == [f"error: internal error (run {run_id}): KeyError; {RERUN}"]


def test_a_connection_lost_mid_run_is_one_line(invoke, engine, database_url, export, monkeypatch):
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("a server that ends the connection is PostgreSQL's")

    def cut_off(run_engine, *_args: object) -> None:
        with run_engine.connect() as conn:
            conn.execute(select(func.pg_terminate_backend(func.pg_backend_pid())))

    monkeypatch.setattr(serial, "run", cut_off)
    result = invoke("ingest", str(export), "--no-progress")
    assert result.exit_code == 1
    assert _lines(result.output) == [f"error: database unreachable ({shown_url(database_url)}): connection lost"]
    with Session(engine) as session:  # the failure is still recorded, on a new connection
        assert session.scalars(select(PipelineRun.status)).one() == "failed"


def test_an_operational_error_that_is_not_a_connection_problem_is_internal(invoke, engine, export, monkeypatch):
    def bad_sql(run_engine, *_args: object) -> None:
        with run_engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))

    monkeypatch.setattr(serial, "run", bad_sql)
    result = invoke("ingest", str(export), "--no-progress")
    assert result.exit_code == 1
    [line] = _lines(result.output)
    assert "internal error (run " in line and ("OperationalError" in line or "ProgrammingError" in line)
    assert "no_such_table" not in line  # the class is named, never the SQL


def test_a_run_that_fails_inside_logs_no_traceback_unless_verbose(tmp_path, export):
    url = f"sqlite:///{tmp_path / 'broken.sqlite3'}"
    command.upgrade(alembic_config(url), "head")
    broken = create_engine(url)
    with broken.begin() as conn:  # migrated, yet the measure stage will find no table to write to
        conn.execute(text("DROP TABLE data_quality_metrics"))
    broken.dispose()
    quiet = _run_cli("--database-url", url, "ingest", str(export), "--no-progress")
    assert quiet.returncode == 1
    assert _lines(quiet.stderr) == ["error: internal error (run 1): OperationalError; " + RERUN]
    verbose = _run_cli("--verbose", "--database-url", url, "ingest", str(export), "--no-progress")
    assert verbose.returncode == 1
    assert "Traceback (most recent call last)" in verbose.stderr and "no such table" in verbose.stderr
    assert "INFO alembic" not in verbose.stderr  # the migration check is not news
    assert "ERROR pipeline.runner: run 2 failed" in verbose.stderr
    assert _lines(verbose.stderr)[-1] == "error: internal error (run 2): OperationalError; " + RERUN


@pytest.mark.parametrize(
    ("said", "statement", "cause"),
    [
        ('connection to server at "127.0.0.1", port 1 failed: Connection refused', None, "connection refused"),
        ("failed to resolve host 'db.nowhere': [Errno -2] Name or service not known", None, "host name not found"),
        ('could not translate host name "db" to address: Temporary failure in name resolution', None,
         "host name not found"),
        ("connection timeout expired", None, "connection timed out"),
        ("consuming input failed: server closed the connection unexpectedly", "SELECT 1", "connection lost"),
        ('connection to server failed: FATAL:  password authentication failed for user "u" (pw hunter2)', None,
         'FATAL: password authentication failed for user "u" (pw ***)'),
        ("no such table: data_quality_metrics", "INSERT INTO data_quality_metrics", None),
    ],
)  # fmt: skip
def test_what_the_driver_said_becomes_the_cause(said, statement, cause):
    assert unreachable(OperationalError(statement, {}, Exception(said)), password="hunter2") == cause
