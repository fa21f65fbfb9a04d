"""Command line: ``python -m pipeline ingest FILE | generate N | seed | replay | feeds ...`` (``feeds.cli``).

The database is ``DATABASE_URL`` from the environment (``config.from_environment``),
or ``--database-url``. A file that cannot be read, or a database not migrated to this code,
exits with status 2 and a one-line reason; an unreachable database or any other failure
exits with 1, in one line too (``pipeline.cli_errors``; ``--verbose`` adds the traceback); no
event, issue or metric is written (a failed run itself is recorded, as the monitor shows it).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from tqdm import tqdm

import config
from feeds.cli import feeds
from jobs.queue import Jobs
from jobs.runs import QueueFull, Submission, submit
from jobs.worker import serve
from models import DEFAULT_DATASET, DEMO_DATASET, ConflictEvent
from models.database import make_engine
from pipeline.cli_errors import EXIT_FAILED, EXIT_INPUT, ReportingGroup, check_migrated, configure_logging, shown_url
from pipeline.demo import replay as replay_mode
from pipeline.demo.generate import generate_events, generate_records, write_csv
from pipeline.errors import InputError
from pipeline.limits import Limits
from pipeline.load import Target
from pipeline.runner import RunSummary, run_pipeline
from pipeline.sources.registry import described, read_path
from pipeline.stages import STAGE_NAMES


def _engine(ctx: click.Context) -> Engine:
    """Return an engine on the database, once it is known to be reachable and migrated."""
    url = ctx.obj["database_url"] or str(config.from_environment()["DATABASE_URL"])
    ctx.obj["url"] = url  # for the one-line report of a failure (never its password)
    # No statement timeout: a large load may rightly run longer than the web server's 30 s.
    engine = make_engine(config.normalise_database_url(url), statement_timeout_ms=0)
    try:
        check_migrated(engine, shown_url(url))
    except Exception:
        engine.dispose()
        raise
    return engine


def summary_lines(summary: RunSummary) -> list[tuple[str, str]]:
    """Return the end-of-run table as (label, value) rows."""
    rows = [
        ("run", f"#{summary.run_id} {summary.status}"),
        ("rows read", str(summary.rows_read)),
        ("rows skipped (template)", str(summary.rows_skipped)),
        ("dataset", f"{summary.dataset} ({summary.mode}{', dry run: nothing written' if summary.dry_run else ''})"),
        ("events", str(summary.events)),
        ("  created", str(summary.events_new)),
        ("  updated", str(summary.events_updated)),
        ("  unchanged", str(summary.events_unchanged)),
        ("  withdrawn", str(summary.events_withdrawn)),
        ("  restored", str(summary.events_restored)),
        ("duplicates merged", str(summary.duplicates)),
    ]
    rows += [(f"geocoded: {p}", str(n)) for p, n in sorted(summary.precision.items())]
    rows += [(f"issues: {rule}", str(n)) for rule, n in sorted(summary.failures_by_rule.items())]
    rows.append(("duration", f"{summary.duration_s:.2f} s"))
    return rows


def diff_lines(summary: RunSummary) -> list[str]:
    """Return a sample of each kind of change (``reconcile.Plan.diff``): id, date, state, what changed."""
    samples = (summary.diff or {}).get("samples", {})
    lines = []
    for kind in ("created", "updated", "withdrawn", "restored"):
        for item in samples.get(kind, []):
            changed = "; ".join(f"{name}: {old!r} -> {new!r}" for name, (old, new) in item.get("fields", {}).items())
            lines.append(f"{kind:9} {item['event_id'] or '(new)'}  {item['date'] or '-'}  {item['state'] or '-'}"
                         + (f"  {changed}" if changed else ""))  # fmt: skip
    return lines


def format_table(rows: list[tuple[str, str]]) -> str:
    """Lay out (label, value) rows as an aligned two-column table."""
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label.ljust(width)}  {value}" for label, value in rows)


class StageBar:
    """A tqdm bar over the pipeline's stages that shows load progress by rows."""

    def __init__(self, enabled: bool) -> None:
        self.bar = tqdm(total=len(STAGE_NAMES), unit="stage", disable=not enabled, file=sys.stderr, leave=False)
        self.seen: set[str] = set()

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.bar.set_description(stage)
        if stage == "load":
            self.bar.set_postfix_str(f"{done}/{total} rows")
        if done >= total and stage not in self.seen:
            self.seen.add(stage)
            self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


