"""Replay: feed events into the pipeline as a live stream of small runs (trigger "replay").

Events come from the generator (dated within the last ``RECENT_DAYS`` days, so source
health and anomalies look live) or from a file (read once, then fed slice by slice,
dates untouched). Each batch is one pipeline run; the loop keeps to ``rate`` events
per second, and stops after ``duration`` seconds or ``batches`` runs, when ``stop``
is set, or runs until the process is killed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from models import DEMO_DATASET
from pipeline.demo.generate import generate_events
from pipeline.load import Target
from pipeline.runner import RunFailed, RunSummary, run_pipeline
from pipeline.sources.base import Extracted
from pipeline.sources.json_batch import read_records
from pipeline.sources.registry import read_file

log = logging.getLogger(__name__)

RECENT_DAYS = 2
DEFAULT_RATE = 20.0  # events per second
DEFAULT_BATCH_SIZE = 25


@dataclass
class ReplayStats:
    """What a replay did."""

    runs: int = 0
    failed: int = 0
    events: int = 0
    events_new: int = 0
    seconds: float = 0.0
    run_ids: list[int] = field(default_factory=list)


def generated_batches(batch_size: int, seed: int | None = None) -> Iterator[Extracted]:
    """Yield batches of freshly generated events dated in the last few days, forever."""
    seed = int(time.time_ns() % (1 << 31)) if seed is None else seed
    number = 0
    while True:
        today = datetime.now(UTC).date()
        frame = generate_events(batch_size, seed=seed + number, start=today - timedelta(days=RECENT_DAYS), end=today)
        number += 1
        yield read_records(frame.where(frame.notna(), None).to_dict("records"))


def file_batches(path: Path, batch_size: int) -> Iterator[Extracted]:
    """Yield a file's events in slices of ``batch_size`` (once through the file)."""
    whole = read_file(Path(path))
    for start in range(0, len(whole.events), batch_size):
        part = whole.events.iloc[start : start + batch_size].reset_index(drop=True)
        yield Extracted(events=part, rows_skipped=0, villages=whole.villages)


def replay(engine: Engine, batches: Iterator[Extracted], *, rate: float = DEFAULT_RATE,
           max_batches: int | None = None, duration: float | None = None, stop: threading.Event | None = None,
           on_run: Callable[[RunSummary], None] | None = None, name: str = "replay") -> ReplayStats:  # fmt: skip
    """Run each batch as a pipeline run at ``rate`` events per second until a limit is reached."""
    stats = ReplayStats()
    began = time.monotonic()
    stop = stop or threading.Event()
    for batch in batches:
        if stop.is_set() or (max_batches is not None and stats.runs >= max_batches):
            break
        if duration is not None and time.monotonic() - began >= duration:
            break
        started = time.monotonic()
        try:
            summary = run_pipeline(engine, batch, trigger="replay", filename=name, target=Target(dataset=DEMO_DATASET))
        except RunFailed as exc:
            summary = exc.summary
            stats.failed += 1
        stats.runs += 1
        stats.events += summary.events
        stats.events_new += summary.events_new
        if summary.run_id is not None:
            stats.run_ids.append(summary.run_id)
        if on_run:
            on_run(summary)
        pause = len(batch.events) / rate - (time.monotonic() - started) if rate > 0 else 0.0
        if duration is not None:
            pause = min(pause, duration - (time.monotonic() - began))
        if pause > 0:
            stop.wait(pause)
    stats.seconds = round(time.monotonic() - began, 3)
    log.info("replay: %d runs (%d failed), %d events (%d new) in %.1fs", stats.runs, stats.failed,
             stats.events, stats.events_new, stats.seconds)  # fmt: skip
    return stats
