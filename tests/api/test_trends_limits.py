"""GET /api/v1/trends and /api/v1/events within the server's bounds: a row cap (422) and a statement timeout (503)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, func, insert, select

from models import ConflictEvent
from tests.trends.conftest import insert_events

CAP = 3


@pytest.fixture
def app_overrides(request: pytest.FixtureRequest) -> dict[str, object]:
    """Cap responses at three rows, or (for the timeout tests) time statements out after 1 ms."""
    if "timeout" in request.node.originalname:
        return {"STATEMENT_TIMEOUT_MS": 1}
    return {"MAX_RESPONSE_ROWS": CAP}


def event_count(engine: Engine) -> int:
    """Return how many events are stored."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(ConflictEvent)).scalar_one()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_trends_over_the_cap_are_422_saying_how_to_narrow(client, engine: Engine, fmt: str) -> None:
    insert_events(engine)
    response = client.get(f"/api/v1/trends?start=0001-01-01&end=9999-12-31&granularity=day&group_by=lga&format={fmt}")
    assert response.status_code == 422 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == 422
    assert f"more than {CAP} rows" in body["message"]
    for word in ("granularity", "group_by", "start..end", "state"):
        assert word in body["message"]
    assert body["detail"]["max_rows"] == CAP
    assert {"granularity", "group_by", "start", "end", "state", "lga"} <= set(body["detail"]["narrow"])
    assert event_count(engine) == 7  # nothing written


def test_trends_at_the_cap_are_answered(client, engine: Engine) -> None:
    insert_events(engine)
    body = client.get("/api/v1/trends?group_by=state").get_json()
    assert len(body["data"]) == CAP


def test_events_pages_are_bounded_by_limit_not_the_cap(client, engine: Engine) -> None:
    insert_events(engine)
    assert len(client.get("/api/v1/events?limit=7").get_json()["items"]) == 7
    assert client.get("/api/v1/events?limit=7&format=csv").status_code == 200


def _many_events(engine: Engine, count: int = 20_000) -> None:
    first = date(2020, 1, 1)
    with engine.begin() as conn:
        conn.execute(
            insert(ConflictEvent),
            [
                {
                    "event_id": f"NGA{n}",
                    "fingerprint": f"f{n}",
                    "content_hash": "h",
                    "event_date": first + timedelta(days=n % 1500),
                    "state": f"S{n % 37}",
                    "lga": f"L{n % 700}",
                }
                for n in range(count)
            ],
        )


@pytest.mark.parametrize("path", ["/api/v1/trends?granularity=day&group_by=lga", "/api/v1/events?lga=L1&offset=900"])
def test_a_query_past_the_timeout_is_503_saying_how_to_narrow(client, engine: Engine, path: str) -> None:
    _many_events(engine)
    response = client.get(path)
    assert response.status_code == 503, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == 503 and "longer than the 0.001 s limit" in body["message"]
    assert "Narrow the query" in body["message"] and body["detail"]["timeout_ms"] == 1
    assert response.headers["Retry-After"] == "5"
    assert event_count(engine) == 20_000
