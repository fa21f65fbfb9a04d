"""One run's page, ``/runs/<run_id>``: what it was, its stages, its issues by rule and what it changed.

Rendered from ``status.runs.run_detail`` (the query the runs API shares); every value is a text
component, never markup, and only a valid public event id becomes a link. With WS_ACCESS_TOKEN set it
needs the token, as the live snapshot does (the run's error and file are part of it). A path value that is not a
run id, or that no run has, gets a "no such run" message; a database failure, an alert.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import dash
from dash import html
from flask import current_app

from api.access import SIGN_IN_PATH, token_ok
from dashapp import ids
from dashapp.display import MISSING, Unavailable, duration, read_detail, text, when
from revisions.queries import is_event_id
from status.runs import DIFF_KINDS, RUN_ID_MAX, parse_run_id, run_detail

dash.register_page(__name__, path_template="/runs/<run_id>", name="Run", title="Run · NVCD Monitor", hide_nav=True)

ISSUES_NOTE = "Issues found by this run that are still stored (a later run that rewrites an event replaces them)."
SAMPLE_KINDS = tuple(kind for kind in DIFF_KINDS if kind != "unchanged")


def mode_text(run: dict[str, Any]) -> str:
    """Say how the run treated its dataset, as the monitor panel does."""
    mode = f"{'snapshot of' if run['mode'] == 'snapshot' else 'import into'} {run['dataset']}"
    return f"{mode} · dry run (nothing written)" if run["dry_run"] else mode


def status_line(run: dict[str, Any]) -> str:
    """Sum the run up in one line: status, trigger, mode."""
    return f"{run['status']} · {run['trigger']} · {mode_text(run)}"


def facts(run: dict[str, Any]) -> list[tuple[str, str]]:
    """Return the run's facts as (label, text), in reading order."""
    changes = " / ".join(text(run[name]) for name in ("events_new", "events_updated", "events_withdrawn"))
    return [
        ("Status", text(run["status"])),
        ("Trigger", text(run["trigger"])),
        ("Dataset", text(run["dataset"])),
        ("Mode", mode_text(run)),
        ("Dry run", text(run["dry_run"])),
        ("File", text(run["source_file"])),
        ("Started", when(run["started_at"])),
        ("Finished", when(run["finished_at"]) if run["finished_at"] else "not finished"),
        ("Duration", duration(run["duration_s"])),
        ("Records in / out", f"{text(run['items_in'])} / {text(run['items_out'])}"),
        ("Created / updated / withdrawn", changes),
        ("Unchanged, restored", f"{text(run['events_unchanged'])}, {text(run['events_restored'])}"),
        ("Skipped rows, duplicates in batch", f"{text(run['rows_skipped'])}, {text(run['duplicates_in_batch'])}"),
        ("Attempts", text(run["attempts"])),
    ]


def table(table_id: str, headers: tuple[str, ...], rows: list[list[Any]]) -> html.Table:
    """Lay out a plain table of text (or link) cells."""
    head = html.Thead(html.Tr([html.Th(label, scope="col") for label in headers]))
    body = html.Tbody([html.Tr([html.Td(cell) for cell in row]) for row in rows])
    return html.Table([head, body], id=table_id, className="run-table")


def stages_table(stages: list[dict[str, Any]]) -> html.Table:
    """Tabulate the stages in pipeline order."""
    rows = [[s["name"], s["status"], text(s["items_in"]), text(s["items_out"]), duration(s["duration_s"]),
             text(s["error"])] for s in stages]  # fmt: skip
    return table(ids.RUN_STAGES, ("Stage", "Status", "Items in", "Items out", "Duration", "Error"), rows)


def issues_section(issues: list[dict[str, Any]], dry_run: bool) -> list[Any]:
    """Count the run's validation issues by rule and severity (a dry run writes none)."""
    if not issues:
        why = "A dry run writes no issues." if dry_run else "No validation issue of this run is stored."
        return [html.P(why, id=ids.RUN_ISSUES, className="run-note")]
    rows = [[i["rule"], i["severity"], f"{i['count']:,}"] for i in issues]
    return [
        html.P(ISSUES_NOTE, className="run-note"),
        table(ids.RUN_ISSUES, ("Rule", "Severity", "Issues"), rows),
    ]


