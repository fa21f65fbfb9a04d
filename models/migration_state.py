"""Which migration a database is on, and whether this code needs a newer one (alembic's public API)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


@cache
def migrations() -> ScriptDirectory:
    """Return the migrations this code ships (read once)."""
    return ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))


def migrations_head() -> str | None:
    """Return the newest migration revision this code ships."""
    return migrations().get_current_head()


def current_revision(conn: Connection) -> str | None:
    """Return the revision the database is on (None: never migrated, no ``alembic_version`` table)."""
    heads = MigrationContext.configure(conn).get_current_heads()
    return heads[0] if heads else None


def schema_behind(revision: str | None) -> bool:
    """Tell whether the database lacks migrations this code needs.

    A revision this code does not know is newer (a later release migrated): not behind,
    so running replicas stay healthy while a deploy rolls out.
    """
    if revision is None:
        return True
    known = {script.revision for script in migrations().walk_revisions()}
    return revision in known and revision != migrations_head()
