"""Replay: generated events dated near now, fed as small runs with trigger "replay", bounded."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from itertools import islice

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import ConflictEvent, PipelineRun
from pipeline import columns as c
from pipeline.demo.generate import generate_events, write_csv
from pipeline.demo.replay import RECENT_DAYS, file_batches, generated_batches, replay


def test_generated_batches_are_recent_and_distinct():
    first, second = islice(generated_batches(30, seed=1), 2)
    today = datetime.now(UTC).date()
    dates = pd.to_datetime(pd.concat([first.events[c.DATE], second.events[c.DATE]]))
    assert dates.min().date() >= today - timedelta(days=RECENT_DAYS) and dates.max().date() <= today
    assert not first.events[c.SOURCE_URL].dropna().isin(second.events[c.SOURCE_URL]).any()


def test_replay_runs_batches_as_replay_runs(engine):
    seen = []
    stats = replay(engine, generated_batches(15, seed=2), rate=10_000, max_batches=3, on_run=seen.append)
    assert stats.runs == 3 and stats.failed == 0 and len(seen) == 3
    with Session(engine) as session:
        runs = list(session.scalars(select(PipelineRun).order_by(PipelineRun.id)))
        assert [r.trigger for r in runs] == ["replay"] * 3 and all(r.status == "succeeded" for r in runs)
        assert session.scalar(select(func.count()).select_from(ConflictEvent)) == stats.events_new == stats.events


def test_rate_and_duration_bound_the_replay(engine):
    # 10 events per batch at 20 events/s: one batch every 0.5 s, so about 2 runs in 0.8 s.
    stats = replay(engine, generated_batches(10, seed=3), rate=20, duration=0.8)
    assert 1 <= stats.runs <= 3
    assert stats.seconds < 2.5


def test_stop_event_ends_the_replay(engine):
    stop = threading.Event()
    stop.set()
    assert replay(engine, generated_batches(5, seed=4), stop=stop).runs == 0


def test_file_replay_feeds_slices_once(engine, tmp_path):
    path = tmp_path / "export.csv"
    write_csv(generate_events(25, seed=5, mess=False), str(path))
    stats = replay(engine, file_batches(path, 10), rate=10_000)
    assert stats.runs == 3 and stats.events_new == 25
