"""Contract of pipeline/pgcopy.py with psycopg's private binary COPY formatter (the pinned version).

A failure after a psycopg upgrade says that the rows shard workers encode would no longer
be what ``Copy.write_row`` sends, before a sharded load stores anything wrong.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path

import psycopg
import pytest
from psycopg.copy import LibpqWriter
from sqlalchemy import Engine

from pipeline.bulk import binary_rows
from pipeline.pgcopy import BINARY_HEADER, BINARY_TRAILER, PINNED, RowEncoder

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"
TABLE = (
    "CREATE TEMPORARY TABLE pgcopy_contract (id int8, name text, day date, moment timestamptz, rate float8, ok bool)"
)
ROWS = [
    (1, "Kaduna", date(2026, 11, 1), datetime(2026, 11, 1, 8, 30, tzinfo=UTC), 0.25, True),
    (2, None, None, None, None, None),
    (
        3,
        "Zamfara \u00e9\u00e8",
        date(2021, 1, 31),
        datetime(2021, 1, 31, 23, 59, 59, 999999, tzinfo=UTC),
        -1e300,
        False,
    ),
]


def test_the_installed_psycopg_is_the_one_the_adapter_states() -> None:
    assert version("psycopg") == PINNED["psycopg"], "psycopg changed: re-check pipeline/pgcopy.py, then the pin"
    assert f"psycopg[binary]=={PINNED['psycopg']}" in REQUIREMENTS.read_text().splitlines()


def test_flush_returns_what_encode_held_back_and_no_header() -> None:
    encoder = RowEncoder([20])  # int8
    ready = bytes(encoder.encode((7,)))
    held = bytes(encoder.flush())
    assert not (ready + held).startswith(BINARY_HEADER)
    assert ready + held == b"\x00\x01" + b"\x00\x00\x00\x08" + (7).to_bytes(8, "big")  # 1 field, 8 bytes, the value
    assert encoder.flush() == b""


@pytest.fixture
def pg(engine: Engine) -> psycopg.Connection:
    if engine.dialect.name != "postgresql":
        pytest.skip("binary COPY is PostgreSQL's")
    raw = engine.raw_connection()
    conn = raw.driver_connection
    conn.execute(TABLE)
    yield conn
    conn.rollback()
    raw.close()


def test_encoded_rows_are_the_bytes_copy_write_row_sends(pg) -> None:
    sent: list[bytes] = []

    class Capture(LibpqWriter):
        def write(self, data) -> None:
            sent.append(bytes(data))
            super().write(data)

    with pg.cursor() as cur:
        types = [int(oid) for (oid,) in cur.execute(
            "SELECT atttypid FROM pg_attribute WHERE attrelid = 'pgcopy_contract'::regclass AND attnum > 0 "
            "ORDER BY attnum").fetchall()]  # fmt: skip
        with cur.copy("COPY pgcopy_contract FROM STDIN (FORMAT BINARY)", writer=Capture(cur)) as copy:
            copy.set_types(types)
            for row in ROWS:
                copy.write_row(row)
        assert b"".join(sent) == BINARY_HEADER + b"".join(binary_rows(types, ROWS)) + BINARY_TRAILER
        with cur.copy("COPY pgcopy_contract FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(BINARY_HEADER + b"".join(binary_rows(types, ROWS)) + BINARY_TRAILER)
        stored = cur.execute("SELECT * FROM pgcopy_contract ORDER BY id").fetchall()
    assert stored == sorted(ROWS + ROWS, key=lambda row: row[0])
