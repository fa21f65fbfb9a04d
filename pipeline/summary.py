"""What a run did (``RunSummary``) and how it failed (``RunFailed``): the types every executor fills."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

ProgressFn = Callable[[str, int, int], None]
BUSY = "another run is writing to the database; try again shortly"


@dataclass
class RunSummary:
    """What a run did, for the CLI table, the HTTP response and tests."""

    run_id: int | None
    status: str
    trigger: str
    source_file: str | None
    rows_read: int = 0
    rows_skipped: int = 0
    events: int = 0
    events_new: int = 0
    events_updated: int = 0
    events_unchanged: int = 0
    events_withdrawn: int = 0
    events_restored: int = 0
    duplicates: int = 0
    precision: dict[str, int] = field(default_factory=dict)
    failures_by_rule: dict[str, int] = field(default_factory=dict)
    issues: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    duration_s: float = 0.0
    error: str | None = None
    dataset: str | None = None
    mode: str = "import"
    dry_run: bool = False
    # Counts of created/updated/withdrawn/restored/unchanged and a sample of each (``reconcile.Plan.diff``).
    diff: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as plain JSON-ready data."""
        return asdict(self)

    def run_counts(self) -> dict[str, int]:
        """Return the counts the run's row stores."""
        return {
            "items_in": self.rows_read,
            "items_out": self.events_new + self.events_updated,
            "rows_skipped": self.rows_skipped,
            "events_new": self.events_new,
            "events_updated": self.events_updated,
            "events_unchanged": self.events_unchanged,
            "events_withdrawn": self.events_withdrawn,
            "events_restored": self.events_restored,
            "duplicates_in_batch": self.duplicates,
        }


class RunFailed(Exception):
    """A run that was recorded as failed; ``summary`` says how far it got."""

    def __init__(self, summary: RunSummary, input_error: bool, busy: bool = False, quoted: str | None = None,
                 too_large: bool = False) -> None:  # fmt: skip
        super().__init__(summary.error or "run failed")
        self.summary = summary
        self.input_error = input_error
        self.busy = busy
        self.quoted = quoted  # what the input error quoted of the input: for its sender, never stored
        self.too_large = too_large

    def message(self) -> str:
        """Return the reason with what it quoted of the input, for whoever sent that input."""
        return f"{self.summary.error}: {self.quoted}" if self.quoted else self.summary.error or "run failed"
