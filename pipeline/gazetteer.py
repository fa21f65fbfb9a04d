"""The official gazetteer (naija-data): states, LGAs with centroids, wards, matched tolerantly.

Loaded once per process (lazy, cached). Names are compared by ``canon`` keys, so case,
punctuation, dashes, curly apostrophes and "LGA"/"LCDA"/"State" suffixes never matter. An LGA
is always looked up inside its state: a misspelt LGA resolves by fuzzy match within that state,
never to another state's LGA; so does a short or long form of its name ("Kano" for Kano
Municipal, "Fatika Giwa" for Giwa) when it fits one LGA only. Places (wards and the places
a ward name lists, LGA seats) point to the LGAs they lie in, for the community look-up.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

import naija_data
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

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
# Words that name a part of a city, not a place: "Ibadan North", "Calabar Municipal".
PART_WORDS = frozenset({"north", "south", "east", "west", "central", "municipal", "metropolitan", "council",
                        "island", "mainland", "town", "city", "metropolis", "urban"})  # fmt: skip
# An export's village list: (state code, place key) -> codes of the LGAs a village is listed in.
VillageIndex = dict[tuple[str, str], set[str]]
ROUTE_WORDS = frozenset({"road", "axis", "highway", "expressway", "junction", "route", "bridge"})
WORD_RUN_CONFIDENCE = 0.8
EXACT_CONFIDENCE = 1.0
ALIAS_CONFIDENCE = 0.95
PREFIX_CONFIDENCE = 0.85
HEADQUARTERS_CONFIDENCE = 0.8
FUZZY_CUTOFF = 80.0
FUZZY_MARGIN = 5.0  # best match must beat the runner-up by this much, else it's ambiguous
STATE_FUZZY_CUTOFF = 85.0
_TRAILING_WORDS = (("local", "government", "area"), ("local", "government"), ("lga",), ("l", "g", "a"), ("state",),
                   ("local", "council", "development", "area"), ("lcda",))  # fmt: skip
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
    return _canon(str(text))


@lru_cache(maxsize=1 << 16)  # place names repeat: every rule asks for the same few thousand
def _canon(folded: str) -> str:
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
def _canons(state_code: str) -> tuple[tuple[str, naija_data.LGA], ...]:
    """Return the state's LGAs with their ``canon`` names (the name rules scan them all, often)."""
    return tuple((canon(lga.name), lga) for lga in _lga_index()[state_code][0].values())


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


def _prefix_match(words: str, state_code: str) -> naija_data.LGA | None:
    """Match "Ibadan South-East Mapo" to "Ibadan South-East": the LGA's words lead the name."""
    hits = sorted(((name, lga) for name, lga in _canons(state_code) if words.startswith(name + " ")),
                  key=lambda hit: -len(hit[0]))  # fmt: skip
    if len(hits) == 1 or (len(hits) > 1 and len(hits[0][0]) > len(hits[1][0])):
        # "Mafa Dikwa", "Lafia-Obi": two LGAs named, so neither is the one.
        return hits[0][1] if len(_held(words, state_code)) == 1 else None
    return None


def _held(words: str, state_code: str) -> list[naija_data.LGA]:
    """Return the LGAs whose whole names a name holds, longest only ("Ijebu North East" over "Ijebu North")."""
    padded = f" {words} "
    hits = [(name, lga) for name, lga in _canons(state_code) if f" {name} " in padded
            and not set(name.split()) <= PART_WORDS]  # fmt: skip
    return [lga for name, lga in hits if not any(
        o.code != lga.code and f" {name} " in f" {other} " for other, o in hits)]  # fmt: skip


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


def _word_run_match(words: str, state_code: str) -> naija_data.LGA | None:
    """Match "Kaura" to "Kaura Namoda" or "Fatika Giwa" to "Giwa": one LGA's words hold, or are held by, the name."""
    query = words.split()
    if not query or set(query) <= PART_WORDS:
        return None
    hits = {lga.code: lga for name, lga in _canons(state_code) if f" {words} " in f" {name} "}
    if not ROUTE_WORDS & set(query):
        hits.update((lga.code, lga) for lga in _held(words, state_code))
    return next(iter(hits.values())) if len(hits) == 1 else None


def find_lga(state: object, name: object) -> LgaMatch | None:
    """Return the LGA a name means within a state (code or name), with method and confidence."""
    found_state = _states().get(str(state)) or find_state(state)
    k = key(name)
    if found_state is None or not k:
        return None
    match = _find_lga(found_state, name, k)
    bare = _without_state(found_state.code, name)
    return find_lga(found_state.code, bare) if match is None and bare else match


def _without_state(state_code: str, name: object) -> str | None:
    """Return "Ikole" for "Ikole Ekiti" in Ekiti: a place name with its state's name added, or None."""
    words, state_words = canon(name), canon(_states()[state_code].name)
    return words[: -len(state_words) - 1] if words.endswith(" " + state_words) else None


