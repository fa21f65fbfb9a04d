"""Run the pipeline: the stages in order, each recorded, with the I/O at the ends.

extract -> normalise -> geocode -> validate -> deduplicate -> load -> measure.
Run and stage rows are committed as progress (``pipeline.recorder``). Every event,
issue and metric write of a run happens in one transaction opened for ``load`` and
committed after ``measure``: a run that fails anywhere leaves those tables as they
were, and its run row says ``failed`` with the reason and the failing stage.

Runs record failures, including unreadable input: a rejected file still leaves a
failed run (with the one-line reason) for the data team to see on the monitor. That reason
is public: it names the input's file name (never a folder) and quotes nothing of its
content; what an ``InputError`` quotes (headers found, sheet names) goes to ``RunFailed.quoted``
for whoever sent the input. ``run_pipeline`` then raises ``RunFailed`` carrying the summary;
``input_error`` tells a bad file (CLI exit 2, HTTP 422; ``too_large``: one over the limits of
``pipeline.limits``, HTTP 413) from a fault of ours, and ``busy`` a run that could not
get the database's write lock in time because another run was writing (HTTP 503; on
SQLite the run may not even be recorded, then ``run_id`` is None).

A source is a local file as a ``Path`` (the CLI only), an upload as ``Upload`` (bytes and its
file name), parsed records, a raw frame or an ``Extracted``. Anything else, a ``str`` above
all, is refused as a bad batch: a value that came over HTTP never reaches code that opens a path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from models import utcnow
from models.database import is_lock_wait
from pipeline import columns as c
from pipeline import bulk, dedupe, extract, geocode, load, measure, normalise, shards, validate
from pipeline.errors import InputError, LimitExceeded
from pipeline.limits import Limits
from pipeline.recorder import RunRecorder, clip_source_file

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
BUSY = "another run is writing to the database; try again shortly"
Upload = tuple[bytes, str]  # an uploaded file's bytes and its name (no folder)
Source = Path | Upload | list[dict[str, object]] | pd.DataFrame | extract.Extracted


@dataclass
class RunSummary:
    """What a run did, for the CLI table, the HTTP response and tests."""

    run_id: int | None
    status: str
    trigger: str
    source_file: str | None
    rows_read: int = 0
    rows_skipped: int = 0
    events: int = 0
    events_new: int = 0
    events_updated: int = 0
    events_unchanged: int = 0
    duplicates: int = 0
    precision: dict[str, int] = field(default_factory=dict)
    failures_by_rule: dict[str, int] = field(default_factory=dict)
    issues: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    duration_s: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as plain JSON-ready data."""
        return asdict(self)


class RunFailed(Exception):
    """A run that was recorded as failed; ``summary`` says how far it got."""

    def __init__(self, summary: RunSummary, input_error: bool, busy: bool = False, quoted: str | None = None,
                 too_large: bool = False) -> None:  # fmt: skip
        super().__init__(summary.error or "run failed")
        self.summary = summary
        self.input_error = input_error
        self.busy = busy
        self.quoted = quoted  # what the input error quoted of the input: for its sender, never stored
        self.too_large = too_large

    def message(self) -> str:
        """Return the reason with what it quoted of the input, for whoever sent that input."""
        return f"{self.summary.error}: {self.quoted}" if self.quoted else self.summary.error or "run failed"


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Turn a raw frame into JSON-like records (missing values dropped)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return [{k: v for k, v in row.items() if v is not None} for row in clean.to_dict("records")]


def source_name(source: Source, filename: str | None) -> str | None:
    """Return the name a run records for its input."""
    if filename:
        return Path(filename).name
    if isinstance(source, Path):
        return source.name
    if _is_upload(source):
        return Path(source[1]).name  # type: ignore[index]
    return None


def _is_upload(source: object) -> bool:
    return (isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], bytes)
            and isinstance(source[1], str))  # fmt: skip


def read_source(source: Source, filename: str | None = None, limits: Limits = Limits(),
                sheet: str | None = None) -> extract.Extracted:  # fmt: skip
    """Extract raw events from a Path, an Upload, records, a raw frame or an Extracted; refuse anything else."""
    if isinstance(source, extract.Extracted):
        return source
    if isinstance(source, Path):
        return extract.read_file(source, limits, sheet, filename=filename)
    if _is_upload(source):
        data, name = source  # type: ignore[misc]
        return extract.read_bytes(data, Path(filename or name).name, limits, sheet)
    if isinstance(source, pd.DataFrame):
        return extract.read_records(_records(source))
    if isinstance(source, list):
        return extract.read_records(source)
    # A str is never taken for a path here: only the CLI's Path objects are files.
    raise InputError(f"a batch must be a list of records, got {type(source).__name__}")


