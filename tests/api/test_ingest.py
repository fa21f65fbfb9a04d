"""The ingest endpoints: auth, size and type limits, 422 for bad content, 201 with a run summary."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import ConflictEvent, DataQualityMetric, PipelineRun, ValidationIssue
from pipeline.generate import generate_events, generate_records

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


def test_file_upload_ingests_and_answers_201(client, engine):
    response = _upload(client, _csv_bytes(), "export.csv")
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "succeeded"
    assert body["summary"]["events_new"] == body["summary"]["events"] > 0
    assert _counts(engine)["conflict_events"] == body["summary"]["events"]
    with Session(engine) as session:
        run = session.get(PipelineRun, body["run_id"])
        assert run.trigger == "api" and run.status == "succeeded" and run.source_file == "export.csv"


def test_batch_as_object_or_list(client, engine):
    records = generate_records(10, seed=2)
    first = client.post("/api/v1/ingest/batch", json={"records": records}, headers=AUTH)
    assert first.status_code == 201, first.json
    again = client.post("/api/v1/ingest/batch", json=records, headers=AUTH)
    assert again.status_code == 201
    assert again.json["summary"]["events_new"] == 0
    assert again.json["summary"]["events_unchanged"] == first.json["summary"]["events"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-token"}])
def test_missing_or_wrong_token_is_401(client, engine, headers):
    response = client.post("/api/v1/ingest/batch", json=generate_records(3), headers=headers)
    assert response.status_code == 401
    assert set(response.json) == {"status", "message", "detail"}
    assert _counts(engine)["conflict_events"] == 0


@pytest.mark.parametrize("app_overrides", [{"INGEST_TOKEN": ""}])
def test_unset_token_refuses_everything(client, engine, app_overrides):
    for headers in ({}, {"Authorization": "Bearer "}, AUTH):
        assert client.post("/api/v1/ingest/batch", json=[{"state": "Kano"}], headers=headers).status_code == 401


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
def test_unreadable_upload_is_422_and_changes_nothing(client, engine, data, name, words):
    response = _upload(client, data, name)
    assert response.status_code == 422, response.json
    assert words in response.json["message"].lower()
    assert _counts(engine) == {t.__tablename__: 0 for t in DATA_TABLES}


def test_malformed_batches_are_422(client, engine):
    json_headers = {**AUTH, "Content-Type": "application/json"}
    bad_json = client.post("/api/v1/ingest/batch", data="{not json", headers=json_headers)
    assert bad_json.status_code == 422
    assert client.post("/api/v1/ingest/batch", json={"rows": []}, headers=AUTH).status_code == 422
    not_records = client.post("/api/v1/ingest/batch", json=[1, 2], headers=AUTH)
    assert not_records.status_code == 422
    assert "record 1" in not_records.json["message"]
    failed_run = not_records.json["detail"]["run_id"]
    with Session(engine) as session:
        run = session.get(PipelineRun, failed_run)
        assert run.status == "failed" and "record 1" in run.error
    assert _counts(engine) == {t.__tablename__: 0 for t in DATA_TABLES}


def test_endpoints_are_in_the_openapi_spec(client):
    spec = client.get("/openapi.json").json
    assert "/api/v1/ingest/file" in spec["paths"] and "/api/v1/ingest/batch" in spec["paths"]
    post = spec["paths"]["/api/v1/ingest/file"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert {"401", "413", "415", "422"} <= set(post["responses"])
    assert post.get("security")


def test_an_internal_failure_is_500_without_sql_or_row_values(client, engine, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    from pipeline import measure

    def broken(*_args, **_kwargs):
        raise IntegrityError("INSERT INTO conflict_events (state) VALUES (%(state)s)", {"state": "SECRET-ROW"},
                             Exception("duplicate key value"))  # fmt: skip

    monkeypatch.setattr(measure, "write_metrics", broken)
    response = client.post("/api/v1/ingest/batch", json=generate_records(5, seed=9), headers=AUTH)
    assert response.status_code == 500
    run_id = response.json["detail"]["run_id"]
    assert response.json["detail"]["error"] == f"internal error (run {run_id})"
    assert "SECRET-ROW" not in response.get_data(as_text=True) and "INSERT" not in response.get_data(as_text=True)
    with Session(engine) as session:
        run = session.get(PipelineRun, run_id)
        assert run.status == "failed" and run.error == f"internal error (run {run_id})"
        assert all("SECRET-ROW" not in (stage.error or "") for stage in run.stages)
    assert _counts(engine) == {t.__tablename__: 0 for t in DATA_TABLES}
