"""The run page: facts, stages, issues by rule and the diff as text; unknown or hostile ids get a message."""

from __future__ import annotations

import json
import logging
from typing import Any

import dash
import pytest
from dash import dcc, html
from sqlalchemy import update
from sqlalchemy.orm import Session

from dashapp import ids
from models import PipelineRun, bump_version
from pipeline.demo.generate import generate_events
from pipeline.runner import run_pipeline
from pipeline.stages import STAGE_NAMES
from tests.dashapp.test_callback_guard import errors_logged, pages_router, post
from tests.dashapp.test_event_page import by_id, routed_client, rows, strings
from tests.dashapp.test_monitor_panel import walk
from tests.revisions.imports import DROPPED, EDITS, SNAPSHOT, records_a, records_b

__all__ = ["routed_client"]  # a fixture this module uses

HOSTILE = '<img src=x onerror=alert(1)> <b>bold</b> <a href="https://evil.example">x</a>'


def page_layout(app: Any, run_id: Any) -> html.Div:
    """Call the run page's layout as Dash Pages does."""
    with app.test_request_context("/"):
        page = next(p for p in dash.page_registry.values() if p["module"] == "dashapp.pages.run")
        return page["layout"](run_id=run_id)


def facts(layout: html.Div) -> dict[str, str]:
    items = by_id(layout)[ids.RUN_FACTS].children
    return {" ".join(strings(items[i])): " ".join(strings(items[i + 1])) for i in range(0, len(items), 2)}


def test_the_page_shows_the_run_its_stages_issues_and_diff(app, engine) -> None:
    a = records_a()
    run_pipeline(engine, a, trigger="cli")
    second = run_pipeline(engine, records_b(a), trigger="api", filename="b.csv", target=SNAPSHOT)
    layout = page_layout(app, str(second.run_id))
    shown = by_id(layout)
    assert strings(layout)[0] == f"Run {second.run_id}"
    assert strings(shown[ids.RUN_STATUS]) == ["succeeded · api · snapshot of nvcd"]
    told = facts(layout)
    assert (told["Trigger"], told["Dataset"], told["Dry run"], told["File"]) == ("api", "nvcd", "no", "b.csv")
    assert told["Created / updated / withdrawn"] == f"2 / {len(EDITS)} / {len(DROPPED)}"
    assert told["Started"].endswith(" UTC") and told["Finished"].endswith(" UTC")
    stages = rows(shown[ids.RUN_STAGES])
    assert [row[0] for row in stages] == list(STAGE_NAMES) and {row[1] for row in stages} == {"succeeded"}
    diff = rows(shown[ids.RUN_DIFF])
    assert sorted({row[0] for row in diff}) == ["created", "updated", "withdrawn"]
    assert len([row for row in diff if row[0] == "withdrawn"]) == len(DROPPED)
    updated = [row for row in diff if row[0] == "updated"]
    assert {row[4].split(":")[0] for row in updated} == {name for name, _ in EDITS.values()}
    links = [c.href for c in walk(shown[ids.RUN_DIFF]) if isinstance(c, html.A)]
    assert len(links) == len(diff) and all(href.startswith("/events/NGA") for href in links)
    assert ids.RUN_ERROR not in shown


def test_issues_are_counted_by_rule_and_severity(app, engine) -> None:
    summary = run_pipeline(engine, generate_events(150, seed=8), trigger="cli")
    issues = rows(by_id(page_layout(app, summary.run_id))[ids.RUN_ISSUES])
    assert issues and all(row[1] in ("error", "warning") and int(row[2].replace(",", "")) > 0 for row in issues)
    assert len({(row[0], row[1]) for row in issues}) == len(issues)


