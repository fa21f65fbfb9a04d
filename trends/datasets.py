"""Which events a trend query reads: the chosen datasets (else the default rule) and live or withdrawn events.

The default, written once (``in_scope``): with no dataset chosen, every dataset but ``demo`` as soon
as a live event of another dataset exists, else every dataset, so the demo app still shows its demo
data. It is a condition in SQL (a seek or two of ``ix_conflict_events_dataset_fingerprint``,
``real_data``). The pages and the API first settle it over the few stored datasets (``scoped``: one
cheap query, which also names the datasets to cite), so their queries read a plain ``dataset IN (...)``:
inlined in each scan, the rule's subqueries keep PostgreSQL from running a UNION (the actor series) in
parallel. A query built from filters not settled decides the rule itself, with the same result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Select, exists, func, or_, select, true
from sqlalchemy.orm import aliased

from models import DEFAULT_DATASET, DEMO_DATASET, ConflictEvent
from trends.data import fetch
from trends.filters import FilterError, TrendFilters

E = ConflictEvent
# How GET /api/v1/events treats withdrawn events (no longer in a snapshot import); trends always exclude them.
WITHDRAWN = ("exclude", "include", "only")
# What a CSV citation credits each dataset with; any other dataset is cited by its name alone.
CREDITS = {
    DEFAULT_DATASET: "Nigeria Violent Conflicts Database (Nextier)",
    DEMO_DATASET: "generated demo data (not NVCD)",
}


def live() -> ColumnElement[bool]:
    """Return the condition of events that are not withdrawn."""
    return E.withdrawn_run_id.is_(None)


def withdrawn_condition(withdrawn: str) -> ColumnElement[bool]:
    """Return the condition on withdrawal for ``withdrawn`` (exclude, include or only)."""
    if withdrawn not in WITHDRAWN:
        raise ValueError(f"unknown withdrawn mode {withdrawn!r}")
    if withdrawn == "include":
        return true()
    return live() if withdrawn == "exclude" else E.withdrawn_run_id.is_not(None)


def real_data() -> ColumnElement[bool]:
    """Return whether a live event outside the demo dataset exists: the nearest such dataset on either side of demo.

    Written as MIN/MAX over ``ix_conflict_events_dataset_fingerprint`` rather than EXISTS: both databases walk the
    index from demo and stop at the first live event, where PostgreSQL plans the EXISTS as a table scan that reads
    every demo row stored before the first other one (300,000 demo rows, then nvcd: 330 ms instead of 0.1 ms).
    """
    other = aliased(ConflictEvent, name="real_data")
    after = select(func.min(other.dataset)).where(other.dataset > DEMO_DATASET, other.withdrawn_run_id.is_(None))
    before = select(func.max(other.dataset)).where(other.dataset < DEMO_DATASET, other.withdrawn_run_id.is_(None))
    return or_(after.scalar_subquery().is_not(None), before.scalar_subquery().is_not(None))


def in_scope(column: Any, chosen: Sequence[str]) -> ColumnElement[bool]:
    """Return the condition on a dataset ``column``: the ``chosen`` datasets, else the default rule."""
    if chosen:
        return column.in_(chosen)
    return or_(column != DEMO_DATASET, ~real_data())


def dataset_condition(column: Any, filters: TrendFilters) -> ColumnElement[bool]:
    """Return the condition on a dataset ``column`` for ``filters``: their settled datasets, else ``in_scope``."""
    if filters.scope is not None:
        return column.in_(filters.scope)  # none: false, nothing to show
    return in_scope(column, filters.datasets)


def datasets_select() -> Select:
    """Return the distinct datasets of the stored events, in order: one index seek per dataset (loose index scan)."""
    found = select(func.min(E.dataset).label("dataset")).cte("datasets", recursive=True)
    following = select(func.min(E.dataset)).where(E.dataset > found.c.dataset).scalar_subquery()
    found = found.union_all(select(following).where(found.c.dataset.is_not(None)))
    return select(found.c.dataset).where(found.c.dataset.is_not(None)).order_by(found.c.dataset)


def scope_select(chosen: Sequence[str], withdrawn: str = "exclude") -> Select:
    """Return the datasets a query with ``chosen`` datasets (none: the default) shows events of.

    A dataset counts only while it holds an event that ``withdrawn`` lets through (by default a live one).
    """
    known = datasets_select().subquery("known")
    shows = exists().where(E.dataset == known.c.dataset, withdrawn_condition(withdrawn))
    return select(known.c.dataset).where(in_scope(known.c.dataset, chosen), shows).order_by(known.c.dataset)


def known_datasets(conn: Connection) -> list[str]:
    """Return the datasets that hold events (live or withdrawn)."""
    return list(conn.scalars(datasets_select()))


def scoped(engine: Engine, filters: TrendFilters, withdrawn: str = "exclude") -> TrendFilters:
    """Return ``filters`` with their datasets settled: those whose events they show, to read and to cite."""
    shown = fetch(engine, scope_select(filters.datasets, withdrawn))["dataset"]
    return replace(filters, scope=tuple(shown))


def check_known(chosen: Iterable[str], known: Sequence[str]) -> None:
    """Raise FilterError when a chosen dataset holds no events."""
    unknown = [name for name in chosen if name not in known]
    if unknown:
        listed = ", ".join(known) or "none yet"
        raise FilterError("dataset", f"unknown dataset {unknown[0]!r} (known: {listed})")


def credit(datasets: Sequence[str]) -> str:
    """Say whose data ``datasets`` are: Nextier's NVCD for nvcd only, never for demo or any other dataset."""
    if not datasets:
        return "no dataset"
    return ", ".join(f"{name} = {CREDITS[name]}" if name in CREDITS else name for name in datasets)
