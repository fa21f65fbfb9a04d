"""The real NVCD export as a living dataset (skipped when the file is absent): formats, reference sheets, next exports.

The variants are built here, at test time, from the export's own cells (read with calamine,
written with openpyxl's write-only mode): the same export as CSV (columns reordered, headers
re-cased, cp1252), the workbook without its ``Villages`` sheet, and a "next export" with 20
events edited, 10 deleted (the first of a same-identity pair among them) and 15 appended.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import ConflictEvent
from pipeline.load import Target
from pipeline.runner import run_pipeline
from pipeline.sources.base import Extracted
from tests.conftest import empty_tables
from tests.pipeline.test_reconcile import live_totals

pytestmark = pytest.mark.slow
EVENTS_SHEET = "Home"
SNAPSHOT = Target(snapshot=True)
EDITED, DELETED, APPENDED = 20, 10, 15


def read_book(path: Path) -> dict[str, list[list[Any]]]:
    book = CalamineWorkbook.from_path(str(path))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def write_book(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    book = openpyxl.Workbook(write_only=True)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    """The events sheet as a CSV someone saved from Excel: columns reversed, headers upper-cased, cp1252."""
    order = list(range(len(rows[0])))[::-1]
    with path.open("w", encoding="cp1252", errors="replace", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([str(rows[0][i]).upper() for i in order])
        for row in rows[1:]:
            writer.writerow([_csv_cell(row[i]) for i in order])
    return path


def _csv_cell(value: Any) -> Any:
    if isinstance(value, date):
        return f"{value.day:02d}/{value.month:02d}/{value.year}"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@pytest.fixture(scope="module")
def book(real_export: Path) -> dict[str, list[list[Any]]]:
    return read_book(real_export)


@pytest.fixture(scope="module")
def written(book: dict[str, list[list[Any]]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Return the export as CSV and without its Villages sheet, written once for both backends."""
    folder = tmp_path_factory.mktemp("variants")
    bare = {name: rows for name, rows in book.items() if name != "Villages"}
    return {"csv": write_csv(folder / "export.csv", book[EVENTS_SHEET]),
            "no villages": write_book(folder / "no-villages.xlsx", bare)}  # fmt: skip


NextExport = tuple[Path, set[int], set[int]]


@pytest.fixture(scope="module")
def next_exports(book: dict[str, list[list[Any]]], tmp_path_factory: pytest.TempPathFactory):
    """Return a maker of the next export's workbook by its pair (the same on both backends: written once)."""
    made: dict[int | None, NextExport] = {}

    def make(pair_first: int | None) -> NextExport:
        if pair_first not in made:
            rows, edited, deleted = next_export(book[EVENTS_SHEET], pair_first)
            path = write_book(tmp_path_factory.mktemp("next") / "next.xlsx", {**book, EVENTS_SHEET: rows})
            made[pair_first] = (path, edited, deleted)
        return made[pair_first]

    return make


def _event_rows(rows: list[list[Any]]) -> list[int]:
    """Return indexes of rows that are events (not empty template rows) and whose cells no other row repeats."""
    seen = Counter(tuple(row) for row in rows[1:])
    return [i for i, row in enumerate(rows) if i and any(cell not in ("", None) for cell in row[:14])
            and isinstance(row[0], date) and seen[tuple(row)] == 1]  # fmt: skip


