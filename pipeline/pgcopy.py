"""psycopg's adapter: binary COPY rows encoded without a connection, by psycopg's own formatter.

Pinned: psycopg 3.3.9 (requirements.txt). Forked shard workers (``pipeline.shards``) encode
the rows that the parent's one COPY sends, so the encoding cannot go through a cursor's
``Copy.write_row``; it uses the private formatter behind it. tests/pipeline/test_pgcopy_contract.py
fails when an upgrade changes what this relies on: ``psycopg._copy_base.BinaryFormatter(transformer)``
over a ``psycopg.adapt.Transformer`` whose dumper types are set; ``_signature_sent = True``
keeps the file header out of the rows; ``write_row`` returns the rows ready so far and holds
back up to ~32 KB in ``_write_buffer`` (what ``flush`` returns); and the bytes are those
``Copy.write_row`` sends between PostgreSQL's binary header and trailer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from psycopg._copy_base import BinaryFormatter
from psycopg.adapt import Transformer
from psycopg.pq import Format

PINNED = {"psycopg": "3.3.9"}
# PostgreSQL's binary COPY framing: signature, flags, header extension length; and the end marker.
BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
BINARY_TRAILER = b"\xff\xff"


class RowEncoder:
    """Encode rows of typed Python values as binary COPY data for the given column type oids."""

    def __init__(self, types: Sequence[int]) -> None:
        transformer = Transformer()
        transformer.set_dumper_types(list(types), Format.BINARY)
        self._formatter = BinaryFormatter(transformer)
        self._formatter._signature_sent = True  # the one COPY that forwards the rows sends BINARY_HEADER
        # Encode one row and return the data ready so far (often empty: psycopg buffers);
        # bound directly, so a million rows pay no extra call.
        self.encode: Callable[[Sequence[Any]], bytes | bytearray | memoryview] = self._formatter.write_row

    def flush(self) -> bytearray:
        """Return the rows held back so far (no trailer)."""
        held, self._formatter._write_buffer = self._formatter._write_buffer, bytearray()
        return held