def event_link(event_id: str | None) -> html.A | str:
    """Link a valid public event id to its page; show anything else as text."""
    if not is_event_id(event_id):
        return text(event_id)
    return html.A(event_id, href=dash.get_relative_path(f"/events/{quote(event_id, safe='')}"))


def changed_fields(fields: dict[str, list[Any]] | None) -> html.Ul | str:
    """List an update's fields as "field: old → new"."""
    if not fields:
        return MISSING
    return html.Ul([html.Li(f"{name}: {text(old)} → {text(new)}") for name, (old, new) in sorted(fields.items())],
                   className="run-fields")  # fmt: skip


def diff_section(diff: dict[str, Any] | None) -> list[Any]:
    """Show the diff's counts, whether it would have been refused, and its samples."""
    if diff is None:
        return [html.P("This run recorded no diff.", id=ids.RUN_DIFF, className="run-note")]
    counts = ", ".join(f"{kind} {diff['counts'][kind]:,}" for kind in DIFF_KINDS)
    parts: list[Any] = [html.P(counts, className="run-diff-counts")]
    if diff["refused"]:
        parts.append(html.P(f"A real run would refuse: {diff['refused']}", className="run-error", role="alert"))
    rows = [[kind, event_link(s["event_id"]), text(s["date"]), text(s["state"]), changed_fields(s.get("fields"))]
            for kind in SAMPLE_KINDS for s in diff["samples"][kind]]  # fmt: skip
    parts.append(html.P("A sample of each kind of change (at most 10 each).", className="run-note"))
    parts.append(table(ids.RUN_DIFF, ("Change", "Event", "Date", "State", "Fields"), rows))
    return parts


def run_view(run: dict[str, Any]) -> html.Div:
    """Lay out one run: heading, status, facts, error, stages, issues, diff."""
    terms = [part for label, value in facts(run) for part in (html.Dt(label), html.Dd(value))]
    error = [html.P(f"Error: {run['error']}", id=ids.RUN_ERROR, className="run-error", role="alert")]
    return html.Div(
        [
            html.H1(f"Run {run['id']}"),
            html.P(status_line(run), id=ids.RUN_STATUS, className=f"run-status run-status-{run['status']}"),
            html.Dl(terms, id=ids.RUN_FACTS, className="run-facts"),
            *(error if run["error"] else []),
            html.H2("Stages"),
            stages_table(run["stages"]),
            html.H2("Validation issues by rule"),
            *issues_section(run["issues"], run["dry_run"]),
            html.H2("What it changed"),
            *diff_section(run["diff"]),
            html.P(html.A("Back to the live monitor", href=dash.get_relative_path("/monitor")), className="run-back"),
        ],
        className="run-page",
    )


def not_found(message: str, title: str = "No such run") -> html.Div:
    """Say there is no run to show, and why."""
    return html.Div([html.H1(title), html.P(message, id=ids.RUN_ALERT, role="alert")], className="run-page")


def layout(run_id: str | None = None, **_query: Any) -> html.Div:
    """Render the run with id ``run_id``."""
    # A run's facts (its error, its file) are part of the live status: the same token guards both.
    if not token_ok(current_app.config.get("WS_ACCESS_TOKEN", "")):
        message = f"Runs are part of the live pipeline status, which needs the access token: sign in at {SIGN_IN_PATH}."
        return not_found(message, title="Sign in to see this run")
    wanted = parse_run_id(run_id)
    if wanted is None:
        return not_found(f"That is not a run id (a whole number from 1 to {RUN_ID_MAX:,}).")
    run = read_detail(lambda session: run_detail(session, wanted), "run")
    if isinstance(run, Unavailable):
        return not_found("The run could not be read: the database is unavailable. Try again shortly.")
    if run is None:
        return not_found(f"No run has the id {wanted}.")
    return run_view(run)
