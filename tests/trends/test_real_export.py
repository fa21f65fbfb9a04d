"""Every trend chart on the real NVCD export after a real pipeline run: totals agree, figures build."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import plotly.graph_objects as go
import pytest
from sqlalchemy import Engine, func, select

from dashapp import figures
from models import ConflictEvent, ValidationIssue
from pipeline.runner import run_pipeline
from pipeline.sources.base import Extracted
from trends import charts
from trends import queries as q
from trends.csv import to_csv
from trends.data import fetch
from trends.filters import DIMENSIONS, TrendFilters

FIGURES = {
    "series": figures.make_series_figure,
    "states": figures.make_ranking_figure,
    "lgas": figures.make_ranking_figure,
    "map": figures.make_map_figure,
    "rates_source": figures.make_rates_figure,
    "rates_state": figures.make_rates_figure,
    "precision": figures.make_precision_figure,
    "failures": figures.make_failures_figure,
    "completeness": figures.make_completeness_figure,
    "worst_sources": figures.make_worst_figure,
    "worst_states": figures.make_worst_figure,
    "runs": figures.make_runs_figure,
}


@pytest.fixture
def loaded(engine: Engine, real_export: Path, real_extracted: Extracted) -> Engine:
    """Run the pipeline on the real export (read once for the session)."""
    run_pipeline(engine, real_extracted, filename=real_export.name)
    return engine


def test_real_export_totals_agree_and_every_chart_builds(loaded: Engine) -> None:
    with loaded.connect() as conn:
        events = conn.scalar(select(func.count()).select_from(ConflictEvent))
        dated = conn.scalar(select(func.count()).where(ConflictEvent.event_date.is_not(None)))
        rules = set(conn.scalars(select(ValidationIssue.rule).distinct()))
    assert events > 1000
    for granularity in ("day", "week", "month"):
        series = fetch(loaded, q.series_select(TrendFilters(granularity=granularity)))
        assert series["value"].sum() == dated
    context = charts.context_from(charts.place_summary(loaded, TrendFilters())).iloc[0]
    assert context["events"] == events
    assert 0 <= context["precise_share"] <= 1 and 0 <= context["failing_share"] <= 1
    by_actor = fetch(loaded, q.series_select(TrendFilters(), "actor"))["value"].sum()
    assert by_actor >= fetch(loaded, q.series_select(TrendFilters(), "crisis_type"))["value"].sum() * 0.9
    reasons = set(charts.drilldown(loaded, TrendFilters())["reason"])
    assert reasons <= rules | {"geocoded_state", "geocoded_none"}
    for key, chart in {**charts.CONFLICT_CHARTS, **charts.QUALITY_CHARTS}.items():
        frame = chart.load(loaded, TrendFilters(metric="total_deaths"))
        assert not frame.empty, key
        go.Figure(FIGURES[key](frame).to_plotly_json())  # valid plotly
        text = to_csv(frame, TrendFilters(), 1, date(2026, 1, 1), chart.title, ["nvcd"])
        assert len(text.splitlines()) == len(frame) + 2
    for group_by in DIMENSIONS:
        series = charts.conflict_series(loaded, TrendFilters(group_by=group_by))
        assert series["grp"].nunique() <= charts.TOP_GROUPS + 1, group_by
        go.Figure(figures.make_series_figure(series).to_plotly_json())
