"""Alerts and the overall status, derived from runs, metrics and anomalies."""

from __future__ import annotations

from datetime import datetime, timedelta

from models import Feed
from status.anomalies import DQ_AGGREGATE_MIN_EVENTS

SEVERITY_ORDER = {"error": 0, "warning": 1}
# A feed that has not answered for this many of its intervals has stopped answering.
FEED_SILENT_INTERVALS = 3


def alert(severity: str, kind: str, message: str, run_id: int | None = None) -> dict:
    """Build one alert record (``run_id``: the run it is about, if any)."""
    return {"severity": severity, "message": message, "kind": kind, "run_id": run_id}


def run_alerts(current_run: dict | None, failures: list[dict] | None) -> list[dict]:
    """Alert on every open failure (``status.runs``) and on a failed stage of the running run."""
    found = [failure_alert(failure) for failure in failures or []]
    for stage in (current_run or {}).get("stages", []):
        if stage["status"] == "failed":
            message = f"Run {current_run['id']}: stage {stage['name']} failed"  # type: ignore[index]
            found.append(alert("error", "stage_failed", message, current_run["id"]))  # type: ignore[index]
    return found


def failure_alert(failure: dict) -> dict:
    """Say which run failed, of which kind, when and why, and what closes the alert."""
    what = f"{failure['trigger']} {'dry run' if failure['dry_run'] else 'run'} into {failure['dataset']}"
    where = f", file {failure['source_file']}" if failure.get("source_file") else ""
    when = (failure.get("finished_at") or failure["started_at"] or "")[:19].replace("T", " ") + " UTC"
    why = failure.get("error") or "no error recorded"
    message = (f"Run {failure['id']} ({what}{where}) failed at {when}: {why}. "
               f"Open until a later {failure['trigger']} run into {failure['dataset']} succeeds.")  # fmt: skip
    return alert("error", "run_failed", message, failure["id"])


def judged_status(latest: dict | None) -> str | None:
    """Return the latest aggregate row's status, or None when there is none or its batch is too small to judge."""
    if latest is None or (latest.get("events") or 0) < DQ_AGGREGATE_MIN_EVENTS:
        return None
    return latest["status"]


def metric_alerts(latest: dict | None) -> list[dict]:
    """Alert when the latest aggregate data-quality row is not healthy (and large enough to judge)."""
    status = judged_status(latest)
    if latest is None or status in (None, "healthy"):
        return []
    message = (f"Data quality is {latest['status']}: geocoding {latest['geocoding_success_rate']:.1%}, "
               f"validation {latest['validation_pass_rate']:.1%}")  # fmt: skip
    return [alert(latest["status"], "data_quality_status", message)]


def _span(seconds: float) -> str:
    """Write a length of time to the minute below two days (45 min, 7 h 5 min), else in days and hours."""
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h" + (f" {minutes % 60} min" if minutes % 60 else "")
    return f"{minutes // 1440} d" + (f" {minutes % 1440 // 60} h" if minutes % 1440 >= 60 else "")


def feed_alerts(feeds: list[Feed], now: datetime) -> list[dict]:
    """Alert on a feed that stopped answering (no successful fetch for 3 intervals) or stopped changing.

    A feed never fetched counts from when it was added; one that stopped answering is not also
    said to have stopped changing.
    """
    found = []
    for feed in feeds:
        answered = feed.last_success_at or feed.created_at
        changed = feed.last_changed_at or feed.created_at
        every = timedelta(seconds=feed.every_seconds)
        if now - answered > FEED_SILENT_INTERVALS * every:
            detail = f" (last error: {feed.last_error})" if feed.last_error else ""
            message = (f"Feed {feed.name} has not answered for {_span((now - answered).total_seconds())}, "
                       f"over {FEED_SILENT_INTERVALS} intervals of {_span(every.total_seconds())}{detail}")  # fmt: skip
            found.append(alert("error", "feed_silent", message))
        elif now - changed > timedelta(seconds=feed.expect_change_seconds):
            message = (f"Feed {feed.name}'s export has not changed for {_span((now - changed).total_seconds())} "
                       f"(expected within {_span(feed.expect_change_seconds)})")  # fmt: skip
            found.append(alert("warning", "feed_unchanged", message))
    return found


def build_alerts(
    current_run: dict | None, failures: list[dict], latest: dict | None, anomalies: list[dict]
) -> list[dict]:
    """Collect every alert, errors first."""
    found = run_alerts(current_run, failures) + metric_alerts(latest)
    found += [alert(a["severity"], a["kind"], a["message"]) for a in anomalies]
    return sorted(found, key=lambda a: SEVERITY_ORDER.get(a["severity"], 2))


def overall_status(
    current_run: dict | None, failures: list[dict] | None, latest: dict | None, anomalies: list[dict], has_data: bool
) -> str:
    """Derive running / idle / error / warning / healthy, in that order of precedence.

    ``failures`` are the open failed runs (``status.runs.open_failures``); ``has_data`` says whether
    any run, metric or event exists (idle: nothing ever ran).
    """
    if current_run is not None:
        return "running"
    if not has_data:
        return "idle"
    failed = bool(failures)
    quality = judged_status(latest)
    if failed or quality == "error" or any(a["severity"] == "error" for a in anomalies):
        return "error"
    if any(a["severity"] == "warning" for a in anomalies) or quality == "warning":
        return "warning"
    return "healthy"