@click.group(cls=ReportingGroup)
@click.option("--database-url", default=None, help="Database URL (default: DATABASE_URL or the SQLite file).")
@click.option("-v", "--verbose", is_flag=True, help="Log what each stage does; print the traceback of a failure.")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, verbose: bool) -> None:
    """Ingest NVCD exports, generate realistic data, replay events as a live stream."""
    # Quiet by default: a failure is reported in one line (pipeline.cli_errors).
    configure_logging(verbose)
    ctx.obj = {"database_url": database_url}


@cli.command(help=f"Import FILE ({described()}) and print a summary.")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on stderr.")
@click.option("--sheet", default=None,
              help="The workbook's events sheet, when several visible sheets have event headers.")  # fmt: skip
@click.option("--dataset", default=DEFAULT_DATASET, show_default=True, help="The dataset the events belong to.")
@click.option("--snapshot", is_flag=True,
              help="FILE is the full export: withdraw the dataset's stored events it no longer holds.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Run everything, write nothing but the run's record, print the diff.")
@click.option("--force", is_flag=True,
              help="Let a snapshot withdraw more than SNAPSHOT_MAX_WITHDRAW of the dataset (default 5 %).")  # fmt: skip
@click.option("--queue", "queued", is_flag=True,
              help="Queue the run for the job worker and print its id, instead of running it here.")  # fmt: skip
@click.pass_context
def ingest(ctx: click.Context, file: Path, progress: bool, sheet: str | None, dataset: str, snapshot: bool,
           dry_run: bool, force: bool, queued: bool) -> None:  # fmt: skip
    """Import FILE and print a summary."""
    settings = config.from_environment()
    try:
        target = Target.from_settings(settings, dataset=dataset, snapshot=snapshot, dry_run=dry_run, force=force)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--dataset") from exc
    engine = _engine(ctx)
    if queued:
        _queue(ctx, engine, settings, file, Submission("cli", file.name, b"", target, sheet))
        return
    bar = StageBar(progress)
    try:  # a failed run is reported by the group (pipeline.cli_errors), in one line
        summary = run_pipeline(engine, file, trigger="cli", on_progress=bar, workers=os.cpu_count() or 1,
                               limits=Limits.from_settings(settings), sheet=sheet, target=target)  # fmt: skip
    finally:
        bar.close()
        engine.dispose()
    click.echo(format_table(summary_lines(summary)))
    if dry_run or snapshot:
        click.echo("\n".join(diff_lines(summary)))
    if summary.diff and summary.diff.get("refused"):
        click.echo(f"a real run would refuse: {summary.diff['refused']}")


def _jobs(ctx: click.Context, engine: Engine, settings: dict[str, object]) -> Jobs:
    if ctx.obj["database_url"]:
        settings = {**settings, "DATABASE_URL": config.normalise_database_url(ctx.obj["database_url"])}
    return Jobs.from_settings(settings, engine)


def _queue(ctx: click.Context, engine: Engine, settings: dict[str, object], file: Path, job: Submission) -> None:
    """Store FILE as a queued run's input and queue its job; print the run's id."""
    try:
        data = read_path(file)
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(EXIT_INPUT)
    try:
        run_id = submit(engine, _jobs(ctx, engine, settings), replace(job, data=data),
                        int(str(settings["MAX_QUEUED_MB"])) * 1024 * 1024)  # fmt: skip
    except QueueFull as exc:
        click.echo(f"error: the queue is full ({exc}); try again when the worker has caught up", err=True)
        ctx.exit(EXIT_FAILED)
    finally:
        engine.dispose()
    click.echo(f"queued run #{run_id}; the worker (python -m pipeline worker) runs it")


