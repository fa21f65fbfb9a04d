"""Data-quality queries on the prepared events, counts checked by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine

from trends import charts
from trends import quality_queries as qq
from trends.data import fetch
from trends.filters import TrendFilters

pytestmark = pytest.mark.usefixtures("trend_data")
D = date


def rows(engine: Engine, stmt: object) -> list[tuple]:
    return [tuple(row) for row in fetch(engine, stmt).itertuples(index=False, name=None)]  # type: ignore[arg-type]


def test_rates_by_source_per_month(engine: Engine) -> None:
    # (bucket, source, events, geocoded, LGA or better, passing validation)
    assert rows(engine, qq.rates_select(TrendFilters(), "source")) == [
        (D(2024, 1, 1), "Daily Post", 1, 1, 1, 1),
        (D(2024, 1, 1), "Punch", 1, 1, 1, 0),
        (D(2024, 2, 1), "Daily Post", 1, 0, 0, 0),
        (D(2024, 2, 1), "Punch", 1, 1, 0, 1),
        (D(2024, 3, 1), "Premium Times", 2, 2, 2, 2),
    ]


def test_rates_by_state_as_shares(engine: Engine) -> None:
    frame = charts.rates_by_state(engine, TrendFilters())
    kano = frame[frame["grp"] == "Kano"].iloc[0]
    assert (kano["events"], kano["valid_rate"], kano["precise_rate"]) == (2, 0.5, 1.0)
    lagos = frame[frame["grp"] == "Lagos"].iloc[0]
    assert (lagos["geocoded_rate"], lagos["precise_rate"]) == (0.5, 0.0)


def test_precision_mix(engine: Engine) -> None:
    assert rows(engine, qq.precision_mix_select(TrendFilters())) == [
        (D(2024, 1, 1), "lga", 1),
        (D(2024, 1, 1), "ward", 1),
        (D(2024, 2, 1), "none", 1),
        (D(2024, 2, 1), "state", 1),
        (D(2024, 3, 1), "lga", 2),
    ]
    shares = charts.precision_mix(engine, TrendFilters())
    assert list(shares["share"]) == [0.5, 0.5, 0.5, 0.5, 1.0]


def test_failures_by_rule(engine: Engine) -> None:
    assert rows(engine, qq.failures_select(TrendFilters())) == [
        (D(2024, 1, 1), "casualty_arithmetic", "error", 1),
        (D(2024, 2, 1), "required_fields", "error", 1),
        (D(2024, 2, 1), "url_form", "warning", 1),
    ]
    assert rows(engine, qq.failures_select(TrendFilters(states=("Borno",)))) == []


def test_completeness_per_field(engine: Engine) -> None:
    frame = charts.completeness(engine, TrendFilters()).set_index("field")
    assert frame.loc["event_date", "filled"] == 6
    assert frame.loc["state", "share"] == 1.0
    assert frame.loc["lga", "filled"] == 5
    assert frame.loc["community", "share"] == 0.0
    assert charts.completeness(engine, TrendFilters(states=("Nowhere",))).empty


def test_worst_sources_and_states(engine: Engine) -> None:
    sources = charts.quality_tallies(engine, TrendFilters(), "source")
    assert list(charts.worst_from(sources, min_events=1)["grp"]) == ["Daily Post", "Punch", "Premium Times"]
    assert list(charts.worst_from(sources)["grp"]) == ["Daily Post"]
    assert list(charts.worst_from(sources, limit=2, min_events=1)["grp"]) == ["Daily Post", "Punch"]
    worst = charts.worst_states(engine, TrendFilters())
    assert list(worst["grp"]) == ["Kano"]  # its undated event counts: 3 events, 1 passing
    assert worst["valid_rate"].iloc[0] == pytest.approx(1 / 3)
    assert charts.worst_states(engine, TrendFilters(states=("Nowhere",))).empty


def test_tallies_keep_undated_events_apart(engine: Engine) -> None:
    tallies = charts.quality_tallies(engine, TrendFilters(), "source")
    undated = tallies[tallies["bucket"].isna()]
    assert next(undated.itertuples(index=False, name=None))[1:] == ("Daily Post", 1, 0, 0, 0)
    rates = charts.rates_from(tallies)
    assert len(rates) == 5 and rates["bucket"].notna().all()


def test_per_run_rates(engine: Engine) -> None:
    frame = charts.per_run(engine, TrendFilters())
    assert list(frame["geocoding_success_rate"]) == [0.5, 0.7]
    punch = charts.per_run(engine, TrendFilters(sources=("Punch",)))
    assert list(zip(punch["grp"], punch["validation_pass_rate"], strict=True)) == [("Punch", 0.5)]


@pytest.mark.parametrize(
    ("drill", "expected"),
    [
        (qq.Drill(), 7),
        (qq.Drill(rule="required_fields"), 2),
        (qq.Drill(precision="none"), 2),
        (qq.Drill(dimension="state", value="Kano"), 3),
        (qq.Drill(period_start=D(2024, 2, 1), period_end=D(2024, 3, 1), dimension="source", value="Punch"), 1),
    ],
)
def test_drilldown_reasons(engine: Engine, drill: qq.Drill, expected: int) -> None:
    frame = charts.drilldown(engine, TrendFilters(), drill)
    assert len(frame) == expected


def test_drilldown_names_the_reason(engine: Engine, trend_data: list[int]) -> None:
    frame = charts.drilldown(engine, TrendFilters(sources=("Punch",)))
    assert sorted(zip(frame["id"], frame["event_id"], frame["reason"], strict=True)) == [
        (trend_data[1], "NVCD2", "casualty_arithmetic"),
        (trend_data[2], "NVCD3", "geocoded_state"),
    ]


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 6])
def test_drilldown_limit_keeps_the_newest_reasons(engine: Engine, trend_data: list[int], limit: int) -> None:
    # Undated first, then newest; an event's reasons stay together in reason order.
    full = [(r[0], r[6]) for r in rows(engine, qq.drilldown_select(TrendFilters()))]
    assert full[:4] == [
        (trend_data[6], "geocoded_none"),
        (trend_data[6], "required_fields"),
        (trend_data[3], "geocoded_none"),
        (trend_data[3], "required_fields"),
    ]
    assert [(r[0], r[6]) for r in rows(engine, qq.drilldown_select(TrendFilters(), limit=limit))] == full[:limit]