def test_markup_in_error_and_file_name_shows_as_text(app, engine) -> None:
    summary = run_pipeline(engine, records_a()[:2], trigger="cli")
    with Session(engine) as session:
        session.execute(update(PipelineRun).where(PipelineRun.id == summary.run_id)
                        .values(status="failed", error=HOSTILE, source_file=HOSTILE, diff="{not json"))  # fmt: skip
        bump_version(session)
        session.commit()
    layout = page_layout(app, summary.run_id)
    assert strings(by_id(layout)[ids.RUN_ERROR]) == [f"Error: {HOSTILE}"]
    assert facts(layout)["File"] == HOSTILE
    assert "This run recorded no diff." in strings(layout)  # an unreadable diff is none, not an error
    assert not any(isinstance(c, dcc.Markdown) for c in walk(layout))
    assert "dangerously" not in json.dumps(layout.to_plotly_json(), default=lambda c: c.to_plotly_json())
    assert not [c for c in walk(layout) if isinstance(c, html.A) and "evil" in str(c.href)]


@pytest.mark.parametrize(
    ("run_id", "says"),
    [
        ("999999", "No run has the id 999999."),
        ("<script>alert(1)</script>", "That is not a run id"),
        ("../../etc/passwd", "That is not a run id"),
        ("1" * 11, "That is not a run id"),
        (str(2**31), "That is not a run id"),
        ("0", "That is not a run id"),
        ("-3", "That is not a run id"),
        (None, "That is not a run id"),
        (["1"], "That is not a run id"),
    ],
)
def test_no_such_run_is_a_message(app, engine, run_id: Any, says: str) -> None:
    layout = page_layout(app, run_id)
    assert strings(layout)[0] == "No such run"
    assert strings(by_id(layout)[ids.RUN_ALERT])[0].startswith(says)
    assert "<script>" not in " ".join(strings(layout))


def test_the_database_being_down_is_a_message(tmp_path) -> None:
    from app import create_app

    down = create_app({"APP_ENV": "testing", "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none",
                       "INSTANCE_PATH": str(tmp_path)})  # fmt: skip
    assert strings(page_layout(down, "1"))[-1].startswith("The run could not be read")


def test_the_router_renders_the_run_at_its_own_url(app, engine, routed_client, caplog) -> None:
    summary = run_pipeline(engine, records_a(), trigger="cli")
    with caplog.at_level(logging.INFO):
        answer = post(routed_client, pages_router(app, f"/runs/{summary.run_id}", ""))
        hostile = [post(routed_client, pages_router(app, path, ""))
                   for path in ("/runs/%3Cscript%3E", "/runs/1/2", "/runs/", "/runs/" + "9" * 500)]  # fmt: skip
    assert answer.status_code == 200
    content = json.dumps(answer.get_json())
    assert f"Run {summary.run_id}" in content and "geocode" in content
    for response in hostile:
        assert response.status_code == 200
        assert "No such run" in json.dumps(response.get_json()) or "404" in json.dumps(response.get_json())
    assert errors_logged(caplog) == []


@pytest.mark.parametrize("path", ["/runs/1", "/runs/%3Cscript%3E"])
def test_the_page_is_served(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200 and "_dash-config" in response.get_data(as_text=True)
    assert "<script>" not in response.get_data(as_text=True).split("<body>")[0]


def test_with_an_access_token_set_the_run_needs_it(engine, database_url: str, tmp_path) -> None:
    from app import create_app

    guarded = create_app({"APP_ENV": "testing", "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path),
                          "WS_ACCESS_TOKEN": "s3cret"})  # fmt: skip
    summary = run_pipeline(engine, records_a()[:2], trigger="cli")
    page = next(p for p in dash.page_registry.values() if p["module"] == "dashapp.pages.run")
    with guarded.test_request_context("/"):
        refused = page["layout"](run_id=str(summary.run_id))
    with guarded.test_request_context("/", headers={"Cookie": "nvcd_ws_token=s3cret"}):
        shown = page["layout"](run_id=str(summary.run_id))
    assert strings(refused)[0] == "Sign in to see this run" and "batch" not in " ".join(strings(refused))
    assert strings(shown)[0] == f"Run {summary.run_id}"
