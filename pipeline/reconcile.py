"""Reconcile: match a batch's distinct events to the dataset's stored events, one to one, and plan the changes.

Matching, in this order, never two rows to one event:

1. **Given ids.** A row whose ``event_id`` column names a stored event of the dataset *is* that
   event (a file exported by this product round-trips exactly). An id named twice, or one that
   belongs to another dataset, refuses the batch.
2. **Exact.** Same fingerprint and same content hash: the event, unchanged (live events before
   withdrawn ones, then in id order, against rows in file order). Then same fingerprint, other
   content: the event, corrected (in the same order).
3. **Candidates** (snapshots only: a plain import's row that matches nothing so far is a new
   event, however alike another one it reads), for the rows and stored events left: pairs
   dated within ``WINDOW_DAYS`` of each other that share the state, the source URL or the
   fingerprint, scored

       score = 0.6 * text + 0.25 * place + 0.15 * date

   where ``text`` is 1 for the same source URL, else the descriptions' token-set similarity
   (rapidfuzz, 0-1); ``place`` the share of state, LGA and community that agree (names folded);
   ``date`` is 1 for the same day, falling by ``1 / (WINDOW_DAYS + 1)`` a day. Pairs scoring at
   least ``MATCH_THRESHOLD`` are taken best first, each row and each event once. A row edited
   beyond recognition (a rewritten description without URL, a date moved by over a window)
   becomes a new event and, in a snapshot, its old version is withdrawn: the live data is then
   still exactly the export's.

What the matches mean: same content -> unchanged (a stale fingerprint, e.g. from before a
release changed identity, is refreshed quietly); other content -> updated in place, with the
changed fields recorded; a match with a withdrawn event -> restored. Rows left -> created. In a
snapshot (a full export), live stored events left -> withdrawn; a plain import only creates and
updates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz
from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from models import EVENT_ID_PREFIX, ConflictEvent
from pipeline import bulk
from pipeline import columns as c
from pipeline.dedupe import CONTENT_COLUMNS, fold_report
from pipeline.errors import InputError
from reference import names

WINDOW_DAYS = 3
MATCH_THRESHOLD = 0.75
WEIGHTS = {"text": 0.6, "place": 0.25, "date": 0.15}
FULL_SCAN_AT = 5_000  # from this batch size on (or for any snapshot), read every stored key of the dataset
LOOKUP_CHUNK = 500
SAMPLE_SIZE = 10  # changes of each kind a diff lists
# The form of the ids this product assigns (no leading zero; up to 9 digits: the id column is 32-bit).
OWN_ID = re.compile(rf"^{EVENT_ID_PREFIX}([1-9]\d{{0,8}})$")

E = ConflictEvent
KEY_COLUMNS = ("id", c.EVENT_ID, c.FINGERPRINT, c.CONTENT_HASH, "withdrawn", c.EVENT_DATE)
KeySelect = Select[int, str, str, str, bool, date | None]
MATCH_FIELDS = (c.EVENT_DATE, c.STATE, c.LGA, c.COMMUNITY, c.DESCRIPTION, c.SOURCE_URL)


@dataclass
class Plan:
    """What a batch does to its dataset: row positions and stored ids, by kind of change."""

    rows: pd.DataFrame  # the batch's distinct events, positional index, with ``id`` (stored or new) and ``change``
    withdrawn: pd.DataFrame  # stored events to withdraw: id, event_id, event_date, state
    restored_ids: np.ndarray  # stored ids matched while withdrawn
    rekeyed: pd.DataFrame  # unchanged events whose stored fingerprint is stale: id, fingerprint
    fields: dict[int, dict[str, list[Any]]] = field(default_factory=dict)  # per updated id: field -> [old, new]
    live_before: int = 0

    def count(self, change: str) -> int:
        """Return how many rows (or, for withdrawn, stored events) make the change."""
        if change == "withdrawn":
            return len(self.withdrawn)
        if change == "restored":
            return len(self.restored_ids)
        return int(self.rows["change"].eq(change).sum())

    def diff(self) -> dict[str, Any]:
        """Return the counts of each kind of change and a sample of each (id, date, state, what changed)."""
        out: dict[str, Any] = {kind: self.count(kind) for kind in ("created", "updated", "withdrawn", "restored",
                                                                   "unchanged")}  # fmt: skip
        samples: dict[str, list[dict[str, Any]]] = {}
        for kind in ("created", "updated"):
            picked = self.rows[self.rows["change"].eq(kind)].head(SAMPLE_SIZE)
            samples[kind] = [_sample(row, self.fields.get(int(row["id"])) if kind == "updated" else None)
                             for row in picked.to_dict("records")]  # fmt: skip
        samples["withdrawn"] = [_sample(row, None) for row in self.withdrawn.head(SAMPLE_SIZE).to_dict("records")]
        restored = self.rows[self.rows["id"].isin(self.restored_ids[:SAMPLE_SIZE])]
        samples["restored"] = [_sample(row, None) for row in restored.to_dict("records")]
        out["samples"] = samples
        return out


def _plain(value: Any) -> Any:
    """Return a JSON-ready value (dates as ISO text, numpy numbers as Python ones, missing as None)."""
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.date().isoformat() if isinstance(value, pd.Timestamp | datetime) else value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sample(row: dict[str, Any], fields: dict[str, list[Any]] | None) -> dict[str, Any]:
    out = {"event_id": row.get(c.EVENT_ID), "date": _plain(row.get(c.EVENT_DATE)), "state": _plain(row.get(c.STATE))}
    if fields is not None:
        out["fields"] = fields
    return out


def stored_keys(session: Session, dataset: str, events: pd.DataFrame, everything: bool) -> pd.DataFrame:
    """Return the dataset's stored keys: all of them, or those the batch could match (fingerprint, id or dates)."""
    stmt = select(E.id, E.event_id, E.fingerprint, E.content_hash, E.withdrawn_run_id.is_not(None), E.event_date)
    stmt = stmt.where(E.dataset == dataset)
    # All keys (1M rows) as plain tuples from the driver: pandas builds a frame of SQLAlchemy Rows
    # ~7x slower, probing each one (measured 14 s -> 2 s). Dates then come as the driver gives them.
    rows = bulk.read_tuples(session, stmt) if everything else _some_keys(session, stmt, events)
    frame = pd.DataFrame(rows, columns=list(KEY_COLUMNS))
    frame["withdrawn"] = frame["withdrawn"].astype(bool)  # SQLite's driver gives 0/1
    frame[c.EVENT_DATE] = pd.to_datetime(frame[c.EVENT_DATE], errors="coerce")
    return frame.drop_duplicates("id")


