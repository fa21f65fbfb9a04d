"""The runner: stages recorded as they happen, idempotent re-runs, failures that write nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import ConflictEvent, DataQualityMetric, PipelineRun, StageRun, ValidationIssue, current_version
from pipeline import bulk
from pipeline import measure as measure_module
from pipeline.demo.generate import generate_events, generate_records, write_csv
from pipeline.runner import RunFailed, RunSummary, run_pipeline
from pipeline.sources.json_batch import read_records
from pipeline.stages import STAGE_NAMES

DATA_TABLES = (ConflictEvent, ValidationIssue, DataQualityMetric)
TODAY = date(2026, 1, 31)


def _counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {t.__tablename__: session.scalar(select(func.count()).select_from(t)) for t in DATA_TABLES}


def _stages(engine: Engine, run_id: int) -> list[StageRun]:
    with Session(engine) as session:
        return list(session.scalars(select(StageRun).where(StageRun.run_id == run_id).order_by(StageRun.position)))


def _run(engine: Engine, run_id: int) -> PipelineRun:
    with Session(engine) as session:
        return session.get(PipelineRun, run_id)


def test_a_run_records_every_stage_and_counts_add_up(engine, tmp_path):
    path = tmp_path / "export.csv"
    write_csv(generate_events(300, seed=5, end=TODAY), str(path))
    seen: list[str] = []
    summary = run_pipeline(engine, path, on_progress=lambda stage, done, total: seen.append(stage), today=TODAY)
    assert isinstance(summary, RunSummary) and summary.status == "succeeded"
    assert summary.rows_read == summary.rows_skipped + summary.events + summary.duplicates
    assert summary.events == 300 and summary.events_new == 300
    assert sum(summary.precision.values()) == summary.events
    assert list(dict.fromkeys(seen)) == list(STAGE_NAMES)
    stages = _stages(engine, summary.run_id)
    assert [s.name for s in stages] == list(STAGE_NAMES)
    assert all(s.status == "succeeded" and s.started_at <= s.finished_at for s in stages)
    by_name = {s.name: s for s in stages}
    assert by_name["extract"].items_out == by_name["normalise"].items_in == summary.events + summary.duplicates
    assert by_name["deduplicate"].items_out == by_name["load"].items_in == summary.events
    assert by_name["load"].items_out == 300
    run = _run(engine, summary.run_id)
    assert (run.status, run.trigger, run.source_file, run.events_new, run.rows_skipped) == (
        "succeeded", "cli", "export.csv", 300, summary.rows_skipped)  # fmt: skip
    counts = _counts(engine)
    assert counts["conflict_events"] == 300
    assert counts["validation_issues"] == summary.issues
    assert counts["data_quality_metrics"] >= 3  # aggregate, per source, hourly
    with Session(engine) as session:
        # start + 2 transitions for each of the 5 stages before load + 1 (load running) + data commit
        assert current_version(session) >= 12


def test_rerun_is_idempotent_and_a_correction_updates(engine):
    records = generate_records(50, seed=6, end=TODAY, mess=False)
    first = run_pipeline(engine, records, trigger="api", today=TODAY)
    again = run_pipeline(engine, records, trigger="api", today=TODAY)
    assert (again.events_new, again.events_updated, again.events_unchanged) == (0, 0, first.events)
    target = next(i for i, r in enumerate(records) if r.get("civilian_casualties"))
    corrected = [dict(r) for r in records]
    corrected[target]["civilian_casualties"] = corrected[target]["civilian_casualties"] + 1
    corrected[target]["total_deaths"] = corrected[target]["total_deaths"] + 1
    corrected[target]["total_casualties"] = corrected[target]["total_casualties"] + 1
    third = run_pipeline(engine, corrected, trigger="api", today=TODAY)
    assert (third.events_new, third.events_updated) == (0, 1)
    assert _counts(engine)["conflict_events"] == first.events


def test_frames_and_extracted_sources(engine):
    frame = generate_events(20, seed=7, end=TODAY)
    assert run_pipeline(engine, frame, today=TODAY).events_new == 20
    extracted = read_records(generate_records(5, seed=8, end=TODAY))
    assert run_pipeline(engine, extracted, today=TODAY).events_new == 5


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (b"PK\x03\x04\x14\x00garbage", "corrupt.xlsx", "xlsx"),
        (b"", "empty.csv", "empty"),
        (b"  \n", "blank.csv", "empty"),
        (b"name,age\nAda,36\n", "wrong.csv", "columns"),
    ],
)
def test_unreadable_input_fails_clearly_and_writes_nothing(engine, data, name, words):
    with pytest.raises(RunFailed) as caught:
        run_pipeline(engine, (data, name))
    failed = caught.value
    assert failed.input_error and words in str(failed).lower()
    assert "\n" not in str(failed)
    run = _run(engine, failed.summary.run_id)
    assert run.status == "failed" and run.error == failed.summary.error
    assert [s.status for s in _stages(engine, run.id)][:2] == ["failed", "pending"]
    assert _counts(engine) == {t.__tablename__: 0 for t in DATA_TABLES}


def test_cp1252_csv_is_read_with_its_accents(engine):
    frame = generate_events(5, seed=9, end=TODAY, mess=False)
    frame.loc[0, "description"] = "Gunmen attack residents’ homes – café owner killed"
    data = frame.to_csv(index=False).encode("cp1252")
    summary = run_pipeline(engine, (data, "windows.csv"), today=TODAY)
    assert summary.events_new == 5
    with Session(engine) as session:
        texts = set(session.scalars(select(ConflictEvent.description)))
    assert "Gunmen attack residents’ homes – café owner killed" in texts


def test_a_failure_half_way_through_load_writes_nothing(engine, monkeypatch):
    records = generate_records(40, seed=10, end=TODAY)
    run_pipeline(engine, records[:10], today=TODAY)
    before = _counts(engine)
    calls = {"n": 0}
    real = bulk.write_chunk

    def fail_on_third(sink, rows):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("connection lost")
        real(sink, rows)

    monkeypatch.setattr(bulk, "write_chunk", fail_on_third)
    with pytest.raises(RunFailed) as caught:
        run_pipeline(engine, records, today=TODAY, batch_size=5)
    assert not caught.value.input_error
    assert _counts(engine) == before
    run = _run(engine, caught.value.summary.run_id)
    assert run.status == "failed" and run.error == f"internal error (run {run.id})" and run.events_new == 0
    stages = {s.name: s.status for s in _stages(engine, run.id)}
    assert stages["load"] == "failed" and stages["measure"] == "pending" and stages["deduplicate"] == "succeeded"


def test_a_failure_in_measure_rolls_back_the_load(engine, monkeypatch):
    def broken(*_args, **_kwargs):
        raise ValueError("bad metric")

    monkeypatch.setattr(measure_module, "write_metrics", broken)
    with pytest.raises(RunFailed):
        run_pipeline(engine, generate_records(10, seed=11, end=TODAY), today=TODAY)
    assert _counts(engine) == {t.__tablename__: 0 for t in DATA_TABLES}
    with Session(engine) as session:
        statuses = dict(session.execute(select(StageRun.name, StageRun.status)).all())
    assert statuses["measure"] == "failed" and statuses["load"] == "failed"


def test_summary_as_dict_is_json_ready(engine):
    import json

    summary = run_pipeline(engine, generate_records(10, seed=12, end=TODAY), today=TODAY)
    data = json.loads(json.dumps(summary.as_dict()))
    assert data["run_id"] == summary.run_id and data["events"] == 10
    assert set(data["stage_seconds"]) == set(STAGE_NAMES)
    assert sum(data["precision"].values()) == 10


def test_an_interrupted_run_is_recorded_as_failed(engine, monkeypatch):
    def interrupt(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(measure_module, "measure", interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(engine, generate_records(5, seed=13, end=TODAY), today=TODAY)
    with Session(engine) as session:
        run = session.scalars(select(PipelineRun)).one()
        assert run.status == "failed" and "interrupted" in run.error
    assert _counts(engine) == {t.__tablename__: 0 for t in DATA_TABLES}


def test_one_source_spelled_two_ways_in_two_batches_gets_the_codebook_name_and_keeps_both_spellings(engine) -> None:
    first = generate_records(20, seed=3)
    for record in first:
        record["source"] = "ChannelsTV"
    run_pipeline(engine, first, trigger="replay")
    second = generate_records(5, seed=4)
    for record in second:
        record["source"] = "channelstv "
    run_pipeline(engine, second, trigger="replay")
    with Session(engine) as session:
        sources = set(session.scalars(select(ConflictEvent.source).distinct()))
        raw = set(session.scalars(select(ConflictEvent.source_raw).distinct()))
    assert sources == {"Channels TV"}  # whichever batch came first
    assert raw == {"ChannelsTV", "channelstv"}


def test_event_issue_counts_include_normalise_warnings(engine) -> None:
    records = generate_records(3, seed=5, mess=False)
    records[0]["injured"] = "unknown"  # text in a number cell: a normalise warning
    run_pipeline(engine, records, trigger="cli")
    with Session(engine) as session:
        counted = session.scalar(select(func.sum(ConflictEvent.warning_count) + func.sum(ConflictEvent.error_count)))
        issues = session.scalar(select(func.count()).select_from(ValidationIssue))
    assert issues >= 1
    assert counted == issues
