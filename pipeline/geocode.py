"""Geocode: place each event at the finest gazetteer level its state, LGA and community allow.

The costly matching (fuzzy LGA names) runs once per distinct (state, lga) and is merged
back; communities only need dictionary look-ups (ward names, and the village list when
the LGA is missing), so a million rows with many distinct villages stay fast. An LGA is
only looked for inside the event's state, so a misspelling never lands in another state.

Precision: "ward" (community is a ward of the LGA), "lga", "state" or "none".
Method: "exact", "alias", "fuzzy" (how the LGA, or the state when that is all, matched),
or "village" (the LGA came from a place: the community or location text, or an LGA column
naming a ward, LGA seat or listed village, via the export's village list or the gazetteer's
wards). An LGA column naming a city ("Ibadan") or two LGAs run together leaves candidates
that the community may choose between. Coordinates are LGA centroids (wards have none) or
state centroids.

The one exception to "never another state": an LGA of exactly one other state, backed by a
witness (community, location, description or source URL) with none siding with the stated
state, moves the event to the LGA's state with a note (``pipeline.restate``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import pandas as pd

from pipeline import columns as c
from pipeline import restate
from pipeline.frames import column, map_distinct
from reference import gazetteer, lga_lookup, names
from reference.places import ward_table

log = logging.getLogger(__name__)

VILLAGE_CONFIDENCE = 0.75
_SEPARATORS = re.compile(r"\s*(?:/|-|\u2013|,|;|&|\band\b)\s*", re.IGNORECASE)
VillageIndex = gazetteer.VillageIndex


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
    # The LGA column gave no single LGA, so the community or location text may name it,
    # among these candidates when the column narrowed it down ("Ibadan": one of five).
    ask_community: bool = False
    candidates: frozenset[str] = frozenset()
    # The LGA column names another state's LGA: a witness may move the event there.
    elsewhere: bool = False


NOWHERE = Place(None, None, None, None, None, "none", None, 0.0, None, None)
FIELDS = list(Place.__dataclass_fields__)


def village_index(villages: pd.DataFrame | None) -> VillageIndex:
    """Index a village list (state, lga, village) as (state code, village key) -> LGA codes."""
    if villages is None or villages.empty:
        return {}
    pairs = villages[["state", "lga"]].drop_duplicates()
    found = [lga_lookup.find_lga(state, lga) for state, lga in pairs.itertuples(index=False)]
    pairs = pairs.assign(state_code=[getattr(m, "state_code", None) for m in found],
                         lga_code=[getattr(m, "code", None) for m in found])  # fmt: skip
    located = villages.merge(pairs.dropna(), on=["state", "lga"])
    located = located.assign(key=map_distinct(located["village"], names.key).to_numpy())
    homes: dict[tuple[str, str], set[str]] = {}
    rows = located[["state_code", "key", "lga_code"]].drop_duplicates().to_numpy(dtype=object)
    for state_code, key, lga_code in rows:
        homes.setdefault((state_code, key), set()).add(lga_code)
    return homes


def resolve(state: str | None, lga: str | None, villages: VillageIndex | None = None) -> Place:
    """Resolve a state and LGA name to the gazetteer (LGA searched within the state only)."""
    found_state = gazetteer.find_state(state) if state else None
    if found_state is None and lga:
        # A missing state may be implied by an LGA name that exists in exactly one state.
        homes = gazetteer.lga_states(lga)
        found_state = gazetteer.state_by_code(homes[0]) if not state and len(homes) == 1 else None
    if found_state is None:
        return NOWHERE
    match = lga_lookup.find_lga(found_state.code, lga) if lga else None
    if match is None:
        candidates = _candidates(found_state.code, lga, villages) if lga else frozenset()
        if len(candidates) != 1:
            # An LGA of another state contradicts the state: left for the lga_in_state rule to
            # report, not hidden behind a namesake village of this state.
            ask = not lga or bool(candidates) or not gazetteer.lga_states(lga) or _names_state(lga, found_state)
            return Place(found_state.name, lga, found_state.region, found_state.latitude, found_state.longitude,
                         "state", found_state.method, found_state.confidence, found_state.code, None, ask,
                         candidates, not ask)  # fmt: skip
        match = gazetteer.lga_by_code(next(iter(candidates)))
        match = gazetteer.LgaMatch(**{**match.__dict__, "method": "village", "confidence": VILLAGE_CONFIDENCE})
    return Place(found_state.name, match.name, found_state.region, match.latitude, match.longitude, "lga",
                 match.method, min(match.confidence, found_state.confidence), found_state.code, match.code)  # fmt: skip


def _names_state(lga: str, state: gazetteer.StateMatch) -> bool:
    """Tell whether an LGA column just repeats the state's name ("Ekiti" in Ekiti, not Kwara's Ekiti)."""
    return names.key(lga) == names.key(state.name)


def _candidates(state_code: str, lga: str, villages: VillageIndex | None) -> frozenset[str]:
    """Return the LGAs an unmatched LGA name leaves open (one: found; none: any LGA of the state).

    A city ("Ibadan") or two names run together ("Dikwagubio") leave a few. A ward, seat or
    listed village of the state named as the LGA ("Umaisha") gives its LGA if it has one
    only; not when the name is another state's LGA, as a namesake here proves nothing.
    """
    parts = lga_lookup.lga_candidates(state_code, lga)
    places: frozenset[str] = frozenset()
    if not gazetteer.lga_states(lga):
        places = lga_lookup.place_lgas(state_code, lga) | _village_homes(state_code, lga, villages)
    if parts:
        return parts & places if len(parts & places) == 1 else parts
    return places if len(places) == 1 else frozenset()


def _village_homes(state_code: str, name: str, villages: VillageIndex | None) -> frozenset[str]:
    return frozenset(villages.get((state_code, names.key(name)), ())) if villages else frozenset()


def _parts(text: str) -> list[str]:
    """Split "Magumeri-Gubio road" or "Maraba/Alalubosa" into its places, dropping route words."""
    words = [w for w in _SEPARATORS.sub(" | ", text).split() if w.casefold() not in lga_lookup.ROUTE_WORDS]
    return [p.strip() for p in " ".join(words).split("|") if p.strip()]


def lga_from_text(state_code: str, candidates: frozenset[str], texts: tuple[str | None, ...],
                  villages: VillageIndex) -> str | None:  # fmt: skip
    """Return the one LGA of the state (among the candidates, if any) that a community or place text names.

    A text is first looked up whole (an LGA, ward, LGA seat or listed village of the state);
    failing that, as the places it joins ("Mafa-Dikwa", "A/B"): among candidates, the parts
    may name only one of them; without candidates, every part must lie in the same one LGA.
    """
    for text in texts:
        if not text:
            continue
        homes = _homes(state_code, text, villages, candidates)
        parts = [_homes(state_code, part, villages, candidates) for part in _parts(text)] if not homes else []
        if len(parts) == 1 or (parts and candidates):
            homes = frozenset().union(*parts)
        elif parts and all(parts):
            homes = frozenset.intersection(*parts)
        if len(homes) == 1:
            return next(iter(homes))
    return None


def _homes(state_code: str, text: str, villages: VillageIndex, candidates: frozenset[str]) -> frozenset[str]:
    """Return the LGAs (among the candidates, if any) a place of the state lies in."""
    named = gazetteer.lga_named(state_code, text)
    if named is not None:
        homes = frozenset({named})  # an LGA's own name wins over villages that share it
    else:
        homes = lga_lookup.place_lgas(state_code, text) | _village_homes(state_code, text, villages)
    return homes & candidates if candidates else homes


def _by_pair(events: pd.DataFrame, villages: pd.DataFrame | None) -> tuple[pd.DataFrame, VillageIndex]:
    """Return the places of the events' distinct (state, lga) pairs, and the village index if it was needed."""
    keys = events[[c.STATE, c.LGA]].astype(object).fillna("")
    pairs = keys.drop_duplicates()
    found = [resolve(s or None, lg or None) for s, lg in pairs.itertuples(index=False)]
    index: VillageIndex = {}
    if villages is not None and any(p.ask_community or p.elsewhere for p in found):
        # Only now is the village list worth indexing: an LGA column may name a listed village.
        index = village_index(villages)
        found = [resolve(s or None, lg or None, index) if p.ask_community and lg else p
                 for (s, lg), p in zip(pairs.itertuples(index=False), found, strict=True)]  # fmt: skip
    places = pd.DataFrame([vars(p) for p in found], columns=FIELDS)
    table = pd.concat([pairs.reset_index(drop=True), places.add_prefix("geo_")], axis=1)
    merged = keys.merge(table, on=[c.STATE, c.LGA], how="left").set_axis(events.index)
    return merged[[f"geo_{f}" for f in FIELDS]].set_axis(FIELDS, axis=1), index


