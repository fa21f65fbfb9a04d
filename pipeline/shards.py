"""The sharded executor: a first large load of a CSV export into PostgreSQL, over forked workers.

It runs ``pipeline.stages.PIPELINE``: ``run_pipeline(..., workers=N)`` (the CLI passes the
machine's cores) comes here for a CSV file of at least SHARD_AT_BYTES when PostgreSQL's events
table is empty. The file is cut at
row boundaries (a newline after an even number of quote characters) into one byte range per
worker. Each worker extracts its range, runs the declared row-local stages on it (normalise,
geocode, validate: the same functions as the serial path) and hashes its
events (``dedupe.hash_keys``); the parent decides the exact duplicates over the whole file, in
file order (``dedupe.repeats``), allocates the ids and opens one binary
COPY, into which it forwards the rows the workers encode: every write is still one transaction
under the loader's lock, in the bulk mode (secondary indexes dropped in a short transaction of
their own before the workers start, rebuilt after COPY by CREATE INDEX, which readers do not wait
for); every event is "created" (``event_changes``: written from the stored events in one
``INSERT ... SELECT``, not sent through the pipes). Row numbers run on across
the ranges, so the stored events, issues and metrics are those of the serial path (tests
compare them). 1M events on 2 cores: bench/README.md.

A worker that fails (a part it cannot read, or one that is not UTF-8, say) ends the attempt
before anything is committed, and the run goes the serial way, which gives the canonical error
(or reads the whole file as cp1252).
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from itertools import pairwise
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import ConflictEvent, utcnow
from pipeline import bulk, dedupe, load, measure
from pipeline import columns as c
from pipeline.recording import Recording
from pipeline.sources.csv_file import read_csv
from pipeline.stages import PIPELINE, Catalog, release, run_stage

log = logging.getLogger(__name__)

SHARD_AT_BYTES = 32 << 20  # ~110,000 events: from about where the bulk mode's index rebuild starts
# The declaration as this executor runs it: extract split by the parent, the row-local stages in the
# workers (each reported as they finish it), deduplicate, load and measure joined up by the parent.
EXTRACT, *WORKER_STAGES, DEDUPLICATE, LOAD, MEASURE = PIPELINE
if not all(stage.row_local for stage in WORKER_STAGES):
    raise ImportError("pipeline.shards runs every stage between extract and deduplicate in its workers")


class ShardFailed(Exception):
    """A worker ended before its part was done; the run should go the serial way."""


def suits(engine: Engine, path: Path, workers: int) -> bytes | None:
    """Return the file's bytes when this run may be sharded (PostgreSQL, a large CSV), else None."""
    if workers < 2 or engine.dialect.name != "postgresql" or path.suffix.lower() != ".csv":
        return None
    try:
        if path.stat().st_size < SHARD_AT_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return data


