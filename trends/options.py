"""The values each trend filter offers: the distinct values of its column, listed at most every few minutes;
the datasets (one index seek each) at every call."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import Engine, Select, select
from sqlalchemy.orm import Session

from models import ConflictEvent, current_version
from trends.datasets import datasets_select, known_datasets, scoped
from trends.filters import LIST_KEYS, TrendFilters
from trends.sql import actor_rows

# The list filters whose values are listed from their column (the datasets are listed apart).
VALUE_KEYS = tuple(key for key in LIST_KEYS if key != "dataset")

# Listing the distinct values costs ~1 s on a million events, and a live replay changes the data
# version every few seconds: refresh at most this often (values in the URL always stay listed).
OPTIONS_MAX_AGE_S = 300.0
# Engine URL -> (data version, when listed, options): one listing per database and process.
_options_cache: dict[str, tuple[int, float, dict[str, list[str]]]] = {}


def options_select(key: str, datasets: Sequence[str] = ()) -> Select:
    """Return the distinct non-empty values of list filter ``key`` (a URL key) among stored events, in order.

    Every dataset's values are offered, whichever are chosen (``datasets`` names them all, for the actors),
    and withdrawn events' too: leaving them out would cost the index-only scans of the name indexes.
    """
    if key == "dataset":
        return datasets_select()
    if key == "actor":
        rows = actor_rows(TrendFilters(datasets=tuple(datasets)), withdrawn="include")
        return select(rows.c.grp).distinct().order_by(rows.c.grp)
    column = getattr(ConflictEvent, key)
    return select(column).distinct().where(column.is_not(None), column != "").order_by(column)


def filter_options(engine: Engine, now: float | None = None) -> dict[str, list[str]]:
    """Return URL key -> the values its filter offers, refreshed after a data change at most every 5 min.

    The datasets are listed at every call: a new dataset is offered (and accepted) at once.
    """
    now = time.monotonic() if now is None else now
    with Session(engine) as session:
        version = current_version(session)
        datasets = known_datasets(session.connection())
        cached = _options_cache.get(str(engine.url))
        if cached and (cached[0] == version or now - cached[1] < OPTIONS_MAX_AGE_S):
            return {**cached[2], "dataset": datasets}
        options = {key: [v for v in session.scalars(options_select(key, datasets)) if v] for key in VALUE_KEYS}
    _options_cache[str(engine.url)] = (version, now, options)
    return {**options, "dataset": datasets}


def default_datasets(engine: Engine) -> list[str]:
    """Return the datasets shown when none is chosen, as of now."""
    return list(scoped(engine, TrendFilters()).scope or ())


def clear_options_cache() -> None:
    """Forget every listing, so the next call lists the values anew (as after a data change)."""
    _options_cache.clear()
