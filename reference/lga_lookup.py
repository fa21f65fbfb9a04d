"""Find the LGA a written name means, always inside its state.

A misspelt LGA resolves by fuzzy match within its state, never to another state's LGA; so
does a short or long form of its name ("Kano" for Kano Municipal, "Fatika Giwa" for Giwa)
when it fits one LGA only. A place name (a ward, a place a ward lists, an LGA seat) points
to the LGAs it lies in.
"""

from __future__ import annotations

import naija_data
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from reference import gazetteer, places
from reference.gazetteer import LgaMatch, StateMatch, as_lga_match
from reference.names import canon, key

# Words that name a part of a city, not a place: "Ibadan North", "Calabar Municipal".
PART_WORDS = frozenset({"north", "south", "east", "west", "central", "municipal", "metropolitan", "council",
                        "island", "mainland", "town", "city", "metropolis", "urban"})  # fmt: skip
ROUTE_WORDS = frozenset({"road", "axis", "highway", "expressway", "junction", "route", "bridge"})
WORD_RUN_CONFIDENCE = 0.8
ALIAS_CONFIDENCE = 0.95
PREFIX_CONFIDENCE = 0.85
HEADQUARTERS_CONFIDENCE = 0.8
FUZZY_CUTOFF = 80.0
FUZZY_MARGIN = 5.0  # best match must beat the runner-up by this much, else it's ambiguous


def _prefix_match(words: str, state_code: str) -> naija_data.LGA | None:
    """Match "Ibadan South-East Mapo" to "Ibadan South-East": the LGA's words lead the name."""
    hits = sorted(((name, lga) for name, lga in gazetteer.lga_canons(state_code) if words.startswith(name + " ")),
                  key=lambda hit: -len(hit[0]))  # fmt: skip
    if len(hits) == 1 or (len(hits) > 1 and len(hits[0][0]) > len(hits[1][0])):
        # "Mafa Dikwa", "Lafia-Obi": two LGAs named, so neither is the one.
        return hits[0][1] if len(_held(words, state_code)) == 1 else None
    return None


def _held(words: str, state_code: str) -> list[naija_data.LGA]:
    """Return the LGAs whose whole names a name holds, longest only ("Ijebu North East" over "Ijebu North")."""
    padded = f" {words} "
    hits = [(name, lga) for name, lga in gazetteer.lga_canons(state_code) if f" {name} " in padded
            and not set(name.split()) <= PART_WORDS]  # fmt: skip
    return [lga for name, lga in hits if not any(
        o.code != lga.code and f" {name} " in f" {other} " for other, o in hits)]  # fmt: skip


def _fuzzy_match(k: str, state_code: str) -> tuple[naija_data.LGA, float] | None:
    names, aliases = gazetteer.lga_index()[state_code]
    choices = {**gazetteer.headquarters()[state_code], **aliases, **names}
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
    hits = {lga.code: lga for name, lga in gazetteer.lga_canons(state_code) if f" {words} " in f" {name} "}
    if not ROUTE_WORDS & set(query):
        hits.update((lga.code, lga) for lga in _held(words, state_code))
    return next(iter(hits.values())) if len(hits) == 1 else None


def find_lga(state: object, name: object) -> LgaMatch | None:
    """Return the LGA a name means within a state (code or name), with method and confidence."""
    found_state = gazetteer.resolve_state(state)
    k = key(name)
    if found_state is None or not k:
        return None
    match = _find_lga(found_state, name, k)
    bare = _without_state(found_state.code, name)
    return find_lga(found_state.code, bare) if match is None and bare else match


def _without_state(state_code: str, name: object) -> str | None:
    """Return "Ikole" for "Ikole Ekiti" in Ekiti: a place name with its state's name added, or None."""
    words, state_words = canon(name), canon(gazetteer.state_by_code(state_code).name)
    return words[: -len(state_words) - 1] if words.endswith(" " + state_words) else None


def _find_lga(found_state: StateMatch, name: object, k: str) -> LgaMatch | None:
    names, aliases = gazetteer.lga_index()[found_state.code]
    if k in names:
        return as_lga_match(names[k], "exact", gazetteer.EXACT_CONFIDENCE)
    if k in aliases:
        return as_lga_match(aliases[k], "alias", ALIAS_CONFIDENCE)
    town = gazetteer.headquarters()[found_state.code].get(k)
    if town is not None:
        # A town named in the LGA column ("Ondo", "Warri") lies in the LGA it heads.
        return as_lga_match(town, "alias", HEADQUARTERS_CONFIDENCE)
    prefix = _prefix_match(canon(name), found_state.code)
    if prefix is not None:
        return as_lga_match(prefix, "fuzzy", PREFIX_CONFIDENCE)
    fuzzy = _fuzzy_match(k, found_state.code)
    if fuzzy is not None:
        return as_lga_match(fuzzy[0], "fuzzy", round(fuzzy[1] / 100, 3))
    run = _word_run_match(canon(name), found_state.code)
    # "Lekki" is a word of "Ibeju/Lekki" but also a ward of Eti-Osa: then it is no LGA's short name.
    if run is not None and places.place_homes().get((found_state.code, k), frozenset()) <= {run.code}:
        return as_lga_match(run, "fuzzy", WORD_RUN_CONFIDENCE)
    return None


def place_lgas(state_code: str, name: object) -> frozenset[str]:
    """Return the codes of the state's LGAs a place name points to: the LGA itself, or its wards or seat."""
    named = gazetteer.lga_named(state_code, name)
    if named is not None:
        return frozenset({named})
    homes = places.place_homes().get((state_code, key(name)), frozenset())
    bare = _without_state(state_code, name)
    return place_lgas(state_code, bare) if not homes and bare else homes


def lga_candidates(state_code: str, name: object) -> frozenset[str]:
    """Return the LGAs an unmatched name must be one of: a city's parts ("Ibadan") or two LGAs named together."""
    names = gazetteer.lga_index()[state_code][0]
    if key(name) == key(gazetteer.state_by_code(state_code).name):
        return frozenset()  # "Ekiti" in Ekiti State says no more than the state does
    words = canon(name).split()
    while words and words[-1] in PART_WORDS:
        words = words[:-1]  # "Warri Central" is a part of the city of Warri
    stem = " ".join(words)
    parts = {lga.code for name, lga in gazetteer.lga_canons(state_code) if stem and name.startswith(stem + " ")}
    k = key(name)
    for head, lga in names.items():
        if k.startswith(head) and k[len(head) :] in names:
            parts |= {lga.code, names[k[len(head) :]].code}
    held = _held(canon(name), state_code)
    return frozenset(parts | ({lga.code for lga in held} if len(held) > 1 else set()))
