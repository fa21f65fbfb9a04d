"""Data-quality history queries for the monitoring API: filtered, limited, indexed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select

from models import DataQualityMetric


def quality_query(
    *,
    source: str | None = None,
    metric_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> Select:
    """Select the newest ``limit`` metric rows matching the filters, newest first."""
    query = select(DataQualityMetric)
    if source is not None:
        query = query.where(DataQualityMetric.source == source)
    if metric_type is not None:
        query = query.where(DataQualityMetric.metric_type == metric_type)
    if since is not None:
        query = query.where(DataQualityMetric.timestamp >= since)
    if until is not None:
        query = query.where(DataQualityMetric.timestamp < until)
    return query.order_by(DataQualityMetric.timestamp.desc(), DataQualityMetric.id.desc()).limit(limit)
