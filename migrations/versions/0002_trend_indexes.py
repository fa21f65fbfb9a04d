"""Trend indexes: event dates covering the quality tallies (PostgreSQL), and flagged events by date.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 22:10:00

On PostgreSQL ix_conflict_events_event_date carries the few columns the broad trend
aggregates read (rates by source/state, precision mix, quality context, failures), so
they run as index-only scans of ~60 MB instead of reading the whole table (~430 MB per
million events). SQLite has no INCLUDE: its index stays as it was. The small partial
ix_conflict_events_flagged lists only events with issues or imprecise geocoding, so
the drill-down grid finds the newest of them without walking every event.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERED = ['id', 'state', 'source', 'geo_precision', 'error_count', 'is_derived']
FLAGGED = "error_count > 0 OR warning_count > 0 OR geo_precision IN ('state', 'none')"


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_conflict_events_event_date', table_name='conflict_events')
        op.create_index('ix_conflict_events_event_date', 'conflict_events', ['event_date'],
                        postgresql_include=COVERED)
    op.create_index('ix_conflict_events_flagged', 'conflict_events', ['event_date'],
                    postgresql_where=sa.text(FLAGGED), sqlite_where=sa.text(FLAGGED))


def downgrade() -> None:
    op.drop_index('ix_conflict_events_flagged', table_name='conflict_events')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_conflict_events_event_date', table_name='conflict_events')
        op.create_index('ix_conflict_events_event_date', 'conflict_events', ['event_date'])
