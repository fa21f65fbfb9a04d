"""The data model: SQLAlchemy 2 typed tables, free of Flask and Dash."""

from models.base import Base, utcnow
from models.changes import StatusVersion, bump_version, current_version
from models.event import COUNT_COLUMNS, SPLIT_COUNT_COLUMNS, ConflictEvent
from models.pipeline import RUN_STATUSES, TRIGGERS, PipelineRun, StageRun
from models.quality import METRIC_STATUSES, METRIC_TYPES, SEVERITIES, DataQualityMetric, ValidationIssue

__all__ = [
    "COUNT_COLUMNS",
    "METRIC_STATUSES",
    "METRIC_TYPES",
    "RUN_STATUSES",
    "SEVERITIES",
    "SPLIT_COUNT_COLUMNS",
    "TRIGGERS",
    "Base",
    "ConflictEvent",
    "DataQualityMetric",
    "PipelineRun",
    "StageRun",
    "StatusVersion",
    "ValidationIssue",
    "bump_version",
    "current_version",
    "utcnow",
]
