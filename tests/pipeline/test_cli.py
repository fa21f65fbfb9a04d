"""The command line: ingest with a summary table, clear one-line errors, generate, replay."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import ConflictEvent, PipelineRun
from pipeline.cli import cli
from pipeline.demo.generate import generate_events, write_csv


@pytest.fixture
def invoke(database_url, engine):  # engine: so the tables are emptied after each test
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, ["--database-url", database_url, *args], catch_exceptions=False)

    return run


def _events(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(ConflictEvent))


def test_ingest_prints_a_summary_table(invoke, engine, tmp_path):
    path = tmp_path / "export.csv"
    write_csv(generate_events(120, seed=1), str(path))
    result = invoke("ingest", str(path), "--no-progress")
    assert result.exit_code == 0, result.output
    for label in (
        "rows read",
        "rows skipped",
        "created",
        "updated",
        "unchanged",
        "withdrawn",
        "geocoded: lga",
        "duration",
    ):
        assert label in result.output
    assert _events(engine) == 120
    again = invoke("ingest", str(path), "--no-progress")
    assert "unchanged" in again.output and _events(engine) == 120


@pytest.mark.parametrize(
    ("content", "name"),
    [(b"PK\x03\x04broken", "broken.xlsx"), (b"", "empty.csv"), (b"a,b\n1,2\n", "wrong.csv")],
)
def test_unreadable_file_exits_2_with_one_line(invoke, engine, tmp_path, content, name):
    path = tmp_path / name
    path.write_bytes(content)
    result = invoke("ingest", str(path), "--no-progress")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert _events(engine) == 0


def test_missing_file_exits_2(invoke, tmp_path):
    result = invoke("ingest", str(tmp_path / "nope.csv"), "--no-progress")
    assert result.exit_code == 2 and "cannot read" in result.output


def test_generate_writes_csv_and_json(invoke, tmp_path):
    assert invoke("generate", "50", "-o", str(tmp_path / "g.csv")).exit_code == 0
    assert (tmp_path / "g.csv").read_text().count("\n") >= 51
    assert invoke("generate", "20", "-o", str(tmp_path / "g.json"), "--seed", "3").exit_code == 0
    assert len(json.loads((tmp_path / "g.json").read_text())) >= 20
    assert invoke("generate", "5", "-o", str(tmp_path / "g.txt")).exit_code == 2


def test_replay_command_runs_batches(invoke, engine):
    result = invoke("replay", "--batches", "2", "--batch-size", "5", "--rate", "1000", "--seed", "9")
    assert result.exit_code == 0, result.output
    assert "replayed 2 runs" in result.output
    with Session(engine) as session:
        assert set(session.scalars(select(PipelineRun.trigger))) == {"replay"}


@pytest.mark.timeout(20)  # reading a FIFO would block until then
def test_a_fifo_or_folder_exits_2_without_reading(invoke, engine, tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for path, why in ((fifo, "not a regular file"), (tmp_path, "not a regular file")):
        result = invoke("ingest", str(path), "--no-progress")
        assert result.exit_code == 2 and why in result.output
    assert _events(engine) == 0


def test_a_run_error_names_the_file_never_its_folder(invoke, engine, tmp_path):
    folder = tmp_path / "private-folder"
    folder.mkdir()
    path = folder / "wrong.csv"
    path.write_bytes(b"secret-header,other\n1,2\n")
    result = invoke("ingest", str(path), "--no-progress")
    assert result.exit_code == 2 and "secret-header" in result.output  # the sender sees what was found
    with Session(engine) as session:
        run = session.scalars(select(PipelineRun)).one()
    assert run.source_file == "wrong.csv" and run.error.startswith("wrong.csv does not have NVCD columns")
    assert "private-folder" not in run.error and "secret-header" not in run.error


def test_two_events_sheets_need_the_sheet_option(invoke, engine, tmp_path):
    from tests.pipeline import hostile_files as h

    path = tmp_path / "two.xlsx"
    path.write_bytes(
        h.workbook(
            ("Old", [h.HEADER, h.row(community="A")], "visible"),
            ("Home", [h.HEADER, h.row(community="B"), h.row(day=2, community="B")], "visible"),
        )
    )
    refused = invoke("ingest", str(path), "--no-progress")
    assert refused.exit_code == 2
    assert refused.output.strip() == (
        "error: two.xlsx has 2 visible sheets with NVCD event headers; choose one "
        "(CLI --sheet, form field 'sheet'): sheets: 'Old', 'Home'"
    )
    chosen = invoke("ingest", str(path), "--no-progress", "--sheet", "Home")
    assert chosen.exit_code == 0, chosen.output
    assert _events(engine) == 2


def test_ingest_snapshot_dry_run_prints_the_diff_and_writes_nothing(invoke, engine, tmp_path):
    full, part = tmp_path / "full.csv", tmp_path / "part.csv"
    frame = generate_events(40, seed=3, mess=False)
    write_csv(frame, str(full))
    write_csv(frame.iloc[:30], str(part))
    assert invoke("ingest", str(full), "--no-progress").exit_code == 0
    dry = invoke("ingest", str(part), "--no-progress", "--snapshot", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing written" in dry.output and dry.output.count("withdrawn NGA") == 10
    assert "a real run would refuse: the snapshot would withdraw 10 of the 40" in dry.output
    with Session(engine) as session:
        assert session.scalar(select(func.count()).where(ConflictEvent.withdrawn_run_id.is_not(None))) == 0
    refused = invoke("ingest", str(part), "--no-progress", "--snapshot")
    assert refused.exit_code == 2 and "more than the 5% allowed" in refused.output
    forced = invoke("ingest", str(part), "--no-progress", "--snapshot", "--force", "--dataset", "nvcd")
    assert forced.exit_code == 0 and _events(engine) == 40


def test_a_bad_dataset_name_is_a_usage_error(invoke, engine, tmp_path):
    path = tmp_path / "export.csv"
    write_csv(generate_events(3, seed=1), str(path))
    result = invoke("ingest", str(path), "--dataset", "../x")
    assert result.exit_code == 2 and "dataset name" in result.output and _events(engine) == 0
