"""The pipeline, declared once: each stage's name, function, and what it consumes and produces.

In the style of Kedro's ``Pipeline([node(func, inputs, outputs)])``: every function here is a small
adapter over its stage module (looked up when called), taking named data from a run's catalog
and returning named data; the wiring is ``PIPELINE``. Two executors walk it in order:
``pipeline.serial`` (the whole input in this process) and ``pipeline.shards`` (a large CSV's
parts in forked workers, which run the ``row_local`` stages). Stage rows are created from
``STAGE_NAMES`` (``pipeline.recorder``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from models import utcnow
from pipeline import columns as c
from pipeline import dedupe, geocode, load, measure, normalise, validate
from pipeline.limits import Limits
from pipeline.sources.base import Extracted, Source

Catalog = dict[str, Any]


@dataclass(frozen=True)
class Stage:
    """One declared stage: ``func(*consumes)`` returns ``produces`` (one value, or a tuple of them)."""

    name: str
    func: Callable[..., Any]
    consumes: tuple[str, ...]
    produces: tuple[str, ...]
    row_local: bool = False  # needs only its own rows: the sharded workers run it on their part
    in_transaction: bool = False  # writes in the run's one data transaction (``session``)

    @property
    def counted_in(self) -> str | None:
        """Return the input whose size is the stage's items in (None: nothing counted yet)."""
        return next((name for name in self.consumes if name in SIZED), None)


def size(value: object) -> int:
    """Return how many items a stage's data holds: rows of a frame or extract, events written, metrics."""
    if isinstance(value, Extracted | dedupe.Deduplicated):
        return len(value.events)
    if isinstance(value, load.LoadResult):
        return value.new + value.updated
    if isinstance(value, pd.DataFrame):
        return len(value)
    return int(value)  # type: ignore[call-overload]


def extracted(source: Source, limits: Limits, sheet: str | None) -> Extracted:
    """Read the source's raw events."""
    return source.read(limits, sheet)


def normalised(raw: Extracted) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """Normalise the raw events and fingerprint them (``dedupe``: identity never depends on geocoding);
    return them, the cells' issues, and the export's villages."""
    events, cell_issues = normalise.normalise(raw.events)
    return dedupe.with_fingerprints(events), cell_issues, raw.villages


def geocoded(events: pd.DataFrame, villages: pd.DataFrame | None) -> pd.DataFrame:
    """Place the events in the gazetteer."""
    return geocode.geocode(events, villages)


def validated(events: pd.DataFrame, cell_issues: pd.DataFrame, today: date | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the rules; counts include normalise's cell issues."""
    return validate.validate_counting(events, cell_issues, today=today)


def deduplicated(events: pd.DataFrame, issues: pd.DataFrame) -> tuple[dedupe.Deduplicated, pd.DataFrame, pd.Series]:
    """Merge the batch's duplicates; return the distinct events, their issues, and the merged rows' sources."""
    distinct = dedupe.deduplicate(events)
    duplicate_sources = events.loc[events[c.SOURCE_ROW].isin(distinct.duplicate_rows), c.SOURCE]
    kept = issues[issues[c.SOURCE_ROW].isin(distinct.events[c.SOURCE_ROW])]
    return distinct, kept, duplicate_sources


def loaded(session: Session, distinct: dedupe.Deduplicated, issues: pd.DataFrame, run_id: int,
           source_file: str | None, batch_size: int, load_progress: load.ProgressFn | None,
           target: load.Target) -> load.LoadResult:  # fmt: skip
    """Reconcile the distinct events with their dataset and write them, their issues and changes (never commit)."""
    return load.load(session, distinct.events, issues, run_id=run_id, source_file=source_file, now=utcnow(),
                     batch_size=batch_size, progress=load_progress, target=target)  # fmt: skip


def measured(session: Session, distinct: dedupe.Deduplicated, duplicate_sources: pd.Series, run_id: int) -> int:
    """Write the run's data-quality metrics; return how many rows."""
    rows = measure.measure(distinct.events, duplicate_sources)
    return measure.write_metrics(session, rows, run_id=run_id, at=utcnow())


PIPELINE: tuple[Stage, ...] = (
    Stage("extract", extracted, ("source", "limits", "sheet"), ("raw",)),
    Stage("normalise", normalised, ("raw",), ("events", "cell_issues", "villages"),
          row_local=True),
    Stage("geocode", geocoded, ("events", "villages"), ("geocoded",), row_local=True),
    Stage("validate", validated, ("geocoded", "cell_issues", "today"), ("validated", "issues"), row_local=True),
    Stage("deduplicate", deduplicated, ("validated", "issues"), ("distinct", "kept_issues", "duplicate_sources")),
    Stage("load", loaded, ("session", "distinct", "kept_issues", "run_id", "source_file", "batch_size",
                           "load_progress", "target"), ("loaded",), in_transaction=True),
    Stage("measure", measured, ("session", "distinct", "duplicate_sources", "run_id"), ("written",),
          in_transaction=True),
)  # fmt: skip
STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in PIPELINE)
# The data whose size a stage's items in or out count (the others are settings or side data).
SIZED = frozenset(("raw", "events", "geocoded", "validated", "distinct", "loaded", "written"))


def run_stage(stage: Stage, catalog: Catalog) -> Any:
    """Run ``stage`` on the catalog's data, add what it produces, and return its first product."""
    result = stage.func(*(catalog[name] for name in stage.consumes))
    values = result if len(stage.produces) > 1 else (result,)
    catalog.update(zip(stage.produces, values, strict=True))
    return catalog[stage.produces[0]]


def release(catalog: Catalog, done: int) -> None:
    """Drop the data produced so far that no stage after the first ``done`` consumes (a million rows weigh)."""
    later = {name for stage in PIPELINE[done:] for name in stage.consumes}
    for stage in PIPELINE[:done]:
        for name in stage.produces:
            if name not in later:
                catalog.pop(name, None)
