"""The official gazetteer (naija-data): states and LGAs with centroids, indexed by name.

Loaded once per process (lazy, cached). Names are compared by ``names.key``, so case,
punctuation and suffixes never matter. Matching a written LGA name inside its state is
``reference.lga_lookup``; wards and the places they list are ``reference.places``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import naija_data
import pandas as pd
from rapidfuzz import fuzz, process

from reference.names import canon, key

# Lagos State's Local Council Development Areas (created 2003 inside the 20 constitutional
# LGAs, which the gazetteer lists): reports often name the LCDA. Keyed by the LGA it lies in.
# All 37 but Lekki (in Ibeju/Lekki), whose name is just as often the Lekki of Eti-Osa.
LAGOS_LCDAS: dict[str, tuple[str, ...]] = {
    "Agege": ("Orile Agege",), "Ajeromi/Ifelodun": ("Ifelodun",), "Amuwo-Odofin": ("Oriade",),
    "Alimosho": ("Agbado/Oke-Odo", "Ayobo/Ipaja", "Egbe/Idimu", "Igando/Ikotun", "Mosan/Okunola"),
    "Apapa": ("Apapa-Iganmu",), "Badagry": ("Badagry West", "Olorunda"), "Epe": ("Eredo", "Ikosi-Ejinrin"),
    "Eti-Osa": ("Eti-Osa East", "Iru/Victoria Island", "Ikoyi-Obalende"),
    "Ifako-Ijaye": ("Ojokoro",), "Ikeja": ("Ojodu", "Onigbongbo"), "Kosofe": ("Agboyi/Ketu", "Ikosi-Isheri"),
    "Ikorodu": ("Igbogbo/Bayeku", "Ijede", "Ikorodu North", "Ikorodu West", "Imota"),
    "Lagos Island": ("Lagos Island East",), "Lagos Mainland": ("Yaba",), "Mushin": ("Odi-Olowo/Ojuwoye",),
    "Ojo": ("Iba", "Oto-Awori"), "Oshodi/Isolo": ("Ejigbo", "Isolo"), "Somolu": ("Bariga",),
    "Surulere": ("Coker-Aguda", "Itire-Ikate"),
}  # fmt: skip
# Names that differ from the gazetteer's for reasons no spelling rule can catch
# (renamings and well-known alternative names), keyed by state code.
LGA_ALIASES: dict[str, dict[str, str]] = {
    "OG": {"Yewa North": "Egbado North", "Yewa South": "Egbado South"},  # the state's names for INEC's Egbado
    "EB": {"Edda": "Afikpo South"},  # Afikpo South is widely called Edda
    "RI": {"PH": "Port Harcourt"},
    "LA": {lcda: lga for lga, names in LAGOS_LCDAS.items() for lcda in names},
}
# An export's village list: (state code, place key) -> codes of the LGAs a village is listed in.
VillageIndex = dict[tuple[str, str], set[str]]
EXACT_CONFIDENCE = 1.0
STATE_FUZZY_CUTOFF = 85.0


@dataclass(frozen=True)
class StateMatch:
    """A state found for a name."""

    code: str
    name: str
    region: str
    latitude: float | None
    longitude: float | None
    method: str
    confidence: float


@dataclass(frozen=True)
class LgaMatch:
    """An LGA found for a name within a state."""

    code: str
    name: str
    state_code: str
    latitude: float | None
    longitude: float | None
    method: str
    confidence: float


def region_name(zone: str) -> str:
    """Return NVCD's region spelling for a geopolitical zone ("North-Central" -> "North Central")."""
    return zone.replace("-", " ")


@cache
def _states() -> dict[str, StateMatch]:
    return {
        s.code: StateMatch(s.code, s.name, region_name(s.zone), s.lat, s.lon, "exact", EXACT_CONFIDENCE)
        for s in naija_data.states()
    }


@cache
def _state_keys() -> dict[str, str]:
    index: dict[str, str] = {}
    for s in naija_data.states():
        for term in (s.name, s.slug, *s.aliases):
            index.setdefault(key(term), s.code)
    return index


