"""Time status.build_snapshot on a large synthetic database (PostgreSQL or SQLite).

    .venv/bin/python bench/snapshot_bench.py --events 1000000            # PostgreSQL (scratch database)
    .venv/bin/python bench/snapshot_bench.py --backend sqlite --events 100000

PostgreSQL: a scratch database is created on the server named by --admin-url (default
TEST_POSTGRES_URL or postgresql://postgres@127.0.0.1:5432/postgres) and dropped afterwards.
The data is generated in SQL (fast to load, not meant to look like NVCD text): events spread
over six years, 40 sources with uneven volumes (a few stopped early, so some are silent),
37 states, plus runs with stages and aggregate/source/hourly metrics. Prints the per-query
time of one build and the median/p95/max of --repeat builds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scratch import scratch_postgres
from models import Base, bump_version
from models.database import make_engine
from status import build_snapshot
from status.event_stats import clear_cache

SOURCES, STATES, RUNS = 40, 37, 200
PG_EVENTS = """
INSERT INTO conflict_events (event_id, fingerprint, content_hash, event_date, state, source, geo_precision,
                             is_derived, error_count, warning_count, created_at, updated_at)
SELECT 'NGA' || g, 'f' || g, 'h' || g,
       DATE '2020-06-01' + (CASE WHEN s >= 36 THEN random() * 1200 ELSE random() * 2000 END)::int,
       'State ' || (g % :states), 'Source ' || s, 'lga', false, 0, 0, now(), now()
FROM (SELECT g, floor(power(random(), 2) * :sources)::int AS s FROM generate_series(1, :n) AS g) AS t
"""
SQLITE_EVENTS = """
WITH RECURSIVE seq(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM seq WHERE g < :n),
t AS (SELECT g, CAST((abs(random()) / 9223372036854775807.0) * (abs(random()) / 9223372036854775807.0)
                     * :sources AS INT) AS s FROM seq)
INSERT INTO conflict_events (event_id, fingerprint, content_hash, event_date, state, source, geo_precision,
                             is_derived, error_count, warning_count, created_at, updated_at)
SELECT 'NGA' || g, 'f' || g, 'h' || g,
       date('2020-06-01', '+' || CAST(abs(random()) % (CASE WHEN s >= 36 THEN 1200 ELSE 2000 END) AS TEXT) || ' days'),
       'State ' || (g % :states), 'Source ' || s, 'lga', 0, 0, 0, datetime('now'), datetime('now')
FROM t
"""


def scratch_database(backend: str, admin_url: str) -> tuple[str, Callable[[], None]]:
    """Create an empty database and return its URL and a function that removes it."""
    if backend == "sqlite":
        folder = tempfile.mkdtemp(prefix="snapshot-bench-")
        return f"sqlite:///{folder}/bench.sqlite3", lambda: None
    return scratch_postgres(admin_url, "nvcd_bench")


def load(engine: Engine, events: int) -> float:
    """Fill the database; return the seconds it took."""
    started = time.perf_counter()
    Base.metadata.create_all(engine)
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        conn.execute(text(PG_EVENTS if pg else SQLITE_EVENTS), {"n": events, "sources": SOURCES, "states": STATES})
        for _ in range(RUNS):
            at = "2026-01-01 00:00:00+00" if pg else "2026-01-01 00:00:00"
            run_id = conn.execute(text(
                "INSERT INTO pipeline_runs (status, trigger, started_at, finished_at, items_in, items_out, "
                "rows_skipped, events_new, events_updated, events_unchanged, duplicates_in_batch) VALUES "
                "('succeeded', 'cli', :at, :at, 5000, 4990, 0, 100, 5, 4885, 10) RETURNING id"), {"at": at}
            ).scalar_one()  # fmt: skip
            conn.execute(
                text(
                    "INSERT INTO stage_runs (run_id, name, position, status, items_in, items_out) VALUES "
                    "(:r, 'extract', 0, 'succeeded', 1, 1), (:r, 'load', 5, 'succeeded', 1, 1)"
                ),
                {"r": run_id},
            )
            for metric_type, source in [("aggregate", None), ("hourly", None)] + [
                ("source", f"Source {s}") for s in range(SOURCES)
            ]:
                conn.execute(text(
                    "INSERT INTO data_quality_metrics (timestamp, geocoding_attempts, geocoding_successes, "
                    "geocoding_success_rate, validation_attempts, validation_passes, validation_pass_rate, "
                    "metric_type, source, status, run_id, events, completeness, precision_ward, precision_lga, "
                    "precision_state, precision_none, duplicates, derived_counts, created_at, updated_at) VALUES "
                    "(:at, 100, 90, 0.9, 100, 80, 0.8, :t, :s, 'healthy', :r, 100, 0.7, 0, 100, 0, 0, 0, 0, :at, :at)"),
                    {"at": at, "t": metric_type, "s": source, "r": run_id})  # fmt: skip
    with Session(engine) as session:
        bump_version(session)
        session.commit()
    if pg:  # what autovacuum would do on a live database: statistics and the visibility map
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def profile_once(engine: Engine) -> list[tuple[float, str]]:
    """Build one snapshot (event aggregates recomputed) and return (ms, statement head) per query."""
    clear_cache()
    timings: list[tuple[float, str]] = []

    def before(conn, _cursor, statement, *_args) -> None:
        conn.info["bench_t"] = time.perf_counter()

    def after(conn, _cursor, statement, *_args) -> None:
        timings.append(((time.perf_counter() - conn.info["bench_t"]) * 1000, " ".join(statement.split())[:90]))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        with Session(engine) as session:
            build_snapshot(session)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return timings


def time_builds(engine: Engine, repeat: int, cold: bool) -> list[float]:
    """Time ``repeat`` builds in milliseconds, each in its own session as the endpoint does."""
    times = []
    for _ in range(repeat):
        if cold:
            clear_cache()
        started = time.perf_counter()
        with Session(engine) as session:
            build_snapshot(session)
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def summarise(times: list[float]) -> str:
    """Format median, p95 and max of sorted timings."""
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return f"median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--url", help="benchmark an existing database as it is (no load, nothing dropped)")
    parser.add_argument(
        "--admin-url", default=os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    args = parser.parse_args()
    url, drop = (args.url, lambda: None) if args.url else scratch_database(args.backend, args.admin_url)
    engine = make_engine(url)
    try:
        if not args.url:
            print(f"{args.backend}: loading {args.events:,} events ... ", end="", flush=True)
            print(f"{load(engine, args.events):.1f} s")
        with Session(engine) as session:  # warm the pool and caches once
            snap = build_snapshot(session)
        print(
            f"snapshot: {len(snap['sources'])} sources ({sum(s['silent'] for s in snap['sources'])} silent), "
            f"{snap['totals']['events']:,} events, {len(snap['anomalies'])} anomalies, status {snap['status']}"
        )
        for ms, statement in profile_once(engine):
            print(f"  {ms:7.1f} ms  {statement}")
        for label, cold in (
            ("cold (events changed: aggregates recomputed)", True),
            ("warm (events unchanged since the last build)", False),
        ):
            print(f"build_snapshot x{args.repeat}, {label}: {summarise(time_builds(engine, args.repeat, cold))}")
    finally:
        engine.dispose()
        drop()


if __name__ == "__main__":
    main()
