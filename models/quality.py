"""Data-quality metrics per run and the validation failures behind them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Timestamps, utcnow
from models.pipeline import _in

METRIC_TYPES = ("aggregate", "source", "hourly")
METRIC_STATUSES = ("healthy", "warning", "error")
SEVERITIES = ("error", "warning")


class DataQualityMetric(Timestamps, Base):
    __tablename__ = "data_quality_metrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    timestamp: Mapped[datetime] = mapped_column(default=utcnow)
    geocoding_attempts: Mapped[int] = mapped_column(default=0)
    geocoding_successes: Mapped[int] = mapped_column(default=0)
    geocoding_success_rate: Mapped[float] = mapped_column(default=0.0)
    validation_attempts: Mapped[int] = mapped_column(default=0)
    validation_passes: Mapped[int] = mapped_column(default=0)
    validation_pass_rate: Mapped[float] = mapped_column(default=0.0)
    metric_type: Mapped[str] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))

    # What the dashboards need beyond the original columns.
    run_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="SET NULL"))
    events: Mapped[int] = mapped_column(default=0)
    completeness: Mapped[float | None]  # mean share of key fields filled, 0..1
    completeness_by_field: Mapped[dict | None] = mapped_column(JSON)
    precision_ward: Mapped[int] = mapped_column(default=0)
    precision_lga: Mapped[int] = mapped_column(default=0)
    precision_state: Mapped[int] = mapped_column(default=0)
    precision_none: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    derived_counts: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        CheckConstraint(_in("metric_type", METRIC_TYPES), name="metric_type"),
        CheckConstraint(_in("status", METRIC_STATUSES), name="status"),
        Index("ix_data_quality_metrics_timestamp_desc", timestamp.desc()),
        Index("ix_data_quality_metrics_source", "source"),
        Index("ix_data_quality_metrics_metric_type", "metric_type"),
        Index("ix_data_quality_metrics_recent_aggregate", "metric_type", timestamp.desc()),
        Index("ix_data_quality_metrics_run_id", "run_id"),
    )


class ValidationIssue(Base):
    __tablename__ = "validation_issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("conflict_events.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="SET NULL"))
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    field: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(_in("severity", SEVERITIES), name="severity"),
        Index("ix_validation_issues_event_id", "event_id"),
        Index("ix_validation_issues_rule", "rule", "severity"),
    )
