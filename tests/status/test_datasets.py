"""The monitor counts live events only, and demo events only while no other event is live."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from models import DEMO_DATASET
from status import build_snapshot
from status.anomalies import SPIKE_TRAILING_WEEKS
from tests.status.builders import add_events, commit, every

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


def snapshot(engine) -> dict:
    with Session(engine) as session:
        return build_snapshot(session, now=NOW)


def sources(snap: dict) -> dict[str, int]:
    return {s["source"]: s["events"] for s in snap["sources"]}


def test_demo_events_alone_are_counted(engine) -> None:
    with Session(engine) as session:
        add_events(session, [(d, "Generated Daily", "Oyo") for d in every(1, 6, TODAY)], dataset=DEMO_DATASET)
        commit(session)
    snap = snapshot(engine)
    assert snap["totals"]["events"] == 6 and sources(snap) == {"Generated Daily": 6}


def test_a_live_real_event_leaves_the_demo_ones_out(engine) -> None:
    with Session(engine) as session:
        add_events(session, [(d, "Generated Daily", "Oyo") for d in every(1, 6, TODAY)], dataset=DEMO_DATASET)
        add_events(session, [(d, "Punch", "Lagos") for d in every(2, 3, TODAY)])
        commit(session)
    snap = snapshot(engine)
    assert snap["totals"]["events"] == 3 and sources(snap) == {"Punch": 3}


@pytest.mark.parametrize("with_demo", [False, True])
def test_withdrawn_events_are_never_counted(engine, with_demo: bool) -> None:
    with Session(engine) as session:
        add_events(session, [(d, "Punch", "Lagos") for d in every(1, 4, TODAY)])
        add_events(session, [(d, "Vanguard", "Kano") for d in every(1, 5, TODAY)], withdrawn_run_id=7)
        if with_demo:
            add_events(session, [(TODAY, "Generated Daily", "Oyo")], dataset=DEMO_DATASET)
        commit(session)
    snap = snapshot(engine)
    assert snap["totals"]["events"] == 4 and sources(snap) == {"Punch": 4}


def test_demo_events_count_again_once_every_real_one_is_withdrawn(engine) -> None:
    with Session(engine) as session:
        add_events(session, [(TODAY, "Punch", "Lagos")], withdrawn_run_id=3)
        add_events(session, [(d, "Generated Daily", "Oyo") for d in every(1, 2, TODAY)], dataset=DEMO_DATASET)
        commit(session)
    assert sources(snapshot(engine)) == {"Generated Daily": 2}


def test_withdrawn_events_raise_no_spike(engine) -> None:
    latest = date(2026, 11, 20)
    with Session(engine) as session:
        # Steady live history over the trailing weeks, and a burst in the latest week that was withdrawn.
        add_events(
            session, [(latest - timedelta(days=d), "Punch", "Benue") for d in range(7 * (SPIKE_TRAILING_WEEKS + 2))]
        )
        add_events(session, [(latest - timedelta(days=i % 7), "Punch", "Benue") for i in range(40)], withdrawn_run_id=9)
        commit(session)
    snap = snapshot(engine)
    assert [a for a in snap["anomalies"] if a["kind"] == "weekly_spike"] == []
    assert snap["totals"]["events"] == 7 * (SPIKE_TRAILING_WEEKS + 2)
