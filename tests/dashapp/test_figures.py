"""Figure builders: traces follow the frame, empty frames say so."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashapp import figures as f

T = pd.to_datetime


def test_series_has_one_line_per_group_with_values() -> None:
    df = pd.DataFrame(
        {"bucket": T(["2024-01-01", "2024-02-01", "2024-01-01"]), "grp": ["Kano", "Kano", "Lagos"], "value": [3, 4, 1]}
    )
    fig = f.make_series_figure(df, "Deaths")
    assert [trace.name for trace in fig.data] == ["Kano", "Lagos"]
    assert list(fig.data[0].y) == [3, 4]
    assert [list(point) for point in fig.data[1].customdata] == [["Lagos", "Lagos"]]  # raw for clicks, label
    assert fig.layout.yaxis.title.text == "Deaths"


def test_ranking_bars_in_order() -> None:
    fig = f.make_ranking_figure(pd.DataFrame({"grp": ["Kano", "Borno"], "value": [5, 2]}))
    assert list(fig.data[0].y) == ["Kano", "Borno"] and list(fig.data[0].x) == [5, 2]


def test_map_bubbles_scale_with_value_and_render_without_tiles() -> None:
    df = pd.DataFrame(
        {
            "state": ["Kano", "Lagos"],
            "lga": ["Nassarawa", "Ikeja"],
            "latitude": [12.0, 6.6],
            "longitude": [8.5, 3.3],
            "events": [4, 1],
            "value": [100, 1],
        }
    )
    fig = f.make_map_figure(df)
    trace = fig.data[0]
    assert trace.type == "scatter"  # plain axes: no map tiles, no WebGL
    assert list(trace.x) == [8.5, 3.3]
    assert trace.marker.size[0] > trace.marker.size[1]
    assert fig.layout.yaxis.scaleanchor == "x"


def test_rates_figure_has_two_panels_per_group() -> None:
    df = pd.DataFrame(
        {
            "bucket": T(["2024-01-01"] * 2),
            "grp": ["Punch", "Daily Post"],
            "geocoded_rate": [1.0, 0.5],
            "valid_rate": [0.0, 1.0],
        }
    )
    fig = f.make_rates_figure(df)
    assert len(fig.data) == 4
    assert [next(iter(trace.y)) for trace in fig.data] == [1.0, 0.0, 0.5, 1.0]


def test_precision_figure_stacks_levels_in_order() -> None:
    df = pd.DataFrame(
        {
            "bucket": T(["2024-01-01"] * 3),
            "precision": ["none", "lga", "ward"],
            "events": [1, 1, 2],
            "share": [0.25, 0.25, 0.5],
        }
    )
    fig = f.make_precision_figure(df)
    assert [trace.name for trace in fig.data] == ["ward", "lga", "none"]
    assert fig.layout.barmode == "stack"


def test_failures_sum_severities_per_rule() -> None:
    df = pd.DataFrame(
        {
            "bucket": T(["2024-01-01", "2024-01-01"]),
            "rule": ["r", "r"],
            "severity": ["error", "warning"],
            "events": [2, 3],
        }
    )
    fig = f.make_failures_figure(df)
    assert list(fig.data[0].y) == [5]


def test_completeness_worst_and_runs() -> None:
    comp = f.make_completeness_figure(pd.DataFrame({"field": ["state"], "filled": [3], "events": [4], "share": [0.75]}))
    assert list(comp.data[0].x) == [0.75]
    worst = f.make_worst_figure(pd.DataFrame({"grp": ["Punch"], "valid_rate": [0.5], "precise_rate": [1.0]}))
    assert [list(trace.x) for trace in worst.data] == [[0.5], [1.0]]
    runs = f.make_runs_figure(
        pd.DataFrame(
            {
                "run_id": [1],
                "timestamp": T(["2024-04-01"]),
                "grp": ["all sources"],
                "geocoding_success_rate": [0.7],
                "validation_pass_rate": [0.8],
            }
        )
    )
    assert [next(iter(trace.y)) for trace in runs.data] == [0.7, 0.8]


@pytest.mark.parametrize(
    "builder",
    [
        f.make_series_figure,
        f.make_ranking_figure,
        f.make_map_figure,
        f.make_rates_figure,
        f.make_precision_figure,
        f.make_completeness_figure,
    ],
)
def test_empty_frames_say_no_events_match(builder) -> None:
    fig = builder(pd.DataFrame())
    assert fig.data == ()
    assert fig.layout.annotations[0].text == f.EMPTY_MESSAGE


def test_empty_failures_worst_and_runs_explain_themselves() -> None:
    assert "No validation failures" in f.make_failures_figure(pd.DataFrame()).layout.annotations[0].text
    assert "Too few events" in f.make_worst_figure(pd.DataFrame()).layout.annotations[0].text
    assert "No pipeline runs" in f.make_runs_figure(pd.DataFrame()).layout.annotations[0].text


FRAMES = {
    "series": (f.make_series_figure, pd.DataFrame({"bucket": T(["2024-01-01"]), "grp": ["Kano"], "value": [3]})),
    "ranking": (f.make_ranking_figure, pd.DataFrame({"grp": ["Kano"], "value": [3]})),
    "map": (
        f.make_map_figure,
        pd.DataFrame(
            {
                "state": ["Kano"],
                "lga": ["Nassarawa"],
                "latitude": [12.0],
                "longitude": [8.5],
                "events": [4],
                "value": [9],
            }
        ),
    ),
    "rates": (
        f.make_rates_figure,
        pd.DataFrame({"bucket": T(["2024-01-01"]), "grp": ["Punch"], "geocoded_rate": [1.0], "valid_rate": [0.5]}),
    ),
    "precision": (
        f.make_precision_figure,
        pd.DataFrame({"bucket": T(["2024-01-01"]), "precision": ["lga"], "events": [1], "share": [1.0]}),
    ),
    "failures": (
        f.make_failures_figure,
        pd.DataFrame({"bucket": T(["2024-01-01"]), "rule": ["r"], "severity": ["error"], "events": [2]}),
    ),
    "completeness": (
        f.make_completeness_figure,
        pd.DataFrame({"field": ["state"], "filled": [3], "events": [4], "share": [0.75]}),
    ),
    "worst": (f.make_worst_figure, pd.DataFrame({"grp": ["Punch"], "valid_rate": [0.5], "precise_rate": [1.0]})),
    "runs": (
        f.make_runs_figure,
        pd.DataFrame(
            {
                "run_id": [1],
                "timestamp": T(["2024-04-01"]),
                "grp": ["all"],
                "geocoding_success_rate": [0.7],
                "validation_pass_rate": [0.8],
            }
        ),
    ),
    "empty": (lambda _df: f.empty_figure(), pd.DataFrame()),
}


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_figures_pass_plotly_validation(name: str) -> None:
    # The builders skip plotly's validation for speed; a validating rebuild catches any invalid property.
    builder, df = FRAMES[name]
    go.Figure(builder(df).to_plotly_json())


HOSTILE = '<a href="https://evil.example">click</a> <b>bold</b> %{x} & co'
SHOWN = '&lt;a href="https://evil.example"&gt;click&lt;/a&gt; &lt;b&gt;bold&lt;/b&gt; %&#123;x} &amp; co'
HOSTILE_FRAMES = {
    "series": (f.make_series_figure, pd.DataFrame({"bucket": T(["2024-01-01"]), "grp": [HOSTILE], "value": [3]})),
    "ranking": (f.make_ranking_figure, pd.DataFrame({"grp": [HOSTILE], "value": [3]})),
    "map": (
        f.make_map_figure,
        pd.DataFrame(
            {"state": [HOSTILE], "lga": [HOSTILE], "latitude": [12.0], "longitude": [8.5], "events": [4], "value": [9]}
        ),
    ),
    "rates": (
        f.make_rates_figure,
        pd.DataFrame({"bucket": T(["2024-01-01"]), "grp": [HOSTILE], "geocoded_rate": [1.0], "valid_rate": [0.5]}),
    ),
    "precision": (
        f.make_precision_figure,
        pd.DataFrame({"bucket": T(["2024-01-01"]), "precision": [HOSTILE], "events": [1], "share": [1.0]}),
    ),
    "failures": (
        f.make_failures_figure,
        pd.DataFrame({"bucket": T(["2024-01-01"]), "rule": [HOSTILE], "severity": ["error"], "events": [2]}),
    ),
    "completeness": (
        f.make_completeness_figure,
        pd.DataFrame({"field": [HOSTILE], "filled": [3], "events": [4], "share": [0.75]}),
    ),
    "worst": (f.make_worst_figure, pd.DataFrame({"grp": [HOSTILE], "valid_rate": [0.5], "precise_rate": [1.0]})),
    "runs": (
        f.make_runs_figure,
        pd.DataFrame(
            {
                "run_id": [1],
                "timestamp": T(["2024-04-01"]),
                "grp": [HOSTILE],
                "geocoding_success_rate": [0.7],
                "validation_pass_rate": [0.8],
            }
        ),
    ),
    "empty": (lambda _df: f.empty_figure(HOSTILE), pd.DataFrame()),
}


def _shown_strings(node: object, key: str = "") -> list[str]:
    """Every string of a figure's JSON that Plotly may render (customdata only through its hovertemplate)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        template = str(node.get("hovertemplate", ""))
        found = [s for k, v in node.items() if k != "customdata" for s in _shown_strings(v, k)]
        for point in node.get("customdata", []) if "%{customdata" in template else []:
            values = point if isinstance(point, (list, tuple)) else [point]
            found += [
                str(v) for i, v in enumerate(values) if f"customdata[{i}]" in template or "%{customdata}" in template
            ]
        return found
    if isinstance(node, (list, tuple)):
        return [s for item in node for s in _shown_strings(item, key)]
    if hasattr(node, "tolist"):
        return _shown_strings(node.tolist(), key)
    return []


@pytest.mark.parametrize("name", sorted(HOSTILE_FRAMES))
def test_data_strings_reach_figures_escaped(name: str) -> None:
    builder, df = HOSTILE_FRAMES[name]
    figure = builder(df).to_plotly_json()
    shown = _shown_strings(figure)
    assert not [s for s in shown if "<a" in s or "<b>" in s or "%{x} &" in s], shown
    assert any(SHOWN in s for s in shown), shown  # the name is there, as text


def test_plot_text_escapes_tags_entities_and_template_fields() -> None:
    assert f.plot_text(HOSTILE) == SHOWN
    assert f.plot_text("Daily Post") == "Daily Post"
    assert f.plot_text(3) == "3"
    assert f.plot_labels(["<i>", "a&b"]) == ["&lt;i&gt;", "a&amp;b"]


def test_clicks_still_get_the_raw_value() -> None:
    _, df = HOSTILE_FRAMES["failures"]
    point = f.make_failures_figure(df).data[0].customdata[0]
    assert list(point) == [HOSTILE, SHOWN]
