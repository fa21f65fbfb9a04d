"""The data model: SQLAlchemy 2 typed tables, free of Flask and Dash."""

from models.base import Base, utcnow
from models.changes import StatusVersion, bump_version, current_version
from models.event import (
    COUNT_COLUMNS,
    DATASET_NAME_PATTERN,
    DEFAULT_DATASET,
    DEMO_DATASET,
    EVENT_ID_PREFIX,
    SPLIT_COUNT_COLUMNS,
    ConflictEvent,
)
from models.feed import FEED_NAME_PATTERN, FEED_OUTCOMES, Feed
from models.pipeline import (
    FINAL_STATUSES,
    IMPORT_TRIGGERS,
    MODES,
    RUN_STATUSES,
    TRIGGERS,
    PipelineRun,
    RunInput,
    StageRun,
)
from models.quality import METRIC_STATUSES, METRIC_TYPES, SEVERITIES, DataQualityMetric, ValidationIssue
from models.revisions import CHANGES, EventChange

__all__ = [
    "CHANGES",
    "COUNT_COLUMNS",
    "DATASET_NAME_PATTERN",
    "DEFAULT_DATASET",
    "DEMO_DATASET",
    "EVENT_ID_PREFIX",
    "FEED_NAME_PATTERN",
    "FEED_OUTCOMES",
    "FINAL_STATUSES",
    "IMPORT_TRIGGERS",
    "METRIC_STATUSES",
    "METRIC_TYPES",
    "MODES",
    "RUN_STATUSES",
    "SEVERITIES",
    "SPLIT_COUNT_COLUMNS",
    "TRIGGERS",
    "Base",
    "ConflictEvent",
    "DataQualityMetric",
    "EventChange",
    "Feed",
    "PipelineRun",
    "RunInput",
    "StageRun",
    "StatusVersion",
    "ValidationIssue",
    "bump_version",
    "current_version",
    "utcnow",
]
