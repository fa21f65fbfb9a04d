"""A living dataset: public event ids, datasets, withdrawals, raw source spellings, revisions, re-keyed identity.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 14:30:00

Every stored event gets its public id (``NGA<id>``) and a dataset: ``demo`` for the events of
the demo's runs (replay, and the seed's ``demo-seed.csv``), ``nvcd`` for the rest. The
fingerprint stops being unique (two incidents of one report share it; the reconciler tells them
apart) and is re-computed, with the content hash and the source's canonical name, by
``pipeline.rekey``, so a re-import of the export already stored adds, updates and withdraws
nothing. Each stored event gets a ``created`` change, so the changes feed starts complete.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERED_BEFORE = ['id', 'state', 'source', 'geo_precision', 'error_count', 'is_derived']
LIVE_FILTER = ['dataset', 'withdrawn_run_id']
COVERED = [*COVERED_BEFORE, *LIVE_FILTER]
BY_NAME = {'ix_conflict_events_state_date': ['state', 'event_date'],
           'ix_conflict_events_crisis_type_date': ['crisis_type', 'event_date'],
           'ix_conflict_events_source_date': ['source', 'event_date']}
DEMO_RUNS = "SELECT id FROM pipeline_runs WHERE trigger = 'replay' OR source_file = 'demo-seed.csv'"


def _text(length: int, postgres: bool) -> sa.String:
    return sa.String(length, collation='C') if postgres else sa.String(length)


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    stamp = sa.DateTime(timezone=True)
    op.create_table('event_changes',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('event_pk', sa.Integer(), nullable=False),
        sa.Column('event_id', _text(64, postgres), nullable=False),
        sa.Column('dataset', _text(32, postgres), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('change', sa.String(length=16), nullable=False),
        sa.Column('at', stamp, nullable=False),
        sa.Column('fields', sa.Text(), nullable=True),
        sa.CheckConstraint("change IN ('created', 'updated', 'withdrawn', 'restored')",
                           name=op.f('ck_event_changes_change')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_event_changes')),
    )  # fmt: skip
    op.create_index('ix_event_changes_event_pk', 'event_changes', ['event_pk', 'id'])
    with op.batch_alter_table('pipeline_runs') as batch_op:
        batch_op.add_column(sa.Column('dataset', sa.String(32), server_default='nvcd', nullable=False))
        batch_op.add_column(sa.Column('mode', sa.String(16), server_default='import', nullable=False))
        batch_op.add_column(sa.Column('dry_run', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('events_withdrawn', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('events_restored', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('diff', sa.Text(), nullable=True))
        batch_op.create_check_constraint('mode', "mode IN ('import', 'snapshot')")
    op.execute(f"UPDATE pipeline_runs SET dataset = 'demo' WHERE id IN ({DEMO_RUNS})")
    with op.batch_alter_table('conflict_events') as batch_op:
        batch_op.add_column(sa.Column('event_id', _text(64, postgres), nullable=True))
        batch_op.add_column(sa.Column('dataset', _text(32, postgres), server_default='nvcd', nullable=False))
        batch_op.add_column(sa.Column('withdrawn_run_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', stamp, nullable=True))
        batch_op.add_column(sa.Column('source_raw', sa.String(256), nullable=True))
    op.execute("UPDATE conflict_events SET event_id = 'NGA' || CAST(id AS TEXT), source_raw = source")
    op.execute(f"UPDATE conflict_events SET dataset = 'demo' WHERE run_id IN ({DEMO_RUNS})")
    with op.batch_alter_table('conflict_events') as batch_op:
        batch_op.alter_column('event_id', existing_type=_text(64, postgres), nullable=False)
        batch_op.drop_constraint('uq_conflict_events_fingerprint', type_='unique')
        batch_op.create_unique_constraint(op.f('uq_conflict_events_event_id'), ['event_id'])
        batch_op.create_index('ix_conflict_events_dataset_fingerprint', ['dataset', 'fingerprint'])
    if postgres:
        op.drop_index('ix_conflict_events_event_date', table_name='conflict_events')
        op.create_index('ix_conflict_events_event_date', 'conflict_events', ['event_date'], postgresql_include=COVERED)
        for name, columns in BY_NAME.items():  # index-only scans of series and counts by name, live filter included
            op.drop_index(name, table_name='conflict_events')
            op.create_index(name, 'conflict_events', columns, postgresql_include=LIVE_FILTER)
    from pipeline.rekey import rekey  # noqa: PLC0415 - the pipeline's own identity, as of this release

    rekey(Session(bind=bind))
    op.execute("INSERT INTO event_changes (event_pk, event_id, dataset, run_id, change, at) "
               "SELECT id, event_id, dataset, COALESCE(run_id, 0), 'created', created_at FROM conflict_events "
               "ORDER BY id")  # fmt: skip


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    if postgres:
        op.drop_index('ix_conflict_events_event_date', table_name='conflict_events')
        op.create_index('ix_conflict_events_event_date', 'conflict_events', ['event_date'],
                        postgresql_include=COVERED_BEFORE)
        for name, columns in BY_NAME.items():
            op.drop_index(name, table_name='conflict_events')
            op.create_index(name, 'conflict_events', columns)
    # Withdrawn events go with the columns that tell them apart; fingerprints must be unique again
    # (the release before told same-identity events apart by an occurrence number in theirs).
    op.execute("DELETE FROM conflict_events WHERE withdrawn_run_id IS NOT NULL")
    op.execute("UPDATE conflict_events SET fingerprint = fingerprint || '#' || CAST(id AS TEXT) WHERE id NOT IN "
               "(SELECT min(id) FROM conflict_events GROUP BY fingerprint)")  # fmt: skip
    with op.batch_alter_table('conflict_events') as batch_op:
        batch_op.drop_index('ix_conflict_events_dataset_fingerprint')
        batch_op.drop_constraint(op.f('uq_conflict_events_event_id'), type_='unique')
        batch_op.create_unique_constraint('uq_conflict_events_fingerprint', ['fingerprint'])
        for name in ('source_raw', 'withdrawn_at', 'withdrawn_run_id', 'dataset', 'event_id'):
            batch_op.drop_column(name)
    with op.batch_alter_table('pipeline_runs') as batch_op:
        batch_op.drop_constraint(op.f('ck_pipeline_runs_mode'), type_='check')
        for name in ('diff', 'events_restored', 'events_withdrawn', 'dry_run', 'mode', 'dataset'):
            batch_op.drop_column(name)
    op.drop_index('ix_event_changes_event_pk', table_name='event_changes')
    op.drop_table('event_changes')
