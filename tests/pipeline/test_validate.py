"""Validate: each named rule catches what it names, and only that."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipeline import columns as c
from pipeline.geocode import geocode
from pipeline.normalise import normalise
from pipeline.rules import NVCD_START, RULES, RULES_BY_NAME
from pipeline.validate import count_issues, validate

TODAY = date(2025, 6, 30)
GOOD = {
    c.DATE: "2024-05-01",
    c.STATE: "Kaduna",
    c.LGA: "Birnin Gwari",
    c.COMMUNITY: "Kwaga",
    c.CRISIS_TYPE: "Banditry",
    c.ACTOR1: "Bandits",
    c.ACTOR2: "Civilian(s)",
    "civilian_casualties": 3,
    "civilian_casualties_male": 2,
    "civilian_casualties_female": 1,
    "total_deaths": 3,
    "injured": 2,
    "total_casualties": 5,
    c.SOURCE: "Punch",
    c.SOURCE_URL: "https://punchng.com/bandits-kill-three/",
    c.DATA_SOURCE: "Secondary",
}


def prepared(*records: dict[str, object]) -> pd.DataFrame:
    """Return events as validate receives them: normalised and geocoded."""
    frame = pd.DataFrame(list(records), dtype=object).reindex(columns=list(c.RAW_COLUMNS)).astype(object)
    events, _ = normalise(frame.assign(**{c.SOURCE_ROW: range(1, len(records) + 1)}))
    return geocode(events)


def failures(**changes: object) -> list[tuple[str, str, str | None]]:
    _events, issues = validate(prepared({**GOOD, **changes}), today=TODAY)
    return sorted(zip(issues[c.RULE], issues[c.SEVERITY], issues[c.FIELD], strict=True))


def test_a_good_event_passes() -> None:
    events, issues = validate(prepared(GOOD), today=TODAY)
    assert issues.empty
    assert events.loc[0, c.ERROR_COUNT] == 0 and events.loc[0, c.WARNING_COUNT] == 0
    assert list(events.columns) == list(c.EVENT_COLUMNS)  # normalise + geocode + validate fill them all


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({c.DATE: None}, [("date_required", "error", c.EVENT_DATE)]),
        ({c.STATE: None, c.LGA: None}, [("state_required", "error", c.STATE)]),
        ({c.CRISIS_TYPE: None}, [("crisis_type_required", "warning", c.CRISIS_TYPE)]),
        ({c.SOURCE: None, c.SOURCE_URL: None}, [("source_required", "warning", c.SOURCE)]),
        ({c.SOURCE: None}, []),  # a URL is enough
        ({c.DATE: "2025-07-01"}, [("date_in_future", "error", c.EVENT_DATE)]),
        ({c.DATE: "2025-06-30"}, []),
        ({c.DATE: "2020-05-31"}, [("date_before_start", "error", c.EVENT_DATE)]),
        ({c.DATE: NVCD_START.isoformat()}, []),
        ({c.STATE: "Atlantis", c.LGA: None}, [("state_known", "error", c.STATE)]),
        ({c.STATE: "Benue"}, [("lga_in_state", "error", c.LGA)]),
        ({c.LGA: "Nowhere Town"}, [("lga_known", "warning", c.LGA)]),
        ({c.LGA: None}, []),
        (
            {"total_deaths": 4},
            [("casualties_total", "error", "total_casualties"), ("deaths_total", "error", "total_deaths")],
        ),
        ({"total_casualties": 9}, [("casualties_total", "error", "total_casualties")]),
        ({"civilian_casualties_male": 3}, [("split_exceeds_count", "error", "civilian_casualties")]),
        ({"kidnapped_female": 2}, [("split_exceeds_count", "error", "kidnapped")]),
        ({"kidnapped": -1}, [("count_negative", "error", "kidnapped")]),
        ({c.SOURCE_URL: "punchng.com/bandits"}, [("source_url_format", "warning", c.SOURCE_URL)]),
        ({c.SOURCE_URL: "https://punchng"}, [("source_url_format", "warning", c.SOURCE_URL)]),
        ({c.SOURCE_URL: "Fleeing robbers https://x.ng/a"}, [("source_url_format", "warning", c.SOURCE_URL)]),
        ({c.SOURCE_URL: "http://www.vanguardngr.com/2022/03/x?id=1"}, []),
        ({c.CRISIS_TYPE: "Alien Invasion"}, [("crisis_type_codebook", "warning", c.CRISIS_TYPE)]),
        ({c.ACTOR2: "Husband"}, [("actor_codebook", "warning", c.ACTOR2)]),
        (
            {c.ACTOR3: "Aliens", c.ACTOR1: "Martians"},
            [("actor_codebook", "warning", c.ACTOR1), ("actor_codebook", "warning", c.ACTOR3)],
        ),
        ({c.DATA_SOURCE: "tertiary"}, [("data_source_known", "warning", c.DATA_SOURCE)]),
    ],
)
def test_rules(changes: dict[str, object], expected: list[tuple[str, str, str | None]]) -> None:
    assert failures(**changes) == sorted(expected)


def test_counts_and_details() -> None:
    bad = {**GOOD, c.STATE: "Benue", "total_deaths": 4, c.ACTOR2: "Husband"}
    events, issues = validate(prepared(GOOD, bad), today=TODAY)
    assert list(events[c.ERROR_COUNT]) == [0, 3]
    assert list(events[c.WARNING_COUNT]) == [0, 1]
    assert set(issues[c.SOURCE_ROW]) == {2}
    details = dict(zip(issues[c.RULE], issues[c.DETAIL], strict=True))
    assert details["lga_in_state"] == "Birnin Gwari is an LGA of Kaduna, not Benue"
    assert details["deaths_total"] == "total_deaths 4 != gsa_casualties + civilian_casualties = 3"
    assert details["actor_codebook"] == "actor2 not in codebook: Husband"
    assert list(issues.columns) == list(c.ISSUE_COLUMNS)


def test_rules_table_is_complete_and_named_once() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert {rule.severity for rule in RULES} == {"error", "warning"}
    assert {"number_format", "date_format", "lga_in_state", "count_negative"} <= set(RULES_BY_NAME)
    assert all(rule.description for rule in RULES)


def test_count_issues_adds_normalise_issues() -> None:
    events, issues = validate(prepared(GOOD, GOOD), today=TODAY)
    cell = pd.DataFrame(
        [{c.SOURCE_ROW: 2, c.RULE: "number_format", c.SEVERITY: "warning", c.FIELD: "injured", c.DETAIL: "x"}]
    )
    counted = count_issues(events, pd.concat([issues, cell], ignore_index=True))
    assert list(counted[c.WARNING_COUNT]) == [0, 1]


def test_input_untouched_and_works_without_geocoding() -> None:
    frame, _ = normalise(pd.DataFrame([{c.STATE: "Atlantis"}], dtype=object).assign(**{c.SOURCE_ROW: [1]}))
    before = frame.copy()
    events, issues = validate(frame, today=TODAY)
    pd.testing.assert_frame_equal(frame, before)
    assert "state_known" in set(issues[c.RULE])
    assert events.loc[0, c.ERROR_COUNT] == 2  # no date, unknown state
