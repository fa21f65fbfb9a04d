"""trends.data.fetch: the row cap is enforced in the database and the statement timeout on both backends."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, func, insert, literal, select

from models import ConflictEvent
from models.database import make_engine
from tests.trends.conftest import insert_events
from trends import queries
from trends.data import NARROW_HINT, QueryTimeout, TooManyRows, fetch, max_rows
from trends.filters import TrendFilters


def counting(up_to: int):
    """Return a statement that counts to ``up_to`` with a recursive CTE (slow work, no table needed)."""
    numbers = select(literal(1).label("n")).cte("numbers", recursive=True)
    numbers = numbers.union_all(select(numbers.c.n + 1).where(numbers.c.n < up_to))
    return select(func.count().label("n")).select_from(numbers)


@pytest.fixture
def bounded(database_url: str, engine: Engine) -> Iterator[Engine]:
    """Yield an engine on the test database with a 3-row cap and a 50 ms statement timeout."""
    eng = make_engine(database_url, statement_timeout_ms=50, max_rows=3)
    yield eng
    eng.dispose()


def test_over_the_cap_is_refused_with_how_to_narrow(bounded: Engine, engine: Engine) -> None:
    insert_events(engine)
    daily = TrendFilters(granularity="day")
    assert len(fetch(engine, queries.series_select(daily, "state"), capped=True)) == 6  # default cap: all rows
    with pytest.raises(TooManyRows) as refused:
        fetch(bounded, queries.series_select(daily, "state"), capped=True)
    assert refused.value.max_rows == 3
    assert "more than 3 rows" in str(refused.value) and NARROW_HINT in str(refused.value)
    # Exactly at the cap is answered; uncapped statements (with a LIMIT of their own) are left alone.
    assert len(fetch(bounded, queries.series_select(TrendFilters(), "state"), capped=True)) == 3
    assert len(fetch(bounded, queries.events_select(TrendFilters(), limit=5))) == 5


def test_the_cap_is_a_limit_in_the_sql(bounded: Engine) -> None:
    stmt = queries.series_select(TrendFilters(granularity="day"), "lga")
    assert max_rows(bounded) == 3
    assert "LIMIT" not in str(stmt) and "LIMIT" in str(stmt.limit(max_rows(bounded) + 1))


def test_a_query_past_the_timeout_is_stopped_on_both_backends(bounded: Engine) -> None:
    started = time.monotonic()
    with pytest.raises(QueryTimeout) as stopped:
        fetch(bounded, counting(10**9))
    assert time.monotonic() - started < 5
    assert stopped.value.timeout_ms == 50 and "0.05 s limit" in str(stopped.value)
    # The connection goes back to the pool usable; on SQLite without the expired deadline, so a
    # statement outside fetch that runs longer than the timeout is not interrupted.
    longer = 300_000 if bounded.dialect.name == "sqlite" else 100
    with bounded.connect() as conn:
        assert conn.execute(counting(longer)).scalar_one() == longer


def test_no_timeout_when_it_is_zero(database_url: str, engine: Engine) -> None:
    unbounded = make_engine(database_url, statement_timeout_ms=0)
    try:
        assert fetch(unbounded, counting(50_000))["n"].tolist() == [50_000]
    finally:
        unbounded.dispose()


def test_a_cheap_query_under_the_timeout_is_answered(bounded: Engine, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(ConflictEvent),
            [
                {
                    "event_id": f"NGA{n}",
                    "fingerprint": f"f{n}",
                    "content_hash": "h",
                    "event_date": date(2024, 1, 1 + n % 28),
                    "state": "Kano",
                }
                for n in range(50)
            ],
        )
    assert fetch(bounded, queries.series_select(TrendFilters(), None), capped=True)["value"].tolist() == [50]


GEVENT_PROBE = """
from gevent import monkey
monkey.patch_all()
import json, sys, time
import gevent
sys.path.insert(0, sys.argv[2])
from models.database import make_engine
from trends.data import fetch
from tests.trends.test_data import counting

ticks = []
def tick():
    while True:
        ticks.append(time.monotonic())
        gevent.sleep(0.01)

def during(timeout_ms):
    engine = make_engine(sys.argv[1], statement_timeout_ms=timeout_ms)
    ticker = gevent.spawn(tick)
    gevent.sleep(0.05)
    began = time.monotonic()
    fetch(engine, counting(3_000_000))
    ended = time.monotonic()
    ticker.kill()
    engine.dispose()
    return {"seconds": ended - began, "ticks": sum(began < t < ended for t in ticks)}

print(json.dumps({"bounded": during(60_000), "unbounded": during(0)}))
"""


def test_a_long_sqlite_query_under_gevent_lets_the_worker_serve_others(tmp_path) -> None:
    """Under gevent (the server's worker), other greenlets run while a long SQLite trend query works."""
    import json
    import subprocess
    import sys

    from config import PROJECT_ROOT

    url = f"sqlite:///{tmp_path / 'probe.sqlite3'}"
    probe = subprocess.run([sys.executable, "-c", GEVENT_PROBE, url, str(PROJECT_ROOT)], capture_output=True,
                           text=True, timeout=120, check=True, cwd=PROJECT_ROOT)  # fmt: skip
    measured = json.loads(probe.stdout.strip().splitlines()[-1])
    bounded, unbounded = measured["bounded"], measured["unbounded"]
    assert unbounded["ticks"] <= 1, unbounded  # without the handler the query holds the worker whole
    # With it, a 10 ms ticker keeps its pace: at least one tick per 50 ms of the query.
    assert bounded["ticks"] >= bounded["seconds"] / 0.05, bounded
