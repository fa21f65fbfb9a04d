"""Trend queries on the prepared events, counts checked by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, Select, literal, select

from trends import charts
from trends import queries as q
from trends.data import fetch
from trends.filters import TrendFilters
from trends.sql import actor_rows, bucket, count_columns, dimension_column, metric_column, where

pytestmark = pytest.mark.usefixtures("trend_data")
D = date


def rows(engine: Engine, stmt: object) -> list[tuple]:
    return [tuple(row) for row in fetch(engine, stmt).itertuples(index=False, name=None)]  # type: ignore[arg-type]


def ranking_select(filters: TrendFilters, dimension: str, metric: str | None = None, limit: int = 15) -> Select[Any]:
    """Return (grp, value) rows: the top ``limit`` values of ``dimension`` by ``metric``, one query of its own.

    The reference the pages' rankings (derived from the per-LGA place summary) are checked against.
    """
    metric = metric or filters.metric
    if dimension == "actor":
        actors = actor_rows(filters, *count_columns())
        value = metric_column(metric, actors).label("value")
        return select(actors.c.grp, value).group_by(actors.c.grp).order_by(value.desc(), actors.c.grp).limit(limit)
    group = dimension_column(dimension).label("grp")
    value = metric_column(metric).label("value")
    return (
        select(group, value)
        .where(where(filters), group.is_not(None))
        .group_by(group)
        .order_by(value.desc(), group)
        .limit(limit)
    )


def quality_context(engine: Engine, filters: TrendFilters) -> Any:
    """Return the conflict page's quality context for ``filters``, as its callback derives it."""
    return charts.context_from(charts.place_summary(engine, filters))


@pytest.mark.parametrize(
    ("day", "granularity", "expected"),
    [
        (D(2024, 3, 17), "week", D(2024, 3, 11)),  # Sunday belongs to the week starting Monday 11th
        (D(2024, 3, 11), "week", D(2024, 3, 11)),
        (D(2024, 1, 2), "week", D(2024, 1, 1)),
        (D(2024, 2, 29), "month", D(2024, 2, 1)),
        (D(2024, 2, 29), "day", D(2024, 2, 29)),
    ],
)
def test_bucket_is_the_same_on_both_backends(engine: Engine, day: date, granularity: str, expected: date) -> None:
    with engine.connect() as conn:
        assert conn.scalar(select(bucket(literal(day), granularity))) == expected


def test_monthly_and_weekly_event_counts(engine: Engine) -> None:
    assert rows(engine, q.series_select(TrendFilters())) == [
        (D(2024, 1, 1), "all", 2),
        (D(2024, 2, 1), "all", 2),
        (D(2024, 3, 1), "all", 2),
    ]
    weekly = rows(engine, q.series_select(TrendFilters(granularity="week")))
    assert [(b, v) for b, _, v in weekly] == [
        (D(2024, 1, 1), 1),
        (D(2024, 1, 15), 1),
        (D(2024, 1, 29), 1),
        (D(2024, 2, 5), 1),
        (D(2024, 3, 11), 2),
    ]


def test_deaths_by_actor_count_each_event_under_each_actor(engine: Engine) -> None:
    stmt = q.series_select(TrendFilters(), "actor", "total_deaths")
    assert rows(engine, stmt) == [
        (D(2024, 1, 1), "Bandits", 5),
        (D(2024, 1, 1), "Police", 3),
        (D(2024, 2, 1), "Cultists", 1),
        (D(2024, 2, 1), "Police", 0),
        (D(2024, 3, 1), "Boko Haram", 15),
        (D(2024, 3, 1), "Military", 10),
    ]


def test_actor_filter_matches_any_actor_column(engine: Engine) -> None:
    police = TrendFilters(actors=("Police",))
    assert rows(engine, q.series_select(police, "state")) == [(D(2024, 1, 1), "Kano", 1), (D(2024, 2, 1), "Lagos", 1)]
    by_actor = [(D(2024, 1, 1), "Police", 1), (D(2024, 2, 1), "Police", 1)]
    assert rows(engine, q.series_select(police, "actor")) == by_actor


@pytest.mark.parametrize(
    ("filters", "metric", "expected"),
    [
        (TrendFilters(states=("Kano",)), "kidnapped", [(D(2024, 1, 1), "all", 5)]),
        (TrendFilters(regions=("South West",)), "injured", [(D(2024, 2, 1), "all", 6)]),
        (TrendFilters(start=D(2024, 2, 1), end=D(2024, 2, 29)), "events", [(D(2024, 2, 1), "all", 2)]),
        (TrendFilters(crisis_types=("Insurgency",)), "displaced", [(D(2024, 3, 1), "all", 100)]),
        (TrendFilters(sources=("Punch",), lgas=("Ikeja",)), "civilian_deaths", [(D(2024, 2, 1), "all", 1)]),
        (TrendFilters(states=("Borno",)), "gsa_deaths", [(D(2024, 3, 1), "all", 4)]),
        (TrendFilters(states=("Nowhere",)), "events", []),
    ],
)
def test_filters_and_metrics(engine: Engine, filters: TrendFilters, metric: str, expected: list) -> None:
    assert rows(engine, q.series_select(filters, None, metric)) == expected


