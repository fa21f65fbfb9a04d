"""Runs as durable jobs: queued and cancelled runs, feed runs, heartbeats, the job's options.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 23:00:00

A run is recorded when its job is queued (``queued``) and ends ``succeeded``, ``failed`` or
``cancelled``. ``heartbeat_at`` is written every few seconds by the process running it, so a run
whose process died is found and failed (``pipeline.sweep``). ``options`` keeps what the job needs
to run again after a worker died (JSON: dataset, flags, sheet, the stored input's kind);
``attempts`` counts those tries; ``cancel_requested`` asks a running job to stop and roll back.
``run_inputs`` holds a queued run's input (an upload, a batch) until the run has ended.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES_BEFORE = "status IN ('pending', 'running', 'succeeded', 'failed')"
STATUSES = "status IN ('pending', 'queued', 'running', 'succeeded', 'failed', 'cancelled')"
TRIGGERS_BEFORE = "trigger IN ('cli', 'api', 'replay')"
TRIGGERS = "trigger IN ('cli', 'api', 'feed', 'replay')"


def upgrade() -> None:
    stamp = sa.DateTime(timezone=True)
    with op.batch_alter_table('pipeline_runs') as batch_op:
        batch_op.drop_constraint(op.f('ck_pipeline_runs_status'), type_='check')
        batch_op.drop_constraint(op.f('ck_pipeline_runs_trigger'), type_='check')
        batch_op.create_check_constraint('status', STATUSES)
        batch_op.create_check_constraint('trigger', TRIGGERS)
        batch_op.add_column(sa.Column('heartbeat_at', stamp, nullable=True))
        batch_op.add_column(sa.Column('cancel_requested', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('options', sa.Text(), nullable=True))
    with op.batch_alter_table('stage_runs') as batch_op:
        batch_op.drop_constraint(op.f('ck_stage_runs_status'), type_='check')
        batch_op.create_check_constraint('status', STATUSES)
    op.create_index('ix_pipeline_runs_finished_at', 'pipeline_runs', ['finished_at'])
    op.create_table(
        'run_inputs',
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(512), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', stamp, nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['pipeline_runs.id'], name=op.f('fk_run_inputs_run_id_pipeline_runs'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('run_id', name=op.f('pk_run_inputs')),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table('run_inputs')
    op.drop_index('ix_pipeline_runs_finished_at', table_name='pipeline_runs')
    op.execute("UPDATE pipeline_runs SET status = 'failed' WHERE status IN ('queued', 'cancelled')")
    op.execute("UPDATE pipeline_runs SET trigger = 'api' WHERE trigger = 'feed'")
    op.execute("UPDATE stage_runs SET status = 'failed' WHERE status IN ('queued', 'cancelled')")
    with op.batch_alter_table('stage_runs') as batch_op:
        batch_op.drop_constraint(op.f('ck_stage_runs_status'), type_='check')
        batch_op.create_check_constraint('status', STATUSES_BEFORE)
    with op.batch_alter_table('pipeline_runs') as batch_op:
        batch_op.drop_constraint(op.f('ck_pipeline_runs_status'), type_='check')
        batch_op.drop_constraint(op.f('ck_pipeline_runs_trigger'), type_='check')
        batch_op.create_check_constraint('status', STATUSES_BEFORE)
        batch_op.create_check_constraint('trigger', TRIGGERS_BEFORE)
        for name in ('options', 'attempts', 'cancel_requested', 'heartbeat_at'):
            batch_op.drop_column(name)
