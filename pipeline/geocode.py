"""Geocode: place each event at the finest gazetteer level its state, LGA and community allow.

The costly matching (fuzzy LGA names) runs once per distinct (state, lga) and is merged
back; communities only need dictionary look-ups (ward names, and the village list when
the LGA is missing), so a million rows with many distinct villages stay fast. The state
is never changed to another state: an LGA is only looked for inside the event's state.

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
from pipeline.normalise import map_distinct

log = logging.getLogger(__name__)

VILLAGE_CONFIDENCE = 0.75
VillageIndex = dict[tuple[str, str], set[str]]


@dataclass(frozen=True)
class Place:
    """Where one distinct (state, lga) resolves to."""

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
    # The LGA is missing or unknown anywhere, so the community may name it.
    ask_community: bool = False


NOWHERE = Place(None, None, None, None, None, "none", None, 0.0, None, None)
FIELDS = list(Place.__dataclass_fields__)


def village_index(villages: pd.DataFrame | None) -> VillageIndex:
    """Index a village list (state, lga, village) as (state code, village key) -> LGA codes."""
    if villages is None or villages.empty:
        return {}
    pairs = villages[["state", "lga"]].drop_duplicates()
    found = [gazetteer.find_lga(state, lga) for state, lga in pairs.itertuples(index=False)]
    pairs = pairs.assign(state_code=[getattr(m, "state_code", None) for m in found],
                         lga_code=[getattr(m, "code", None) for m in found])  # fmt: skip
    located = villages.merge(pairs.dropna(), on=["state", "lga"])
    located = located.assign(key=map_distinct(located["village"], gazetteer.key).to_numpy())
    homes: dict[tuple[str, str], set[str]] = {}
    rows = located[["state_code", "key", "lga_code"]].drop_duplicates().to_numpy(dtype=object)
    for state_code, key, lga_code in rows:
        homes.setdefault((state_code, key), set()).add(lga_code)
    return homes


def resolve(state: str | None, lga: str | None) -> Place:
    """Resolve a state and LGA name to the gazetteer (LGA searched within the state only)."""
    found_state = gazetteer.find_state(state) if state else None
    if found_state is None and lga:
        # A missing state may be implied by an LGA name that exists in exactly one state.
        homes = gazetteer.lga_states(lga)
        found_state = gazetteer.state_by_code(homes[0]) if not state and len(homes) == 1 else None
    if found_state is None:
        return NOWHERE
    match = gazetteer.find_lga(found_state.code, lga) if lga else None
    if match is None:
        ask = not lga or not gazetteer.lga_states(lga)
        return Place(found_state.name, lga, found_state.region, found_state.latitude, found_state.longitude,
                     "state", found_state.method, found_state.confidence, found_state.code, None, ask)  # fmt: skip
    return Place(found_state.name, match.name, found_state.region, match.latitude, match.longitude, "lga",
                 match.method, min(match.confidence, found_state.confidence), found_state.code, match.code)  # fmt: skip


def lga_from_community(state_code: str, community: str, villages: VillageIndex) -> str | None:
    """Return the code of the one LGA of a state whose name, villages or wards match the community."""
    as_lga = gazetteer.find_lga(state_code, community)
    if as_lga is not None and as_lga.method in ("exact", "alias"):
        return as_lga.code
    k = gazetteer.key(community)
    candidates = set(villages.get((state_code, k), ())) | set(gazetteer.ward_lgas(state_code, k))
    return candidates.pop() if len(candidates) == 1 else None


def _by_pair(events: pd.DataFrame) -> pd.DataFrame:
    keys = events[[c.STATE, c.LGA]].astype(object).fillna("")
    pairs = keys.drop_duplicates()
    places = pd.DataFrame([resolve(s or None, lg or None) for s, lg in pairs.itertuples(index=False)], columns=FIELDS)
    table = pd.concat([pairs.reset_index(drop=True), places.add_prefix("geo_")], axis=1)
    merged = keys.merge(table, on=[c.STATE, c.LGA], how="left").set_axis(events.index)
    return merged[[f"geo_{f}" for f in FIELDS]].set_axis(FIELDS, axis=1)


def _fill_from_communities(places: pd.DataFrame, community: pd.Series, villages: pd.DataFrame | None) -> pd.DataFrame:
    """Give rows with no usable LGA the LGA their community names, where that is unambiguous."""
    ask = places["ask_community"].astype(bool) & community.notna()
    if not ask.any():
        return places
    index = village_index(villages)
    pairs = pd.DataFrame({"state_code": places.loc[ask, "state_code"], "community": community[ask]})
    found = {pair: lga_from_community(*pair, index) for pair in set(pairs.itertuples(index=False, name=None))}
    codes = pd.Series([found[pair] for pair in pairs.itertuples(index=False, name=None)], index=pairs.index).dropna()
    if codes.empty:
        return places
    lgas = gazetteer.lga_centroids().set_index("lga_code").loc[codes.to_numpy()].set_index(codes.index)
    filled = places.copy()
    filled.loc[codes.index, "lga"] = lgas["lga"]
    filled.loc[codes.index, "latitude"] = lgas["latitude"]
    filled.loc[codes.index, "longitude"] = lgas["longitude"]
    filled.loc[codes.index, "lga_code"] = codes
    filled.loc[codes.index, "precision"] = "lga"
    filled.loc[codes.index, "method"] = "village"
    filled.loc[codes.index, "confidence"] = filled.loc[codes.index, "confidence"].clip(upper=VILLAGE_CONFIDENCE)
    return filled


def _wards(places: pd.DataFrame, community: pd.Series) -> pd.Series:
    """Return the ward code where the community is a ward of the event's LGA."""
    has = places["lga_code"].notna() & community.notna()
    wards = pd.Series(None, index=places.index, dtype=object)
    if has.any():
        ward_key = map_distinct(community[has], gazetteer.key)
        keys = pd.DataFrame({"lga_code": places.loc[has, "lga_code"], "ward_key": ward_key})
        found = keys.merge(gazetteer.ward_table(), on=["lga_code", "ward_key"], how="left")["ward_code"]
        wards.loc[has] = found.to_numpy()
    return wards.where(wards.notna(), None)