def _find_lga(found_state: StateMatch, name: object, k: str) -> LgaMatch | None:
    names, aliases = _lga_index()[found_state.code]
    if k in names:
        return _as_match(names[k], "exact", EXACT_CONFIDENCE)
    if k in aliases:
        return _as_match(aliases[k], "alias", ALIAS_CONFIDENCE)
    town = _headquarters()[found_state.code].get(k)
    if town is not None:
        # A town named in the LGA column ("Ondo", "Warri") lies in the LGA it heads.
        return _as_match(town, "alias", HEADQUARTERS_CONFIDENCE)
    prefix = _prefix_match(canon(name), found_state.code)
    if prefix is not None:
        return _as_match(prefix, "fuzzy", PREFIX_CONFIDENCE)
    fuzzy = _fuzzy_match(k, found_state.code)
    if fuzzy is not None:
        return _as_match(fuzzy[0], "fuzzy", round(fuzzy[1] / 100, 3))
    run = _word_run_match(canon(name), found_state.code)
    # "Lekki" is a word of "Ibeju/Lekki" but also a ward of Eti-Osa: then it is no LGA's short name.
    if run is not None and _place_homes().get((found_state.code, k), frozenset()) <= {run.code}:
        return _as_match(run, "fuzzy", WORD_RUN_CONFIDENCE)
    return None


def lga_states(name: object) -> list[str]:
    """Return the codes of states that have an LGA with exactly this name (or alias)."""
    return list(_lga_homes().get(key(name), ()))


@cache
def _lga_homes() -> dict[str, tuple[str, ...]]:
    homes: dict[str, set[str]] = {}
    for code, (names, aliases) in _lga_index().items():
        for k in (*names, *aliases):
            homes.setdefault(k, set()).add(code)
    return {k: tuple(sorted(codes)) for k, codes in homes.items()}


def find_ward(lga_code: str, name: object) -> str | None:
    """Return the code of the ward of an LGA with this name, or None."""
    return _wards().get(lga_code, {}).get(key(name))


_NUMBERING = re.compile(r"(\s+(?:[ivx]+|\d+|town|and environs))+$")


def _ward_parts(name: str) -> set[str]:
    """Return keys for a ward name and the places it lists ("Oke Oyi/Oke Ose/Alalubosa", "Lekki I")."""
    parts = {name, *name.split("/")}
    return {k for part in parts if (k := key(_NUMBERING.sub("", canon(part)) or part))}


@cache
def _place_homes() -> dict[tuple[str, str], frozenset[str]]:
    """Return (state code, place key) -> codes of the LGAs with a ward, or headquarters, of that name."""
    homes: dict[tuple[str, str], set[str]] = {}
    for ward in naija_data.admin._wards():
        for term in (ward.name, *ward.aliases):
            for part in _ward_parts(term):
                homes.setdefault((ward.state_code, part), set()).add(ward.lga_code)
    for lga in naija_data.lgas():
        if lga.headquarters:
            homes.setdefault((lga.state_code, key(lga.headquarters)), set()).add(lga.code)
    return {k: frozenset(v) for k, v in homes.items()}


def lga_named(state_code: str, name: object) -> str | None:
    """Return the code of the state's LGA with exactly this name or alias (no fuzzy matching), or None."""
    names, aliases = _lga_index()[state_code]
    k = key(name)
    lga = names.get(k) or aliases.get(k)
    return lga.code if lga is not None else None


def place_lgas(state_code: str, name: object) -> frozenset[str]:
    """Return the codes of the state's LGAs a place name points to: the LGA itself, or its wards or seat."""
    named = lga_named(state_code, name)
    if named is not None:
        return frozenset({named})
    homes = _place_homes().get((state_code, key(name)), frozenset())
    bare = _without_state(state_code, name)
    return place_lgas(state_code, bare) if not homes and bare else homes


def lga_candidates(state_code: str, name: object) -> frozenset[str]:
    """Return the LGAs an unmatched name must be one of: a city's parts ("Ibadan") or two LGAs named together."""
    names = _lga_index()[state_code][0]
    if key(name) == key(_states()[state_code].name):
        return frozenset()  # "Ekiti" in Ekiti State says no more than the state does
    words = canon(name).split()
    while words and words[-1] in PART_WORDS:
        words = words[:-1]  # "Warri Central" is a part of the city of Warri
    stem = " ".join(words)
    parts = {lga.code for name, lga in _canons(state_code) if stem and name.startswith(stem + " ")}
    k = key(name)
    for head, lga in names.items():
        if k.startswith(head) and k[len(head) :] in names:
            parts |= {lga.code, names[k[len(head) :]].code}
    held = _held(canon(name), state_code)
    return frozenset(parts | ({lga.code for lga in held} if len(held) > 1 else set()))


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
