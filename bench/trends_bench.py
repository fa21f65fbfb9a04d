"""Time every trend page callback against the bare SQL aggregate(s) it runs, on PostgreSQL.

    .venv/bin/python bench/trends_bench.py --events 1000000            # scratch database, created and dropped
    .venv/bin/python bench/trends_bench.py --url postgresql://.../db     # an existing database, as is

The scratch database is filled through the real pipeline (``pipeline.demo.generate.generate_events``
then ``pipeline.runner.run_pipeline`` in chunks), so events carry realistic geocoding precision,
validation issues and derived counts. For a broad filter (everything, by month) and a narrow one
(one state, one year, by week) it reports, per callback (some draw several charts from one
aggregate), the median time of the callback (query + pandas shaping + figures) and of the bare
SQL it runs (execute and fetch all rows), their ratio, and the total of each page's callbacks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scratch import scratch_postgres
from config import normalise_database_url
from models.database import make_engine
from trends import quality_queries as qq
from trends import queries as q
from trends.data import prepare
from trends.datasets import scoped
from trends.filters import TrendFilters
from trends.options import clear_options_cache, filter_options

# Callback key -> the Select(s) it runs, for the bare-SQL baseline. Callbacks that draw several
# charts from one aggregate: places (state and LGA rankings, map, quality context), by_source
# (rates by source, worst sources), by_state (rates by state, worst states).
STATEMENTS: dict[str, Callable[[TrendFilters], list[Any]]] = {
    "series": lambda f: [q.series_select(f, f.group_by)],
    "places": lambda f: [q.place_select(f)],
    "by_source": lambda f: [qq.rates_select(f, "source", undated=True)],
    "by_state": lambda f: [qq.rates_select(f, "state", undated=True)],
    "precision": lambda f: [qq.precision_mix_select(f)],
    "failures": lambda f: [qq.failures_select(f)],
    "completeness": lambda f: [qq.completeness_select(f)],
    "runs": lambda f: [qq.runs_select(f)],
    "grid": lambda f: [qq.drilldown_select(f)],
}
CONFLICT_CALLBACKS = ("series", "places")


def scratch_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    """Create an empty PostgreSQL database and return its URL and a function that drops it."""
    return scratch_postgres(admin_url, "nvcd_trends_bench")


def load(engine: Engine, url: str, events: int, chunk: int) -> None:
    """Migrate, then ingest ``events`` generated events through the pipeline in chunks."""
    from alembic import command
    from alembic.config import Config

    from pipeline.demo.generate import generate_events
    from pipeline.runner import run_pipeline

    cfg = Config(str(Path(__file__).resolve().parent.parent / "alembic.ini"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "head")
    end = date.today()
    for seed, done in enumerate(range(0, events, chunk)):
        size = min(chunk, events - done)
        began = time.perf_counter()
        frame = generate_events(size, seed=seed + 1, start=end - timedelta(days=2000), end=end)
        summary = run_pipeline(engine, frame, trigger="cli", filename=f"bench-{seed + 1}.csv")
        print(
            f"  loaded chunk {seed + 1}: {summary.events_new:,} new events in {time.perf_counter() - began:.1f} s",
            flush=True,
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


def median_ms(work: Callable[[], object], repeat: int) -> float:
    """Return the median wall time of ``work`` in milliseconds (after one warm-up call)."""
    work()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def paired_medians(first: Callable[[], object], second: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Return the median times (ms) of two pieces of work run alternately, so machine load hits both alike."""
    first()
    second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for work, bucket in ((first, times[0]), (second, times[1])):
            began = time.perf_counter()
            work()
            bucket.append((time.perf_counter() - began) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def bare_sql(engine: Engine, statements: list[Any]) -> None:
    """Execute the statements and fetch every row, nothing else."""
    with engine.connect() as conn:
        prepare(conn)  # the same session settings the callbacks' queries get
        for stmt in statements:
            conn.execute(stmt).all()


def callbacks() -> dict[str, Callable[[str], object]]:
    """Return callback key -> the page callback, called as Dash calls it (pages import after the app exists)."""
    from dashapp.pages import conflict, quality

    grid = quality.update_quality_grid
    return {
        "series": dash_call(conflict.update_conflict_series),
        "places": dash_call(conflict.update_conflict_places),
        "by_source": dash_call(quality.UPDATES["sources"]),
        "by_state": dash_call(quality.UPDATES["states"]),
        "precision": dash_call(quality.UPDATES["precision"]),
        "failures": dash_call(quality.UPDATES["failures"]),
        "completeness": dash_call(quality.UPDATES["completeness"]),
        "runs": dash_call(quality.UPDATES["runs"]),
        "grid": lambda query: dash_call(grid)(query, []),
    }


def dash_call(update: Callable[..., object]) -> Callable[..., object]:
    """Return ``update`` called in a callback context like Dash's, the filters store triggering, no alert shown."""
    from contextvars import copy_context

    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    def call(*inputs: object) -> object:
        def run() -> object:
            context_value.set(
                AttributeDict(
                    triggered_inputs=[{"prop_id": "quality-filters.data"}],
                    inputs_list=[[], []],
                    states_list=[],
                    updated_props=updated,
                )
            )
            return update(*inputs, None)  # the last state: the page's alert text, none shown

        updated: dict[str, object] = {}
        result = copy_context().run(run)
        if updated:  # the callback showed an alert instead of its charts: nothing was measured
            raise RuntimeError(f"{update.__name__} set {updated}")
        return result

    return call


def measure(url: str, repeat: int) -> None:
    """Print callback vs bare SQL per callback for a broad and a narrow filter."""
    from app import create_app

    app = create_app({"APP_ENV": "testing", "SECRET_KEY": "bench", "DATABASE_URL": url})
    engine = app.extensions["engine"]
    with engine.connect() as conn:
        total = conn.scalar(text("SELECT count(*) FROM conflict_events"))
        top_state = conn.scalar(text("SELECT state FROM conflict_events GROUP BY state ORDER BY count(*) DESC LIMIT 1"))
        last = conn.scalar(text("SELECT max(event_date) FROM conflict_events"))
    print(f"{total:,} events; narrow filter state = {top_state}, last year to {last}")
    cases = {
        "broad": TrendFilters(),
        "narrow": TrendFilters(states=(top_state,), start=last - timedelta(days=365), end=last, granularity="week"),
    }
    with app.test_request_context():
        redraw = callbacks()
        began = time.perf_counter()
        clear_options_cache()  # the first page layout after a data change lists filter values anew
        filter_options(engine)
        cold = (time.perf_counter() - began) * 1000
        warm = median_ms(lambda: filter_options(engine), repeat)
        print(f"page layout, filter options: {cold:.0f} ms after a data change, {warm:.1f} ms cached")
        for name, filters in cases.items():
            query = filters.to_query()
            settled = scoped(engine, filters)  # the datasets, as the callbacks settle them before their queries
            print(f"\n{name} filter ({filters.describe()}; datasets {', '.join(settled.scope or ())})")
            print(f"{'callback':<14} {'callback ms':>12} {'bare SQL ms':>12} {'ratio':>7}")
            pages: dict[str, float] = {"conflict": 0.0, "quality": 0.0}
            for key, callback in redraw.items():
                cb, sql = paired_medians(
                    lambda callback=callback, query=query: callback(query),
                    lambda key=key, settled=settled: bare_sql(engine, STATEMENTS[key](settled)),
                    repeat,
                )
                pages["conflict" if key in CONFLICT_CALLBACKS else "quality"] += cb
                print(f"{key:<14} {cb:>12.1f} {sql:>12.1f} {cb / sql:>7.2f}", flush=True)
            print(
                f"page totals (sum of callbacks): conflict {pages['conflict']:.0f} ms, "
                f"quality {pages['quality']:.0f} ms"
            )


def main() -> None:
    """Parse arguments, prepare the database, measure, clean up."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--url", help="measure an existing database instead of a scratch one")
    parser.add_argument("--keep", action="store_true", help="do not drop the scratch database")
    parser.add_argument(
        "--admin-url", default=os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    args = parser.parse_args()
    if args.url:
        measure(normalise_database_url(args.url), args.repeat)
        return
    url, drop = scratch_database(args.admin_url)
    print(f"scratch database {make_url(url).database}")
    try:
        began = time.perf_counter()
        engine = make_engine(url)
        load(engine, url, args.events, args.chunk)
        engine.dispose()
        print(f"loaded in {time.perf_counter() - began:.0f} s")
        measure(url, args.repeat)
    finally:
        if args.keep:
            print(f"kept {url}")
        else:
            drop()


if __name__ == "__main__":
    main()
