"""The ingest endpoints: auth, size and type limits, 422 for bad requests, 202 with a queued run the worker runs."""

from __future__ import annotations

import io
import json
import os

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import ConflictEvent, DataQualityMetric, PipelineRun, RunInput, ValidationIssue
from pipeline.demo.generate import generate_events, generate_records

AUTH = {"Authorization": "Bearer test-token"}
DATA_TABLES = (ConflictEvent, ValidationIssue, DataQualityMetric)


def _counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {t.__tablename__: session.scalar(select(func.count()).select_from(t)) for t in DATA_TABLES}


def _csv_bytes(n: int = 20, seed: int = 1) -> bytes:
    return generate_events(n, seed=seed).to_csv(index=False).encode()


def _upload(client, data: bytes, name: str, headers: dict | None = None):
    return client.post("/api/v1/ingest/file", data={"file": (io.BytesIO(data), name)},
                       headers=AUTH if headers is None else headers, content_type="multipart/form-data")  # fmt: skip


def _ran(client, run_jobs, response, headers: dict | None = None) -> dict:
    """Check the 202, run the queued job as the worker would, and return the run as GET /api/v1/runs/<id> shows it."""
    assert response.status_code == 202, response.json
    location = response.headers["Location"]
    assert location == response.json["location"] == f"/api/v1/runs/{response.json['run_id']}"
    assert response.json["status"] == "queued" and client.get(location).json["status"] == "queued"
    assert run_jobs() >= 1
    return client.get(location, headers=headers or {}).json


def test_file_upload_answers_202_and_the_worker_ingests_it(client, engine, run_jobs):
    response = _upload(client, _csv_bytes(), "export.csv")
    assert _counts(engine)["conflict_events"] == 0  # nothing ran in the request
    run = _ran(client, run_jobs, response)
    assert run["status"] == "succeeded" and run["trigger"] == "api" and run["source_file"] == "export.csv"
    assert run["events_new"] > 0 and _counts(engine)["conflict_events"] == run["events_new"]
    assert [stage["status"] for stage in run["stages"]] == ["succeeded"] * len(run["stages"])
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(RunInput)) == 0  # the upload is gone after the run


def test_batch_as_object_or_list(client, engine, run_jobs):
    records = generate_records(10, seed=2)
    first = _ran(client, run_jobs, client.post("/api/v1/ingest/batch", json={"records": records}, headers=AUTH))
    assert first["status"] == "succeeded", first
    again = _ran(client, run_jobs, client.post("/api/v1/ingest/batch", json=records, headers=AUTH))
    assert again["events_new"] == 0
    assert again["events_unchanged"] == first["events_new"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-token"}])
def test_missing_or_wrong_token_is_401(client, engine, headers):
    response = client.post("/api/v1/ingest/batch", json=generate_records(3), headers=headers)
    assert response.status_code == 401
    assert set(response.json) == {"status", "message", "detail"}
    # Nothing of the configured token (its value, its length) is in the answer.
    assert response.json == {"status": 401, "message": "missing or wrong token", "detail": {}}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _counts(engine)["conflict_events"] == 0


@pytest.mark.parametrize("app_overrides", [{"INGEST_TOKEN": ""}])
def test_unset_token_refuses_everything(client, engine, app_overrides):
    for headers in ({}, {"Authorization": "Bearer "}, AUTH):
        for path, body in (("/api/v1/ingest/batch", {"json": [{"state": "Kano"}]}), ("/api/v1/ingest/file", {})):
            response = client.post(path, headers=headers, **body)
            assert response.status_code == 401
            assert response.json["message"] == "this server has no INGEST_TOKEN configured: ingest is disabled"


@pytest.mark.parametrize("app_overrides", [{"MAX_CONTENT_LENGTH": 2048}])
def test_oversized_upload_is_413_json(client, engine, app_overrides):
    response = _upload(client, _csv_bytes(200), "big.csv")
    assert response.status_code == 413
    assert response.json["status"] == 413
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PipelineRun)) == 0