def _fill_from_communities(places: pd.DataFrame, texts: pd.DataFrame, index: VillageIndex) -> pd.DataFrame:
    """Give rows with no single LGA the LGA their community or location text names, where unambiguous."""
    ask = places["ask_community"].astype(bool) & texts.notna().any(axis=1)
    if not ask.any():
        return places
    asked = pd.concat([places.loc[ask, ["state_code", "candidates"]], texts[ask]], axis=1).astype(object)
    asked = asked.where(asked.notna(), None)
    rows = list(asked.itertuples(index=False, name=None))
    found = {row: lga_from_text(row[0], row[1], row[2:], index) for row in set(rows)}
    codes = pd.Series([found[row] for row in rows], index=asked.index).dropna()
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


def _restate(places: pd.DataFrame, events: pd.DataFrame, index: VillageIndex) -> pd.DataFrame:
    """Move events whose LGA lies in another state there, where a witness agrees (``pipeline.restate``)."""
    out = places.assign(correction=pd.Series(None, index=places.index, dtype=object))
    asked = places["elsewhere"].astype(bool)
    if not asked.any():
        return out
    said = [column(events, name)[asked] for name in (c.LGA, c.COMMUNITY, c.LOCATION_TEXT, c.DESCRIPTION, c.SOURCE_URL)]
    rows = pd.concat([places.loc[asked, "state_code"], *said], axis=1).astype(object)
    rows = rows.where(rows.notna(), None)
    found = [restate.correction(row, index) for row in rows.itertuples(index=False, name=None)]
    moved = {i: f for i, f in zip(rows.index, found, strict=True) if f is not None}
    if not moved:
        return out
    lgas = [lga for lga, _ in moved.values()]
    states = [gazetteer.state_by_code(lga.state_code) for lga in lgas]
    fixes = {
        "state": [s.name for s in states], "region": [s.region for s in states], "state_code": [s.code for s in states],
        "lga": [lga.name for lga in lgas], "lga_code": [lga.code for lga in lgas],
        "latitude": [lga.latitude for lga in lgas], "longitude": [lga.longitude for lga in lgas],
        "method": [lga.method for lga in lgas], "precision": "lga", "confidence": restate.CORRECTED_CONFIDENCE,
        "correction": [note for _, note in moved.values()],
    }  # fmt: skip
    for name, values in fixes.items():
        out.loc[list(moved), name] = values
    return out