@cli.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run the job worker: queued runs (uploads, --queue, feeds), retries, and the sweep of dead runs."""
    settings = config.from_environment()
    engine = _engine(ctx)
    logging.getLogger().setLevel(logging.INFO)
    jobs = _jobs(ctx, engine, settings)
    click.echo(
        f"worker: {int(str(settings['JOB_WORKERS'])) or 1} job thread(s), queue {jobs.huey.storage.__class__.__name__}"
    )
    try:
        serve(jobs, workers=int(str(settings["JOB_WORKERS"])) or 1)
    finally:
        engine.dispose()


@cli.command()
@click.argument("count", type=click.IntRange(min=1))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Where to write (.csv or .json).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--clean", is_flag=True, help="Leave out the injected messiness.")
def generate(count: int, output: Path, seed: int, clean: bool) -> None:
    """Write COUNT generated NVCD-shaped events to a CSV (export headers) or JSON file."""
    if output.suffix.lower() == ".json":
        import json

        output.write_text(json.dumps(generate_records(count, seed, mess=not clean), default=str))
    elif output.suffix.lower() == ".csv":
        write_csv(generate_events(count, seed, mess=not clean), str(output))
    else:
        raise click.BadParameter("use a .csv or .json file name", param_hint="--output")
    click.echo(f"wrote {count} events to {output}")


@cli.command()
@click.option("--events", "count", type=click.IntRange(min=1), default=20_000, show_default=True)
@click.option("--years", type=click.FloatRange(min=0.1), default=4.0, show_default=True,
              help="Spread over this many years up to today.")  # fmt: skip
@click.option("--seed", type=int, default=2020, show_default=True)
@click.pass_context
def seed(ctx: click.Context, count: int, years: float, seed: int) -> None:
    """Ingest COUNT generated events when the database has no events yet (for the demo)."""
    engine = _engine(ctx)
    try:
        with Session(engine) as session:
            existing = session.scalar(select(func.count()).select_from(ConflictEvent)) or 0
        if existing:
            click.echo(f"database already holds {existing} events; not seeding")
            return
        end = datetime.now(UTC).date()
        frame = generate_events(count, seed, start=end - timedelta(days=round(365 * years)), end=end)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "demo-seed.csv"
            write_csv(frame, str(path))
            summary = run_pipeline(engine, path, trigger="cli", target=Target(dataset=DEMO_DATASET))
        click.echo(f"seeded {summary.events_new} events (run #{summary.run_id})")
    finally:
        engine.dispose()


@cli.command()
@click.option("--file", "path", type=click.Path(exists=True, path_type=Path),
              help="Replay this file instead of generated events.")  # fmt: skip
@click.option("--rate", type=click.FloatRange(min=0.01), default=replay_mode.DEFAULT_RATE, show_default=True,
              help="Events per second.")  # fmt: skip
@click.option("--batch-size", type=click.IntRange(min=1), default=replay_mode.DEFAULT_BATCH_SIZE, show_default=True)
@click.option("--duration", type=click.FloatRange(min=0), default=None, help="Stop after this many seconds.")
@click.option("--batches", type=click.IntRange(min=1), default=None, help="Stop after this many runs.")
@click.option("--seed", type=int, default=None, help="Seed for generated events (default: from the clock).")
@click.pass_context
def replay(ctx: click.Context, path: Path | None, rate: float, batch_size: int, duration: float | None,
           batches: int | None, seed: int | None) -> None:  # fmt: skip
    """Feed events into the pipeline as a live stream of small runs (trigger "replay")."""
    engine = _engine(ctx)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    source = replay_mode.file_batches(path, batch_size) if path else replay_mode.generated_batches(batch_size, seed)

    def show(summary: RunSummary) -> None:
        click.echo(f"run #{summary.run_id} {summary.status}: {summary.events} events, {summary.events_new} new")

    try:
        stats = replay_mode.replay(engine, source, rate=rate, max_batches=batches, duration=duration, stop=stop,
                                   on_run=show, name=path.name if path else "replay")  # fmt: skip
    except KeyboardInterrupt:
        return
    finally:
        signal.signal(signal.SIGTERM, previous)
        engine.dispose()
    click.echo(f"replayed {stats.runs} runs ({stats.failed} failed), {stats.events} events in {stats.seconds:.1f} s")


cli.add_command(feeds)
