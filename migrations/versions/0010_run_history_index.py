"""Run history: an index on (trigger, finished_at), so the monitor's runs by finish stay cheap.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 23:30:00

The monitor lists the runs that finished last per trigger (``status.queries.strip_query``); the
demo's replay adds a run every few seconds, and without this index finding the last import runs
behind hundreds of thousands of replay runs scanned them all.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_pipeline_runs_trigger_finished_at', 'pipeline_runs', ['trigger', 'finished_at'])


def downgrade() -> None:
    op.drop_index('ix_pipeline_runs_trigger_finished_at', table_name='pipeline_runs')
