"""The official gazetteer (naija-data): states, LGAs with centroids, wards, matched tolerantly.

Loaded once per process (lazy, cached). Names are compared by ``canon`` keys, so case,
punctuation, dashes, curly apostrophes and "LGA"/"State" suffixes never matter. An LGA is
always looked up inside its state: a misspelt LGA resolves by fuzzy match within that state,
never to another state's LGA.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import naija_data
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

# Names that differ from the gazetteer's for reasons no spelling rule can catch
# (renamings and well-known alternative names), keyed by state code.
LGA_ALIASES: dict[str, dict[str, str]] = {
    "OG": {"Yewa North": "Egbado North", "Yewa South": "Egbado South"},  # the state's names for INEC's Egbado
    "EB": {"Edda": "Afikpo South"},  # Afikpo South is widely called Edda
    "RI": {"PH": "Port Harcourt"},
}
EXACT_CONFIDENCE = 1.0
ALIAS_CONFIDENCE = 0.95
PREFIX_CONFIDENCE = 0.85
HEADQUARTERS_CONFIDENCE = 0.8
FUZZY_CUTOFF = 80.0
FUZZY_MARGIN = 5.0  # best match must beat the runner-up by this much, else it's ambiguous
STATE_FUZZY_CUTOFF = 85.0
_TRAILING_WORDS = (("local", "government", "area"), ("local", "government"), ("lga",), ("l", "g", "a"), ("state",))
_BRACKETED = re.compile(r"\([^)]*\)")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


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


def canon(text: object) -> str:
    """Return a comparison form: ASCII lower-case words, punctuation/dashes as spaces, no suffixes."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    folded = str(text)
    if not folded.isascii():
        folded = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    folded = folded.casefold()
    if "(" in folded:
        # "Afikpo South (Edda)": the bracketed part is a gloss, unless it is all there is.
        bare = _BRACKETED.sub(" ", folded)
        folded = bare if bare.strip() else folded
    folded = folded.replace("&", " and ").replace("'", "").replace("`", "")
    words = _NON_ALNUM.sub(" ", folded).split()
    trimmed = True
    while trimmed:
        trimmed = False
        for suffix in _TRAILING_WORDS:
            if len(words) > len(suffix) and tuple(words[-len(suffix) :]) == suffix:
                words, trimmed = words[: -len(suffix)], True
    return " ".join(words)


def key(text: object) -> str:
    """Return ``canon`` without spaces, so "Port Harcourt" and "Portharcourt" compare equal."""
    return canon(text).replace(" ", "")


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
def _lga_index() -> dict[str, tuple[dict[str, naija_data.LGA], dict[str, naija_data.LGA]]]:
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
def _headquarters() -> dict[str, dict[str, naija_data.LGA]]:
    """Return per state code: headquarters-town key -> LGA, for towns that head one LGA only."""
    towns: dict[str, dict[str, list[naija_data.LGA]]] = {s: {} for s in _states()}
    for lga in naija_data.lgas():
        if lga.headquarters:
            towns[lga.state_code].setdefault(key(lga.headquarters), []).append(lga)
    return {s: {k: v[0] for k, v in t.items() if len(v) == 1} for s, t in towns.items()}


@cache
def _lga_by_code() -> dict[str, naija_data.LGA]:
    return {lga.code: lga for lga in naija_data.lgas()}


@cache
def _wards() -> dict[str, dict[str, str]]:
    """Return per LGA code: ward name key -> ward code."""
    out: dict[str, dict[str, str]] = {}
    for ward in naija_data.admin._wards():  # the package has no public "all wards" call
        for term in (ward.name, *ward.aliases):
            out.setdefault(ward.lga_code, {}).setdefault(key(term), ward.code)
    return out


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


def _as_match(lga: naija_data.LGA, method: str, confidence: float) -> LgaMatch:
    return LgaMatch(lga.code, lga.name, lga.state_code, lga.lat, lga.lon, method, confidence)


