"""Migrations round-trip on both databases and match the models exactly."""

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from models import Base
from models.database import include_name
from tests.conftest import alembic_config


def _drift(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        return compare_metadata(context, Base.metadata)


def test_upgrade_creates_every_model_table(engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert _drift(engine) == []


def test_downgrade_base_then_upgrade_head(engine, database_url) -> None:
    cfg = alembic_config(database_url)
    command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) & set(Base.metadata.tables) == set()
    command.upgrade(cfg, "head")
    assert _drift(engine) == []
    command.check(cfg)


def test_data_quality_metrics_has_the_original_indexes(engine) -> None:
    names = {ix["name"] for ix in inspect(engine).get_indexes("data_quality_metrics")}
    assert {
        "ix_data_quality_metrics_timestamp_desc",
        "ix_data_quality_metrics_source",
        "ix_data_quality_metrics_metric_type",
        "ix_data_quality_metrics_recent_aggregate",
    } <= names


def test_fingerprints_and_indexed_names_compare_bytes_on_postgresql(engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite compares text byte by byte already")
    with engine.connect() as conn:
        collations = dict(conn.execute(text(
            "SELECT column_name, collation_name FROM information_schema.columns "
            "WHERE table_name = 'conflict_events' AND collation_name IS NOT NULL")).all())  # fmt: skip
    assert collations == {
        name: "C" for name in ("event_id", "dataset", "fingerprint", "state", "lga", "crisis_type", "source")
    }
