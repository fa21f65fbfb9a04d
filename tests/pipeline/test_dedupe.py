"""Deduplicate: stable identity, content hash, exact duplicates merged, same-identity rows kept."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from pipeline import columns as c
from pipeline.columns import CONTENT_HASH, FINGERPRINT
from pipeline.dedupe import (
    _FOLD_F2,
    content_hashes,
    deduplicate,
    fingerprints,
    repeats,
)
from tests.pipeline.event_frames import events


def test_fingerprint_is_pinned():
    # Changing the identity rule or hashing re-imports every stored event as new: this must fail then.
    # A release that changes it must re-key stored events (pipeline.rekey, from a migration).
    assert fingerprints(events({}))[0] == "486e361c5c695fd1b412195b656d855c"


def test_correction_keeps_identity_and_changes_content():
    frame = events({}, {"total_deaths": 5, "civilian_casualties": 5, "total_casualties": 5})
    fp, ch = fingerprints(frame), content_hashes(frame)
    assert fp[0] == fp[1]
    assert ch[0] != ch[1]


@pytest.mark.parametrize(
    "change",
    [
        {c.COMMUNITY: "  KUJAMA "},
        {c.STATE: "kaduna"},
        {c.SOURCE_ROW: 99},
        {"injured": None},
        {c.LGA: "Chikun L.G.A."},
        {c.LGA: "CHIKUN local government area"},
        {c.SOURCE_URL: "http://www.punchng.com/bandits-attack-kujama/"},
        {c.SOURCE_URL: "HTTPS://PUNCHNG.COM/bandits-attack-kujama"},
        # Geocoding's output is no part of identity, nor are the names it rewrites.
        {c.LATITUDE: 9.0, c.GEO_PRECISION: "state", c.LGA_CODE: None},
        {c.LGA: "Kajuru"},
        {c.STATE: "Kano"},
    ],
)
def test_identity_ignores_case_spacing_and_position(change):
    frame = events({}, change)
    assert fingerprints(frame)[0] == fingerprints(frame)[1]


@pytest.mark.parametrize(
    "change",
    [
        {c.EVENT_DATE: date(2024, 6, 1)},
        {c.COMMUNITY: "Sabon Tasha"},
        {c.CRISIS_TYPE: "Kidnapping"},
        {c.SOURCE_URL: "https://punchng.com/another-report"},
        {c.SOURCE_URL: None},  # then the description is the reference
    ],
)
def test_identity_changes_with_what_the_event_is(change):
    assert len(set(fingerprints(events({}, change)))) == 2


def test_description_is_the_reference_without_url():
    frame = events({c.SOURCE_URL: None}, {c.SOURCE_URL: None, c.DESCRIPTION: "Another attack"})
    assert len(set(fingerprints(frame))) == 2


@pytest.mark.parametrize(
    "description",
    [
        "Bandits attack Kujama; kill 3.",
        "bandits  attack KUJAMA, kill 3",
        "Bandits attack Kujama\u2019, kill 3",  # a character cp1252 has
        "Bandits attack Kujama\u1ecd, kill 3",  # and one it has not: a CSV written as cp1252 has "?" there
        "Bandits attack Kujama?, kill 3",
    ],
)
def test_a_description_reference_folds_as_every_format_writes_it(description):
    frame = events({c.SOURCE_URL: None}, {c.SOURCE_URL: None, c.DESCRIPTION: description})
    assert len(set(fingerprints(frame))) == 1


def test_hashes_do_not_depend_on_dtypes():
    frame = events({}, {"total_deaths": 7})
    other = frame.astype(object).assign(**{c.EVENT_DATE: pd.to_datetime(frame[c.EVENT_DATE])})
    assert list(fingerprints(frame)) == list(fingerprints(other))
    assert list(content_hashes(frame)) == list(content_hashes(other))


def test_exact_duplicates_are_merged_and_counted():
    frame = events({}, {}, {c.COMMUNITY: "Sabon Tasha"}, {})
    result = deduplicate(frame)
    assert result.duplicates == 2
    assert sorted(result.duplicate_rows) == [2, 4]
    assert list(result.events[c.SOURCE_ROW]) == [1, 3]
    assert result.events[FINGERPRINT].is_unique
    assert {FINGERPRINT, CONTENT_HASH} <= set(result.events.columns)


def test_same_identity_with_different_content_stays_two_events():
    frame = events({"total_deaths": 1}, {"total_deaths": 0})
    result = deduplicate(frame)
    assert result.duplicates == 0
    assert len(result.events) == 2
    # Both keep the record's identity; which stored event each is, is the reconciler's call.
    assert result.events[FINGERPRINT].nunique() == 1
    assert result.events[CONTENT_HASH].nunique() == 2


def test_input_is_not_mutated():
    frame = events({}, {})
    before = frame.copy()
    deduplicate(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_fingerprints_of_many_rows_are_distinct():
    # Speed is measured in bench/pipeline_bench.py, not asserted here.
    one = events({})
    frame = one.loc[one.index.repeat(200_000)].reset_index(drop=True)
    frame[c.SOURCE_URL] = "https://example.ng/" + pd.Series(range(len(frame))).astype(str)
    fp = fingerprints(frame)
    assert len(set(fp)) == len(frame)


def _keys(*rows: tuple[int, int, int]) -> tuple[np.ndarray, ...]:
    return tuple(np.array(column, dtype=np.uint64) for column in zip(*rows, strict=True))


def test_repeats_marks_exact_repeats_only() -> None:
    rng = np.random.default_rng(5)
    f1, f2, h = (rng.integers(0, 2**63, 5_000, dtype=np.uint64) for _ in range(3))
    f1[-300:], f2[-300:], h[-300:-100] = f1[:300], f2[:300], h[:200]  # 200 exact repeats, 100 same identity
    exact = repeats(f1, f2, h)
    assert exact.sum() == 200 and exact[-300:-100].all() and not exact[-100:].any()
    by_columns = pd.DataFrame({"f1": f1, "f2": f2, "h": h}).duplicated().to_numpy()
    assert (exact == by_columns).all()


@pytest.mark.parametrize("same_content", [True, False])
def test_repeats_does_not_trust_keys_that_fold_alike(same_content: bool) -> None:
    f2a, f2b = 7, 11
    f1a = 12345
    fold = int(_FOLD_F2)
    f1b = f1a ^ (f2a * fold % 2**64) ^ (f2b * fold % 2**64)  # folds as (f1a, f2a) does: another event all the same
    exact = repeats(*_keys((f1a, f2a, 99), (f1b, f2b, 99 if same_content else 98)))
    assert exact.tolist() == [False, False]
