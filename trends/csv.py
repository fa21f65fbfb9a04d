"""CSV export of what a chart shows: formula-safe cells and a citation line."""

from __future__ import annotations

import csv
import io
from datetime import date

import pandas as pd

from trends.filters import TrendFilters

PRODUCT = "NVCD Monitor - Nigeria Violent Conflicts Database (Nextier)"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def citation(filters: TrendFilters, version: int, accessed: date, chart: str) -> str:
    """Return the line that says where the data came from and how it was selected."""
    return (
        f"# Source: {PRODUCT}; chart: {chart}; data version {version}; "
        f"accessed {accessed.isoformat()}; filters: {filters.describe()}"
    )


def to_csv(frame: pd.DataFrame, filters: TrendFilters, version: int, accessed: date, chart: str) -> str:
    """Return ``frame`` as CSV text with escaped cells, preceded by the citation line."""
    buffer = io.StringIO()
    buffer.write(escape_cell(citation(filters, version, accessed, chart)) + "\n")  # type: ignore[operator]
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([escape_cell(str(column)) for column in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue()


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return escape_cell(value)
