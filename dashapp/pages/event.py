"""One event's page, ``/events/<event_id>``: its fields, whether it is live, and every change runs made to it.

Rendered from ``revisions.detail.event_detail`` (the same answer as ``GET /api/v1/events/<event_id>``);
every value is a text component, never markup. An id that is not one, or that no event has, gets a
"no such event" message; a database failure, an alert.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashapp import ids
from dashapp.display import MISSING, Unavailable, read_detail, text, when
from revisions.detail import event_detail
from revisions.queries import is_event_id

dash.register_page(
    __name__, path_template="/events/<event_id>", name="Event", title="Event · NVCD Monitor", hide_nav=True
)

# (label, fields shown together, separator), in reading order.
FACTS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Date", ("event_date",), ""),
    ("Place", ("community", "lga", "state"), ", "),
    ("Region", ("region",), ""),
    ("Location", ("location_text",), ""),
    ("Crisis type", ("crisis_type",), ""),
    ("Action", ("action",), ""),
    ("Actors", ("actor1", "actor2", "actor3"), "; "),
    ("Deaths", ("total_deaths",), ""),
    ("Injured", ("injured",), ""),
    ("Kidnapped", ("kidnapped",), ""),
    ("Displaced", ("displaced",), ""),
    ("Total casualties", ("total_casualties",), ""),
    ("Description", ("description",), ""),
    ("Verification", ("verification",), ""),
    ("Source", ("source",), ""),
    ("Source as exported", ("source_raw",), ""),
    ("Source URL", ("source_url",), ""),
    ("Geocoded to", ("geo_precision", "geo_method"), ", "),
    ("Dataset", ("dataset",), ""),
    ("Last written by run", ("run_id",), ""),
)


def facts(event: dict[str, Any]) -> list[tuple[str, str]]:
    """Return the event's facts as (label, text), in reading order."""
    shown = [
        (label, separator.join(text(event[name]) for name in names if event[name] not in (None, "")) or MISSING)
        for label, names, separator in FACTS
    ]
    return [*shown, ("Validation", f"{event['error_count']} errors, {event['warning_count']} warnings")]


def status_line(event: dict[str, Any]) -> str:
    """Say whether the event is live, or which run withdrew it and when."""
    if event["status"] == "live":
        return "Live: in the current data."
    return (
        f"Withdrawn by run {event['withdrawn_run_id']} at {when(event['withdrawn_at'])}: "
        "a snapshot import no longer held it. Trends and the events list leave it out."
    )


def field_changes(fields: dict[str, list[Any]] | None) -> html.Ul | str:
    """List an update's fields as "field: old → new"."""
    if not fields:
        return MISSING
    return html.Ul(
        [html.Li(f"{name}: {text(old)} → {text(new)}") for name, (old, new) in sorted(fields.items())],
        className="event-fields",
    )


def revision_row(change: dict[str, Any]) -> html.Tr:
    """Show one change: the run, when, what, and an update's fields."""
    cells = (text(change["run_id"]), when(change["at"]), change["change"], field_changes(change["fields"]))
    return html.Tr([html.Td(cell) for cell in cells])


def revisions_table(revisions: list[dict[str, Any]]) -> html.Table:
    """Tabulate the event's changes, oldest first."""
    head = html.Thead(html.Tr([html.Th(label, scope="col") for label in ("Run", "When", "Change", "Fields")]))
    body = html.Tbody([revision_row(change) for change in revisions])
    return html.Table([head, body], id=ids.EVENT_REVISIONS, className="event-revisions")


def event_view(event: dict[str, Any]) -> html.Div:
    """Lay out one event: heading, status, facts, revisions."""
    terms = [part for label, value in facts(event) for part in (html.Dt(label), html.Dd(value))]
    return html.Div(
        [
            html.H1(f"Event {event['event_id']}"),
            html.P(status_line(event), id=ids.EVENT_STATUS, className=f"event-status event-status-{event['status']}"),
            html.Dl(terms, id=ids.EVENT_FACTS, className="event-facts"),
            html.H2("Revisions"),
            html.P("Every change a pipeline run made to this event, oldest first.", className="event-note"),
            revisions_table(event["revisions"]),
        ],
        className="event-page",
    )


def not_found(message: str) -> html.Div:
    """Say there is no event to show, and why."""
    return html.Div(
        [html.H1("No such event"), html.P(message, id=ids.EVENT_ALERT, role="alert")], className="event-page"
    )


def layout(event_id: str | None = None, **_query: Any) -> html.Div:
    """Render the event with public id ``event_id``."""
    if not is_event_id(event_id):
        return not_found("That is not an event id (letters, digits and . _ : - only, at most 64 characters).")
    event = read_detail(lambda session: event_detail(session, event_id), "event")
    if isinstance(event, Unavailable):
        return not_found("The event could not be read: the database is unavailable. Try again shortly.")
    if event is None:
        return not_found(f"No event has the id {event_id}.")
    return event_view(event)
