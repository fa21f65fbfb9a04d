"""Fault tests run against a PostgreSQL server of their own (tests/pgserver.py)."""

from tests.pgserver import own_postgres

__all__ = ["own_postgres"]
