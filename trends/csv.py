"""CSV export of what a chart shows: formula-safe cells and a citation line that credits each dataset shown."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, date, datetime

import pandas as pd

from trends.datasets import credit
from trends.filters import CONTROL_CHARS, TrendFilters

PRODUCT = "NVCD Monitor"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> object:
    """Prefix a text cell that a spreadsheet would run as a formula with a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def citation(filters: TrendFilters, version: int, accessed: date, chart: str, datasets: Sequence[str]) -> str:
    """Return the line that says where the data came from (per dataset shown) and how it was selected."""
    text = (
        f"# Source: {PRODUCT}; data: {credit(datasets)}; chart: {chart}; data version {version}; "
        f"accessed {accessed.isoformat()}; filters: {filters.describe()}"
    )
    # The filters reject control characters; this keeps the citation one physical line regardless.
    return CONTROL_CHARS.sub(" ", text)


def to_csv(
    frame: pd.DataFrame, filters: TrendFilters, version: int, accessed: date, chart: str, datasets: Sequence[str]
) -> str:
    """Return ``frame`` as CSV text with escaped cells, preceded by the citation line of ``datasets``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # The citation holds user-chosen filter values: written as one quoted, escaped cell so a
    # comma, quote or line break in a value can never start a new cell or row.
    writer.writerow([escape_cell(citation(filters, version, accessed, chart, datasets))])
    writer.writerow([escape_cell(str(column)) for column in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue()


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, datetime):  # stored in UTC; SQLite hands them back naive
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return escape_cell(value)
