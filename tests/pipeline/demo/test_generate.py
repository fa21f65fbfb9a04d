"""The generator: deterministic, NVCD-shaped, distributed like the database, messy at known rates."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipeline import columns as c
from pipeline.demo.generate import (
    CRISIS_SHARES,
    MESS_RATES,
    STATE_SHARES,
    generate_events,
    generate_records,
    write_csv,
)
from pipeline.sources.json_batch import read_records
from pipeline.sources.registry import read_file
from reference import codebook, gazetteer, lga_lookup

N = 20_000


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return generate_events(N, seed=42, start=date(2021, 1, 1), end=date(2025, 12, 31))


def _events(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame[c.STATE].notna()]


def test_same_seed_same_data_other_seed_other_data():
    a, b = generate_events(500, seed=1), generate_events(500, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert not generate_events(500, seed=2).equals(a)


def test_shape_events_duplicates_and_template_rows(frame):
    assert list(frame.columns) == list(c.RAW_COLUMNS)
    events = _events(frame)
    templates = frame[frame[c.STATE].isna()]
    assert len(templates) == round(N * MESS_RATES["template_row"])
    assert templates[c.MONTH].notna().all() and templates[c.DESCRIPTION].isna().all()
    duplicates = len(events) - N
    assert 0 < duplicates < N * MESS_RATES["duplicate_row"] * 2
    assert events.duplicated().sum() >= duplicates


def test_dates_within_span(frame):
    dates = pd.to_datetime(_events(frame)[c.DATE])
    assert dates.min() >= pd.Timestamp("2021-01-01") and dates.max() <= pd.Timestamp("2025-12-31")
    assert dates.dt.year.nunique() == 5


def test_states_and_crisis_types_follow_the_weights(frame):
    events = _events(frame)
    states = events[c.STATE].str.strip().map(lambda s: gazetteer.find_state(s).code)
    share = states.value_counts(normalize=True)
    assert share.index[0] == max(STATE_SHARES, key=STATE_SHARES.get)
    assert share["KD"] == pytest.approx(STATE_SHARES["KD"], abs=0.01)
    crisis = events[c.CRISIS_TYPE].str.strip().map(codebook.canonical_crisis_type).value_counts(normalize=True)
    assert crisis["Banditry"] == pytest.approx(CRISIS_SHARES["Banditry"] / sum(CRISIS_SHARES.values()), abs=0.015)


def test_categories_are_in_the_codebook_and_places_in_the_gazetteer():
    clean = _events(generate_events(3000, seed=3, mess=False))
    assert set(clean[c.CRISIS_TYPE]) <= set(codebook.CRISIS_TYPES)
    assert set(clean[c.ACTOR1]) | set(clean[c.ACTOR2]) <= set(codebook.ACTORS)
    for state, lga in clean[[c.STATE, c.LGA]].dropna().drop_duplicates().itertuples(index=False):
        assert lga_lookup.find_lga(state, lga).method == "exact"


def test_casualty_totals_add_up_without_mess():
    clean = _events(generate_events(3000, seed=4, mess=False))
    num = {col: pd.to_numeric(clean[col]).fillna(0) for col in c.ALL_COUNT_COLUMNS}
    assert (num["total_deaths"] == num["gsa_casualties"] + num["civilian_casualties"]).all()
    assert (num["total_casualties"] == num["total_deaths"] + num["injured"]).all()
    assert (num["total_deaths"] > 0).mean() == pytest.approx(0.7, abs=0.05)


def test_messiness_at_documented_rates(frame):
    events = _events(frame)
    trailing = (events[c.STATE] != events[c.STATE].str.rstrip()).mean()
    assert trailing == pytest.approx(MESS_RATES["trailing_space"], abs=0.02)
    vague = events["civilian_casualties"].isin(list(codebook.VAGUE_AMOUNTS)).mean()
    assert 0 < vague < MESS_RATES["vague_word"] * 3
    assert events[c.LGA].str.contains("–", na=False).any()
    text_cells = events["kidnapped"].map(lambda v: isinstance(v, str) and codebook.vague_amount(v) is None).sum()
    assert text_cells > 0
    lower_sources = (events[c.SOURCE].str.strip() == events[c.SOURCE].str.strip().str.lower()).mean()
    assert lower_sources > 0.02


def test_csv_round_trip_through_extract(tmp_path):
    frame = generate_events(200, seed=5)
    path = tmp_path / "generated.csv"
    write_csv(frame, str(path))
    assert "Communiity" not in path.read_text().splitlines()[0]  # headers are the export's, not its typos
    extracted = read_file(path)
    assert len(extracted.events) + extracted.rows_skipped == len(frame)
    records = generate_records(10, seed=6)
    assert all(None not in r.values() for r in records)
    assert len(read_records(records).events) >= 10


@pytest.mark.slow
def test_a_million_rows():
    # Speed is measured in bench/pipeline_bench.py, not asserted here.
    big = generate_events(1_000_000, seed=7)
    assert len(big) > 1_000_000


def test_another_states_name_beside_the_lga_at_its_rate(frame):
    events = _events(frame).head(N)  # the events, not the duplicated rows after them
    state, lga = events[c.STATE].str.strip(), events[c.LGA].str.strip()
    pairs = pd.DataFrame({"state": state, "lga": lga}).dropna()
    elsewhere = [lga_lookup.find_lga(s, g) is None and bool(gazetteer.lga_states(g))
                 for s, g in pairs.itertuples(index=False)]  # fmt: skip
    moved = pairs[elsewhere]
    assert len(moved) / len(events) == pytest.approx(MESS_RATES["wrong_state"], rel=0.3)
    # Half the descriptions name the stated (wrong) state too; the rest name the LGA's own.
    told = [f", {s}, " in d for s, d in zip(moved["state"], events.loc[moved.index, c.DESCRIPTION], strict=True)]
    assert sum(told) / len(told) == pytest.approx(0.5, abs=0.15)
