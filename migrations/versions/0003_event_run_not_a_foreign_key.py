"""conflict_events.run_id is no longer a foreign key.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 00:40:00

A first large load on PostgreSQL drops conflict_events' keys and indexes and rebuilds
them after COPY (pipeline.bulk). Dropping this foreign key also took an ACCESS EXCLUSIVE
lock on pipeline_runs until the load committed, so the live monitor, which reads
pipeline_runs, froze for the whole load; keeping the key through the load instead costs
one trigger call per copied row (1M rows: 3.4 s). The column stays, indexed: the id of
the run that last wrote the event, which the loader takes from its own run, committed
before the load begins. Runs are never deleted.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 'fk_conflict_events_run_id_pipeline_runs'


def upgrade() -> None:
    with op.batch_alter_table('conflict_events') as batch_op:
        batch_op.drop_constraint(NAME, type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('conflict_events') as batch_op:
        batch_op.create_foreign_key(NAME, 'pipeline_runs', ['run_id'], ['id'], ondelete='SET NULL')