def _prefix_match(words: str, names: dict[str, naija_data.LGA]) -> naija_data.LGA | None:
    """Match "Ibadan South-East Mapo" to "Ibadan South-East": the LGA's words lead the name."""
    hits = [lga for lga in names.values() if words.startswith(canon(lga.name) + " ")]
    hits.sort(key=lambda lga: -len(canon(lga.name)))
    if len(hits) == 1 or (len(hits) > 1 and len(canon(hits[0].name)) > len(canon(hits[1].name))):
        return hits[0]
    return None


def _fuzzy_match(k: str, state_code: str) -> tuple[naija_data.LGA, float] | None:
    names, aliases = _lga_index()[state_code]
    choices = {**_headquarters()[state_code], **aliases, **names}
    found = process.extract(k, list(choices), scorer=fuzz.ratio, limit=None, score_cutoff=FUZZY_CUTOFF)
    if not found:
        return None
    best_lga, best_score = choices[found[0][0]], found[0][1]
    rivals = [(term, s) for term, s, _ in found[1:] if choices[term].code != best_lga.code]
    if rivals and best_score - rivals[0][1] < FUZZY_MARGIN:
        return None
    # "Kajura" is one edit from both "Kaura" and "Kajuru": too close to call.
    edits = Levenshtein.distance(k, found[0][0])
    if any(Levenshtein.distance(k, term) <= edits for term, _ in rivals):
        return None
    return best_lga, best_score


def find_lga(state: object, name: object) -> LgaMatch | None:
    """Return the LGA a name means within a state (code or name), with method and confidence."""
    found_state = _states().get(str(state)) or find_state(state)
    k = key(name)
    if found_state is None or not k:
        return None
    names, aliases = _lga_index()[found_state.code]
    if k in names:
        return _as_match(names[k], "exact", EXACT_CONFIDENCE)
    if k in aliases:
        return _as_match(aliases[k], "alias", ALIAS_CONFIDENCE)
    town = _headquarters()[found_state.code].get(k)
    if town is not None:
        # A town named in the LGA column ("Ondo", "Warri") lies in the LGA it heads.
        return _as_match(town, "alias", HEADQUARTERS_CONFIDENCE)
    prefix = _prefix_match(canon(name), names)
    if prefix is not None:
        return _as_match(prefix, "fuzzy", PREFIX_CONFIDENCE)
    fuzzy = _fuzzy_match(k, found_state.code)
    if fuzzy is not None:
        return _as_match(fuzzy[0], "fuzzy", round(fuzzy[1] / 100, 3))
    return None


def lga_states(name: object) -> list[str]:
    """Return the codes of states that have an LGA with exactly this name (or alias)."""
    k = key(name)
    return sorted(code for code, (names, aliases) in _lga_index().items() if k and (k in names or k in aliases))


def find_ward(lga_code: str, name: object) -> str | None:
    """Return the code of the ward of an LGA with this name, or None."""
    return _wards().get(lga_code, {}).get(key(name))


@cache
def _ward_homes() -> dict[tuple[str, str], frozenset[str]]:
    homes: dict[tuple[str, str], set[str]] = {}
    for lga_code, wards in _wards().items():
        state_code = _lga_by_code()[lga_code].state_code
        for ward_key in wards:
            homes.setdefault((state_code, ward_key), set()).add(lga_code)
    return {k: frozenset(v) for k, v in homes.items()}


def ward_lgas(state_code: str, name: object) -> frozenset[str]:
    """Return the codes of the state's LGAs that have a ward with this name."""
    return _ward_homes().get((state_code, key(name)), frozenset())


def lga_by_code(code: str) -> LgaMatch:
    """Return the LGA with this code (e.g. "NG019010")."""
    return _as_match(_lga_by_code()[code], "exact", EXACT_CONFIDENCE)


@cache
def ward_table() -> pd.DataFrame:
    """Return every ward as (lga_code, ward_key, ward_code), one row per name key in an LGA."""
    rows = [(lga_code, ward_key, code) for lga_code, wards in _wards().items() for ward_key, code in wards.items()]
    return pd.DataFrame(rows, columns=["lga_code", "ward_key", "ward_code"])


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
