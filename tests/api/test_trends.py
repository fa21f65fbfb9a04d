"""GET /api/v1/events and /api/v1/trends: filters, paging, CSV, and 422 for bad parameters."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import Engine

from models import DEMO_DATASET
from tests.trends.conftest import insert_events, load_living, withdraw


@pytest.fixture
def event_ids(engine: Engine) -> list[int]:
    """Load the prepared events."""
    return insert_events(engine)


def test_events_page_and_cursor(client, event_ids: list[int]) -> None:
    first = client.get("/api/v1/events?limit=3").get_json()
    assert [item["id"] for item in first["items"]] == event_ids[:3]
    assert first["next_cursor"] == event_ids[2] and first["next_offset"] == 3
    second = client.get(f"/api/v1/events?limit=3&cursor={first['next_cursor']}").get_json()
    assert [item["id"] for item in second["items"]] == event_ids[3:6]
    last = client.get(f"/api/v1/events?limit=3&cursor={second['next_cursor']}").get_json()
    assert [item["id"] for item in last["items"]] == event_ids[6:]
    assert last["next_cursor"] is None
    by_offset = client.get("/api/v1/events?limit=2&offset=4").get_json()
    assert [item["id"] for item in by_offset["items"]] == event_ids[4:6]


def test_events_filters_and_values(client, event_ids: list[int]) -> None:
    body = client.get("/api/v1/events?state=Kano&state=Lagos&actor=Police").get_json()
    assert [item["id"] for item in body["items"]] == [event_ids[0], event_ids[3]]
    first = body["items"][0]
    assert first["event_date"] == "2024-01-05" and first["total_deaths"] == 3 and first["actor2"] == "Police"
    assert body["filters"]["states"] == ["Kano", "Lagos"]
    dated = client.get("/api/v1/events?start=2024-03-01&end=2024-03-15").get_json()
    assert [item["id"] for item in dated["items"]] == [event_ids[4]]


def test_events_as_csv(client, event_ids: list[int]) -> None:
    response = client.get("/api/v1/events?format=csv&crisis_type=Insurgency")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("# Source: NVCD Monitor") and "crisis_type=Insurgency" in lines[0]
    table = list(csv.DictReader(io.StringIO("\n".join(lines[1:]))))
    assert [row["id"] for row in table] == [str(event_ids[4]), str(event_ids[5])]
    assert table[0]["displaced"] == "100"
    paged = client.get("/api/v1/events?format=csv&limit=2")
    assert paged.headers["X-Next-Cursor"] == str(event_ids[1])
    assert "X-Next-Cursor" not in response.headers


def test_trends_grouped_by_actor(client, event_ids: list[int]) -> None:
    body = client.get("/api/v1/trends?group_by=actor&metric=total_deaths").get_json()
    assert body["data"] == [
        {"bucket": "2024-01-01", "group": "Bandits", "value": 5},
        {"bucket": "2024-01-01", "group": "Police", "value": 3},
        {"bucket": "2024-02-01", "group": "Cultists", "value": 1},
        {"bucket": "2024-02-01", "group": "Police", "value": 0},
        {"bucket": "2024-03-01", "group": "Boko Haram", "value": 15},
        {"bucket": "2024-03-01", "group": "Military", "value": 10},
    ]
    assert (body["granularity"], body["group_by"], body["metric"]) == ("month", "actor", "total_deaths")


def test_trends_totals_weekly_and_csv(client, event_ids: list[int]) -> None:
    body = client.get("/api/v1/trends?granularity=week&state=Borno").get_json()
    assert body["data"] == [{"bucket": "2024-03-11", "value": 2}]
    text = client.get("/api/v1/trends?format=csv&group_by=state&metric=kidnapped").get_data(as_text=True)
    assert text.splitlines()[1:] == [
        "bucket,group,value",
        "2024-01-01,Kano,5",
        "2024-02-01,Lagos,0",
        "2024-03-01,Borno,3",
    ]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/trends?granularity=year", "granularity"),
        ("/api/v1/trends?group_by=colour", "group_by"),
        ("/api/v1/trends?metric=fatalities", "metric"),
        ("/api/v1/trends?start=2024-13-01", "start"),
        ("/api/v1/trends?start=0", "start"),
        ("/api/v1/trends?end=abc", "end"),
        ("/api/v1/trends?start=2024-03-01&end=2024-02-01", "start"),
        ("/api/v1/trends?format=xml", "format"),
        ("/api/v1/trends?sate=Kano", "sate"),
        ("/api/v1/events?limit=0", "limit"),
        ("/api/v1/events?limit=1001", "limit"),
        ("/api/v1/events?limit=ten", "limit"),
        ("/api/v1/events?offset=-1", "offset"),
        ("/api/v1/events?cursor=-5", "cursor"),
        ("/api/v1/events?cursor=3&offset=2", "cursor"),
        # Past the databases' signed 64-bit integers (was a 500).
        (f"/api/v1/events?offset={2**63}", "offset"),
        (f"/api/v1/events?cursor={2**31}", "cursor"),
        (f"/api/v1/events?cursor={10**40}", "cursor"),
        ("/api/v1/events?start=2024-02-30", "start"),
        ("/api/v1/events?" + "&".join(f"state=S{n}" for n in range(101)), "state"),
        ("/api/v1/trends?state=", "state"),
        ("/api/v1/trends?format=csv&state=x%0A%3DHYPERLINK(1)", "state"),
        ("/api/v1/events?format=csv&actor=a%0D%3D1%2B1", "actor"),
        ("/api/v1/events?source=a%09b", "source"),
    ],
)
def test_bad_parameters_are_422_json(client, path: str, field: str) -> None:
    response = client.get(path)
    assert response.status_code == 422
    body = response.get_json()
    assert body["status"] == 422 and body["message"]
    assert field in body["detail"]["query"]


@pytest.mark.parametrize(("param", "largest"), [("offset", 2**63 - 1), ("cursor", 2**31 - 1)])
def test_largest_offset_and_cursor_answer_an_empty_page(client, event_ids: list[int], param: str, largest: int) -> None:
    response = client.get(f"/api/v1/events?{param}={largest}")
    assert response.status_code == 200
    assert response.get_json()["items"] == []


def test_documented_in_openapi(client) -> None:
    spec = client.get("/openapi.json").get_json()
    params = {p["name"] for p in spec["paths"]["/api/v1/trends"]["get"]["parameters"]}
    assert {"granularity", "group_by", "metric", "state", "actor", "start", "end", "format"} <= params
    assert {"limit", "offset", "cursor"} <= {p["name"] for p in spec["paths"]["/api/v1/events"]["get"]["parameters"]}


def test_events_carry_their_public_id_and_dataset(client, event_ids: list[int]) -> None:
    items = client.get("/api/v1/events?limit=2").get_json()["items"]
    assert [(item["event_id"], item["dataset"]) for item in items] == [("NVCD1", "nvcd"), ("NVCD2", "nvcd")]
    assert "withdrawn_at" not in items[0]
    table = list(csv.DictReader(io.StringIO("\n".join(_csv_lines(client, "/api/v1/events?limit=2")[1:]))))
    assert [(row["event_id"], row["dataset"]) for row in table] == [("NVCD1", "nvcd"), ("NVCD2", "nvcd")]


def _csv_lines(client, path: str) -> list[str]:
    response = client.get(path + ("&" if "?" in path else "?") + "format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return response.get_data(as_text=True).splitlines()


def test_demo_is_left_out_once_real_data_exists(client, engine: Engine) -> None:
    insert_events(engine, DEMO_DATASET)
    alone = client.get("/api/v1/events").get_json()
    assert alone["count"] == 7 and alone["datasets"] == ["demo"]  # only demo data: the demo app shows it
    insert_events(engine)
    body = client.get("/api/v1/events").get_json()
    assert {item["dataset"] for item in body["items"]} == {"nvcd"} and body["datasets"] == ["nvcd"]
    assert body["filters"]["datasets"] == []
    assert client.get("/api/v1/events?dataset=demo").get_json()["count"] == 7
    assert client.get("/api/v1/events?dataset=demo&dataset=nvcd").get_json()["count"] == 14
    totals = {
        query: sum(row["value"] for row in client.get(f"/api/v1/trends?{query}").get_json()["data"])
        for query in ("", "dataset=demo", "dataset=nvcd&dataset=demo")
    }
    assert totals == {"": 6, "dataset=demo": 6, "dataset=nvcd&dataset=demo": 12}


def test_csv_cites_each_dataset_and_never_credits_nextier_for_demo(client, engine: Engine) -> None:
    insert_events(engine, DEMO_DATASET)
    for path in ("/api/v1/events", "/api/v1/trends"):
        citation = _csv_lines(client, path)[0]
        assert "demo = generated demo data (not NVCD)" in citation and "Nextier" not in citation
    insert_events(engine)
    assert "nvcd = Nigeria Violent Conflicts Database (Nextier);" in _csv_lines(client, "/api/v1/trends")[0]
    both = _csv_lines(client, "/api/v1/events?dataset=demo&dataset=nvcd")[0]
    assert "data: demo = generated demo data (not NVCD), nvcd = Nigeria Violent Conflicts Database (Nextier);" in both


def test_withdrawn_events_are_listed_only_on_request(client, engine: Engine) -> None:
    ids = insert_events(engine)
    withdraw(engine, [ids[0], ids[4]])
    default = client.get("/api/v1/events").get_json()
    assert default["count"] == 5 and default["withdrawn"] == "exclude"
    assert {"NVCD1", "NVCD5"}.isdisjoint(item["event_id"] for item in default["items"])
    only = client.get("/api/v1/events?withdrawn=only").get_json()
    assert [item["event_id"] for item in only["items"]] == ["NVCD1", "NVCD5"]
    assert all(
        item["withdrawn_at"].startswith("2026-12-07T12:00:00") and item["withdrawn_run_id"] for item in only["items"]
    )
    every = client.get("/api/v1/events?withdrawn=include").get_json()
    assert every["count"] == 7 and sum(item["withdrawn_at"] is not None for item in every["items"]) == 2
    table = list(csv.DictReader(io.StringIO("\n".join(_csv_lines(client, "/api/v1/events?withdrawn=only")[1:]))))
    assert [row["event_id"] for row in table] == ["NVCD1", "NVCD5"] and all(row["withdrawn_run_id"] for row in table)
    assert "NVCD1" not in "".join(_csv_lines(client, "/api/v1/events"))
    assert sum(row["value"] for row in client.get("/api/v1/trends").get_json()["data"]) == 4


def test_a_snapshot_import_withdraws_from_the_api(client, engine: Engine) -> None:
    ids = load_living(engine)
    listed = {item["event_id"] for item in client.get("/api/v1/events?limit=1000").get_json()["items"]}
    assert listed == set(ids["live"])
    gone = client.get("/api/v1/events?withdrawn=only&dataset=nvcd&dataset=demo").get_json()["items"]
    assert {item["event_id"] for item in gone} == set(ids["withdrawn"])


@pytest.mark.parametrize(
    "query",
    [
        "dataset=nvdc",  # holds no events
        "dataset=nvcd&dataset=elsewhere",
        "dataset=" + "x" * 33,
        "dataset=a%0Ab",
        "dataset=",
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/trends"])
def test_bad_datasets_are_422(client, event_ids: list[int], path: str, query: str) -> None:
    response = client.get(f"{path}?{query}")
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == 422 and "dataset" in body["detail"]["query"]


def test_unknown_dataset_names_the_known_ones(client, event_ids: list[int]) -> None:
    body = client.get("/api/v1/events?dataset=nvdc").get_json()
    assert body["detail"]["query"]["dataset"] == ["unknown dataset 'nvdc' (known: nvcd)"]
    assert client.get("/api/v1/events?withdrawn=all").status_code == 422


def test_datasets_and_withdrawals_are_documented(client) -> None:
    spec = client.get("/openapi.json").get_json()
    events = spec["paths"]["/api/v1/events"]["get"]
    assert {"dataset", "withdrawn"} <= {p["name"] for p in events["parameters"]}
    assert "dataset" in {p["name"] for p in spec["paths"]["/api/v1/trends"]["get"]["parameters"]}
    item = spec["components"]["schemas"]["EventItem"]["properties"]
    assert {"event_id", "dataset", "withdrawn_at", "withdrawn_run_id"} <= set(item)
