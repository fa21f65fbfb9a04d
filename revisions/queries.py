"""Select builders for the changes feed, one event by its public id, and that event's revisions."""

from __future__ import annotations

import re
from typing import TypeGuard

from sqlalchemy import Select, select

from models import DATASET_NAME_PATTERN, ConflictEvent, EventChange

# A public event id as the API and the event page accept it (models.event: up to 64 characters).
EVENT_ID_PATTERN = "^[A-Za-z0-9._:-]{1,64}$"
DATASET_PATTERN = DATASET_NAME_PATTERN


def is_event_id(value: object) -> TypeGuard[str]:
    """Tell whether ``value`` can be a public event id (checked before it reaches a query)."""
    return isinstance(value, str) and re.fullmatch(EVENT_ID_PATTERN, value) is not None


def changes_select(after_id: int, limit: int, dataset: str | None = None) -> Select[EventChange]:
    """Select up to ``limit`` changes after the change ``after_id``, in commit (id) order."""
    stmt = select(EventChange).where(EventChange.id > after_id)
    if dataset is not None:
        stmt = stmt.where(EventChange.dataset == dataset)
    return stmt.order_by(EventChange.id).limit(limit)


def event_select(event_id: str) -> Select[ConflictEvent]:
    """Select the event with public id ``event_id``, withdrawn or not."""
    return select(ConflictEvent).where(ConflictEvent.event_id == event_id)


def revisions_select(event_pk: int) -> Select[EventChange]:
    """Select every change to the event with primary key ``event_pk``, oldest first."""
    return select(EventChange).where(EventChange.event_pk == event_pk).order_by(EventChange.id)