def _wards(places: pd.DataFrame, community: pd.Series) -> pd.Series:
    """Return the ward code where the community is a ward of the event's LGA."""
    has = places["lga_code"].notna() & community.notna()
    wards = pd.Series(None, index=places.index, dtype=object)
    if has.any():
        ward_key = map_distinct(community[has], names.key)
        keys = pd.DataFrame({"lga_code": places.loc[has, "lga_code"], "ward_key": ward_key})
        found = keys.merge(ward_table(), on=["lga_code", "ward_key"], how="left")["ward_code"]
        wards.loc[has] = found.to_numpy()
    return wards.where(wards.notna(), None)


def _text(series: pd.Series) -> pd.Series:
    """Return an object column with None (not NaN) for missing values."""
    series = series.astype(object)
    return series.where(series.notna(), None)


def geocode(events: pd.DataFrame, villages: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return events with coordinates, precision, method, confidence and gazetteer codes."""
    community = column(events, c.COMMUNITY)
    places, index = _by_pair(events, villages)
    texts = pd.DataFrame({c.COMMUNITY: community, c.LOCATION_TEXT: column(events, c.LOCATION_TEXT)})
    places = _restate(_fill_from_communities(places, texts, index), events, index)
    ward = _wards(places, community)
    precision = places["precision"].where(ward.isna(), "ward")
    found = precision != "none"
    region = column(events, c.REGION)
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
            c.STATE_CORRECTION: _text(places["correction"]),
        }
    )
    log.info("geocoded %d events: %s", len(out), precision.value_counts().to_dict())
    return out[c.in_event_order(list(out.columns))]
