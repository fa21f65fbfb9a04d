"""Reconciling a next export with the stored dataset: ids kept, edits updated, deletions withdrawn, appends created."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import ConflictEvent, EventChange, PipelineRun, utcnow
from pipeline import bulk, reconcile
from pipeline import columns as c
from pipeline.dedupe import fold_report
from pipeline.load import Target
from pipeline.reconcile import WINDOW_DAYS
from pipeline.runner import RunFailed, run_pipeline
from reference import names
from tests.conftest import empty_tables

SNAPSHOT = Target(snapshot=True, max_withdraw=0.5)


def record(i: int, **change: Any) -> dict[str, Any]:
    """A raw record (JSON batch field names) of a distinct event ``i``."""
    base = {
        "date": f"{1 + i % 27:02d}/05/2024",
        "state": "Kaduna",
        "lga": "Chikun",
        "community": f"Village {i}",
        "crisis_type": "Banditry",
        "actor1": "Bandits",
        "actor2": "Civilian(s)",
        "total_deaths": i % 7,
        "civilian_casualties": i % 7,
        "total_casualties": i % 7,
        "description": f"Bandits attacked Village {i} at night and killed {i % 7} residents",
        "source": "Punch",
        "source_url": f"https://punchng.com/report-{i}",
        "data_source": "secondary",
    }
    return {**base, **change}


def export_a() -> list[dict[str, Any]]:
    rows = [record(i) for i in range(14)]
    # Two incidents from one report, same place and day: one identity, two events.
    rows.append(record(3, total_deaths=9, civilian_casualties=9, total_casualties=9, actor1="Gunmen"))
    rows[2] = record(2, source_url=None)  # identified by its description
    rows[4] = record(4, lga="Chikunn")  # a misspelt LGA, fixed in the next export
    return rows


def export_b() -> tuple[list[dict[str, Any]], dict[int, str]]:
    """Return the next export of export_a and, per row of export_a that it edits, what kind of field."""
    a = export_a()
    edits = {
        0: ("count", {"total_deaths": 11, "civilian_casualties": 11, "total_casualties": 11}),
        1: ("actor", {"actor1": "Kidnappers"}),
        2: ("description without URL", {"description": a[2]["description"] + ", police said"}),
        4: ("LGA spelling fix", {"lga": "Chikun"}),
        5: ("community spelling", {"community": "Vilage 5"}),
        6: ("date by a day", {"date": "08/05/2024"}),
        7: ("source", {"source": "Vanguard"}),
        8: ("crisis type", {"crisis_type": "Kidnapping"}),
        9: ("URL", {"source_url": "https://punchng.com/report-9-updated"}),
    }
    b = [{**row, **edits[i][1]} if i in edits else dict(row) for i, row in enumerate(a)]
    deleted = {3, 12}  # 3: the first of the same-identity pair (row 14 is the second)
    b = [row for i, row in enumerate(b) if i not in deleted]
    b += [record(100), record(101, state="Zamfara", lga="Gusau")]
    random.Random(7).shuffle(b)
    return b, {i: kind for i, (kind, _) in edits.items()}


def stored(engine: Engine) -> dict[str, ConflictEvent]:
    with Session(engine) as session:
        return {e.event_id: e for e in session.scalars(select(ConflictEvent))}


def live_totals(engine: Engine) -> tuple[int, Counter[tuple[str, int]], Counter[tuple[str, int]]]:
    """Return live events: their count, events and deaths per (state, year)."""
    with Session(engine) as session:
        rows = session.execute(select(ConflictEvent.state, ConflictEvent.event_date, ConflictEvent.total_deaths)
                               .where(ConflictEvent.withdrawn_run_id.is_(None))).all()  # fmt: skip
    events = Counter((s, d.year) for s, d, _ in rows)
    deaths: Counter[tuple[str, int]] = Counter()
    for s, d, n in rows:
        deaths[(s, d.year)] += n or 0
    return len(rows), events, deaths


def test_a_next_export_updates_in_place_withdraws_deletions_and_creates_appends(engine) -> None:
    first = run_pipeline(engine, export_a())
    assert first.events_new == 15
    before = stored(engine)
    by_community = {(e.community, e.total_deaths): e.event_id for e in before.values()}
    b, edited = export_b()
    summary = run_pipeline(engine, b, target=SNAPSHOT)
    assert (summary.events_new, summary.events_updated, summary.events_withdrawn) == (2, len(edited), 2)
    assert summary.events_unchanged == 15 - len(edited) - 2
    after = stored(engine)
    assert set(before) <= set(after) and len(after) == 17  # nothing deleted, ids kept
    withdrawn = {i for i, e in after.items() if e.withdrawn_run_id == summary.run_id}
    assert withdrawn == {by_community[("Village 3", 3)], by_community[("Village 12", 5)]}
    # The second event of the same-identity pair is still itself, not overwritten by the first.
    second = after[by_community[("Village 3", 9)]]
    assert second.withdrawn_run_id is None and second.actor1 == "Gunmen"
    assert after[by_community[("Village 0", 0)]].total_deaths == 11
    assert after[by_community[("Village 4", 4)]].lga == "Chikun"
    assert after[by_community[("Village 8", 1)]].crisis_type == "Kidnapping"
    with Session(engine) as session:
        changes = session.execute(select(EventChange.event_id, EventChange.change, EventChange.fields)
                                  .where(EventChange.run_id == summary.run_id)).all()  # fmt: skip
    kinds = Counter(change for _, change, _ in changes)
    assert kinds == {"updated": len(edited), "withdrawn": 2, "created": 2}
    fields = {event_id: json.loads(f) for event_id, change, f in changes if change == "updated"}
    assert fields[by_community[("Village 1", 1)]]["actor1"] == ["Bandits", "Kidnappers"]
    assert set(fields[by_community[("Village 0", 0)]]) >= {"total_deaths", "civilian_casualties"}


def test_a_snapshot_leaves_the_live_events_of_a_fresh_import(engine) -> None:
    run_pipeline(engine, export_a())
    b, _ = export_b()
    run_pipeline(engine, b, target=SNAPSHOT)
    reconciled = live_totals(engine)
    empty_tables(engine)
    run_pipeline(engine, b)
    assert live_totals(engine) == reconciled


def test_a_plain_import_only_creates_and_updates(engine) -> None:
    run_pipeline(engine, export_a())
    b, _ = export_b()
    summary = run_pipeline(engine, b)
    assert summary.events_withdrawn == 0
    with Session(engine) as session:
        assert session.scalar(select(func.count()).where(ConflictEvent.withdrawn_run_id.is_not(None))) == 0


def test_a_withdrawn_event_is_restored_when_it_reappears(engine) -> None:
    run_pipeline(engine, export_a())
    b, _ = export_b()
    run_pipeline(engine, b, target=SNAPSHOT)
    back = run_pipeline(engine, export_a(), target=SNAPSHOT)
    assert back.events_restored == 2 and back.events_new == 0 and back.events_withdrawn == 2  # the appends go
    with Session(engine) as session:
        live = session.scalar(select(func.count()).where(ConflictEvent.withdrawn_run_id.is_(None)))
        restored = session.scalar(select(func.count()).where(EventChange.change == "restored"))
    assert live == 15 and restored == 2


def test_a_snapshot_that_would_withdraw_too_much_refuses_unless_forced(engine) -> None:
    run_pipeline(engine, export_a())
    with pytest.raises(RunFailed) as refused:
        run_pipeline(engine, export_a()[:10], target=Target(snapshot=True))
    assert refused.value.input_error and "withdraw 5 of the 15" in refused.value.summary.error
    assert all(e.withdrawn_run_id is None for e in stored(engine).values())
    forced = run_pipeline(engine, export_a()[:10], target=Target(snapshot=True, force=True))
    assert forced.events_withdrawn == 5


def test_a_dry_run_reports_the_diff_and_writes_nothing_but_the_run(engine) -> None:
    run_pipeline(engine, export_a())
    before = {i: (e.content_hash, e.withdrawn_run_id) for i, e in stored(engine).items()}
    b, edited = export_b()
    dry = run_pipeline(engine, b, target=Target(snapshot=True, max_withdraw=0.5, dry_run=True))
    assert dry.diff is not None
    assert {k: dry.diff[k] for k in ("created", "updated", "withdrawn")} == {"created": 2, "updated": len(edited),
                                                                           "withdrawn": 2}  # fmt: skip
    updated = dry.diff["samples"]["updated"]
    assert updated and all(item["event_id"] in before and item["fields"] for item in updated)
    assert {i: (e.content_hash, e.withdrawn_run_id) for i, e in stored(engine).items()} == before
    with Session(engine) as session:
        run = session.get(PipelineRun, dry.run_id)
        assert run is not None and run.status == "succeeded" and run.dry_run and run.events_withdrawn == 2
        assert json.loads(run.diff or "{}")["updated"] == len(edited)
        assert session.scalar(select(func.count()).where(EventChange.run_id == dry.run_id)) == 0
    real = run_pipeline(engine, b, target=SNAPSHOT)
    assert (real.events_new, real.events_updated, real.events_withdrawn) == (2, len(edited), 2)


def test_an_export_with_event_ids_round_trips_exactly(engine) -> None:
    run_pipeline(engine, export_a())
    ids = {(e.community, e.total_deaths): e.event_id for e in stored(engine).values()}
    rows = export_a()
    for row in rows:
        row["event_id"] = ids[(row["community"], row["total_deaths"])]
    rows[0] = {**rows[0], "date": "20/01/2024", "description": "Rewritten entirely", "source_url": None}
    again = run_pipeline(engine, rows, target=SNAPSHOT)
    assert (again.events_new, again.events_updated, again.events_withdrawn) == (0, 1, 0)
    assert stored(engine)[rows[0]["event_id"]].description == "Rewritten entirely"
    # Into an empty database the ids are kept too, and new events get ids past them.
    empty_tables(engine)
    run_pipeline(engine, rows)
    assert set(stored(engine)) == set(ids.values())
    run_pipeline(engine, [record(500)])
    newest = max(stored(engine).values(), key=lambda e: e.id)
    assert newest.event_id not in ids.values() and newest.event_id == f"NGA{newest.id}"


def test_an_event_id_named_twice_refuses_the_batch(engine) -> None:
    with pytest.raises(RunFailed) as refused:
        run_pipeline(engine, [record(1, event_id="X-1"), record(2, event_id="X-1")])
    assert refused.value.input_error and "more than one row" in refused.value.summary.error


def test_datasets_reconcile_apart(engine) -> None:
    run_pipeline(engine, export_a())
    demo = run_pipeline(engine, export_a()[:3], target=Target(dataset="demo", snapshot=True, force=True))
    assert demo.events_new == 3 and demo.events_withdrawn == 0  # nvcd's events are not demo's to withdraw
    with Session(engine) as session:
        counts = dict(
            session.execute(select(ConflictEvent.dataset, func.count()).group_by(ConflictEvent.dataset)).all()
        )
    assert counts == {"nvcd": 15, "demo": 3}


# --- helpers -------------------------------------------------------------------------------------


def _pairs_by_merge_then_window(rows: pd.DataFrame, stored_: pd.DataFrame) -> set[tuple[int, int]]:
    """The candidate pairs as first written: join on each key alone, then keep the pairs within the window."""
    keys = {"state": lambda f: f[c.STATE].map(names.key), "url": lambda f: f[c.SOURCE_URL].map(fold_report),
            "fp": lambda f: f[c.FINGERPRINT]}  # fmt: skip
    left = pd.DataFrame({"row": rows.index, "day": pd.to_datetime(rows[c.EVENT_DATE]),
                         **{k: fold(rows) for k, fold in keys.items()}})  # fmt: skip
    right = pd.DataFrame({"pos": stored_.index, "day": pd.to_datetime(stored_[c.EVENT_DATE]),
                          **{k: fold(stored_) for k, fold in keys.items()}})  # fmt: skip
    found = []
    for key in keys:
        lk, rk = left[left[key].ne("") & left[key].notna()], right[right[key].ne("") & right[key].notna()]
        found.append(lk.merge(rk, on=key, suffixes=("", "_s"))[["row", "pos", "day", "day_s"]])
    pairs = pd.concat(found, ignore_index=True).drop_duplicates(["row", "pos"])
    near = (pairs["day"] - pairs["day_s"]).abs().le(pd.Timedelta(days=WINDOW_DAYS)).to_numpy()
    return set(zip(pairs.loc[near, "row"].tolist(), pairs.loc[near, "pos"].tolist(), strict=True))


def _side(spec: list[tuple[str | None, str | None, str | None, str | None]], start: int) -> pd.DataFrame:
    """A frame of (date, state, URL, fingerprint) rows indexed from ``start`` (as free rows keep their positions)."""
    frame = pd.DataFrame(spec, columns=[c.EVENT_DATE, c.STATE, c.SOURCE_URL, c.FINGERPRINT],
                         index=range(start, start + len(spec)))  # fmt: skip
    return frame.assign(**{c.EVENT_DATE: pd.to_datetime(frame[c.EVENT_DATE], format="ISO8601")})


def test_candidate_pairs_are_the_pairs_of_a_join_on_each_key_filtered_to_the_window() -> None:
    rows = _side([
        ("2024-05-10", "Kaduna", None, None),  # stored 10 (same day), 11 (+3), 13 ("kaduna "), not 12 (+4)
        ("2024-05-10", "Kaduna", None, None),  # the same: many to many on one day
        ("2024-05-10", None, None, None),  # no state, nothing else: no candidates
        ("2024-05-10", "", "https://punchng.com/report-1", None),  # by URL only, within 3 days back
        ("2024-05-10", "Zamfara", None, "fp-a"),  # by fingerprint, though in another state
        (None, "Kaduna", None, None),  # no date: no candidates
        ("2024-05-07 01:00", "Kano", None, None),  # 3 days 22 hours from stored 19: out; 3 days from 18: in
        ("2024-05-10", "Kaduna", "https://punchng.com/report-1", "fp-a"),  # shares everything with 14
    ], start=3)  # fmt: skip
    stored_ = _side([
        ("2024-05-10", "Kaduna", None, None),
        ("2024-05-13", "Kaduna", None, None),
        ("2024-05-14", "Kaduna", None, None),
        ("2024-05-07", "kaduna ", None, None),
        ("2024-05-07", "Kaduna", "https://punchng.com/report-1", "fp-a"),
        ("2024-05-06", "Kaduna", "https://punchng.com/report-1", None),  # URL, but 4 days back
        ("2024-05-10", None, None, "fp-a"),
        ("2024-05-10", "Kaduna", None, None),
        ("2024-05-10 01:00", "Kano", None, None),
        ("2024-05-10 23:00", "Kano", None, None),
        (None, "Kaduna", None, None),
    ], start=10)  # fmt: skip
    got = reconcile._candidate_pairs(rows, stored_)
    pairs = set(zip(got["row"].tolist(), got["pos"].tolist(), strict=True))
    assert len(pairs) == len(got)  # each pair once
    assert pairs == _pairs_by_merge_then_window(rows, stored_)
    assert {p for r, p in pairs if r == 3} == {10, 11, 13, 14, 17}  # +3 days in, +4 out; folded state
    assert {r for r, _ in pairs} >= {3, 4, 6, 7, 9, 10} and not {5, 8} & {r for r, _ in pairs}
    assert (9, 18) in pairs and (9, 19) not in pairs
    assert {p for r, p in pairs if r == 6} == {14}  # URL; 15 is 4 days back
    assert {p for r, p in pairs if r == 7} == {14, 16}  # fingerprint


def test_candidate_pairs_of_a_random_frame_are_those_of_the_join_then_filter() -> None:
    rng = np.random.default_rng(3)

    def side(n: int, start: int) -> pd.DataFrame:
        days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 40, n), unit="D")
        states = rng.choice(np.array(["Kaduna", "Kano", "", None, "Benue"], dtype=object), n)
        urls = rng.choice(np.array([None, "https://a.ng/report-1", "https://a.ng/report-2"], dtype=object), n)
        fps = rng.choice(np.array([None, "f1", "f2", "f3"], dtype=object), n)
        frame = pd.DataFrame({c.EVENT_DATE: days, c.STATE: states, c.SOURCE_URL: urls, c.FINGERPRINT: fps},
                             index=range(start, start + n))  # fmt: skip
        return frame.mask(pd.DataFrame({c.EVENT_DATE: rng.random(n) < 0.05}, index=frame.index).reindex(
            columns=frame.columns, fill_value=False))  # fmt: skip

    rows, stored_ = side(300, 0), side(400, 1000)
    got = reconcile._candidate_pairs(rows, stored_)
    assert len(got) > 1000
    expected = _pairs_by_merge_then_window(rows, stored_)
    assert set(zip(got["row"].tolist(), got["pos"].tolist(), strict=True)) == expected


@pytest.mark.parametrize(("old", "new", "changed"), [
    (3, 3.0, False),  # an integer column read back as float
    (None, float("nan"), False),
    (1.0000001, 1.0000002, False),  # compared to 6 places
    (1.5, 1.6, True),
    (date(2024, 5, 1), pd.Timestamp("2024-05-01"), False),
    (date(2024, 5, 1), pd.Timestamp("2024-05-02"), True),
    ("Bandits", "Bandits", False),
    ("Bandits", "Gunmen", True),
    (None, "Gunmen", True),
    (np.int64(4), 4, False),
])  # fmt: skip
def test_column_changes_compare_values_as_comparable(old: Any, new: Any, changed: bool) -> None:
    before = np.array(["same", old, 7], dtype=object)
    after = np.array(["same", new, 7], dtype=object)
    got = reconcile._column_changes(before, after)
    assert [i for i, _ in got] == ([1] if changed else [])
    if changed:
        assert got[0][1] == [reconcile._comparable(old), reconcile._comparable(new)]


def test_set_by_id_sets_values_on_exactly_the_ids_given(engine) -> None:
    run_pipeline(engine, export_a())
    with Session(engine) as session:
        ids = sorted(session.scalars(select(ConflictEvent.id)))
        now = utcnow()
        bulk.set_by_id(session, ConflictEvent.__table__, ids[:3], {"withdrawn_at": now})
        bulk.set_by_id(session, ConflictEvent.__table__, ids[3:5], {}, {"fingerprint": ["fp-x", "fp-y"]})
        bulk.set_by_id(session, ConflictEvent.__table__, [], {"withdrawn_at": now})
        session.commit()
    with Session(engine) as session:
        got = {e.id: (e.withdrawn_at is not None, e.fingerprint) for e in session.scalars(select(ConflictEvent))}
    assert [i for i, (gone, _) in got.items() if gone] == ids[:3]
    assert (got[ids[3]][1], got[ids[4]][1]) == ("fp-x", "fp-y")
    assert not {fp for i, (_, fp) in got.items() if i not in ids[3:5]} & {"fp-x", "fp-y"}


def test_read_tuples_returns_the_rows_of_a_select_as_tuples(engine) -> None:
    run_pipeline(engine, export_a())
    run_pipeline(engine, export_a()[:2], target=Target(dataset="demo"))
    with Session(engine) as session:
        stmt = select(ConflictEvent.id, ConflictEvent.withdrawn_run_id.is_not(None)).where(
            ConflictEvent.dataset == "demo")  # fmt: skip
        got = bulk.read_tuples(session, stmt)
        expected = session.execute(stmt).all()
    assert all(type(row) is tuple for row in got)
    assert sorted((i, bool(w)) for i, w in got) == sorted((i, w) for i, w in expected) and len(got) == 2
