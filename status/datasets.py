"""Which events the monitor counts: live ones, and the generated demo ones only while nothing else is live.

Live: not withdrawn by a snapshot import (``withdrawn_run_id IS NULL``). A deployment seeded with
generated events (``make run``) shows them until a real export is loaded; from then on the totals,
source health and anomalies describe the real data alone. Whether any live non-demo event exists
comes from the per-source counts (``status.event_stats``), so the rule costs no query of its own.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_

from models import DEMO_DATASET, ConflictEvent

LIVE = ConflictEvent.withdrawn_run_id.is_(None)
IS_DEMO = ConflictEvent.dataset == DEMO_DATASET


def counted_events(real_events_live: bool) -> ColumnElement[bool]:
    """Return the condition for the counted events: live, and not demo once a live non-demo event exists."""
    return and_(LIVE, ~IS_DEMO) if real_events_live else LIVE
