"""Time the ingestion pipeline end to end: the real export on SQLite, generated events on PostgreSQL.

    .venv/bin/python bench/pipeline_bench.py real                      # real export, SQLite (and re-import)
    .venv/bin/python bench/pipeline_bench.py generated --events 1000000  # PostgreSQL
    .venv/bin/python bench/pipeline_bench.py all --events 1000000
    .venv/bin/python bench/pipeline_bench.py generated --events 1000000 --before REV --pairs 3

Each scenario runs in its own child process, so its peak memory (ru_maxrss) is its own.
PostgreSQL: a scratch database is created on --admin-url (default TEST_POSTGRES_URL or
postgresql://postgres@127.0.0.1:5432/postgres), migrated, and dropped afterwards; SQLite:
a migrated file in a temporary folder. The generated scenario writes the events to a CSV
file first (like an export), then measures:

- baseline, in the same process: the generator's own time; and the bare read + COPY of the
  same file (pandas ``read_csv`` as text, then ``COPY`` of the raw rows into an unindexed table);
- the pipeline: ``run_pipeline`` on the file as the CLI's ingest runs it (over every core where
  the code can: ``pipeline.shards``), with seconds per stage, events/s and peak memory;
- with ``--before REV``: the pipeline of an earlier commit on the same file, into its own
  fresh database, in the same run (before/after under the same machine load).

Each pipeline run (before and after alike) is a fresh interpreter with its own fresh database,
so neither inherits the generator's heap and each peak memory is the pipeline's own.
``--pairs N`` repeats the before/after pair N times, alternating which goes first.

The machine's load average is printed before and after: on a shared machine it matters.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from config import normalise_database_url  # noqa: E402

REAL_EXPORT = ROOT.parent / "shared" / "data" / "nextier-nvcd.xlsx"
DEFAULT_ADMIN = os.environ.get("TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"


def _alembic_upgrade(url: str) -> None:
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "head")


# Migrate with another tree's own migrations and models (an earlier commit's schema), in its own interpreter.
_MIGRATE_IN_TREE = """
import sys
sys.path.insert(0, ".")
from alembic import command
from alembic.config import Config
cfg = Config("alembic.ini")
cfg.set_main_option("sqlalchemy.url", sys.argv[1].replace("%", "%%"))
cfg.attributes["configure_logger"] = False
command.upgrade(cfg, "head")
"""


def _checked(args: list[str], cwd: Path | None = None) -> str:
    """Run a child interpreter; on failure show its stderr (the traceback) and stop; return its stdout."""
    out = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True)
    if out.returncode:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"child {args[:2]} in {cwd or ROOT} failed (exit {out.returncode})")
    return out.stdout


class ScratchPostgres:
    """A PostgreSQL database created for the bench and dropped after it.

    Migrated with this tree's migrations, or with ``tree``'s (an earlier commit, whose code
    must meet its own schema: e.g. ``event_id`` became NOT NULL after 0e15f5f).
    """

    def __init__(self, admin_url: str, tree: Path | None = None) -> None:
        self.tree = tree
        self.admin = create_engine(normalise_database_url(admin_url), isolation_level="AUTOCOMMIT")
        self.name = f"nvcd_bench_{uuid.uuid4().hex[:10]}"
        url = make_url(normalise_database_url(admin_url)).set(database=self.name)
        self.url = url.render_as_string(hide_password=False)

    def __enter__(self) -> str:
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        if self.tree is None or self.tree == ROOT:
            _alembic_upgrade(self.url)
        else:
            _checked(["-c", _MIGRATE_IN_TREE, self.url], cwd=self.tree)
        return self.url

    def __exit__(self, *_exc: object) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _run(url: str, source: Path) -> dict:
    from models.database import make_engine
    from pipeline.runner import run_pipeline

    engine = make_engine(url, statement_timeout_ms=3_600_000)
    started = time.perf_counter()
    summary = run_pipeline(engine, source)
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": round(seconds, 3), "events": summary.events, "new": summary.events_new,
            "updated": summary.events_updated, "unchanged": summary.events_unchanged,
            "rows_read": summary.rows_read, "events_per_s": round(summary.events / seconds),
            "stages": summary.stage_seconds}  # fmt: skip


def scenario_real(admin_url: str, backend: str) -> dict:
    """Import the real export twice (first import, then the no-op re-import)."""
    if not REAL_EXPORT.exists():
        return {"skipped": f"{REAL_EXPORT} not found"}
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="nvcd-bench-") as folder:
            url = f"sqlite:///{folder}/bench.sqlite3"
            _alembic_upgrade(url)
            return {"first": _run(url, REAL_EXPORT), "reimport": _run(url, REAL_EXPORT), "peak_mb": _peak_mb()}
    with ScratchPostgres(admin_url) as url:
        return {"first": _run(url, REAL_EXPORT), "reimport": _run(url, REAL_EXPORT), "peak_mb": _peak_mb()}


def _baseline_copy(url: str, path: Path) -> dict:
    """Read the CSV as text and COPY the raw rows into an unindexed table: the floor for any loader."""
    import pandas as pd
    from sqlalchemy.orm import Session

    from models.database import make_engine

    started = time.perf_counter()
    frame = pd.read_csv(path, dtype=object, keep_default_na=False)
    read_s = time.perf_counter() - started
    engine = make_engine(url, statement_timeout_ms=3_600_000)  # a loaded machine: the default would cancel COPY
    with Session(engine) as session:
        names = [f"c{i}" for i in range(frame.shape[1])]
        session.execute(text(f"CREATE TABLE bench_raw ({', '.join(n + ' text' for n in names)})"))
        dbapi = session.connection().connection.driver_connection
        copy_started = time.perf_counter()
        with dbapi.cursor() as cur, cur.copy(f"COPY bench_raw ({', '.join(names)}) FROM STDIN") as copy:
            for row in frame.itertuples(index=False, name=None):
                copy.write_row(row)
        copy_s = time.perf_counter() - copy_started
        session.rollback()
    engine.dispose()
    total = read_s + copy_s
    return {"read_s": round(read_s, 3), "copy_s": round(copy_s, 3), "seconds": round(total, 3),
            "rows_per_s": round(len(frame) / total)}  # fmt: skip


_RUN_IN_TREE = """
import inspect, json, os, pathlib, resource, sys, time
sys.path.insert(0, ".")
from models.database import make_engine
from pipeline.runner import run_pipeline
engine = make_engine(sys.argv[1], statement_timeout_ms=3_600_000)
# As the CLI's ingest runs it: on every core where the code can (pipeline.shards).
cores = {"workers": os.cpu_count()} if "workers" in inspect.signature(run_pipeline).parameters else {}
load_average = round(os.getloadavg()[0], 2)
started = time.perf_counter()
summary = run_pipeline(engine, pathlib.Path(sys.argv[2]), **cores)  # a str is no path to the pipeline
seconds = time.perf_counter() - started
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent (the generator's heap).
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
# The largest forked worker (pipeline.shards), pages shared with this process included.
worker_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": round(seconds, 3), "events": summary.events, "new": summary.events_new,
                  "events_per_s": round(summary.events / seconds), "stages": summary.stage_seconds,
                  "load_average": load_average, "peak_mb": round(peak_kb / 1024, 1),
                  "worker_peak_mb": round(worker_kb / 1024, 1)}))
