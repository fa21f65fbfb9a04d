"""Which events the trend queries read: the datasets' default rule and withdrawn events, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from models import DEMO_DATASET
from tests.trends.conftest import insert_events, load_living, withdraw
from trends import charts
from trends import quality_queries as qq
from trends import queries as q
from trends.data import fetch
from trends.datasets import check_known, known_datasets, scoped
from trends.filters import FilterError, TrendFilters, from_query


def events(engine: Engine, filters: TrendFilters | None = None) -> int:
    """Return how many events the conflict page's place summary counts, the rule decided in SQL or settled first."""
    filters = filters or TrendFilters()
    counts = {int(charts.place_summary(engine, f)["events"].sum()) for f in (filters, scoped(engine, filters))}
    assert len(counts) == 1, counts
    return counts.pop()


def datasets(engine: Engine, chosen: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """Return the datasets stored and those the choice (none: the default) settles to."""
    with engine.connect() as conn:
        known = known_datasets(conn)
    return known, list(scoped(engine, TrendFilters(datasets=chosen)).scope or ())


def test_demo_is_left_out_by_default_once_other_data_exists(engine: Engine) -> None:
    insert_events(engine, DEMO_DATASET)
    assert events(engine) == 7 and datasets(engine) == (["demo"], ["demo"])  # the demo app shows its data
    insert_events(engine)
    assert events(engine) == 7 and datasets(engine) == (["demo", "nvcd"], ["nvcd"])
    assert events(engine, TrendFilters(datasets=("demo",))) == 7
    assert events(engine, TrendFilters(datasets=("demo", "nvcd"))) == 14
    assert datasets(engine, ("nvcd", "demo", "gone"))[1] == ["demo", "nvcd"]


@pytest.mark.parametrize("other", ["acled", "aaa"])  # after and before "demo" in byte order
def test_any_other_dataset_counts_as_real_data(engine: Engine, other: str) -> None:
    insert_events(engine, DEMO_DATASET)
    insert_events(engine, other)
    assert events(engine) == 7 and datasets(engine)[1] == [other]


def test_withdrawn_events_are_not_real_data(engine: Engine) -> None:
    insert_events(engine, DEMO_DATASET)
    withdraw(engine, insert_events(engine))
    assert datasets(engine) == (["demo", "nvcd"], ["demo"]) and events(engine) == 7  # nvcd shows no event
    assert events(engine, TrendFilters(datasets=("nvcd",))) == 0


def test_withdrawn_events_leave_every_trend(engine: Engine) -> None:
    ids = insert_events(engine)
    withdraw(engine, [ids[1], ids[3]])  # a Kano and a Lagos event, both with issues
    filters = TrendFilters()
    assert fetch(engine, q.series_select(filters))["value"].sum() == 4
    assert fetch(engine, q.series_select(filters, "actor"))["value"].sum() == 6
    assert fetch(engine, q.series_select(scoped(engine, filters), "actor"))["value"].sum() == 6
    assert events(engine) == 5
    assert charts.quality_tallies(engine, filters, "state")["events"].sum() == 5
    assert charts.precision_mix(engine, filters)["events"].sum() == 4
    assert charts.failures_by_rule(engine, filters).empty  # the only other failing event is undated
    assert set(charts.completeness(engine, filters)["events"]) == {5}
    assert ids[1] not in set(charts.drilldown(engine, filters)["id"])
    assert ids[3] not in set(charts.drilldown(engine, filters)["id"])


def test_events_list_withdrawn_ones_on_request(engine: Engine) -> None:
    ids = insert_events(engine)
    withdraw(engine, [ids[2]])
    listed = {
        mode: fetch(engine, q.events_select(TrendFilters(), 10, withdrawn=mode), keep_types=True)
        for mode in ("exclude", "include", "only")
    }
    assert len(listed["exclude"]) == 6 and "withdrawn_at" not in listed["exclude"]
    assert list(listed["only"]["event_id"]) == ["NVCD3"] and listed["only"]["withdrawn_run_id"].notna().all()
    assert list(listed["include"]["id"]) == ids and listed["include"]["withdrawn_at"].notna().sum() == 1
    assert set(listed["include"]["dataset"]) == {"nvcd"}


def test_a_snapshot_import_withdraws_from_the_trends(engine: Engine) -> None:
    ids = load_living(engine)
    assert len(ids["withdrawn"]) >= 1 and ids["live"] and ids["demo"]
    assert events(engine) == len(ids["live"])
    assert events(engine, TrendFilters(datasets=("demo",))) == len(ids["demo"])
    everything = fetch(engine, q.events_select(TrendFilters(datasets=("nvcd", "demo")), 100, withdrawn="include"))
    assert set(everything["event_id"]) == {*ids["live"], *ids["withdrawn"], *ids["demo"]}


def test_rates_per_run_follow_the_datasets(engine: Engine) -> None:
    load_living(engine)
    default = charts.per_run(engine, TrendFilters())
    demo = charts.per_run(engine, TrendFilters(datasets=("demo",)))
    assert len(default) == 2 and len(demo) == 1  # the import and the snapshot; the replay's run


def test_the_dataset_filter_round_trips_and_is_checked() -> None:
    filters = from_query("dataset=demo&dataset=nvcd&state=Kano")
    assert filters.datasets == ("demo", "nvcd") and from_query(filters.to_query()) == filters
    assert "scope" not in filters.as_dict()
    assert filters.describe() == "state=Kano; dataset=demo; dataset=nvcd"
    with pytest.raises(FilterError, match="at most 32") as info:
        from_query("dataset=" + "x" * 33)
    assert info.value.key == "dataset"
    with pytest.raises(FilterError, match="control") as info:
        from_query("dataset=a%0Ab")
    assert info.value.key == "dataset"
    check_known(("nvcd",), ["demo", "nvcd"])
    with pytest.raises(FilterError, match="unknown dataset 'nvdc' \\(known: demo, nvcd\\)"):
        check_known(("nvcd", "nvdc"), ["demo", "nvcd"])


def test_runs_select_keeps_metrics_of_no_run(engine: Engine) -> None:
    # Rows the pipeline wrote without a run (older data) stay in every selection.
    from sqlalchemy.orm import Session

    from models import DataQualityMetric

    with Session(engine) as session:
        session.add(DataQualityMetric(metric_type="aggregate", status="healthy", events=3))
        session.commit()
    assert len(fetch(engine, qq.runs_select(TrendFilters(datasets=("demo",))))) == 1


def test_settled_filters_read_only_their_datasets(engine: Engine) -> None:
    insert_events(engine, DEMO_DATASET)
    insert_events(engine)
    settled = scoped(engine, TrendFilters())
    assert settled.scope == ("nvcd",) and settled == TrendFilters()  # the scope is no part of the selection
    assert events(engine, TrendFilters(datasets=("demo",))) == 7
    nothing = TrendFilters(scope=())  # e.g. an empty database: nothing to show
    assert int(charts.place_summary(engine, nothing)["events"].sum()) == 0
    assert scoped(engine, TrendFilters(), "include").scope == ("nvcd",)
