"""Which events the monitor counts: live ones, and the generated demo ones only while nothing else is live.

Live: not withdrawn by a snapshot import (``withdrawn_run_id IS NULL``). A deployment seeded with
generated events (``make run``) shows them until a real export is loaded; from then on the totals,
source health and anomalies describe the real data alone.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.orm import Session

from models import DEMO_DATASET, ConflictEvent

LIVE = ConflictEvent.withdrawn_run_id.is_(None)


def real_event_query() -> Select[int]:
    """Select one live event outside the demo dataset, if there is any."""
    return select(ConflictEvent.id).where(LIVE, ConflictEvent.dataset != DEMO_DATASET).limit(1)


def counted_events(session: Session) -> ColumnElement[bool]:
    """Return the condition on conflict_events for the events the monitor counts."""
    if session.scalar(real_event_query()) is not None:
        return and_(LIVE, ConflictEvent.dataset != DEMO_DATASET)
    return LIVE
