"""One event by its public id: its fields, status and revisions; unknown and hostile ids answer JSON."""

from __future__ import annotations

import pytest

from pipeline.runner import run_pipeline
from tests.revisions.imports import DROPPED, EDITS, SNAPSHOT, public_id, two_imports

EVENT = "/api/v1/events/"


def test_an_updated_event_lists_its_revisions_old_to_new(client, engine) -> None:
    known = two_imports(engine, client)
    index, (name, _value) = next(iter(EDITS.items()))
    body = client.get(EVENT + public_id(index)).get_json()
    assert body["event_id"] == public_id(index) and body["status"] == "live" and body["dataset"] == "nvcd"
    assert body[name] == known.b[index][name]
    assert body["withdrawn_run_id"] is None and body["withdrawn_at"] is None
    assert [(r["change"], r["run_id"]) for r in body["revisions"]] == [
        ("created", known.first_run),
        ("updated", known.second_run),
    ]
    created, updated = body["revisions"]
    assert created["fields"] is None
    assert updated["fields"] == {name: [known.a[index][name], known.b[index][name]]}
    assert updated["at"].endswith("Z")


def test_a_withdrawn_event_is_returned_with_its_status_then_restored(client, engine) -> None:
    known = two_imports(engine, client)
    withdrawn = public_id(DROPPED[0])
    body = client.get(EVENT + withdrawn).get_json()
    assert body["status"] == "withdrawn" and body["withdrawn_run_id"] == known.second_run
    assert body["withdrawn_at"].endswith("Z")
    assert [r["change"] for r in body["revisions"]] == ["created", "withdrawn"]

    third = run_pipeline(engine, [*known.b, known.a[DROPPED[0]]], trigger="cli", target=SNAPSHOT)
    body = client.get(EVENT + withdrawn).get_json()
    assert body["status"] == "live" and body["withdrawn_run_id"] is None
    assert [(r["change"], r["run_id"]) for r in body["revisions"]][-1] == ("restored", third.run_id)


def test_the_event_carries_the_list_fields_and_the_raw_source(client, engine) -> None:
    two_imports(engine, client)
    body = client.get(EVENT + public_id(0)).get_json()
    listed = client.get("/api/v1/events", query_string={"limit": 1}).get_json()["items"][0]
    assert set(listed) <= set(body)
    assert listed["id"] == body["id"] and listed["state"] == body["state"]
    assert body["source_raw"] and body["source"]
    assert {"fingerprint", "content_hash", "source_file", "source_row"}.isdisjoint(body)


def test_an_unknown_event_is_a_404_json(client, engine) -> None:
    response = client.get(EVENT + "NGA424242")
    assert response.status_code == 404
    assert response.get_json() == {"status": 404, "message": "No such event", "detail": {}}


@pytest.mark.parametrize(
    "path",
    [
        "../x",
        "..%2Fx",
        "<script>alert(1)</script>",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "a" * 65,
        "NGA1%00",
        "NGA1;DROP TABLE conflict_events",
        "NGA 1",
        "%C3%A9",
    ],
)
def test_a_hostile_event_id_is_a_json_4xx_that_echoes_nothing(client, engine, path: str) -> None:
    response = client.get(EVENT + path)
    assert response.status_code in (404, 422) and response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"status", "message", "detail"} and body["status"] == response.status_code
    text = response.get_data(as_text=True)
    assert "<script" not in text and "DROP" not in text and "a" * 65 not in text


def test_the_event_endpoint_is_documented_with_the_id_pattern(client) -> None:
    operation = client.get("/openapi.json").get_json()["paths"]["/api/v1/events/{event_id}"]["get"]
    (parameter,) = operation["parameters"]
    assert parameter["in"] == "path" and parameter["schema"]["maxLength"] == 64
    assert parameter["schema"]["pattern"] == "^[A-Za-z0-9._:-]{1,64}$"
    assert {"200", "404", "422", "503"} <= set(operation["responses"])