def _some_keys(session: Session, stmt: KeySelect, events: pd.DataFrame) -> list[Any]:
    rows: list[Any] = []
    fps = events[c.FINGERPRINT].dropna().unique().tolist()
    ids = events[c.EVENT_ID].dropna().unique().tolist()
    for values, column in ((fps, E.fingerprint), (ids, E.event_id)):
        for start in range(0, len(values), LOOKUP_CHUNK):
            rows.extend(session.execute(stmt.where(column.in_(values[start : start + LOOKUP_CHUNK]))).all())
    dates = pd.to_datetime(events[c.EVENT_DATE], errors="coerce").dropna().dt.date.unique()
    if len(dates):
        window = pd.Timedelta(days=WINDOW_DAYS)
        days = sorted({d + delta for d in dates for delta in (-window, window)})
        lo, hi = min(days), max(days)
        if (hi - lo).days <= 4 * 366:  # a small batch's candidates; a batch spread over years reads by day
            rows.extend(session.execute(stmt.where(and_(E.event_date >= lo, E.event_date <= hi))).all())
        else:
            near = sorted({d + pd.Timedelta(days=k) for d in dates for k in range(-WINDOW_DAYS, WINDOW_DAYS + 1)})
            for start in range(0, len(near), LOOKUP_CHUNK):
                rows.extend(session.execute(stmt.where(E.event_date.in_(near[start : start + LOOKUP_CHUNK]))).all())
    return rows