def cuts(data: bytes, parts: int) -> list[int]:
    """Return where the header ends, where each part after it ends, and so the parts' bounds.

    A cut follows a newline outside quotes (an even number of quote characters before it; a
    quoted quote is doubled). A quote inside an unquoted field breaks that reckoning; then a
    worker's part ends inside a quoted field, which it reports as unreadable.
    """
    bounds: list[int] = []
    quotes = pos = 0
    for target in [len(data) * i // parts for i in range(parts)]:
        if target > pos:
            quotes += data.count(b'"', pos, target)
            pos = target
        while (newline := data.find(b"\n", pos)) != -1:
            quotes += data.count(b'"', pos, newline + 1)
            pos = newline + 1
            if quotes % 2 == 0:
                if not bounds or pos > bounds[-1]:
                    bounds.append(pos)
                break
    return [*bounds, len(data)] if bounds and bounds[-1] < len(data) else bounds


def _work(conn: Connection, inherited: list[Connection], data: bytes, header: int, start: int, end: int, name: str,
          types: list[int], today: date | None) -> None:  # fmt: skip
    """One worker: its part of the file through the stages, then its kept events as COPY blocks."""
    for other in inherited:  # the parent's ends: a pipe reads as closed only when every copy is
        other.close()
    try:
        # A part that is not UTF-8 ends the attempt: the serial path reads the whole file as cp1252.
        raw = read_csv(data[:header] + data[start:end], name, utf8_only=True)
        given_ids = bool(raw.events[c.EVENT_ID].notna().any()) if c.EVENT_ID in raw.events else False
        conn.send((len(raw.events) + raw.rows_skipped, len(raw.events), given_ids))
        offset = conn.recv()
        raw = replace(raw, events=raw.events.assign(**{c.SOURCE_ROW: raw.events[c.SOURCE_ROW] + offset}))
        catalog: Catalog = {"raw": raw, "today": today}
        for done, stage in enumerate(WORKER_STAGES, start=2):
            run_stage(stage, catalog)
            release(catalog, done)  # as the serial path does: each stage's input goes once used
            conn.send(stage.name)
        events, issues = catalog["validated"], catalog["issues"]
        keys = dedupe.hash_keys(events)
        conn.send(keys)
        content = dedupe.content_hashes_of(keys)  # while the parent decides
        keep, ids, run_id, source_file, stamp, dataset = conn.recv()
        distinct = dedupe.keyed(events, keep, content).assign(id=ids, **{c.EVENT_ID: load.own_event_ids(ids)})
        rows = load.event_rows(distinct, run_id, source_file, stamp, typed=True, dataset=dataset)
        for block in bulk.binary_rows(types, rows):
            conn.send_bytes(block)
        conn.send_bytes(b"")
        kept = issues[issues[c.SOURCE_ROW].isin(distinct[c.SOURCE_ROW])]
        ids_by_row = pd.Series(ids, index=distinct[c.SOURCE_ROW].to_numpy())
        conn.send((load.issue_rows(kept, ids_by_row, run_id, stamp), measure.source_sums(distinct),
                   measure.duplicate_counts(events.loc[~keep, c.SOURCE]),
                   distinct[c.GEO_PRECISION].fillna("none").value_counts(), kept[c.RULE].value_counts()))  # fmt: skip
    except BaseException:  # noqa: BLE001 - Ctrl-C too: the parent sees the pipe close and decides
        log.info("shard %d-%d of %s failed", start, end, name, exc_info=True)
    finally:
        conn.close()


def _recv(conn: Connection) -> Any:
    try:
        return conn.recv()
    except EOFError as exc:
        raise ShardFailed("a worker ended early") from exc


def _each(conns: list[Connection], expected: object = None) -> list[Any]:
    """Receive one message from every worker, in order (``expected``: the message they must send)."""
    got = [_recv(conn) for conn in conns]
    if expected is not None and any(g != expected for g in got):
        raise ShardFailed(f"workers out of step: {got!r} instead of {expected!r}")
    return got


def _forward(conns: list[Connection], write: Callable[[bytes], None]) -> None:
    """Send every worker's COPY blocks on, as they come, until each has sent its empty block."""
    pending = list(conns)
    while pending:
        # wait() returns some of the objects it is given: here, only Connections.
        for conn in cast("list[Connection]", wait(pending)):
            try:
                block = conn.recv_bytes()
            except EOFError as exc:
                raise ShardFailed("a worker ended while encoding its events") from exc
            if block:
                write(block)
            else:
                pending.remove(conn)


def run(engine: Engine, data: bytes, workers: int, recording: Recording, *, today: date | None,
        lock_wait_s: float | None, dataset: str) -> bool:  # fmt: skip
    """Run extract to measure sharded, fill the summary, record and commit; False (nothing written): go serial."""
    summary = recording.summary
    run_id = summary.run_id
    bounds = cuts(data, workers)
    if len(bounds) < 3:  # a header and fewer than two parts
        return False
    header, ranges = bounds[0], list(pairwise(bounds))
    with Session(engine, info={bulk.LOCK_WAIT: lock_wait_s}) as session:
        bulk.lock_for_load(session)
        # The bulk mode, decided now (the workers need not wait for it); dropped and committed apart, so
        # readers are never held by this transaction: it takes ROW EXCLUSIVE (COPY) and SHARE (CREATE INDEX).
        rebuild = bulk.drop_indexes_apart(session)
        if session.scalar(select(ConflictEvent.id).limit(1)) is not None:
            return False  # events stored: new, changed and unchanged rows need the serial path's classification
        types = bulk.column_types(session, load.EVENTS.name, load.event_write_columns())
        context = multiprocessing.get_context("fork")
        conns: list[Connection] = []
        procs = []
        recording.begin(EXTRACT.name, 0)
        try:
            for a, b in ranges:
                parent, child = context.Pipe()
                args = (child, [*conns, parent], data, header, a, b, summary.source_file or "CSV file", types, today)
                procs.append(context.Process(target=_work, args=args, daemon=True))
                procs[-1].start()
                child.close()
                conns.append(parent)
            _sharded(session, conns, recording, rebuild, dataset)
        except ShardFailed as exc:
            log.info("sharded run %s goes the serial way: %s", run_id, exc)
            session.rollback()
            bulk.ensure_indexes(engine)  # the serial path loads into the indexed table
            return False
        finally:
            for conn in conns:
                conn.close()  # a worker still waiting for the parent stops
            for proc in procs:
                proc.join(timeout=10)
                if proc.is_alive():
                    proc.kill()
                    proc.join()
        recording.finished(session)
        session.commit()
    bulk.ensure_indexes(engine)  # the unique indexes rebuilt become constraints again
    return True


def _sharded(session: Session, conns: list[Connection], recording: Recording, rebuild: list[str],
             dataset: str) -> None:  # fmt: skip
    """The parent's side, from the workers' first message to the metrics (the caller commits)."""
    begin, end, summary = recording.begin, recording.end, recording.summary
    run_id = summary.run_id
    parsed = _each(conns)
    counts = [p[1] for p in parsed]
    if not sum(counts):
        raise ShardFailed("no events")  # the serial path says so in its words
    if any(p[2] for p in parsed):
        raise ShardFailed("the file gives event ids")  # the serial path matches them
    summary.rows_read = sum(p[0] for p in parsed)
    summary.rows_skipped = summary.rows_read - sum(counts)
    for conn, offset in zip(conns, np.cumsum([0] + [p[0] for p in parsed[:-1]]), strict=True):
        conn.send(int(offset))  # the workers go on while the stages are recorded
    end(EXTRACT.name, sum(counts))
    for stage in WORKER_STAGES:
        begin(stage.name, sum(counts))
        _each(conns, stage.name)
        end(stage.name, sum(counts))
    begin(DEDUPLICATE.name, sum(counts))
    parts = _each(conns)
    exact = dedupe.repeats(*(np.concatenate([part[i] for part in parts]) for i in range(3)))
    summary.events = summary.events_new = int((~exact).sum())
    summary.duplicates = int(exact.sum())
    ids = bulk.allocate_ids(session, summary.events)
    stamp = utcnow()
    first = kept = 0
    for conn, n in zip(conns, counts, strict=True):
        keep = ~exact[first : first + n]
        share = int(keep.sum())
        conn.send((keep, ids[kept : kept + share], run_id, summary.source_file, stamp, dataset))
        first, kept = first + n, kept + share
    end(DEDUPLICATE.name, summary.events)  # recorded while the workers encode
    begin(LOAD.name, summary.events, session)
    with bulk.binary_copy(session, load.EVENTS.name, load.event_write_columns()) as write:
        _forward(conns, write)
    done = _each(conns)
    bulk.rebuild_indexes(session, rebuild)
    issue_rows = [row for part in done for row in part[0]]
    step = 2 * load.BATCH_SIZE
    for start in range(0, len(issue_rows), step):
        bulk.insert_chunk(session, load.ISSUES.name, load.ISSUE_WRITE_COLUMNS, issue_rows[start : start + step])
    assert run_id is not None, "the run is recorded before its stages"
    load.write_created_changes(session, run_id)
    end(LOAD.name, summary.events, session)
    begin(MEASURE.name, summary.events, session)
    sums = pd.concat([part[1] for part in done]).groupby(level=0).sum()
    rows = measure.metric_rows(sums, pd.concat([part[2] for part in done]).groupby(level=0).sum())
    written = measure.write_metrics(session, rows, run_id=run_id, at=utcnow())
    end(MEASURE.name, written, session)
    summary.issues = len(issue_rows)
    summary.precision = _total([part[3] for part in done])
    summary.failures_by_rule = _total([part[4] for part in done])
    log.info("sharded run %s: %d events over %d workers", run_id, summary.events, len(conns))


def _total(counts: list[pd.Series]) -> dict[str, int]:
    """Add up value counts of the workers' parts."""
    total = pd.concat(counts).groupby(level=0).sum() if counts else pd.Series(dtype="int64")
    return {str(k): int(v) for k, v in total.sort_values(ascending=False, kind="stable").items()}