class _Stages:
    """Time each stage and record its transitions."""

    def __init__(self, recorder: RunRecorder, summary: RunSummary, progress: ProgressFn | None) -> None:
        self.recorder, self.summary, self.progress = recorder, summary, progress
        self.started = 0.0

    def begin(self, name: str, items_in: int, session: Session | None = None) -> None:
        self.started = time.perf_counter()
        self.recorder.stage_started(name, items_in, session)
        if self.progress:
            self.progress(name, 0, max(items_in, 1))

    def end(self, name: str, items_out: int, session: Session | None = None) -> None:
        self.recorder.stage_finished(name, items_out, session)
        self.summary.stage_seconds[name] = round(time.perf_counter() - self.started, 4)
        if self.progress:
            self.progress(name, max(items_out, 1), max(items_out, 1))


def _process(source: Source, filename: str | None, today: date | None, st: _Stages, summary: RunSummary,
             known_sources: list[str], reading: tuple[Limits, str | None],
             ) -> tuple[dedupe.Deduplicated, pd.DataFrame, pd.Series]:  # fmt: skip
    """Run the in-memory stages, extract to deduplicate; return events, issues, duplicates' sources."""
    st.begin("extract", 0)
    raw = read_source(source, filename, *reading)
    summary.rows_read = len(raw.events) + raw.rows_skipped
    summary.rows_skipped = raw.rows_skipped
    if raw.events.empty:
        raise InputError(f"{summary.source_file or 'the batch'} holds no events (only empty template rows)")
    st.end("extract", len(raw.events))
    st.begin("normalise", len(raw.events))
    events, norm_issues = normalise.normalise(raw.events, known_sources)
    villages, raw = raw.villages, None  # free the raw frame: a million rows weigh
    st.end("normalise", len(events))
    st.begin("geocode", len(events))
    events = geocode.geocode(events, villages)
    st.end("geocode", len(events))
    st.begin("validate", len(events))
    events, issues = validate.validate_counting(events, norm_issues, today=today)  # normalise's warnings count too
    st.end("validate", len(events))
    st.begin("deduplicate", len(events))
    distinct = dedupe.deduplicate(events)
    summary.events, summary.duplicates = len(distinct.events), distinct.duplicates
    st.end("deduplicate", len(distinct.events))
    duplicate_sources = events.loc[events[c.SOURCE_ROW].isin(distinct.duplicate_rows), c.SOURCE]
    kept = issues[issues[c.SOURCE_ROW].isin(distinct.events[c.SOURCE_ROW])]
    return distinct, kept, duplicate_sources


def _store(engine: Engine, distinct: dedupe.Deduplicated, issues: pd.DataFrame, duplicate_sources: pd.Series,
           st: _Stages, summary: RunSummary, batch_size: int, lock_wait_s: float | None) -> None:  # fmt: skip
    """Load and measure in one transaction, committed with the run's final state."""
    recorder = st.recorder
    st.begin("load", len(distinct.events))
    with Session(engine, info={bulk.LOCK_WAIT: lock_wait_s}) as session:
        progress = (lambda done, total: st.progress("load", done, total)) if st.progress else None
        result = load.load(session, distinct.events, issues, run_id=recorder.run_id, source_file=summary.source_file,
                           now=utcnow(), batch_size=batch_size, progress=progress)  # fmt: skip
        summary.events_new, summary.events_updated = result.new, result.updated
        summary.events_unchanged = result.unchanged
        st.end("load", result.new + result.updated, session)
        st.begin("measure", len(distinct.events), session)
        rows = measure.measure(distinct.events, duplicate_sources)
        written = measure.write_metrics(session, rows, run_id=recorder.run_id, at=utcnow())
        st.end("measure", written, session)
        recorder.run_finished(session, **_run_counts(summary))
        session.commit()


def _sharded(engine: Engine, source: Source, st: _Stages, summary: RunSummary, workers: int, today: date | None,
             lock_wait_s: float | None) -> bool:  # fmt: skip
    """Run a large CSV's first load over ``workers`` processes (``pipeline.shards``); False if it was not."""
    data = shards.suits(engine, source, workers) if isinstance(source, Path) else None
    if data is None:
        return False

    def finish(session: Session) -> None:
        st.recorder.run_finished(session, **_run_counts(summary))

    return shards.run(engine, data, workers, (st.begin, st.end), summary, today=today, lock_wait_s=lock_wait_s,
                      finish=finish)  # fmt: skip


