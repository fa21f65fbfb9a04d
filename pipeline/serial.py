"""The serial executor: every declared stage in this process, load and measure in one transaction.

The stages run in ``pipeline.stages.PIPELINE`` order over one catalog of named data; what no
later stage consumes is dropped as soon as it is used. The transaction is opened for the first
stage that writes (``load``) and committed after the last one, with the run's final state; a dry
run rolls it back and records only the run, with its diff.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pipeline import bulk
from pipeline import columns as c
from pipeline.errors import InputError
from pipeline.recording import Recording
from pipeline.stages import PIPELINE, Catalog, release, run_stage, size
from pipeline.summary import RunSummary


def _note(name: str, summary: RunSummary, catalog: Catalog) -> None:
    """Put what stage ``name`` found into the summary (and refuse an input without events)."""
    if name == "extract":
        raw = catalog["raw"]
        summary.rows_read = len(raw.events) + raw.rows_skipped
        summary.rows_skipped = raw.rows_skipped
        if raw.events.empty:
            raise InputError(f"{summary.source_file or 'the batch'} holds no events (only empty template rows)")
    elif name == "deduplicate":
        distinct, issues = catalog["distinct"], catalog["kept_issues"]
        summary.events, summary.duplicates = len(distinct.events), distinct.duplicates
        precision = distinct.events[c.GEO_PRECISION].fillna("none").value_counts()
        summary.precision = {str(p): int(n) for p, n in precision.items()}
        summary.failures_by_rule = {str(k): int(v) for k, v in issues[c.RULE].value_counts().items()}
        summary.issues = len(issues)
    elif name == "load":
        result = catalog["loaded"]
        summary.events_new, summary.events_updated = result.new, result.updated
        summary.events_unchanged = result.unchanged
        summary.events_withdrawn, summary.events_restored = result.withdrawn, result.restored
        summary.diff = result.diff


def run(engine: Engine, inputs: dict[str, Any], recording: Recording, lock_wait_s: float | None) -> None:
    """Run every stage on ``inputs`` (source, reading options, run settings), record each, and commit."""
    summary = recording.summary
    progress = (lambda done, total: recording.step("load", done, total)) if recording.progress else None
    catalog: Catalog = {**inputs, "run_id": summary.run_id,
                        "source_file": summary.source_file, "load_progress": progress}  # fmt: skip
    in_transaction: list[tuple[str, int]] = []
    with ExitStack() as stack:
        session: Session | None = None
        for done, stage in enumerate(PIPELINE, start=1):
            recording.begin(stage.name, size(catalog[stage.counted_in]) if stage.counted_in else 0, session)
            if stage.in_transaction and session is None:
                session = stack.enter_context(Session(engine, info={bulk.LOCK_WAIT: lock_wait_s}))
                catalog["session"] = session
            produced = run_stage(stage, catalog)
            _note(stage.name, summary, catalog)
            recording.end(stage.name, size(produced), session)
            if stage.in_transaction:
                in_transaction.append((stage.name, size(produced)))
            release(catalog, done)
        assert session is not None  # the declaration writes in its last stages
        if inputs["target"].dry_run:  # everything ran; nothing but the run's record is kept
            session.rollback()
            for name, items in in_transaction:  # their records went with the rollback
                recording.recorder.stage_finished(name, items)
            recording.finished(None)
            return
        recording.finished(session)
        session.commit()
