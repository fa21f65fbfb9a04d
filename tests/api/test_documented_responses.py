"""Every response that /openapi.json documents with a schema, provoked for real and checked against that schema.

The views answer with ``jsonify`` (byte for byte what clients and the ETag/304 of the pipeline status
rely on), so APIFlask's schemas only document: this module keeps them true. Each documented
(method, path, status) with a JSON schema has a case below that provokes it; the answer must carry
that status and validate against the published schema (schemathesis' response validation, the schema
as clients read it), and a success body must carry every property its schema documents. A response
documented later without a case here fails ``test_every_documented_response_has_a_case``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from schemathesis.core.transport import Response as CheckedResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import db
from models import DEMO_DATASET
from pipeline.demo.generate import generate_events, generate_records
from pipeline.load import Target
from pipeline.runner import run_pipeline
from tests.revisions.imports import EDITS, public_id, read_feed, records_a, records_b
from tests.status.builders import add_events, add_metric, add_run, commit, every

AUTH = {"Authorization": "Bearer test-token"}
DOWN_URL = "postgresql+psycopg://nobody@127.0.0.1:9/none"  # nothing listens on port 9
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
STATUS = "/api/v1/monitoring/pipeline-status"
QUALITY = "/api/v1/monitoring/data-quality"
FILE = "/api/v1/ingest/file"
BATCH = "/api/v1/ingest/batch"
CHANGES = "/api/v1/changes"
EVENT = "/api/v1/events/{event_id}"
RUNS = "/api/v1/runs"
RUN = "/api/v1/runs/{run_id}"
CANCEL = "/api/v1/runs/{run_id}/cancel"


@dataclass
class Setting:
    """What a case may use: the app on the test database, its client, one on a database that is down."""

    app: Flask
    client: FlaskClient
    down: FlaskClient
    engine: Engine
    monkeypatch: pytest.MonkeyPatch


def _upload(client: FlaskClient, data: bytes, name: str, headers: dict[str, str] | None = None,
            form: dict[str, str] | None = None) -> TestResponse:  # fmt: skip
    return client.post(
        FILE,
        data={"file": (io.BytesIO(data), name), **(form or {})},
        headers=AUTH if headers is None else headers,
        content_type="multipart/form-data",
    )


def _csv(n: int = 20) -> bytes:
    return generate_events(n, seed=5).to_csv(index=False).encode()


def _monitored(s: Setting) -> None:
    """Store runs with stages, quality rows and events, so every list of the snapshot has items."""
    with Session(s.engine) as session:
        run = add_run(session, "succeeded", T0)
        add_run(session, "running", T0 + timedelta(hours=2), stage_status={"extract": "running"})
        for day in range(5):
            add_metric(session, T0 + timedelta(days=day), run_id=run.id, geo=0.9 - day / 10)
            add_metric(session, T0 + timedelta(days=day), metric_type="source", source="Punch", run_id=run.id)
        add_events(session, [(d, "Punch", "Lagos") for d in every(1, 40, date(2026, 5, 1))])
        commit(session)


def _status(s: Setting) -> TestResponse:
    _monitored(s)
    response = s.client.get(STATUS)
    body = response.get_json()
    assert body["anomalies"] and body["alerts"] and body["sources"] and body["data_quality"]["by_source"]
    assert body["current_run"]["stages"] and body["last_run"]["stages"] and body["recent_runs"]
    return response


def _status_token_required(s: Setting) -> TestResponse:
    s.monkeypatch.setitem(s.app.config, "WS_ACCESS_TOKEN", "secret")
    return s.client.get(STATUS)


def _quality(s: Setting) -> TestResponse:
    _monitored(s)
    response = s.client.get(QUALITY)
    assert response.get_json()["latest"] and response.get_json()["history"]
    return response


def _living(s: Setting) -> None:
    """Load generated events, withdraw some by a snapshot of the others, and add a replay's demo events."""
    records = generate_records(12, seed=9)
    run_pipeline(s.engine, records, trigger="cli")
    run_pipeline(s.engine, records[:8], trigger="cli", target=Target(snapshot=True, force=True))
    run_pipeline(s.engine, generate_records(4, seed=10), trigger="replay", target=Target(dataset=DEMO_DATASET))


def _events(s: Setting) -> TestResponse:
    _living(s)
    response = s.client.get("/api/v1/events?withdrawn=include&dataset=nvcd&dataset=demo")
    items = response.get_json()["items"]
    assert {item["dataset"] for item in items} == {"nvcd", "demo"} and any(item["withdrawn_at"] for item in items)
    return response


def _trends(s: Setting) -> TestResponse:
    _living(s)
    response = s.client.get("/api/v1/trends?group_by=state&dataset=demo")
    assert response.get_json()["data"] and response.get_json()["datasets"] == ["demo"]
    return response


def _too_large(s: Setting, path: str) -> TestResponse:
    s.monkeypatch.setitem(s.app.config, "MAX_CONTENT_LENGTH", 2048)
    if path == FILE:
        return _upload(s.client, _csv(200), "big.csv")
    return s.client.post(BATCH, json=generate_records(200, seed=6), headers=AUTH)


def _queue_full(s: Setting, path: str) -> TestResponse:
    s.monkeypatch.setitem(s.app.config, "MAX_QUEUED_MB", 0)
    if path == FILE:
        return _upload(s.client, _csv(), "export.csv")
    return s.client.post(BATCH, json=generate_records(5, seed=7), headers=AUTH)


def _ran(s: Setting) -> int:
    """Queue an upload and run its job as the worker would; return the run's id."""
    run_id = int(_upload(s.client, _csv(), "export.csv").get_json()["run_id"])
    with s.app.app_context():
        db.jobs().drain()
    return run_id


def _running(s: Setting) -> TestResponse:
    """Ask a running run to stop (a run as a worker leaves it mid-way)."""
    with Session(s.engine) as session:
        run = add_run(session, "running", datetime.now(UTC), stage_status={"extract": "running"})
        session.commit()
        run_id = run.id
    return s.client.post(f"{RUNS}/{run_id}/cancel", headers=AUTH)


def _updates_only(s: Setting) -> TestResponse:
    """Read the feed after an import that only edited events: every item is an update, with its fields."""
    a = records_a()
    run_pipeline(s.engine, a, trigger="cli")
    _, cursor = read_feed(s.client)
    run_pipeline(s.engine, records_b(a)[: len(a) - 4], trigger="cli")  # a plain import: updates, nothing withdrawn
    response = s.client.get(CHANGES, query_string={"since": cursor})
    assert {item["change"] for item in response.get_json()["items"]} == {"updated"}
    return response


def _event(s: Setting) -> TestResponse:
    """Read an event edited by a second import: revisions with and without fields."""
    a = records_a()
    run_pipeline(s.engine, a, trigger="cli")
    run_pipeline(s.engine, records_b(a), trigger="cli")
    response = s.client.get(f"/api/v1/events/{public_id(min(EDITS))}")
    assert [r["change"] for r in response.get_json()["revisions"]] == ["created", "updated"]
    return response


Case = Callable[[Setting], TestResponse]
# (method, path, status) -> how to provoke that answer.
CASES: dict[tuple[str, str, int], Case] = {
    ("get", "/healthz", 503): lambda s: s.down.get("/healthz"),
    ("get", "/api/v1/events", 200): _events,
    ("get", "/api/v1/events", 422): lambda s: s.client.get("/api/v1/events?limit=0"),
    ("get", "/api/v1/events", 503): lambda s: s.down.get("/api/v1/events"),
    ("get", "/api/v1/trends", 200): _trends,
    ("get", "/api/v1/trends", 422): lambda s: s.client.get("/api/v1/trends?granularity=year"),
    ("get", "/api/v1/trends", 503): lambda s: s.down.get("/api/v1/trends"),
    ("get", CHANGES, 200): _updates_only,
    ("get", CHANGES, 422): lambda s: s.client.get(f"{CHANGES}?since=nope"),
    ("get", CHANGES, 503): lambda s: s.down.get(CHANGES),
    ("get", EVENT, 200): _event,
    ("get", EVENT, 404): lambda s: s.client.get("/api/v1/events/NGA999999"),
    ("get", EVENT, 422): lambda s: s.client.get("/api/v1/events/%3Cscript%3E"),
    ("get", EVENT, 503): lambda s: s.down.get("/api/v1/events/NGA1"),
    ("post", FILE, 202): lambda s: _upload(s.client, _csv(), "export.csv"),
    ("post", FILE, 401): lambda s: _upload(s.client, _csv(), "export.csv", headers={}),
    ("post", FILE, 413): lambda s: _too_large(s, FILE),
    ("post", FILE, 415): lambda s: _upload(s.client, b"%PDF-1.4", "report.pdf"),
    ("post", FILE, 422): lambda s: _upload(s.client, _csv(), "export.csv", form={"snapshot": "perhaps"}),
    ("post", FILE, 503): lambda s: _queue_full(s, FILE),
    ("post", BATCH, 202): lambda s: s.client.post(BATCH, json={"records": generate_records(5, seed=8)}, headers=AUTH),
    ("post", BATCH, 401): lambda s: s.client.post(BATCH, json=generate_records(3), headers={}),
    ("post", BATCH, 413): lambda s: _too_large(s, BATCH),
    ("post", BATCH, 415): lambda s: s.client.post(BATCH, data="[]", headers={**AUTH, "Content-Type": "text/plain"}),
    ("post", BATCH, 422): lambda s: s.client.post(BATCH, json=[1, 2], headers=AUTH),
    ("post", BATCH, 503): lambda s: _queue_full(s, BATCH),
    ("get", RUNS, 200): lambda s: (_ran(s), s.client.get(RUNS))[1],
    ("get", RUNS, 422): lambda s: s.client.get(f"{RUNS}?limit=0"),
    ("get", RUNS, 503): lambda s: s.down.get(RUNS),
    ("get", RUN, 200): lambda s: s.client.get(f"{RUNS}/{_ran(s)}", headers=AUTH),
    ("get", RUN, 404): lambda s: s.client.get(f"{RUNS}/999"),
    ("get", RUN, 422): lambda s: s.client.get(f"{RUNS}/0"),
    ("get", RUN, 503): lambda s: s.down.get(f"{RUNS}/1"),
    ("post", CANCEL, 202): _running,
    ("post", CANCEL, 401): lambda s: s.client.post(f"{RUNS}/1/cancel"),
    ("post", CANCEL, 404): lambda s: s.client.post(f"{RUNS}/999/cancel", headers=AUTH),
    ("post", CANCEL, 409): lambda s: s.client.post(f"{RUNS}/{_ran(s)}/cancel", headers=AUTH),
    ("post", CANCEL, 422): lambda s: s.client.post(f"{RUNS}/0/cancel", headers=AUTH),
    ("post", CANCEL, 503): lambda s: s.down.post(f"{RUNS}/1/cancel", headers=AUTH),
    ("get", QUALITY, 200): _quality,
    ("get", QUALITY, 422): lambda s: s.client.get(f"{QUALITY}?limit=0"),
    ("get", QUALITY, 503): lambda s: s.down.get(QUALITY),
    ("get", STATUS, 200): _status,
    ("get", STATUS, 401): _status_token_required,
    ("get", STATUS, 503): lambda s: s.down.get(STATUS),
}


@pytest.fixture
def setting(
    app: Flask, client: FlaskClient, engine: Engine, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Setting]:
    """Return the apps and clients the cases use."""
    from app import create_app

    down = create_app({"APP_ENV": "testing", "DATABASE_URL": DOWN_URL, "INSTANCE_PATH": str(tmp_path / "down"),
                       "INGEST_TOKEN": "test-token"})  # fmt: skip
    yield Setting(app, client, down.test_client(), engine, monkeypatch)


def documented(spec: dict[str, Any]) -> dict[tuple[str, str, int], dict[str, Any]]:
    """Return (method, path, status) -> the JSON schema documented for it, for every response that has one."""
    found = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema:  # `{}` documents no shape (CSV or JSON pages without a schema, a 304)
                    found[(method, path, int(status))] = schema
    return found


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (and a nullable ``anyOf``) to the schema it names."""
    while True:
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        elif "anyOf" in schema:
            schema = next(branch for branch in schema["anyOf"] if branch.get("type") != "null")
        else:
            return schema


def undocumented_gaps(spec: dict[str, Any], schema: dict[str, Any], value: Any, where: str = "") -> list[str]:
    """Return where ``value`` lacks a property its schema documents (nested objects and list items too)."""
    schema = resolve(spec, schema)
    if isinstance(value, dict) and "properties" in schema:
        gaps = [f"{where}.{name}" for name in schema["properties"] if name not in value]
        for name, sub in schema["properties"].items():
            if value.get(name) is not None:
                gaps += undocumented_gaps(spec, sub, value[name], f"{where}.{name}")
        return gaps
    if isinstance(value, list) and "items" in schema:
        return [
            gap
            for i, item in enumerate(value)
            for gap in undocumented_gaps(spec, schema["items"], item, f"{where}[{i}]")
        ]
    return []


def test_every_documented_response_has_a_case(client: FlaskClient) -> None:
    assert set(documented(client.get("/openapi.json").get_json())) == set(CASES)


@pytest.mark.parametrize("key", list(CASES), ids=[f"{m.upper()} {p} {s}" for m, p, s in CASES])
def test_a_documented_response_matches_its_schema(setting: Setting, key: tuple[str, str, int]) -> None:
    method, path, status = key
    spec = setting.client.get("/openapi.json").get_json()
    response = CASES[key](setting)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    operation = schemathesis.openapi.from_dict(spec)[path][method.upper()]
    operation.validate_response(CheckedResponse.from_any(response))  # raises, saying where it differs
    if status < 300:
        assert undocumented_gaps(spec, documented(spec)[key], response.get_json()) == []