def _run_counts(summary: RunSummary) -> dict[str, int]:
    return {
        "items_in": summary.rows_read,
        "items_out": summary.events_new + summary.events_updated,
        "rows_skipped": summary.rows_skipped,
        "events_new": summary.events_new,
        "events_updated": summary.events_updated,
        "events_unchanged": summary.events_unchanged,
        "duplicates_in_batch": summary.duplicates,
    }


def _record_failure(recorder: RunRecorder, error: str, **counts: int) -> None:
    """Mark the run failed; if that write fails too (e.g. SQLite busy), log it and let the run's failure go on."""
    try:
        recorder.run_failed(error, **counts)
    except Exception:  # noqa: BLE001 - the caller raises the run's own failure next
        log.exception("run %s: could not record the failure", recorder.run_id)


def run_pipeline(engine: Engine, source: Source, *, trigger: str = "cli", filename: str | None = None,
                 on_progress: ProgressFn | None = None, today: date | None = None,
                 batch_size: int = load.BATCH_SIZE, lock_wait_s: float | None = None,
                 workers: int = 1, limits: Limits = Limits(), sheet: str | None = None) -> RunSummary:  # fmt: skip
    """Run every stage on ``source`` and record it; raise RunFailed when the run fails.

    ``limits`` bound what a workbook may unpack to (``pipeline.limits``); ``sheet`` names the
    workbook's events sheet when several visible sheets have event headers.

    ``lock_wait_s`` bounds the wait for another run's write lock on PostgreSQL (None: until it
    is free); SQLite waits its busy timeout. ``workers`` > 1 lets a large CSV file's first load
    into PostgreSQL run over that many forked processes (``pipeline.shards``); only for a
    process that may fork (the CLI), not a web worker.
    """
    began = time.perf_counter()
    name = clip_source_file(source_name(source, filename))
    recorder = RunRecorder(engine, trigger, name)
    summary = RunSummary(run_id=None, status="running", trigger=trigger, source_file=name)
    try:
        summary.run_id = recorder.start()
    except OperationalError as exc:
        if not is_lock_wait(exc):
            raise
        summary.status, summary.error = "failed", BUSY
        raise RunFailed(summary, input_error=False, busy=True) from exc
    st = _Stages(recorder, summary, on_progress)
    try:
        if sheet is not None or not _sharded(engine, source, st, summary, workers, today, lock_wait_s):
            with Session(engine) as session:
                known_sources = load.stored_sources(session)
            distinct, issues, duplicate_sources = _process(source, filename, today, st, summary, known_sources,
                                                           (limits, sheet))  # fmt: skip
            precision = distinct.events[c.GEO_PRECISION].fillna("none").value_counts()
            summary.precision = {str(p): int(n) for p, n in precision.items()}
            summary.failures_by_rule = {str(k): int(v) for k, v in issues[c.RULE].value_counts().items()}
            summary.issues = len(issues)
            _store(engine, distinct, issues, duplicate_sources, st, summary, batch_size, lock_wait_s)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, then re-raised as RunFailed
        bad_input, busy = isinstance(exc, InputError), is_lock_wait(exc)
        if not (bad_input or busy):  # the details (SQL, parameters, row values) go to the log only
            log.exception("run %s failed", summary.run_id)
        reason = " ".join(str(exc).split()) or exc.__class__.__name__
        summary.status = "failed"
        summary.error = reason if bad_input else BUSY if busy else f"internal error (run {summary.run_id})"
        summary.duration_s = round(time.perf_counter() - began, 4)
        nothing = {"events_new": 0, "events_updated": 0, "events_unchanged": 0, "items_out": 0}
        _record_failure(recorder, summary.error, **(_run_counts(summary) | nothing))
        summary.events_new = summary.events_updated = summary.events_unchanged = 0
        quoted = exc.quoted if isinstance(exc, InputError) else None
        raise RunFailed(summary, bad_input, busy, quoted, isinstance(exc, LimitExceeded)) from exc
    except BaseException as exc:  # Ctrl-C or SystemExit: leave no run "running" forever, then go on exiting
        summary.status, summary.error = "failed", f"interrupted ({exc.__class__.__name__})"
        _record_failure(recorder, summary.error)
        raise
    summary.status = "succeeded"
    summary.duration_s = round(time.perf_counter() - began, 4)
    log.info("run %s: %d events (%d new, %d updated, %d unchanged) in %.2fs", summary.run_id, summary.events,
             summary.events_new, summary.events_updated, summary.events_unchanged, summary.duration_s)  # fmt: skip
    return summary
