"""One event by its public id with its revisions, as the API answers and the event page shows it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from revisions.queries import event_select, is_event_id, revisions_select
from revisions.shapes import event_dict, revision


def event_detail(session: Session, event_id: str) -> dict[str, Any] | None:
    """Return the event's fields and its revisions (oldest first); None when no event has this id."""
    if not is_event_id(event_id):
        return None
    event = session.scalars(event_select(event_id)).first()
    if event is None:
        return None
    changes = session.scalars(revisions_select(event.id))
    return {**event_dict(event), "revisions": [revision(change) for change in changes]}
