"""The run history in a real browser: the strip, the replay control kept in the URL, a failed run's alert
with hostile text shown as text, and a click through to the run's page with its stages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from models import DEMO_DATASET, PipelineRun, bump_version, utcnow
from pipeline.demo.generate import generate_events
from pipeline.load import Target
from pipeline.runner import run_pipeline
from pipeline.stages import STAGE_NAMES
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

HOSTILE_ERROR = '<img src=x onerror="window.__pwned=1"><b>bold</b> header missing'
HOSTILE_FILE = '<a href="https://evil.example">upload.csv</a>'


def record_history(engine: Engine) -> dict[str, int]:
    """A CLI import that started an hour ago and finished a minute ago, a replay that finished after it,
    and an API upload that failed before both, with markup in its error and file name."""
    now = utcnow()
    imported = run_pipeline(engine, generate_events(60, seed=21), trigger="cli", filename="export.csv")
    cli = imported.run_id
    replay = run_pipeline(engine, generate_events(8, seed=22), trigger="replay", filename="replay",
                          target=Target(dataset=DEMO_DATASET)).run_id  # fmt: skip
    with Session(engine) as session:
        times = {cli: (now - timedelta(hours=1), now - timedelta(minutes=1)),
                 replay: (now - timedelta(seconds=40), now - timedelta(seconds=39))}  # fmt: skip
        for run_id, (started, finished) in times.items():
            session.execute(update(PipelineRun).where(PipelineRun.id == run_id)
                            .values(started_at=started, finished_at=finished))  # fmt: skip
        half_hour_ago = now - timedelta(minutes=30)
        failed = PipelineRun(status="failed", trigger="api", source_file=HOSTILE_FILE, error=HOSTILE_ERROR,
                             started_at=half_hour_ago, finished_at=half_hour_ago + timedelta(seconds=5))  # fmt: skip
        session.add(failed)
        bump_version(session)
        session.commit()
        return {"cli": cli, "replay": replay, "failed": failed.id, "created": imported.events_new}


def strip_ids(page) -> list[int]:  # a playwright Page
    return [int(i) for i in page.eval_on_selector_all("#monitor-body .monitor-strip tr[data-run-id]",
                                                      "rows => rows.map(r => r.dataset.runId)")]  # fmt: skip


def last_run_line(page) -> str:  # a playwright Page
    return page.locator("#monitor-body section[aria-label='Last finished run'] dd").first.inner_text()


def test_strip_replay_control_failed_alert_and_click_through(server_factory, open_page, engine) -> None:
    runs = record_history(engine)
    server = server_factory()
    watch = open_page(server.url)
    page = watch.page
    watch.wait_for_state("live")
    page.wait_for_selector("#monitor-body .monitor-strip tr[data-run-id]", timeout=10000)

    # Replay hidden by default: imports only, by finish; the long CLI import is the last finished run.
    assert strip_ids(page) == [runs["cli"], runs["failed"]]
    assert last_run_line(page) == f"#{runs['cli']} (cli)"
    # The failed upload's alert names the run and its error, as text, and links to the run.
    alerts = page.inner_text("#monitor-body section[aria-label='Anomalies and alerts']")
    assert f"Run {runs['failed']} (api run into nvcd, file {HOSTILE_FILE}) failed at " in alerts
    assert HOSTILE_ERROR in alerts and f"Open run #{runs['failed']}" in alerts
    assert page.locator("#monitor-body img, #monitor-body b, #monitor-body a[href*='evil.example']").count() == 0
    assert page.evaluate("() => window.__pwned") is None

    # Include replay: the strip and the last finished run redraw at once, and the URL keeps the choice.
    page.check("#monitor-replay input[value='include']")
    page.wait_for_function(
        "(id) => document.querySelector('#monitor-body .monitor-strip tr[data-run-id]').dataset.runId === String(id)",
        arg=runs["replay"],
    )
    assert strip_ids(page) == [runs["replay"], runs["cli"], runs["failed"]]
    assert last_run_line(page) == f"#{runs['replay']} (replay)"
    assert "replay=include" in page.url and "poll_interval_ms=" in page.url  # the other parameters stay
    screenshot(watch, "monitor-run-history")
    page.reload()
    watch.wait_for_state("live")
    page.wait_for_selector("#monitor-body .monitor-strip tr[data-run-id]", timeout=10000)
    assert page.is_checked("#monitor-replay input[value='include']") and strip_ids(page)[0] == runs["replay"]

    # Click the CLI import in the strip: its page shows every stage, issues by rule and the diff.
    page.click(f"#monitor-body .monitor-strip a[href$='/runs/{runs['cli']}']")
    page.wait_for_selector("#run-stages", timeout=10000)
    assert page.inner_text("h1") == f"Run {runs['cli']}"
    stages = page.eval_on_selector_all("#run-stages tbody tr", "rows => rows.map(r => r.cells[0].textContent)")
    assert stages == list(STAGE_NAMES)
    assert page.locator("#run-stages tbody tr td:nth-child(2)").all_text_contents() == ["succeeded"] * len(STAGE_NAMES)
    assert page.inner_text(".run-diff-counts").startswith(f"created {runs['created']:,}, updated 0, withdrawn 0")
    assert page.locator("#run-diff a[href*='/events/NGA']").count() > 0
    screenshot(watch, "run-page")

    # The failed run's page shows its error and file as text.
    page.goto(f"{server.url}/runs/{runs['failed']}")
    page.wait_for_selector("#run-error", timeout=10000)
    assert page.inner_text("#run-error") == f"Error: {HOSTILE_ERROR}"
    assert HOSTILE_FILE in page.inner_text("#run-facts")
    assert page.locator(".run-page img, .run-page b, .run-page a[href*='evil.example']").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    page.goto(f"{server.url}/runs/999999")
    page.wait_for_selector("#run-alert", timeout=10000)
    assert page.inner_text("h1") == "No such run"
    assert watch.unexpected_errors() == []
