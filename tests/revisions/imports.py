"""Imports of generated events whose differences are known, for the changes feed, event and page tests.

Import A is ``N`` clean generated records (public ids NGA1..NGA<N> in file order). Import B, a
snapshot of the full export, edits two fields, drops two records and adds two new ones: the feed
from the cursor after A must be exactly those changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import ConflictEvent
from pipeline.demo.generate import generate_records
from pipeline.load import Target
from pipeline.runner import run_pipeline

N = 12
# Edited records come before the dropped ones, so they keep their place in B.
EDITS = {1: ("verification", "Confirmed twice by the state police command"), 4: ("description", " (corrected)")}
DROPPED = (7, 9)
SNAPSHOT = Target(snapshot=True, force=True)


def records_a() -> list[dict[str, Any]]:
    """Return import A: ``N`` generated records without the injected mess."""
    return generate_records(N, seed=11, mess=False)


def records_b(a: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return import B: A with EDITS applied (a description is appended to), DROPPED removed, two records added."""
    b = [dict(record) for record in a]
    for index, (name, value) in EDITS.items():
        b[index][name] = b[index][name] + value if name == "description" else value
    kept = [record for index, record in enumerate(b) if index not in DROPPED]
    return kept + generate_records(2, seed=12, mess=False)


def public_id(index: int) -> str:
    """Return the public id import A gave its record ``index``."""
    return f"NGA{index + 1}"


@dataclass
class TwoImports:
    """What the tests compare the feed with: the runs, the cursor after A and B's differences."""

    a: list[dict[str, Any]]
    b: list[dict[str, Any]]
    first_run: int
    second_run: int
    cursor: str  # the feed's next_cursor after import A
    updated: dict[str, dict[str, list[Any]]] = field(default_factory=dict)  # event id -> {field: [old, new]}
    withdrawn: set[str] = field(default_factory=set)
    created: set[str] = field(default_factory=set)


def read_feed(client: FlaskClient, since: str | None = None, limit: int = 1000, **args: str) -> tuple[list, str]:
    """Read the feed from ``since`` to its end; return every item and the last next_cursor."""
    items: list[dict[str, Any]] = []
    while True:
        query = {"limit": str(limit), **args, **({"since": since} if since else {})}
        response = client.get("/api/v1/changes", query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        page = response.get_json()
        items += page["items"]
        since = page["next_cursor"]
        if not page["has_more"]:
            return items, page["next_cursor"]


def event_ids(engine: Engine) -> set[str]:
    """Return every stored event's public id."""
    with Session(engine) as session:
        return set(session.scalars(select(ConflictEvent.event_id)))


def two_imports(engine: Engine, client: FlaskClient) -> TwoImports:
    """Run import A, note the feed's cursor, run snapshot B; return what B changed."""
    a = records_a()
    first = run_pipeline(engine, a, trigger="cli")
    _, cursor = read_feed(client)
    stored_a = event_ids(engine)
    b = records_b(a)
    second = run_pipeline(engine, b, trigger="cli", target=SNAPSHOT)
    assert first.run_id is not None and second.run_id is not None
    updated = {}
    for index, (name, _value) in EDITS.items():
        updated[public_id(index)] = {name: [a[index][name], b[index][name]]}
    return TwoImports(
        a=a,
        b=b,
        first_run=first.run_id,
        second_run=second.run_id,
        cursor=cursor,
        updated=updated,
        withdrawn={public_id(index) for index in DROPPED},
        created=event_ids(engine) - stored_a,
    )
