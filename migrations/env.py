"""Alembic environment: URL from the app's config, or a connection handed in by tests."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

import config as app_config
from models import Base
from models.database import include_name, make_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    """Return the URL set on the alembic config, else the app's configured one."""
    return config.get_main_option("sqlalchemy.url") or str(app_config.from_environment()["DATABASE_URL"])


def run_migrations_offline() -> None:
    """Run migrations in 'offline' mode, emitting SQL."""
    url = database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on a connection from tests, or on a fresh engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
        return
    engine = make_engine(database_url(), statement_timeout_ms=0)  # a migration may rewrite big tables
    with engine.connect() as connection:
        do_run_migrations(connection)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
