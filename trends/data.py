"""Run a trend query and hand back its (already aggregated) rows as a DataFrame."""

from __future__ import annotations

import logging
import time
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, Select, text

log = logging.getLogger(__name__)


def fetch(engine: Engine, stmt: Select[Any], keep_types: bool = False) -> pd.DataFrame:
    """Execute ``stmt`` and return its rows as a DataFrame with the statement's column names.

    ``keep_types`` keeps Python values as they are (object columns), so integer
    columns with NULLs stay integers instead of becoming floats.
    """
    started = time.perf_counter()
    with engine.connect() as conn:
        prepare(conn)
        result = conn.execute(stmt)
        columns = list(result.keys())
        rows = result.all()
    frame = pd.DataFrame(rows, columns=columns, dtype=object) if keep_types else pd.DataFrame(rows, columns=columns)
    log.debug("trend query: %d rows in %.1f ms", len(frame), (time.perf_counter() - started) * 1000)
    return frame


def prepare(conn: Connection) -> None:
    """Tune the connection's transaction for one dashboard aggregate."""
    if conn.dialect.name == "postgresql":
        # JIT compiles each large aggregate for 150-200 ms, more than it saves on a million rows.
        # SET LOCAL ends with this transaction, so pooled connections are left as they were.
        conn.execute(text("SET LOCAL jit = off"))
