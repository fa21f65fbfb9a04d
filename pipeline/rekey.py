"""Re-key stored events: recompute fingerprints, canonical source names and content hashes from what is stored.

A release that changes how identity or content is computed (``pipeline.dedupe``) or how source
names are spelt (``reference.codebook``) runs this from its migration, so that the next import of
the same export finds every event unchanged. It reads the events in id order, a chunk at a time,
and writes back only the rows whose keys differ.
"""

from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from pipeline import columns as c
from pipeline import dedupe, load
from reference import codebook

log = logging.getLogger(__name__)

CHUNK = 50_000
STORED = tuple(col for col in c.EVENT_COLUMNS if col != c.SOURCE_ROW)


def rekey(session: Session, chunk: int = CHUNK) -> int:
    """Recompute every stored event's keys (and canonical source); return how many rows changed. Never commits."""
    table = load.EVENTS
    columns = [table.c[col] for col in STORED]
    stmt = update(table).where(table.c.id == bindparam("pk")).values(
        fingerprint=bindparam("fp"), content_hash=bindparam("h"), source=bindparam("src"))  # fmt: skip
    last, changed = 0, 0
    while True:
        rows = session.execute(
            select(table.c.id, table.c.fingerprint, table.c.content_hash, *columns)
            .where(table.c.id > last).order_by(table.c.id).limit(chunk)
        ).all()  # fmt: skip
        if not rows:
            return changed
        frame = pd.DataFrame(rows, columns=["id", "old_fp", "old_h", *STORED])
        frame[c.EVENT_DATE] = pd.to_datetime(frame[c.EVENT_DATE], errors="coerce")
        frame[c.SOURCE] = codebook.canonical_sources(frame[c.SOURCE])
        fp, h = dedupe.fingerprints(frame), dedupe.content_hashes(frame)
        differs = (fp != frame["old_fp"].to_numpy()) | (h != frame["old_h"].to_numpy())
        rows_out = zip(frame["id"], fp, h, frame[c.SOURCE], differs, strict=True)
        params = [{"pk": int(pk), "fp": f, "h": k, "src": s} for pk, f, k, s, d in rows_out if d]
        if params:
            session.connection().execute(stmt, params)
        changed += len(params)
        last = int(frame["id"].iat[-1])
        log.info("re-keyed events up to id %d: %d changed so far", last, changed)