def _text(series: pd.Series) -> pd.Series:
    """Return an object column with None (not NaN) for missing values."""
    series = series.astype(object)
    return series.where(series.notna(), None)


def geocode(events: pd.DataFrame, villages: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return events with coordinates, precision, method, confidence and gazetteer codes."""
    community = events[c.COMMUNITY] if c.COMMUNITY in events else pd.Series(None, index=events.index, dtype=object)
    places = _by_pair(events)
    places = _fill_from_communities(places, community, villages)
    ward = _wards(places, community)
    precision = places["precision"].where(ward.isna(), "ward")
    found = precision != "none"
    region = events[c.REGION] if c.REGION in events else pd.Series(None, index=events.index, dtype=object)
    out = events.assign(
        **{
            c.STATE: _text(places["state"].where(found, events[c.STATE])),
            c.LGA: _text(places["lga"].where(found, events[c.LGA])),
            c.REGION: _text(places["region"].where(found, region)),
            c.LATITUDE: places["latitude"].astype(float),
            c.LONGITUDE: places["longitude"].astype(float),
            c.GEO_PRECISION: _text(precision),
            c.GEO_METHOD: _text(places["method"]),
            c.GEO_CONFIDENCE: places["confidence"].astype(float),
            c.STATE_CODE: _text(places["state_code"]),
            c.LGA_CODE: _text(places["lga_code"]),
            c.WARD_CODE: ward,
        }
    )
    log.info("geocoded %d events: %s", len(out), precision.value_counts().to_dict())
    return out[c.in_event_order(list(out.columns))]
