"""The changes feed: exactly what an import changed, paged, with a cursor that survives later imports."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.changes import BAD_CURSOR
from models import EventChange
from pipeline.demo.generate import generate_records
from pipeline.load import Target
from pipeline.runner import run_pipeline
from revisions import cursor
from tests.revisions.imports import N, public_id, read_feed, two_imports

FEED = "/api/v1/changes"


def by_change(items: list[dict]) -> dict[str, set[str]]:
    """Group feed items' event ids by change."""
    out: dict[str, set[str]] = {"created": set(), "updated": set(), "withdrawn": set(), "restored": set()}
    for item in items:
        out[item["change"]].add(item["event_id"])
    return out


def test_the_feed_replays_exactly_the_differences_between_two_imports(client, engine) -> None:
    known = two_imports(engine, client)
    items, _ = read_feed(client, since=known.cursor)
    assert {item["run_id"] for item in items} == {known.second_run}
    assert len(known.created) == 2
    assert by_change(items) == {
        "created": known.created,
        "updated": set(known.updated),
        "withdrawn": known.withdrawn,
        "restored": set(),
    }
    assert {item["event_id"]: item["fields"] for item in items if item["change"] == "updated"} == known.updated
    assert all("fields" not in item for item in items if item["change"] != "updated")
    assert all(item["dataset"] == "nvcd" and item["at"].endswith("Z") for item in items)


def test_from_the_start_the_feed_holds_every_event_created_then_the_second_run(client, engine) -> None:
    known = two_imports(engine, client)
    items, _ = read_feed(client)
    first = items[:N]
    assert [(item["event_id"], item["change"], item["run_id"]) for item in first] == [
        (public_id(i), "created", known.first_run) for i in range(N)
    ]
    assert {item["run_id"] for item in items[N:]} == {known.second_run}


@pytest.mark.parametrize("limit", [1, 3, 5])
def test_small_pages_return_every_change_once_in_order(client, engine, limit: int) -> None:
    two_imports(engine, client)
    whole = client.get(FEED, query_string={"limit": 1000}).get_json()
    assert whole["has_more"] is False
    paged, _ = read_feed(client, limit=limit)
    assert paged == whole["items"]
    with Session(engine) as session:
        assert len(paged) == session.scalar(select(func.count()).select_from(EventChange))


def test_a_cursor_stays_valid_after_later_imports(client, engine) -> None:
    known = two_imports(engine, client)
    before_b, end = read_feed(client, since=known.cursor)
    empty = client.get(FEED, query_string={"since": end}).get_json()
    assert empty == {"items": [], "next_cursor": end, "has_more": False}  # poll again with the same cursor

    third = run_pipeline(engine, generate_records(1, seed=13, mess=False), trigger="cli")
    new, _ = read_feed(client, since=end)
    assert [(item["change"], item["run_id"]) for item in new] == [("created", third.run_id)]
    # The cursor taken after A still reads B's changes, then the third run's, nothing twice.
    again, _ = read_feed(client, since=known.cursor, limit=2)
    assert again == before_b + new


def test_the_dataset_filter_keeps_one_datasets_changes(client, engine) -> None:
    run_pipeline(engine, generate_records(3, seed=14, mess=False), trigger="cli")
    demo = run_pipeline(engine, generate_records(2, seed=15, mess=False), trigger="cli", target=Target(dataset="demo"))
    items, _ = read_feed(client, dataset="demo")
    assert [(item["dataset"], item["run_id"]) for item in items] == [("demo", demo.run_id)] * 2
    assert len(read_feed(client, dataset="nvcd")[0]) == 3
    assert read_feed(client, dataset="nothing")[0] == []


def test_an_empty_feed_answers_the_start_cursor(client, engine) -> None:
    body = client.get(FEED).get_json()
    assert body == {"items": [], "next_cursor": cursor.encode(0), "has_more": False}


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "since",
    [
        "",
        "nope",
        "12",
        "a" * 41,
        "<script>",
        _b64("v1:-1"),
        _b64("v2:5"),
        _b64("v1:01"),
        _b64(f"v1:{2**63}"),
        _b64("v1:5") + "==",
    ],
)
def test_a_cursor_the_feed_did_not_give_out_is_422(client, engine, since: str) -> None:
    response = client.get(FEED, query_string={"since": since})
    assert response.status_code == 422 and response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"status", "message", "detail"}
    assert body["detail"] == {"query": {"since": [BAD_CURSOR]}}
    assert "<script>" not in response.get_data(as_text=True)


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 1001}, {"dataset": "<x>"}, {"sinse": cursor.encode(0)}])
def test_bad_parameters_are_422(client, query: dict) -> None:
    assert client.get(FEED, query_string=query).status_code == 422


def test_the_feed_is_documented(client) -> None:
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/changes"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"since", "limit", "dataset"}
    assert {"200", "422", "503"} <= set(operation["responses"])