def test_rankings(engine: Engine) -> None:
    assert rows(engine, ranking_select(TrendFilters(), "state")) == [("Kano", 3), ("Borno", 2), ("Lagos", 2)]
    assert rows(engine, ranking_select(TrendFilters(), "lga", "total_deaths")) == [
        ("Maiduguri, Borno", 15),
        ("Kano Municipal, Kano", 5),
        ("Ikeja, Lagos", 1),
    ]
    assert rows(engine, ranking_select(TrendFilters(), "actor", limit=4)) == [
        ("Bandits", 3),
        ("Boko Haram", 2),
        ("Cultists", 2),
        ("Police", 2),
    ]


def test_map_points_average_the_geocoded_positions(engine: Engine) -> None:
    summary = fetch(engine, q.place_select(TrendFilters(metric="total_deaths")))
    frame = charts.map_from(summary)  # positions replaced by the gazetteer's centroids where it knows the LGA
    assert list(zip(frame["state"], frame["lga"], frame["events"], frame["value"], strict=True)) == [
        ("Borno", "Maiduguri", 2, 15),
        ("Kano", "Kano Municipal", 2, 5),
        ("Lagos", "Ikeja", 1, 1),
    ]
    positions = summary.set_index(["state", "lga"])
    assert positions.loc[("Borno", "Maiduguri"), "latitude"] == pytest.approx(11.85)
    assert positions.loc[("Kano", "Kano Municipal"), "longitude"] == pytest.approx(8.6)


def test_place_summary_counts_every_event_once(engine: Engine) -> None:
    # (state, lga, events, deaths, located, located deaths): Lagos has one event without an LGA or position.
    frame = fetch(engine, q.place_select(TrendFilters(metric="total_deaths")))
    columns = ["state", "lga", "events", "value", "located", "located_value"]
    got = sorted(
        (s, lga if isinstance(lga, str) else "", e, v, n, nv)
        for s, lga, e, v, n, nv in frame[columns].itertuples(index=False, name=None)
    )
    assert got == [
        ("Borno", "Maiduguri", 2, 15, 2, 15),
        ("Kano", "", 1, 0, 0, 0),
        ("Kano", "Kano Municipal", 2, 5, 2, 5),
        ("Lagos", "", 1, 0, 0, 0),
        ("Lagos", "Ikeja", 1, 1, 1, 1),
    ]


def test_quality_context_of_a_selection(engine: Engine) -> None:
    def tallies(filters: TrendFilters) -> tuple:
        row = quality_context(engine, filters).iloc[0]
        return tuple(int(row[name]) for name in ("events", "precise", "derived", "failing"))

    assert tallies(TrendFilters()) == (7, 4, 2, 3)
    assert tallies(TrendFilters(states=("Lagos",))) == (2, 0, 0, 1)
    shares = quality_context(engine, TrendFilters(states=("Kano",))).iloc[0]
    assert shares["precise_share"] == pytest.approx(2 / 3)
    assert shares["failing_share"] == pytest.approx(2 / 3)
    assert quality_context(engine, TrendFilters(states=("Nowhere",)))["events"].iloc[0] == 0


def test_rankings_from_the_place_summary_match_the_ranking_queries(engine: Engine) -> None:
    for metric in ("events", "total_deaths", "kidnapped"):
        filters = TrendFilters(metric=metric)
        for dimension, loader in (("state", charts.state_ranking), ("lga", charts.lga_ranking)):
            expected = rows(engine, ranking_select(filters, dimension))
            assert list(loader(engine, filters).itertuples(index=False, name=None)) == expected


def test_events_page_by_offset_and_cursor(engine: Engine, trend_data: list[int]) -> None:
    first = fetch(engine, q.events_select(TrendFilters(), limit=2))
    assert list(first["id"]) == trend_data[:2]
    after = fetch(engine, q.events_select(TrendFilters(), limit=2, after_id=trend_data[1]))
    assert list(after["id"]) == trend_data[2:4]
    kano = fetch(engine, q.events_select(TrendFilters(states=("Kano",)), limit=10, offset=1))
    assert list(kano["id"]) == [trend_data[1], trend_data[6]]


@pytest.mark.parametrize("dimension", [None, "state", "region", "crisis_type", "source", "lga"])
@pytest.mark.parametrize("granularity", ["day", "week", "month"])
def test_series_add_up_to_the_dated_events(engine: Engine, dimension: str | None, granularity: str) -> None:
    # Every dated event with a value for the dimension lands in exactly one bucket and group.
    filters = TrendFilters(granularity=granularity)
    total = fetch(engine, q.series_select(filters, dimension, "total_deaths"))["value"].sum()
    assert total == 21  # event 4, the only dated one without an LGA, has no deaths
    counted = fetch(engine, q.series_select(filters, dimension))["value"].sum()
    assert counted == (5 if dimension == "lga" else 6)


def test_map_uses_the_gazetteer_centroid_where_it_knows_the_lga(engine: Engine) -> None:
    from reference.gazetteer import lga_centroids

    known = lga_centroids().set_index(["state", "lga"])
    frame = charts.event_map(engine, TrendFilters()).set_index(["state", "lga"])
    matched = frame.index.intersection(known.index)
    assert len(matched) >= 1
    for place in matched:
        assert frame.loc[place, "latitude"] == pytest.approx(known.loc[place, "latitude"])
        assert frame.loc[place, "longitude"] == pytest.approx(known.loc[place, "longitude"])
