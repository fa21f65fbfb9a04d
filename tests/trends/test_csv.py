"""CSV export: formula escaping and the citation line, which credits each dataset shown."""

from __future__ import annotations

import csv
import io
from datetime import date

import pandas as pd
import pytest

from trends.csv import citation, escape_cell, to_csv
from trends.filters import TrendFilters


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+234", "'+234"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("Kano", "Kano"),
        ("a=b", "a=b"),
        (-1, -1),
        (3.5, 3.5),
    ],
)
def test_escape_cell(value: object, expected: object) -> None:
    assert escape_cell(value) == expected


def test_csv_has_citation_then_escaped_rows() -> None:
    filters = TrendFilters(states=("Kano",), granularity="week")
    frame = pd.DataFrame({"bucket": pd.to_datetime(["2024-01-01"]), "grp": ["=HYPERLINK(1)"], "value": [3]})
    text = to_csv(frame, filters, version=42, accessed=date(2026, 11, 29), chart="Over time", datasets=["nvcd"])
    lines = text.splitlines()
    assert lines[0] == citation(filters, 42, date(2026, 11, 29), "Over time", ["nvcd"])
    assert "data version 42" in lines[0] and "accessed 2026-11-29" in lines[0]
    assert "state=Kano; granularity=week" in lines[0]
    rows = list(csv.reader(io.StringIO("\n".join(lines[1:]))))
    assert rows == [["bucket", "grp", "value"], ["2024-01-01", "'=HYPERLINK(1)", "3"]]


def test_missing_values_are_empty_cells() -> None:
    frame = pd.DataFrame({"a": [None, 1.5], "b": ["x", None]})
    text = to_csv(frame, TrendFilters(), 1, date(2026, 1, 1), "t", ["nvcd"])
    assert text.splitlines()[2:] == [",x", "1.5,"]


def test_citation_is_one_quoted_cell_whatever_the_filter_values() -> None:
    filters = TrendFilters(states=('Kano, "North"',), actors=("=cmd",))
    # A line break cannot pass the filters' validation; force one in to prove the writer contains it too.
    injected = TrendFilters(states=("x",))
    object.__setattr__(injected, "states", ("x\n=HYPERLINK(1)",))
    frame = pd.DataFrame({"value": [1]})
    for chosen in (filters, injected):
        text = to_csv(frame, chosen, 1, date(2026, 11, 29), "Over time", ["nvcd"])
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == [citation(chosen, 1, date(2026, 11, 29), "Over time", ["nvcd"])]
        assert rows[1:] == [["value"], ["1"]]
        assert not any(line.startswith(("=", "+", "-", "@")) for line in text.splitlines())


@pytest.mark.parametrize(
    ("datasets", "credited", "nextier"),
    [
        (["nvcd"], "data: nvcd = Nigeria Violent Conflicts Database (Nextier);", True),
        (["demo"], "data: demo = generated demo data (not NVCD);", False),
        (["acled-ng"], "data: acled-ng;", False),
        (
            ["demo", "nvcd"],
            "data: demo = generated demo data (not NVCD), nvcd = Nigeria Violent Conflicts Database (Nextier);",
            True,
        ),
        ([], "data: no dataset;", False),
    ],
)
def test_citation_credits_each_dataset_and_nextier_only_for_nvcd(
    datasets: list[str], credited: str, nextier: bool
) -> None:
    line = citation(TrendFilters(), 3, date(2026, 12, 7), "Over time", datasets)
    assert line.startswith("# Source: NVCD Monitor; ") and credited in line
    assert ("Nextier" in line) is nextier


def test_withdrawal_times_are_utc() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    frame = pd.DataFrame(
        {
            "withdrawn_at": [
                datetime(2026, 12, 7, 14, 30),  # as SQLite gives it back
                datetime(2026, 12, 7, 15, 30, tzinfo=timezone(timedelta(hours=1))),
                datetime(2026, 12, 7, 14, 30, tzinfo=UTC),
            ]
        },
        dtype=object,
    )
    rows = to_csv(frame, TrendFilters(), 1, date(2026, 12, 7), "events", ["nvcd"]).splitlines()[2:]
    assert rows == ["2026-12-07T14:30:00+00:00"] * 3
