"""Scratch PostgreSQL databases for benchmarks: created empty, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config import normalise_database_url


def scratch_postgres(admin_url: str, prefix: str) -> tuple[str, Callable[[], None]]:
    """Create an empty database on ``admin_url``'s server; return its URL and a function that drops it."""
    admin_url = normalise_database_url(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop
