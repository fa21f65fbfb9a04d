"""Monitoring endpoints: snapshot with ETag/304, data-quality filters, 503 without a database."""

from __future__ import annotations

import contextlib
import select
import socket
import socketserver
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.monitoring_schemas import QualityResponse, Snapshot
from app import create_app
from models import DEMO_DATASET, PipelineRun
from pipeline.demo.generate import generate_events
from pipeline.load import Target
from pipeline.runner import run_pipeline
from pipeline.summary import RunFailed
from tests.servers import free_port
from tests.status.builders import add_events, add_metric, add_run, commit, every

STATUS_URL = "/api/v1/monitoring/pipeline-status"
QUALITY_URL = "/api/v1/monitoring/data-quality"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_pipeline_status_serves_the_snapshot_with_etag_and_304(client, engine) -> None:
    with Session(engine) as session:
        add_run(session, "succeeded", T0)
        commit(session)
    first = client.get(STATUS_URL)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-cache"
    body = first.json
    assert body["status"] == "healthy" and body["last_run"]["stages"][0]["name"] == "extract"
    assert first.headers["ETag"] == f'W/"{body["version"]}"'

    unchanged = client.get(STATUS_URL, headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    assert unchanged.headers["ETag"] == first.headers["ETag"]
    strong_form = client.get(STATUS_URL, headers={"If-None-Match": f'"{body["version"]}"'})
    assert strong_form.status_code == 304

    with Session(engine) as session:
        add_run(session, "failed", T0 + timedelta(hours=1), error="bad")
        commit(session)
    changed = client.get(STATUS_URL, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert changed.json["version"] > body["version"] and changed.json["status"] == "error"
    assert changed.headers["ETag"] != first.headers["ETag"]


def _metrics(engine) -> None:
    with Session(engine) as session:
        for day in range(5):
            stamp = T0 + timedelta(days=day)
            add_metric(session, stamp, geo=0.5 + day / 10)
            add_metric(session, stamp, metric_type="source", source="Punch", geo=0.4 + day / 10)
            add_metric(session, stamp, metric_type="source", source="Vanguard")
            add_metric(session, stamp + timedelta(hours=1), metric_type="hourly")
        commit(session)


def test_data_quality_latest_and_history_oldest_first(client, engine) -> None:
    _metrics(engine)
    body = client.get(QUALITY_URL, query_string={"metric_type": "aggregate"}).json
    assert body["count"] == 5
    assert body["latest"]["geocoding_success_rate"] == pytest.approx(0.9)
    assert [row["timestamp"][:10] for row in body["history"]] == [f"2026-05-0{d}" for d in range(1, 6)]
    assert all(row["metric_type"] == "aggregate" for row in body["history"])


def test_data_quality_defaults_to_aggregate_rows(client, engine) -> None:
    _metrics(engine)  # the newest row of all is an hourly one, then source rows share the aggregate's time
    body = client.get(QUALITY_URL).json
    assert body["latest"]["metric_type"] == "aggregate" and body["latest"]["source"] is None
    assert body["latest"]["geocoding_success_rate"] == pytest.approx(0.9)
    assert {row["metric_type"] for row in body["history"]} == {"aggregate"} and body["count"] == 5
    assert body["filters"]["metric_type"] == "aggregate"
    by_source = client.get(QUALITY_URL, query_string={"source": "Punch"}).json
    assert by_source["latest"]["source"] == "Punch" and by_source["filters"]["metric_type"] == "source"
    hourly = client.get(QUALITY_URL, query_string={"metric_type": "hourly"}).json
    assert hourly["latest"]["metric_type"] == "hourly"
    spec = client.get("/openapi.json").get_json()["paths"]["/api/v1/monitoring/data-quality"]["get"]
    assert "aggregate" in spec["description"]
    described = {p["name"]: p.get("description", "") for p in spec["parameters"]}
    assert "default aggregate" in described["metric_type"]


@pytest.mark.parametrize(
    ("params", "count", "first_day"),
    [
        ({}, 5, "2026-05-01"),  # the aggregate rows only
        ({"metric_type": "source", "source": "Punch"}, 5, "2026-05-01"),
        ({"source": "Vanguard", "since": "2026-05-03"}, 3, "2026-05-03"),
        ({"metric_type": "aggregate", "until": "2026-05-02"}, 2, "2026-05-01"),  # through the end of that day
        ({"metric_type": "aggregate", "until": "2026-05-02T12:00:00Z"}, 1, "2026-05-01"),
        ({"metric_type": "hourly", "since": "2026-05-02T13:00:00+00:00", "until": "2026-05-04"}, 3, "2026-05-02"),
        ({"metric_type": "aggregate", "since": "2026-05-02T11:00:00+01:00"}, 4, "2026-05-02"),
        ({"metric_type": "aggregate", "limit": 2}, 2, "2026-05-04"),  # the newest two
        ({"source": "Nobody"}, 0, None),
    ],
)
def test_data_quality_filters(client, engine, params, count, first_day) -> None:
    _metrics(engine)
    response = client.get(QUALITY_URL, query_string=params)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["count"] == count == len(body["history"])
    assert (body["history"][0]["timestamp"][:10] if body["history"] else None) == first_day
    if "source" in params:
        assert {row["source"] for row in body["history"]} <= {params["source"]}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "0"}, "since"),
        ({"since": "abc"}, "since"),
        ({"since": "2026-13-01"}, "since"),
        ({"until": "2026-02-30"}, "until"),
        ({"until": "20260101"}, "until"),
        ({"since": "2026-01-01T25:00:00"}, "since"),
        ({"since": ""}, "since"),
        ({"metric_type": "daily"}, "metric_type"),
        ({"limit": "0"}, "limit"),
        ({"limit": "100000"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"since": "2026-05-03", "until": "2026-05-02"}, "since"),
        ({"colour": "red"}, "colour"),
        # Past datetime's range once made a UTC instant (was a 500).
        ({"until": "9999-12-31"}, "until"),
        ({"since": "0001-01-01T00:00:00+14:00"}, "since"),
        ({"limit": str(2**64)}, "limit"),
    ],
)
def test_data_quality_rejects_bad_parameters_with_422_json(client, params, field) -> None:
    response = client.get(QUALITY_URL, query_string=params)
    assert response.status_code == 422
    body = response.json
    assert body["status"] == 422 and body["message"]
    assert field in body["detail"]["query"]


def test_monitoring_endpoints_are_in_the_openapi_spec(client) -> None:
    spec = client.get("/openapi.json").json
    status_get = spec["paths"][STATUS_URL]["get"]
    assert {"200", "304", "503"} <= set(status_get["responses"])
    quality_get = spec["paths"][QUALITY_URL]["get"]
    assert {p["name"] for p in quality_get["parameters"]} >= {"since", "until", "source", "metric_type", "limit"}
    assert "422" in quality_get["responses"]


@pytest.mark.parametrize("url", [STATUS_URL, QUALITY_URL])
def test_503_json_when_database_unreachable(tmp_path, url) -> None:
    app = create_app(
        {"APP_ENV": "testing", "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none",
         "INSTANCE_PATH": str(tmp_path)}
    )  # fmt: skip
    started = time.monotonic()
    response = app.test_client().get(url)
    assert time.monotonic() - started < 6
    assert response.status_code == 503
    assert response.json["status"] == 503 and response.json["detail"]["database"] == "unreachable"
    assert "Traceback" not in response.get_data(as_text=True)


class TcpProxy:
    """Forward 127.0.0.1:<port> to a database server; stop() cuts it like an outage."""

    def __init__(self, host: str, port: int) -> None:
        self.target, self.port = (host, port), free_port()
        self.server: socketserver.ThreadingTCPServer | None = None
        self.sockets: list[socket.socket] = []

    def start(self) -> TcpProxy:
        proxy = self

        class Pipe(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                upstream = socket.create_connection(proxy.target)
                proxy.sockets += [self.request, upstream]
                ends = {self.request: upstream, upstream: self.request}
                try:
                    while True:
                        ready, _, _ = select.select(list(ends), [], [], 1.0)
                        for sock in ready:
                            data = sock.recv(65536)
                            if not data:
                                return
                            ends[sock].sendall(data)
                except OSError:
                    return
                finally:
                    upstream.close()

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Pipe)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.sockets.clear()