def _pair_in_order(rows: pd.DataFrame, stored: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Pair rows with stored events sharing ``keys``, one to one: the k-th row of a key with its k-th event."""
    left = rows[keys].assign(k=rows.groupby(keys, sort=False).cumcount().to_numpy(), row=rows.index)
    ordered = stored.sort_values(["withdrawn", "id"], kind="stable")
    right = ordered[keys].assign(k=ordered.groupby(keys, sort=False).cumcount().to_numpy(), pos=ordered.index)
    return left.merge(right, on=[*keys, "k"], how="inner")[["row", "pos"]]


def _given_ids(session: Session, rows: pd.DataFrame, stored: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Pair rows that carry an event id with the stored event of that id; refuse ids named twice or foreign."""
    given = rows[c.EVENT_ID].notna()
    if not given.any():
        return pd.DataFrame({"row": [], "pos": []}, dtype="int64")
    named = rows.loc[given, c.EVENT_ID]
    twice = named[named.duplicated()]
    if len(twice):
        raise InputError(f"{len(twice.unique())} event ids appear on more than one row with different content",
                         quoted=", ".join(twice.unique()[:5]))  # fmt: skip
    found = named.map(pd.Series(stored.index, index=stored[c.EVENT_ID]))
    missing = named[found.isna()].tolist()
    for start in range(0, len(missing), LOOKUP_CHUNK):
        chunk = missing[start : start + LOOKUP_CHUNK]
        elsewhere = session.execute(select(E.event_id, E.dataset).where(E.event_id.in_(chunk), E.dataset != dataset))
        taken = elsewhere.all()
        if taken:
            raise InputError(f"{len(taken)} event ids belong to another dataset than {dataset!r}",
                             quoted=", ".join(f"{i} ({d})" for i, d in taken[:5]))  # fmt: skip
    hit = found.notna()
    return pd.DataFrame({"row": named.index[hit.to_numpy()], "pos": found[hit].astype("int64").to_numpy()})


def _place_score(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    agree = np.zeros(len(a))
    present = np.zeros(len(a))
    for col in (c.STATE, c.LGA, c.COMMUNITY):
        x = a[col].map(names.key).to_numpy(dtype=object)
        y = b[col].map(names.key).to_numpy(dtype=object)
        both = (x != "") & (y != "")
        agree += both & (x == y)
        present += both
    return np.where(present > 0, agree / np.maximum(present, 1), 0.5)


def _text_score(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    url_a = a[c.SOURCE_URL].map(fold_report).to_numpy(dtype=object)
    url_b = b[c.SOURCE_URL].map(fold_report).to_numpy(dtype=object)
    same_url = (url_a != "") & (url_a == url_b)
    texts = zip(a[c.DESCRIPTION].tolist(), b[c.DESCRIPTION].tolist(), strict=True)
    similar = np.array([fuzz.token_set_ratio(x, y) / 100 if isinstance(x, str) and isinstance(y, str) else 0.0
                        for x, y in texts])  # fmt: skip
    return np.maximum(same_url.astype(float), similar)


def score(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Score aligned pairs of rows ``a`` and stored events ``b`` (MATCH_FIELDS each): see the module's doc."""
    days = pd.to_datetime(a[c.EVENT_DATE]).to_numpy() - pd.to_datetime(b[c.EVENT_DATE]).to_numpy()
    gap = np.abs(days.astype("timedelta64[D]").astype("float64"))
    near = np.clip(1 - np.nan_to_num(gap, nan=WINDOW_DAYS + 1) / (WINDOW_DAYS + 1), 0, 1)
    return WEIGHTS["text"] * _text_score(a, b) + WEIGHTS["place"] * _place_score(a, b) + WEIGHTS["date"] * near


def _match_keys(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Return a frame's candidate keys: its positions as ``name``, day, folded state and URL, fingerprint."""
    return pd.DataFrame({name: frame.index, "day": pd.to_datetime(frame[c.EVENT_DATE]),
                         "state": frame[c.STATE].map(names.key), "url": frame[c.SOURCE_URL].map(fold_report),
                         "fp": frame[c.FINGERPRINT]})  # fmt: skip


def _candidate_pairs(rows: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """Return (row, pos) pairs dated within the window that share the state, the source URL or the fingerprint.

    Each row is joined on (key, day) once for each day of the window, so only pairs near in time
    are ever made (joining on the state alone and filtering made ~100x more: 5 s -> 1 s for 10,000
    rows left); the exact gap is checked afterwards, for dates with a time of day.
    """
    if rows.empty or stored.empty:
        return pd.DataFrame({"row": [], "pos": []}, dtype="int64")
    left, right = _match_keys(rows, "row"), _match_keys(stored, "pos")
    offsets = np.arange(-WINDOW_DAYS, WINDOW_DAYS + 1).astype("timedelta64[D]")
    found = []
    for key in ("state", "url", "fp"):
        lk = left[left[key].ne("") & left[key].notna() & left["day"].notna()]
        rk = right[right[key].ne("") & right[key].notna() & right["day"].notna()]
        day = lk["day"].to_numpy(dtype="datetime64[ns]")
        near = pd.DataFrame({"row": np.repeat(lk["row"].to_numpy(), len(offsets)),
                             key: np.repeat(lk[key].to_numpy(dtype=object), len(offsets)),
                             "near": (day.astype("datetime64[D]")[:, None] + offsets).ravel(),
                             "day": np.repeat(day, len(offsets))})  # fmt: skip
        rk = rk.assign(near=rk["day"].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]"))
        found.append(near.merge(rk, on=[key, "near"], suffixes=("", "_s"))[["row", "pos", "day", "day_s"]])
    pairs = pd.concat(found, ignore_index=True).drop_duplicates(["row", "pos"])
    gap = (pairs["day"] - pairs["day_s"]).abs()
    return pairs.loc[gap.le(pd.Timedelta(days=WINDOW_DAYS)).to_numpy(), ["row", "pos"]]


def _stored_fields(session: Session, ids: Sequence[int], columns: Sequence[str]) -> pd.DataFrame:
    """Read ``columns`` of the stored events ``ids`` (in chunks), indexed by id."""
    out: list[Any] = []
    table = E.__table__
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = [int(i) for i in ids[start : start + LOOKUP_CHUNK]]
        out.extend(session.execute(select(table.c.id, *(table.c[col] for col in columns)).where(table.c.id.in_(chunk))))
    return pd.DataFrame(out, columns=["id", *columns]).set_index("id")


def _greedy(pairs: pd.DataFrame, scores: np.ndarray) -> list[tuple[int, int]]:
    """Take pairs best first, each row and each stored event once, down to MATCH_THRESHOLD."""
    order = np.lexsort((pairs["pos"].to_numpy(), pairs["row"].to_numpy(), -scores))
    taken_rows: set[int] = set()
    taken_pos: set[int] = set()
    chosen = []
    for i in order:
        if scores[i] < MATCH_THRESHOLD:
            break
        row, pos = int(pairs["row"].iat[i]), int(pairs["pos"].iat[i])
        if row in taken_rows or pos in taken_pos:
            continue
        taken_rows.add(row)
        taken_pos.add(pos)
        chosen.append((row, pos))
    return chosen


def _candidates(session: Session, rows: pd.DataFrame, stored: pd.DataFrame) -> list[tuple[int, int]]:
    """Match the rows left to the stored events left by score (module doc, step 3)."""
    if rows.empty or stored.empty:
        return []
    days = pd.to_datetime(rows[c.EVENT_DATE]).dropna()
    if days.empty:
        return []
    window = pd.Timedelta(days=WINDOW_DAYS)
    near = stored[stored[c.EVENT_DATE].between(days.min() - window, days.max() + window)]
    if near.empty:
        return []
    fields = _stored_fields(session, near["id"].tolist(), [col for col in MATCH_FIELDS if col != c.EVENT_DATE])
    pool = near.join(fields, on="id")
    pairs = _candidate_pairs(rows, pool)
    if pairs.empty:
        return []
    a = rows.loc[pairs["row"].to_numpy(), list(MATCH_FIELDS)].reset_index(drop=True)
    b = pool.loc[pairs["pos"].to_numpy(), list(MATCH_FIELDS)].reset_index(drop=True)
    return _greedy(pairs.reset_index(drop=True), score(a, b))


def _comparable(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, float):
        return round(value, 6)
    return value


def _column_changes(old: np.ndarray, new: np.ndarray) -> list[tuple[int, list[Any]]]:
    """Return (position, [old, new]) where two aligned columns differ once made comparable.

    Values equal as they are stay equal once comparable, so only the cells that differ as
    they are (most are equal) go through ``_comparable``.
    """
    out = []
    for i in np.flatnonzero(~(old == new)):
        a, b = _comparable(old[i]), _comparable(new[i])
        if a != b:
            out.append((int(i), [a, b]))
    return out


def changed_fields(session: Session, updated: pd.DataFrame) -> dict[int, dict[str, list[Any]]]:
    """Return, per updated event id, each content field whose value changed: ``[old, new]``."""
    if updated.empty:
        return {}
    columns = [col for col in CONTENT_COLUMNS if col in updated]
    ids = updated["id"].astype("int64").tolist()
    old = _stored_fields(session, ids, columns).reindex(ids)
    out: dict[int, dict[str, list[Any]]] = {pk: {} for pk in ids}
    for col in columns:
        before = old[col].to_numpy(dtype=object, na_value=None)
        after = updated[col].to_numpy(dtype=object, na_value=None)
        for i, pair in _column_changes(before, after):
            out[ids[i]][col] = pair
    return out


def plan(session: Session, events: pd.DataFrame, *, dataset: str, snapshot: bool) -> Plan:
    """Match ``events`` (distinct, with fingerprint and content hash) to the dataset and say what changes."""
    rows = events.reset_index(drop=True)
    everything = snapshot or len(rows) >= FULL_SCAN_AT
    stored = stored_keys(session, dataset, rows, everything).reset_index(drop=True)
    if stored.empty:  # a first load: a million rows need no matching against nothing
        _given_ids(session, rows, stored, dataset)  # still refuse ids named twice or another dataset's
        nothing = pd.DataFrame(columns=[*KEY_COLUMNS, c.STATE])
        return Plan(rows=rows.assign(id=-1, change="created"), withdrawn=nothing, restored_ids=np.empty(0, np.int64),
                    rekeyed=pd.DataFrame(columns=["id", c.FINGERPRINT]))  # fmt: skip
    match = np.full(len(rows), -1, dtype=np.int64)

    def take(pairs: pd.DataFrame | list[tuple[int, int]]) -> None:
        frame = pd.DataFrame(pairs, columns=["row", "pos"]) if isinstance(pairs, list) else pairs
        match[frame["row"].to_numpy(dtype=np.int64)] = frame["pos"].to_numpy(dtype=np.int64)

    take(_given_ids(session, rows, stored, dataset))
    free_rows, free_pos = _free(rows, stored, match)
    take(_pair_in_order(free_rows, free_pos, [c.FINGERPRINT, c.CONTENT_HASH]))
    free_rows, free_pos = _free(rows, stored, match)
    take(_pair_in_order(free_rows, free_pos, [c.FINGERPRINT]))
    if snapshot:
        free_rows, free_pos = _free(rows, stored, match)
        take(_candidates(session, free_rows[free_rows[c.EVENT_ID].isna()], free_pos))

    matched = match >= 0
    hit = stored.iloc[match[matched]]
    ids = np.full(len(rows), -1, dtype=np.int64)
    ids[matched] = hit["id"].to_numpy(dtype=np.int64)
    same = np.zeros(len(rows), dtype=bool)
    same[matched] = hit[c.CONTENT_HASH].to_numpy(dtype=object) == rows.loc[matched, c.CONTENT_HASH].to_numpy()
    was_withdrawn = np.zeros(len(rows), dtype=bool)
    was_withdrawn[matched] = hit["withdrawn"].to_numpy(dtype=bool)
    change = np.where(~matched, "created", np.where(same, "unchanged", "updated"))
    event_ids = rows[c.EVENT_ID].to_numpy(dtype=object).copy()
    event_ids[matched] = hit[c.EVENT_ID].to_numpy(dtype=object)
    rows = rows.assign(id=ids, change=change, **{c.EVENT_ID: event_ids})

    stale = matched & same
    stale[matched] &= hit[c.FINGERPRINT].to_numpy(dtype=object) != rows.loc[matched, c.FINGERPRINT].to_numpy()
    rekeyed = rows.loc[stale, ["id", c.FINGERPRINT]]
    left = stored[~stored.index.isin(match[matched]) & ~stored["withdrawn"]]
    withdrawn = left if snapshot else left.iloc[0:0]
    if not withdrawn.empty:
        withdrawn = withdrawn.join(_stored_fields(session, withdrawn["id"].tolist(), [c.STATE]), on="id")
    result = Plan(rows=rows, withdrawn=withdrawn, restored_ids=ids[matched & was_withdrawn], rekeyed=rekeyed,
                  live_before=int((~stored["withdrawn"]).sum()) if everything else 0)  # fmt: skip
    result.fields = changed_fields(session, rows[rows["change"].eq("updated")])
    return result


def _free(rows: pd.DataFrame, stored: pd.DataFrame, match: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the rows not matched yet and the stored events no row has taken."""
    return rows[match < 0], stored[~stored.index.isin(match[match >= 0])]


def fields_json(fields: dict[str, list[Any]] | None) -> str | None:
    """Return a revision's changed fields as JSON text (None when there are none)."""
    return json.dumps(fields, sort_keys=True, default=str) if fields else None


def own_number(event_id: object) -> int | None:
    """Return n of an id of this product's form ``NGA<n>``, else None."""
    found = OWN_ID.match(event_id) if isinstance(event_id, str) else None
    return int(found.group(1)) if found else None
