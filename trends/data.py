"""Run a trend query and hand back its (already aggregated) rows as a DataFrame."""

from __future__ import annotations

import logging
import time
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Select

log = logging.getLogger(__name__)


def fetch(engine: Engine, stmt: Select[Any], keep_types: bool = False) -> pd.DataFrame:
    """Execute ``stmt`` and return its rows as a DataFrame with the statement's column names.

    ``keep_types`` keeps Python values as they are (object columns), so integer
    columns with NULLs stay integers instead of becoming floats.
    """
    started = time.perf_counter()
    with engine.connect() as conn:
        result = conn.execute(stmt)
        columns = list(result.keys())
        rows = result.all()
    frame = pd.DataFrame(rows, columns=columns, dtype=object) if keep_types else pd.DataFrame(rows, columns=columns)
    log.debug("trend query: %d rows in %.1f ms", len(frame), (time.perf_counter() - started) * 1000)
    return frame