def test_503_while_database_is_away_then_recovers_by_itself(database_url, engine, tmp_path) -> None:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("an outage needs a database server")
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    try:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        settings = {"APP_ENV": "testing", "DATABASE_URL": proxied, "INSTANCE_PATH": str(tmp_path)}
        client = create_app(settings).test_client()
        assert client.get(STATUS_URL).status_code == 200
        proxy.stop()
        started = time.monotonic()
        down = client.get(STATUS_URL)
        assert down.status_code == 503 and time.monotonic() - started < 6
        assert down.json["detail"]["database"] == "unreachable"
        assert client.get(QUALITY_URL).status_code == 503
        proxy.start()
        assert client.get(STATUS_URL).status_code == 200
        assert client.get(QUALITY_URL).status_code == 200
    finally:
        if proxy.server is not None:
            proxy.stop()


def test_documented_schemas_match_what_is_served(client, engine) -> None:
    with Session(engine) as session:
        run = add_run(session, "succeeded", T0)
        add_run(session, "running", T0 + timedelta(hours=2), stage_status={"extract": "running"})
        for day in range(5):
            add_metric(session, T0 + timedelta(days=day), run_id=run.id, geo=0.9 - day / 10)
            add_metric(session, T0 + timedelta(days=day), metric_type="source", source="Punch", run_id=run.id)
        add_events(session, [(d, "Punch", "Lagos") for d in every(1, 40, date(2026, 5, 1))])
        commit(session)
    snapshot = client.get(STATUS_URL).json
    assert snapshot["anomalies"] and snapshot["sources"] and snapshot["data_quality"]["by_source"]
    assert Snapshot().validate(snapshot) == {}
    assert "bogus" in Snapshot().validate({**snapshot, "bogus": 1})  # the check is strict
    quality = client.get(QUALITY_URL).json
    assert quality["history"] and QualityResponse().validate(quality) == {}


def test_a_failed_upload_stays_in_the_served_snapshot_until_an_upload_succeeds(client, engine) -> None:
    with pytest.raises(RunFailed):
        run_pipeline(engine, ("event_date\n2026-01-01\n".encode("utf-16"), "upload.csv"), trigger="api")
    with Session(engine) as session:
        failed = session.scalar(func.max(PipelineRun.id).select())
    for seed in range(3):  # replay runs after it succeed: another kind, so the failure stays
        run_pipeline(engine, generate_events(5, seed=seed), trigger="replay", target=Target(dataset=DEMO_DATASET))
    run_pipeline(engine, generate_events(5, seed=7), trigger="cli")  # another trigger
    body = client.get(STATUS_URL).json
    (alert,) = [a for a in body["alerts"] if a["kind"] == "run_failed"]
    assert alert["run_id"] == failed
    assert alert["message"].startswith(f"Run {failed} (api run into nvcd, file upload.csv) failed at ")
    assert "upload.csv is UTF-16 text" in alert["message"]
    assert [f["id"] for f in body["open_failures"]] == [failed] and body["status"] == "error"
    assert body["last_run"]["trigger"] == "cli" and body["recent_import_runs"][-1]["id"] == failed
    assert Snapshot().validate(body) == {}

    run_pipeline(engine, generate_events(5, seed=8), trigger="api")
    body = client.get(STATUS_URL).json
    assert body["open_failures"] == [] and not [a for a in body["alerts"] if a["kind"] == "run_failed"]
