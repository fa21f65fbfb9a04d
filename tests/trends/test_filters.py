"""The filter dataclass: URL round trip and validation."""

from __future__ import annotations

from datetime import date

import pytest

from trends.filters import FilterError, TrendFilters, from_controls, from_mapping, from_query


def test_url_round_trip_keeps_every_field() -> None:
    filters = TrendFilters(
        start=date(2024, 1, 1),
        end=date(2024, 6, 30),
        states=("Kano", "Lagos"),
        regions=("North West",),
        lgas=("Ikeja",),
        crisis_types=("Banditry",),
        actors=("Bandits", "Police & Army"),
        sources=("Daily Post",),
        granularity="week",
        group_by="actor",
        metric="kidnapped",
    )
    query = filters.to_query()
    assert "state=Kano&state=Lagos" in query
    assert "Police+%26+Army" in query
    assert from_query(query) == filters
    assert from_query("?" + query) == filters


def test_defaults_make_an_empty_query() -> None:
    assert TrendFilters().to_query() == ""
    assert from_query("") == TrendFilters()
    assert TrendFilters().describe() == "all events"


def test_dash_layout_mapping_with_single_and_repeated_values() -> None:
    filters = from_mapping({"state": ["Kano", "Kano", " Lagos "], "crisis_type": "Banditry", "granularity": "day"})
    assert filters.states == ("Kano", "Lagos")
    assert filters.crisis_types == ("Banditry",)
    assert filters.granularity == "day"


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("granularity=year", "granularity"),
        ("group_by=colour", "group_by"),
        ("metric=fatalities", "metric"),
        ("start=2024-13-01", "start"),
        ("start=0", "start"),
        ("end=2024-1-1", "end"),
        ("start=2024-03-01&end=2024-02-01", "start"),
    ],
)
def test_bad_values_raise_with_the_key(query: str, key: str) -> None:
    with pytest.raises(FilterError) as info:
        from_query(query)
    assert info.value.key == key


def test_controls_drop_invalid_values_instead_of_failing() -> None:
    filters = from_controls({"start": "2024-03-01", "end": "2024-02-01", "state": ["Kano"], "granularity": "week"})
    assert filters.start is None and filters.end is None
    assert filters.states == ("Kano",)
    assert filters.granularity == "week"


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("state=x%0A%3DHYPERLINK(1)", "state"),
        ("actor=a%0Db", "actor"),
        ("source=a%09b", "source"),
        ("lga=a%00b", "lga"),
        ("crisis_type=a%C2%85b", "crisis_type"),
    ],
)
def test_control_characters_in_values_raise(query: str, key: str) -> None:
    with pytest.raises(FilterError) as info:
        from_query(query)
    assert info.value.key == key and "control" in info.value.message


def test_ordinary_punctuation_in_values_is_kept() -> None:
    filters = from_query("state=Akwa+Ibom&actor=Boko+Haram+%28JAS%29%2C+faction&source=A%3DB")
    assert filters.states == ("Akwa Ibom",) and filters.actors == ("Boko Haram (JAS), faction",)
    assert filters.sources == ("A=B",)


@pytest.mark.parametrize("search", [5, None, ["state=Kano"], {"state": "Kano"}])
def test_from_query_refuses_what_is_not_a_query_string(search: object) -> None:
    with pytest.raises(FilterError, match="not a query string"):
        from_query(search)  # type: ignore[arg-type]
