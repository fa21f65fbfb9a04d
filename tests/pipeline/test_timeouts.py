"""The CLI and migrations run without the web server's statement timeout (big loads, table rewrites)."""

from __future__ import annotations

import click
import pytest
from alembic import command
from sqlalchemy import Engine, text

import models.database
from pipeline import cli
from tests.conftest import alembic_config


def _timeout(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SHOW statement_timeout")).scalar())


def test_the_cli_engine_has_no_statement_timeout(database_url, engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("statement_timeout is a PostgreSQL setting")
    assert _timeout(engine) == "30s"  # the server's engine keeps its guard
    cli_engine = cli._engine(click.Context(cli.cli, obj={"database_url": database_url}))
    try:
        assert _timeout(cli_engine) == "0"
    finally:
        cli_engine.dispose()


def test_migrations_run_with_no_statement_timeout(database_url, engine, monkeypatch) -> None:
    seen: list[str] = []
    real = models.database.make_engine

    def spy(url: str, *args: object, **kwargs: object) -> Engine:
        made = real(url, *args, **kwargs)
        seen.append(_timeout(made) if made.dialect.name == "postgresql" else str(kwargs.get("statement_timeout_ms")))
        return made

    monkeypatch.setattr(models.database, "make_engine", spy)
    command.upgrade(alembic_config(database_url), "head")  # already at head: env.py connects, changes nothing
    assert seen == ["0"]