@cache
def lga_index() -> dict[str, tuple[dict[str, naija_data.LGA], dict[str, naija_data.LGA]]]:
    """Return per state code: (name key -> LGA, alias key -> LGA)."""
    names: dict[str, dict[str, naija_data.LGA]] = {s: {} for s in _states()}
    aliases: dict[str, dict[str, naija_data.LGA]] = {s: {} for s in _states()}
    by_name = {(lga.state_code, lga.name): lga for lga in naija_data.lgas()}
    for lga in naija_data.lgas():
        names[lga.state_code][key(lga.name)] = lga
        for term in (lga.slug, *lga.aliases):
            aliases[lga.state_code].setdefault(key(term), lga)
    for state, table in LGA_ALIASES.items():
        for alias, name in table.items():
            aliases[state][key(alias)] = by_name[(state, name)]
    # naija-data lists some sibling LGAs as aliases of each other ("Kaura" alias "Kauru"),
    # so a real name always wins over an alias.
    for state in names:
        aliases[state] = {k: v for k, v in aliases[state].items() if k not in names[state]}
    return {s: (names[s], aliases[s]) for s in names}


@cache
def headquarters() -> dict[str, dict[str, naija_data.LGA]]:
    """Return per state code: headquarters-town key -> LGA, for towns that head one LGA only."""
    towns: dict[str, dict[str, list[naija_data.LGA]]] = {s: {} for s in _states()}
    for lga in naija_data.lgas():
        if lga.headquarters:
            towns[lga.state_code].setdefault(key(lga.headquarters), []).append(lga)
    return {s: {k: v[0] for k, v in t.items() if len(v) == 1} for s, t in towns.items()}


@cache
def lga_canons(state_code: str) -> tuple[tuple[str, naija_data.LGA], ...]:
    """Return the state's LGAs with their ``canon`` names (the name rules scan them all, often)."""
    return tuple((canon(lga.name), lga) for lga in lga_index()[state_code][0].values())


@cache
def _lga_by_code() -> dict[str, naija_data.LGA]:
    return {lga.code: lga for lga in naija_data.lgas()}


def states() -> list[StateMatch]:
    """Return all 37 states (36 and the FCT) with region and centroid."""
    return list(_states().values())


def state_by_code(code: str) -> StateMatch:
    """Return the state with this code (e.g. "KD")."""
    return _states()[code]


def find_state(name: object) -> StateMatch | None:
    """Return the state a name means (name, alias, code or close misspelling), or None."""
    k = key(name)
    if not k:
        return None
    found = _state_keys().get(k)
    if found is None:
        upper = str(name).strip().upper()
        found = upper if upper in _states() else None
    if found is not None:
        return _states()[found]
    best = process.extractOne(k, list(_state_keys()), scorer=fuzz.ratio, score_cutoff=STATE_FUZZY_CUTOFF)
    if best is None:
        return None
    state = _states()[_state_keys()[best[0]]]
    return StateMatch(**{**state.__dict__, "method": "fuzzy", "confidence": round(best[1] / 100, 3)})


def resolve_state(state: object) -> StateMatch | None:
    """Return the state for a code ("KD") or a name (as ``find_state``)."""
    return _states().get(str(state)) or find_state(state)


def as_lga_match(lga: naija_data.LGA, method: str, confidence: float) -> LgaMatch:
    """Return a gazetteer LGA as a match found by ``method``."""
    return LgaMatch(lga.code, lga.name, lga.state_code, lga.lat, lga.lon, method, confidence)


def lga_named(state_code: str, name: object) -> str | None:
    """Return the code of the state's LGA with exactly this name or alias (no fuzzy matching), or None."""
    names, aliases = lga_index()[state_code]
    k = key(name)
    lga = names.get(k) or aliases.get(k)
    return lga.code if lga is not None else None


def lga_states(name: object) -> list[str]:
    """Return the codes of states that have an LGA with exactly this name (or alias)."""
    return list(_lga_homes().get(key(name), ()))


@cache
def _lga_homes() -> dict[str, tuple[str, ...]]:
    homes: dict[str, set[str]] = {}
    for code, (names, aliases) in lga_index().items():
        for k in (*names, *aliases):
            homes.setdefault(k, set()).add(code)
    return {k: tuple(sorted(codes)) for k, codes in homes.items()}


def lga_by_code(code: str) -> LgaMatch:
    """Return the LGA with this code (e.g. "NG019010")."""
    return as_lga_match(_lga_by_code()[code], "exact", EXACT_CONFIDENCE)


@cache
def _centroids() -> pd.DataFrame:
    rows = [
        (_states()[lga.state_code].name, lga.name, lga.lat, lga.lon, lga.state_code, lga.code)
        for lga in _lga_by_code().values()
    ]
    return pd.DataFrame(rows, columns=["state", "lga", "latitude", "longitude", "state_code", "lga_code"])


def lga_centroids() -> pd.DataFrame:
    """Return every LGA with its state and centroid (state, lga, latitude, longitude, codes)."""
    return _centroids().copy()