def test_wrong_file_type_and_content_type_are_415(client, engine):
    assert _upload(client, b"%PDF-1.4", "report.pdf").status_code == 415
    response = client.post("/api/v1/ingest/file", data=b"date,state", headers={**AUTH, "Content-Type": "text/csv"})
    assert response.status_code == 415
    response = client.post("/api/v1/ingest/batch", data="[]", headers={**AUTH, "Content-Type": "text/plain"})
    assert response.status_code == 415
    assert _counts(engine) == {t.__tablename__: 0 for t in DATA_TABLES}


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (b"PK\x03\x04 not really a workbook", "export.xlsx", "xlsx"),
        (b"", "empty.csv", "empty"),
        (b"name,age\nAda,36\n", "people.csv", "columns"),
    ],
)
def test_an_unreadable_upload_fails_its_run_and_changes_nothing(client, engine, run_jobs, data, name, words):
    run = _ran(client, run_jobs, _upload(client, data, name))
    assert run["status"] == "failed" and words in run["error"].lower(), run
    assert _counts(engine) == {t.__tablename__: 0 for t in DATA_TABLES}


def test_malformed_batches_are_422(client, engine, run_jobs):
    json_headers = {**AUTH, "Content-Type": "application/json"}
    bad_json = client.post("/api/v1/ingest/batch", data="{not json", headers=json_headers)
    assert bad_json.status_code == 422
    assert client.post("/api/v1/ingest/batch", json={"rows": []}, headers=AUTH).status_code == 422
    not_records = client.post("/api/v1/ingest/batch", json=[1, 2], headers=AUTH)
    assert not_records.status_code == 422
    assert not_records.json == {"status": 422, "message": "Record 1 must be an object",
                                "detail": {"record": 1, "got": "number"}}  # fmt: skip
    assert _runs(engine) == []  # a wrong shape is refused before any run
    unknown = client.post("/api/v1/ingest/batch", json=[{"state": "Kano"}, {"colour": "red"}], headers=AUTH)
    run = _ran(client, run_jobs, unknown)
    assert run["status"] == "failed" and "record 2 has no known fields" in run["error"]
    assert _counts(engine) == {t.__tablename__: 0 for t in DATA_TABLES}


def _runs(engine: Engine) -> list[tuple[str, str | None]]:
    with Session(engine) as session:
        return [(run.status, run.error) for run in session.scalars(select(PipelineRun).order_by(PipelineRun.id))]


def _nvcd_file(tmp_path) -> str:
    """Write an NVCD-shaped CSV on the server's disk; return its path as text."""
    path = tmp_path / "elsewhere" / "host-export.csv"
    path.parent.mkdir()
    path.write_bytes(_csv_bytes(5, seed=4))
    return str(path)


