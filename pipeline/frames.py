"""Frame helpers every stage shares: a column or nulls, and work done once per distinct value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def column(events: pd.DataFrame, name: str) -> pd.Series:
    """Return the column ``name``, or an all-null object column when the frame has none."""
    return events[name] if name in events else pd.Series(None, index=events.index, dtype=object)


def map_distinct(series: pd.Series, func: Callable[[Any], object]) -> pd.Series:
    """Apply ``func`` once per distinct non-null value and spread the results back (None for nulls).

    ``func`` takes ``Any``: a column's values have no static type (e.g. ``codebook.is_actor`` takes a str).
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    results = np.empty(len(uniques) + 1, dtype=object)
    results[:-1] = [func(value) for value in uniques]
    results[-1] = None  # code -1 (null) picks the last slot
    results[pd.isna(results)] = None  # on the distinct results, not on every row
    return pd.Series(results[codes], index=series.index, dtype=object)
