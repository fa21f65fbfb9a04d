"""Scheduled feeds: exports fetched over HTTP(S) on a schedule, with what each last fetch found.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 23:30:00

One row per feed (``feeds add``): its URL, interval, target (dataset, snapshot or not), the
validators of the last export imported (ETag, Last-Modified, the body's SHA-256), and the
outcome and times of its last fetch, which the monitor shows and alerts on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    stamp = sa.DateTime(timezone=True)
    op.create_table('feeds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('url', sa.String(length=2048), nullable=False),
        sa.Column('every_seconds', sa.Integer(), nullable=False),
        sa.Column('snapshot', sa.Boolean(), nullable=False),
        sa.Column('dataset', sa.String(length=32), nullable=False),
        sa.Column('expect_change_seconds', sa.Integer(), nullable=False),
        sa.Column('etag', sa.String(length=512), nullable=True),
        sa.Column('last_modified', sa.String(length=64), nullable=True),
        sa.Column('content_sha256', sa.String(length=64), nullable=True),
        sa.Column('last_fetch_at', stamp, nullable=True),
        sa.Column('last_outcome', sa.String(length=16), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('last_success_at', stamp, nullable=True),
        sa.Column('last_changed_at', stamp, nullable=True),
        sa.Column('next_due_at', stamp, nullable=False),
        sa.Column('last_run_id', sa.Integer(), nullable=True),
        sa.Column('created_at', stamp, nullable=False),
        sa.CheckConstraint("last_outcome IN ('changed', 'unchanged', 'failed')", name=op.f('ck_feeds_last_outcome')),
        sa.CheckConstraint('every_seconds > 0', name=op.f('ck_feeds_every_seconds')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_feeds')),
        sa.UniqueConstraint('name', name=op.f('uq_feeds_name')),
    )  # fmt: skip
    op.create_index('ix_feeds_next_due_at', 'feeds', ['next_due_at'])


def downgrade() -> None:
    op.drop_index('ix_feeds_next_due_at', table_name='feeds')
    op.drop_table('feeds')