@pytest.mark.timeout(20)  # a FIFO opened for reading would block until then
@pytest.mark.parametrize(
    ("body", "got"),
    [
        ({"records": "/etc/passwd"}, "string"),
        ("/etc/passwd", "string"),
        ({"records": "NVCD_FILE"}, "string"),
        ("NVCD_FILE", "string"),
        ({"records": "FIFO"}, "string"),
        ({"records": 5}, "number"),
        (7, "number"),
        (True, "boolean"),
        ({"records": {"path": "/etc/passwd"}}, "object"),
        ({"records": None}, "null"),
    ],
)
def test_a_batch_that_is_not_a_list_of_objects_is_422_and_reads_nothing(client, engine, tmp_path, body, got):
    """Issue #11.1: a string in the batch never becomes a path on the server; no run is recorded."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    swap = {"NVCD_FILE": _nvcd_file(tmp_path), "FIFO": str(fifo)}
    if isinstance(body, dict) and isinstance(body.get("records"), str):
        body = {"records": swap.get(body["records"], body["records"])}
    elif isinstance(body, str):
        body = swap.get(body, body)
    headers = {**AUTH, "Content-Type": "application/json"}
    response = client.post("/api/v1/ingest/batch", data=json.dumps(body), headers=headers)
    assert response.status_code == 422, response.json
    assert response.json == {"status": 422, "message": "The records must be a list of objects", "detail": {"got": got}}
    assert _runs(engine) == []
    assert _counts(engine) == {t.__tablename__: 0 for t in DATA_TABLES}
    status = client.get("/api/v1/monitoring/pipeline-status").get_data(as_text=True)
    assert "root:" not in status and "passwd" not in status and str(tmp_path) not in status


@pytest.mark.parametrize("source", ["/etc/passwd", "NVCD_FILE", {"records": "/etc/passwd"}, 3])
def test_the_runner_takes_no_str_for_a_path(engine, tmp_path, source):
    """Whatever calls the runner, a str (or any other odd value) is a bad batch, never a file to open."""
    from pipeline.runner import RunFailed, run_pipeline

    source = _nvcd_file(tmp_path) if source == "NVCD_FILE" else source
    with pytest.raises(RunFailed) as failed:
        run_pipeline(engine, source, trigger="api")
    assert failed.value.input_error
    error = failed.value.summary.error
    assert error.startswith("a batch must be a list of records, got ")
    assert "root:" not in error and "/" not in error
    assert _runs(engine) == [("failed", error)]
    assert _counts(engine) == {t.__tablename__: 0 for t in DATA_TABLES}


def test_a_stored_run_error_quotes_no_content_and_the_sender_still_sees_it(client, engine, run_jobs):
    """With the token the run tells the sender what was found; in public (the monitor) only the reason."""
    secret = b"root:x:0:0:root:/root:/bin/bash,daemon:x:1:1\nnobody,1\n"
    upload = _ran(client, run_jobs, _upload(client, secret, "shadow.csv"), headers=AUTH)
    assert upload["status"] == "failed"
    assert "root:x:0:0" in upload["input_detail"]  # the sender's own headers, for the sender
    batch_post = client.post("/api/v1/ingest/batch", json=[{"root:x:0:0:root": "/root:/bin/bash"}], headers=AUTH)
    batch = _ran(client, run_jobs, batch_post, headers=AUTH)
    assert batch["status"] == "failed" and "root:x:0:0" in batch["input_detail"]
    for run in (upload, batch):
        assert "root:" not in run["error"]
        public = client.get(f"/api/v1/runs/{run['id']}").get_data(as_text=True)
        assert "root:" not in public and "input_detail" not in public
        wrong = client.get(f"/api/v1/runs/{run['id']}", headers={"Authorization": "Bearer wrong"})
        assert "root:" not in wrong.get_data(as_text=True)
    runs = _runs(engine)
    assert [status for status, _ in runs] == ["failed", "failed"]
    assert all("root:" not in error and "/bin/bash" not in error for _, error in runs)
    status = client.get("/api/v1/monitoring/pipeline-status").get_data(as_text=True)
    assert "root:" not in status and "/bin/bash" not in status
    assert _counts(engine) == {t.__tablename__: 0 for t in DATA_TABLES}


def test_endpoints_are_in_the_openapi_spec(client):
    spec = client.get("/openapi.json").json
    assert "/api/v1/ingest/file" in spec["paths"] and "/api/v1/ingest/batch" in spec["paths"]
    post = spec["paths"]["/api/v1/ingest/file"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert {"202", "401", "413", "415", "422", "503"} <= set(post["responses"])
    assert post.get("security")
    assert {"/api/v1/runs", "/api/v1/runs/{run_id}", "/api/v1/runs/{run_id}/cancel"} <= set(spec["paths"])


def test_an_internal_failure_fails_the_run_without_sql_or_row_values(client, engine, monkeypatch, run_jobs):
    from sqlalchemy.exc import IntegrityError

    from pipeline import measure

    def broken(*_args, **_kwargs):
        raise IntegrityError("INSERT INTO conflict_events (state) VALUES (%(state)s)", {"state": "SECRET-ROW"},
                             Exception("duplicate key value"))  # fmt: skip

    monkeypatch.setattr(measure, "write_metrics", broken)
    run = _ran(client, run_jobs, client.post("/api/v1/ingest/batch", json=generate_records(5, seed=9), headers=AUTH))
    run_id = run["id"]
    assert run["status"] == "failed" and run["error"] == f"internal error (run {run_id})"
    shown = client.get(f"/api/v1/runs/{run_id}", headers=AUTH).get_data(as_text=True)
    assert "SECRET-ROW" not in shown and "INSERT" not in shown
    with Session(engine) as session:
        run = session.get(PipelineRun, run_id)
        assert run.status == "failed" and run.error == f"internal error (run {run_id})"
        assert all("SECRET-ROW" not in (stage.error or "") for stage in run.stages)
    assert _counts(engine) == {t.__tablename__: 0 for t in DATA_TABLES}


def _upload_with(client, data: bytes, name: str, **form: str):
    fields = {"file": (io.BytesIO(data), name), **form}
    return client.post("/api/v1/ingest/file", data=fields, headers=AUTH, content_type="multipart/form-data")


def test_an_upload_as_a_snapshot_dry_run_then_for_real(client, engine, run_jobs):
    full = generate_events(30, seed=9, mess=False)
    assert _ran(client, run_jobs, _upload_with(client, full.to_csv(index=False).encode(), "full.csv"))["status"] == (
        "succeeded"
    )
    part = full.iloc[:28].to_csv(index=False).encode()
    dry = _ran(client, run_jobs, _upload_with(client, part, "part.csv", snapshot="true", dry_run="true"))
    assert dry["status"] == "succeeded", dry
    assert dry["dry_run"] and dry["diff"]["counts"]["withdrawn"] == 2
    assert "more than the 5% allowed" in dry["diff"]["refused"]  # what the real run would say
    with Session(engine) as session:
        assert session.scalar(select(func.count()).where(ConflictEvent.withdrawn_run_id.is_not(None))) == 0
    real = _ran(client, run_jobs, _upload_with(client, part, "part.csv", snapshot="1", force="on"))
    assert real["status"] == "succeeded" and real["events_withdrawn"] == 2
    assert real["mode"] == "snapshot"


def test_a_snapshot_over_the_withdrawal_limit_fails_unless_forced(client, engine, run_jobs):
    full = generate_events(20, seed=10, mess=False)
    _ran(client, run_jobs, _upload_with(client, full.to_csv(index=False).encode(), "full.csv"))
    half = full.iloc[:10].to_csv(index=False).encode()
    refused = _ran(client, run_jobs, _upload_with(client, half, "half.csv", snapshot="true"))
    assert refused["status"] == "failed" and "withdraw 10 of the 20" in refused["error"]
    forced = _ran(client, run_jobs, _upload_with(client, half, "half.csv", snapshot="true", force="true"))
    assert forced["status"] == "succeeded" and forced["events_withdrawn"] == 10


@pytest.mark.parametrize(
    ("form", "field"),
    [({"snapshot": "maybe"}, "snapshot"), ({"dry_run": "2"}, "dry_run"), ({"dataset": "../etc"}, "dataset"),
     ({"dataset": "Has Spaces"}, "dataset"), ({"dataset": "x" * 40}, "dataset")],
)  # fmt: skip
def test_bad_ingest_options_are_422_before_any_run(client, engine, form, field):
    response = _upload_with(client, _csv_bytes(), "export.csv", **form)
    assert response.status_code == 422 and response.json["detail"]["field"] == field
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PipelineRun)) == 0


def test_a_batch_goes_to_its_dataset_and_never_withdraws(client, engine, run_jobs):
    records = generate_records(6, seed=12)
    first_post = client.post(
        "/api/v1/ingest/batch", json={"records": records, "dataset": "field-reports"}, headers=AUTH
    )
    first = _ran(client, run_jobs, first_post)
    assert first["status"] == "succeeded" and first["dataset"] == "field-reports"
    again_post = client.post("/api/v1/ingest/batch", json={"records": records[:2], "dataset": "field-reports"},
                             headers=AUTH)  # fmt: skip
    again = _ran(client, run_jobs, again_post)
    assert again["events_withdrawn"] == 0 and again["events_unchanged"] == 2
    bad = client.post("/api/v1/ingest/batch", json={"records": records, "dry_run": "perhaps"}, headers=AUTH)
    assert bad.status_code == 422