def next_export(rows: list[list[Any]], pair_first: int | None) -> tuple[list[list[Any]], set[int], set[int]]:
    """Return the next export's events sheet, the rows edited and the rows deleted (indexes into ``rows``)."""
    header = [str(h).strip() for h in rows[0]]
    col = {name: header.index(name) for name in ("Date", "Communiity", "Total Deaths", "Description", "Source URL",
                                                  "Actor 1")}  # fmt: skip
    rng = random.Random(11)
    candidates = _event_rows(rows)
    deleted = set(rng.sample([i for i in candidates if i != pair_first], DELETED - (pair_first is not None)))
    if pair_first is not None:
        deleted.add(pair_first)
    edited = set(rng.sample([i for i in candidates if i not in deleted and i != pair_first], EDITED))
    out = [list(row) for row in rows]
    for n, i in enumerate(sorted(edited)):
        row = out[i]
        kind = n % 5
        if kind == 0:  # a casualty count
            row[col["Total Deaths"]] = (row[col["Total Deaths"]] or 0) + 1 if not isinstance(
                row[col["Total Deaths"]], str) else 7  # fmt: skip
        elif kind == 1:  # the description (the identity of an event without URL)
            row[col["Description"]] = f"{row[col['Description']]} (corrected)"
        elif kind == 2:  # the source URL
            row[col["Source URL"]] = f"https://example.org/corrected-{i}"
        elif kind == 3:  # the date by a day
            row[col["Date"]] = row[col["Date"]] + timedelta(days=1)
        else:  # an actor
            row[col["Actor 1"]] = "Kidnappers" if row[col["Actor 1"]] != "Kidnappers" else "Bandits"
    appended = []
    for n, i in enumerate(rng.sample(candidates, APPENDED)):
        row = list(rows[i])
        row[col["Communiity"]] = f"Appendville {n}"
        row[col["Description"]] = f"An event first reported in the next export, number {n}"
        row[col["Source URL"]] = f"https://example.org/appended-{n}"
        appended.append(row)
    kept = [row for i, row in enumerate(out) if i not in deleted]
    return [kept[0], *kept[1:], *appended], edited, deleted


def _ids_by_row(engine: Engine) -> dict[int, str]:
    with Session(engine) as session:
        return dict(session.execute(select(ConflictEvent.source_row, ConflictEvent.event_id)).all())


def _pair_first(engine: Engine) -> int | None:
    """Return the sheet index of the first event of a same-identity pair, if the export has one."""
    with Session(engine) as session:
        rows = session.execute(select(ConflictEvent.fingerprint, ConflictEvent.source_row)
                               .order_by(ConflictEvent.source_row)).all()  # fmt: skip
    by_fp: dict[str, list[int]] = {}
    for fp, row in rows:
        by_fp.setdefault(fp, []).append(row)
    pairs = sorted(group for group in by_fp.values() if len(group) == 2)
    return pairs[0][0] - 1 if pairs else None  # source_row counts the header as row 1


def _first_import(engine: Engine, real_extracted: Extracted, real_export: Path):
    """Import the export as read once for the session: what is tested is the next run, on a file."""
    return run_pipeline(engine, real_extracted, filename=real_export.name)


def test_the_export_as_csv_and_without_reference_sheets_adds_nothing(engine, written, real_export,
                                                                      real_extracted) -> None:  # fmt: skip
    first = _first_import(engine, real_extracted, real_export)
    as_csv = run_pipeline(engine, written["csv"], target=SNAPSHOT)
    assert (as_csv.events_new, as_csv.events_withdrawn) == (0, 0)
    no_villages = run_pipeline(engine, written["no villages"], target=SNAPSHOT)
    assert (no_villages.events_new, no_villages.events_withdrawn) == (0, 0)
    assert live_totals(engine)[0] == first.events


def test_a_next_export_of_the_real_data(engine, next_exports, real_export, real_extracted) -> None:
    first = _first_import(engine, real_extracted, real_export)
    ids = _ids_by_row(engine)
    path, edited, deleted = next_exports(_pair_first(engine))
    summary = run_pipeline(engine, path, target=SNAPSHOT)
    assert (summary.events_new, summary.events_updated, summary.events_withdrawn) == (APPENDED, EDITED, DELETED)
    assert summary.events_unchanged == first.events - EDITED - DELETED
    with Session(engine) as session:
        after = {e.event_id: e for e in session.scalars(select(ConflictEvent))}
    for i in edited:  # the same events, edited in place
        assert after[ids[i + 1]].withdrawn_run_id is None and after[ids[i + 1]].run_id == summary.run_id
    assert {e.event_id for e in after.values() if e.withdrawn_run_id} == {ids[i + 1] for i in deleted}
    reconciled = live_totals(engine)
    empty_tables(engine)
    run_pipeline(engine, path)
    assert live_totals(engine) == reconciled