"""


def _run_in_tree(tree: Path, url: str, source: Path) -> dict:
    """Run the pipeline of the code in ``tree`` on ``source``, in a fresh interpreter."""
    return json.loads(_checked(["-c", _RUN_IN_TREE, url, str(source)], cwd=tree).strip().splitlines()[-1])


@contextmanager
def _archived(revision: str) -> Iterator[Path]:
    """Yield a temporary folder holding ``git archive`` of an earlier commit; remove it afterwards."""
    tree = Path(tempfile.mkdtemp(prefix="nvcd-bench-rev-"))
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        yield tree
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def _pipeline_pairs(admin_url: str, path: Path, before: str | None, pairs: int) -> dict[str, list[dict]]:
    """Run the current pipeline (and ``before``'s) ``pairs`` times, alternating which goes first."""
    runs: dict[str, list[dict]] = {"before": [], "pipeline": []}
    with _archived(before) if before else nullcontext(None) as old_tree:
        for pair in range(pairs):
            order = [("before", old_tree), ("pipeline", ROOT)]
            for key, tree in order if pair % 2 == 0 else order[::-1]:
                if tree is not None:
                    with ScratchPostgres(admin_url, tree) as url:
                        runs[key].append(_run_in_tree(tree, url, path))
    return runs


def scenario_generated(admin_url: str, events: int, before: str | None = None, pairs: int = 1) -> dict:
    """Generate events to a CSV file, then time the bare read+COPY and the pipeline on PostgreSQL."""
    from pipeline.demo.generate import generate_events, write_csv

    started = time.perf_counter()
    frame = generate_events(events, seed=2024)
    generate_s = time.perf_counter() - started
    folder = Path(tempfile.mkdtemp(prefix="nvcd-bench-"))
    path = folder / "generated.csv"
    started = time.perf_counter()
    write_csv(frame, str(path))
    write_s = time.perf_counter() - started
    rows = len(frame)
    del frame
    size_mb = round(path.stat().st_size / 1e6, 1)
    try:
        with ScratchPostgres(admin_url) as url:
            baseline = _baseline_copy(url, path)
        runs = _pipeline_pairs(admin_url, path, before, pairs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"events": events, "rows": rows, "csv_mb": size_mb, "generate_s": round(generate_s, 3),
            "write_csv_s": round(write_s, 3), "baseline": baseline, "before_revision": before, **runs,
            "peak_mb_generator_and_baseline": _peak_mb()}  # fmt: skip


def _child(args: list[str]) -> dict:
    """Run one scenario in a fresh interpreter and return its JSON result."""
    return json.loads(_checked([__file__, "--child", *args]).strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("real", "generated", "all"))
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite", help="for the real export")
    parser.add_argument("--before", metavar="REV", help="also run this commit's pipeline on the generated file")
    parser.add_argument("--pairs", type=int, default=1, help="before/after runs of the generated file, alternating")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = (scenario_real(args.admin_url, args.backend) if args.what == "real"
                  else scenario_generated(args.admin_url, args.events, args.before, args.pairs))  # fmt: skip
        print(json.dumps(result))
        return
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, cpus: {os.cpu_count()}")
    common = ["--admin-url", args.admin_url]
    if args.what in ("real", "all"):
        for backend in ("sqlite", "postgresql") if args.what == "all" else (args.backend,):
            result = _child(["real", "--backend", backend, *common])
            print(f"real export on {backend}:", json.dumps(result, indent=1))
    if args.what in ("generated", "all"):
        before = ["--before", args.before] if args.before else []
        result = _child(["generated", "--events", str(args.events), "--pairs", str(args.pairs), *common, *before])
        print("generated on postgresql:", json.dumps(result, indent=1))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
