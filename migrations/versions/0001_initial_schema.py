"""Initial schema: events, pipeline runs and stages, data quality, validation issues.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 21:02:59.817099
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('pipeline_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('source_file', sa.String(length=512), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('items_in', sa.Integer(), nullable=False),
    sa.Column('items_out', sa.Integer(), nullable=False),
    sa.Column('rows_skipped', sa.Integer(), nullable=False),
    sa.Column('events_new', sa.Integer(), nullable=False),
    sa.Column('events_updated', sa.Integer(), nullable=False),
    sa.Column('events_unchanged', sa.Integer(), nullable=False),
    sa.Column('duplicates_in_batch', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'running', 'succeeded', 'failed')", name=op.f('ck_pipeline_runs_status')),
    sa.CheckConstraint("trigger IN ('cli', 'api', 'replay')", name=op.f('ck_pipeline_runs_trigger')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipeline_runs'))
    )
    with op.batch_alter_table('pipeline_runs', schema=None) as batch_op:
        batch_op.create_index('ix_pipeline_runs_started_at', ['started_at'], unique=False)
        batch_op.create_index('ix_pipeline_runs_status', ['status'], unique=False)

    op.create_table('status_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_version'))
    )
    op.execute("INSERT INTO status_version (id, version, changed_at) VALUES (1, 0, CURRENT_TIMESTAMP)")
    op.create_table('conflict_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=True),
    sa.Column('state', sa.String(length=64), nullable=True),
    sa.Column('lga', sa.String(length=128), nullable=True),
    sa.Column('community', sa.String(length=256), nullable=True),
    sa.Column('location_text', sa.Text(), nullable=True),
    sa.Column('region', sa.String(length=32), nullable=True),
    sa.Column('actor1', sa.String(length=128), nullable=True),
    sa.Column('actor2', sa.String(length=128), nullable=True),
    sa.Column('actor3', sa.String(length=128), nullable=True),
    sa.Column('crisis_type', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=256), nullable=True),
    sa.Column('gsa_casualties', sa.Integer(), nullable=True),
    sa.Column('gsa_casualties_male', sa.Integer(), nullable=True),
    sa.Column('gsa_casualties_female', sa.Integer(), nullable=True),
    sa.Column('civilian_casualties', sa.Integer(), nullable=True),
    sa.Column('civilian_casualties_male', sa.Integer(), nullable=True),
    sa.Column('civilian_casualties_female', sa.Integer(), nullable=True),
    sa.Column('total_deaths', sa.Integer(), nullable=True),
    sa.Column('injured', sa.Integer(), nullable=True),
    sa.Column('injured_male', sa.Integer(), nullable=True),
    sa.Column('injured_female', sa.Integer(), nullable=True),
    sa.Column('total_casualties', sa.Integer(), nullable=True),
    sa.Column('kidnapped', sa.Integer(), nullable=True),
    sa.Column('kidnapped_male', sa.Integer(), nullable=True),
    sa.Column('kidnapped_female', sa.Integer(), nullable=True),
    sa.Column('displaced', sa.Integer(), nullable=True),
    sa.Column('displaced_male', sa.Integer(), nullable=True),
    sa.Column('displaced_female', sa.Integer(), nullable=True),
    sa.Column('derived_fields', sa.String(length=512), nullable=True),
    sa.Column('is_derived', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('verification', sa.Text(), nullable=True),
    sa.Column('confirmation_level', sa.String(length=128), nullable=True),
    sa.Column('source', sa.String(length=128), nullable=True),
    sa.Column('source_url', sa.Text(), nullable=True),
    sa.Column('other_sources', sa.Text(), nullable=True),
    sa.Column('data_source', sa.String(length=16), nullable=True),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('geo_precision', sa.String(length=16), nullable=False),
    sa.Column('geo_method', sa.String(length=16), nullable=True),
    sa.Column('geo_confidence', sa.Double(), nullable=True),
    sa.Column('state_code', sa.String(length=16), nullable=True),
    sa.Column('lga_code', sa.String(length=32), nullable=True),
    sa.Column('ward_code', sa.String(length=32), nullable=True),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('warning_count', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('source_file', sa.String(length=512), nullable=True),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['pipeline_runs.id'], name=op.f('fk_conflict_events_run_id_pipeline_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conflict_events')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_conflict_events_fingerprint'))
    )
    with op.batch_alter_table('conflict_events', schema=None) as batch_op:
        batch_op.create_index('ix_conflict_events_crisis_type_date', ['crisis_type', 'event_date'], unique=False)
        batch_op.create_index('ix_conflict_events_event_date', ['event_date'], unique=False)
        batch_op.create_index('ix_conflict_events_lga', ['state', 'lga'], unique=False)
        batch_op.create_index('ix_conflict_events_run_id', ['run_id'], unique=False)
        batch_op.create_index('ix_conflict_events_source_date', ['source', 'event_date'], unique=False)
        batch_op.create_index('ix_conflict_events_state_date', ['state', 'event_date'], unique=False)

    op.create_table('data_quality_metrics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('geocoding_attempts', sa.Integer(), nullable=False),
    sa.Column('geocoding_successes', sa.Integer(), nullable=False),
    sa.Column('geocoding_success_rate', sa.Double(), nullable=False),
    sa.Column('validation_attempts', sa.Integer(), nullable=False),
    sa.Column('validation_passes', sa.Integer(), nullable=False),
    sa.Column('validation_pass_rate', sa.Double(), nullable=False),
    sa.Column('metric_type', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=128), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('completeness', sa.Double(), nullable=True),
    sa.Column('completeness_by_field', sa.JSON(), nullable=True),
    sa.Column('precision_ward', sa.Integer(), nullable=False),
    sa.Column('precision_lga', sa.Integer(), nullable=False),
    sa.Column('precision_state', sa.Integer(), nullable=False),
    sa.Column('precision_none', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('derived_counts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("metric_type IN ('aggregate', 'source', 'hourly')", name=op.f('ck_data_quality_metrics_metric_type')),
    sa.CheckConstraint("status IN ('healthy', 'warning', 'error')", name=op.f('ck_data_quality_metrics_status')),
    sa.ForeignKeyConstraint(['run_id'], ['pipeline_runs.id'], name=op.f('fk_data_quality_metrics_run_id_pipeline_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_quality_metrics'))
    )
    with op.batch_alter_table('data_quality_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_data_quality_metrics_metric_type', ['metric_type'], unique=False)
        batch_op.create_index('ix_data_quality_metrics_recent_aggregate', ['metric_type', sa.literal_column('timestamp DESC')], unique=False)
        batch_op.create_index('ix_data_quality_metrics_run_id', ['run_id'], unique=False)
        batch_op.create_index('ix_data_quality_metrics_source', ['source'], unique=False)
        batch_op.create_index('ix_data_quality_metrics_timestamp_desc', [sa.literal_column('timestamp DESC')], unique=False)

    op.create_table('stage_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('items_in', sa.Integer(), nullable=False),
    sa.Column('items_out', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'running', 'succeeded', 'failed')", name=op.f('ck_stage_runs_status')),
    sa.ForeignKeyConstraint(['run_id'], ['pipeline_runs.id'], name=op.f('fk_stage_runs_run_id_pipeline_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_runs'))
    )
    with op.batch_alter_table('stage_runs', schema=None) as batch_op:
        batch_op.create_index('ix_stage_runs_run_id', ['run_id'], unique=False)

    op.create_table('validation_issues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("severity IN ('error', 'warning')", name=op.f('ck_validation_issues_severity')),
    sa.ForeignKeyConstraint(['event_id'], ['conflict_events.id'], name=op.f('fk_validation_issues_event_id_conflict_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['pipeline_runs.id'], name=op.f('fk_validation_issues_run_id_pipeline_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_validation_issues'))
    )
    with op.batch_alter_table('validation_issues', schema=None) as batch_op:
        batch_op.create_index('ix_validation_issues_event_id', ['event_id'], unique=False)
        batch_op.create_index('ix_validation_issues_rule', ['rule', 'severity'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('validation_issues', schema=None) as batch_op:
        batch_op.drop_index('ix_validation_issues_rule')
        batch_op.drop_index('ix_validation_issues_event_id')

    op.drop_table('validation_issues')
    with op.batch_alter_table('stage_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_stage_runs_run_id')

    op.drop_table('stage_runs')
    with op.batch_alter_table('data_quality_metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_data_quality_metrics_timestamp_desc')
        batch_op.drop_index('ix_data_quality_metrics_source')
        batch_op.drop_index('ix_data_quality_metrics_run_id')
        batch_op.drop_index('ix_data_quality_metrics_recent_aggregate')
        batch_op.drop_index('ix_data_quality_metrics_metric_type')

    op.drop_table('data_quality_metrics')
    with op.batch_alter_table('conflict_events', schema=None) as batch_op:
        batch_op.drop_index('ix_conflict_events_state_date')
        batch_op.drop_index('ix_conflict_events_source_date')
        batch_op.drop_index('ix_conflict_events_run_id')
        batch_op.drop_index('ix_conflict_events_lga')
        batch_op.drop_index('ix_conflict_events_event_date')
        batch_op.drop_index('ix_conflict_events_crisis_type_date')

    op.drop_table('conflict_events')
    op.drop_table('status_version')
    with op.batch_alter_table('pipeline_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_pipeline_runs_status')
        batch_op.drop_index('ix_pipeline_runs_started_at')

    op.drop_table('pipeline_runs')
