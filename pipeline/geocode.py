"""Geocode: place each event at the finest gazetteer level its state, LGA and community allow.

Resolution is worked out once per distinct (state, lga, community) and merged back, so
a million rows naming ten thousand places cost ten thousand look-ups. The state is never
changed to another state: an LGA is only looked for inside the event's own state.

Precision: "ward" (community is a ward of the LGA), "lga", "state" or "none".
Method: "exact", "alias", "fuzzy" (how the LGA, or the state when that is all, matched),
or "village" (the LGA came from the community, via the export's village list or the
gazetteer's wards). Coordinates are LGA centroids (wards have none) or state centroids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd

from pipeline import columns as c
from pipeline import gazetteer

log = logging.getLogger(__name__)

VILLAGE_CONFIDENCE = 0.75
KEYS = [c.STATE, c.LGA, c.COMMUNITY]
VillageIndex = dict[tuple[str, str], frozenset[str]]


@dataclass(frozen=True)
class Place:
    """Where one distinct (state, lga, community) resolves to."""

    state: str | None
    lga: str | None
    region: str | None
    latitude: float | None
    longitude: float | None
    precision: str
    method: str | None
    confidence: float
    state_code: str | None
    lga_code: str | None
    ward_code: str | None


NOWHERE = Place(None, None, None, None, None, "none", None, 0.0, None, None, None)


def village_index(villages: pd.DataFrame | None) -> VillageIndex:
    """Index a village list (state, lga, village) as (state code, village key) -> LGA codes."""
    if villages is None or villages.empty:
        return {}
    pairs = villages[["state", "lga"]].drop_duplicates()
    codes = {}
    for state, lga in pairs.itertuples(index=False):
        match = gazetteer.find_lga(state, lga)
        if match is not None:
            codes[(state, lga)] = (match.state_code, match.code)
    index: dict[tuple[str, str], set[str]] = {}
    for state, lga, village in villages[["state", "lga", "village"]].itertuples(index=False):
        found = codes.get((state, lga))
        if found is not None:
            index.setdefault((found[0], gazetteer.key(village)), set()).add(found[1])
    return {k: frozenset(v) for k, v in index.items()}


def _lga_from_community(state_code: str, community: str | None, villages: VillageIndex) -> str | None:
    """Return the one LGA of a state whose village list or wards name this community."""
    if not community:
        return None
    k = gazetteer.key(community)
    as_lga = gazetteer.find_lga(state_code, community)
    if as_lga is not None and as_lga.method in ("exact", "alias"):
        return as_lga.code
    candidates = set(villages.get((state_code, k), ())) | set(gazetteer.ward_lgas(state_code, k))
    return candidates.pop() if len(candidates) == 1 else None


def resolve(state: str | None, lga: str | None, community: str | None, villages: VillageIndex) -> Place:
    """Resolve one place to its gazetteer state, LGA and ward."""
    found_state = gazetteer.find_state(state) if state else None
    if found_state is None and lga:
        # A missing state may be implied by an LGA name that exists in exactly one state.
        homes = gazetteer.lga_states(lga)
        found_state = gazetteer.state_by_code(homes[0]) if not state and len(homes) == 1 else None
    if found_state is None:
        return NOWHERE
    match = gazetteer.find_lga(found_state.code, lga) if lga else None
    method = match.method if match else None
    confidence = match.confidence if match else 0.0
    if match is None and not (lga and gazetteer.lga_states(lga)):
        # No LGA, or one unknown anywhere ("Dikwagubio"): the community may name the LGA.
        code = _lga_from_community(found_state.code, community, villages)
        if code is not None:
            match = gazetteer.lga_by_code(code)
            method, confidence = "village", VILLAGE_CONFIDENCE
    if match is None:
        return Place(found_state.name, lga, found_state.region, found_state.latitude, found_state.longitude,
                     "state", found_state.method, found_state.confidence, found_state.code, None, None)  # fmt: skip
    ward = gazetteer.find_ward(match.code, community) if community else None
    return Place(found_state.name, match.name, found_state.region, match.latitude, match.longitude,
                 "ward" if ward else "lga", method, min(confidence, found_state.confidence),
                 found_state.code, match.code, ward)  # fmt: skip


def _places(distinct: pd.DataFrame, villages: VillageIndex) -> pd.DataFrame:
    rows = [resolve(s or None, lg or None, co or None, villages) for s, lg, co in distinct.itertuples(index=False)]
    frame = pd.DataFrame(rows, columns=list(Place.__dataclass_fields__))
    return pd.concat([distinct.reset_index(drop=True), frame.add_prefix("geo__")], axis=1)


def _text(series: pd.Series) -> pd.Series:
    """Return an object column with None (not NaN) for missing values."""
    series = series.astype(object)
    return series.where(series.notna(), None)


def geocode(events: pd.DataFrame, villages: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return events with coordinates, precision, method, confidence and gazetteer codes."""
    keys = events[KEYS].astype(object).fillna("")
    distinct = keys.drop_duplicates()
    places = _places(distinct, village_index(villages))
    merged = keys.merge(places, on=KEYS, how="left").set_axis(events.index)
    resolved = merged["geo__precision"] != "none"
    region = events[c.REGION] if c.REGION in events else pd.Series(None, index=events.index, dtype=object)
    out = events.assign(
        **{
            c.STATE: _text(merged["geo__state"].where(resolved, events[c.STATE])),
            c.LGA: _text(merged["geo__lga"].where(resolved, events[c.LGA])),
            c.REGION: _text(merged["geo__region"].where(resolved, region)),
            c.LATITUDE: merged["geo__latitude"].astype(float),
            c.LONGITUDE: merged["geo__longitude"].astype(float),
            c.GEO_PRECISION: _text(merged["geo__precision"]),
            c.GEO_METHOD: _text(merged["geo__method"]),
            c.GEO_CONFIDENCE: merged["geo__confidence"].astype(float),
            c.STATE_CODE: _text(merged["geo__state_code"]),
            c.LGA_CODE: _text(merged["geo__lga_code"]),
            c.WARD_CODE: _text(merged["geo__ward_code"]),
        }
    )
    log.info("geocoded %d events over %d distinct places", len(out), len(distinct))
    return out
