"""Restate: place an event in its LGA's state when the stated state is the one thing that disagrees.

An export sometimes names an LGA of another state ("Guma" in Plateau; Guma is in Benue).
Alone, that is one field against another, and the event keeps its stated state (the
``lga_in_state`` rule reports it). The state is changed only when the LGA names an LGA of
exactly one other state, at least one witness agrees with the LGA, and no witness sides
with the stated state. Witnesses:

- the community or location text is a ward, seat or listed village of that very LGA
  (its own name repeated proves nothing), or of the stated state (against);
- the description or source URL names the LGA's state, or the stated state (against).

A moved event keeps a note of what it said (``columns.STATE_CORRECTION``, reported by the
``state_corrected`` warning) and a confidence of ``CORRECTED_CONFIDENCE``.
"""

from __future__ import annotations

import re
from functools import cache

from reference import gazetteer, lga_lookup, names

CORRECTED_CONFIDENCE = 0.7
# State names that are also words of other names ("Niger Delta", "Niger Republic", "rivers
# and streams") count only as "<name> State".
_NEEDS_STATE_WORD = frozenset({"niger", "delta", "rivers"})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def names_state(text: object, state_code: str) -> bool:
    """Tell whether a text names a state ("... in Benue State", "gunmen-attack-akwa-ibom-...")."""
    if not isinstance(text, str):
        return False
    padded = f" {' '.join(_NON_ALNUM.sub(' ', text.casefold()).split())} "
    return any(phrase in padded for phrase in _state_phrases()[state_code])


@cache
def _state_phrases() -> dict[str, tuple[str, ...]]:
    phrases = {}
    for state in gazetteer.states():
        spellings = (state.name, "FCT", "Abuja") if state.code == "FC" else (state.name,)
        words = [names.canon(name) for name in spellings]
        phrases[state.code] = tuple(f" {w} state " if w in _NEEDS_STATE_WORD else f" {w} " for w in words)
    return phrases


def _places(state_code: str, text: object, villages: gazetteer.VillageIndex) -> frozenset[str]:
    """Return the state's LGAs a place name lies in (LGA, ward, seat or listed village)."""
    if not isinstance(text, str) or not text.strip():
        return frozenset()
    listed = villages.get((state_code, names.key(text)), ())
    return lga_lookup.place_lgas(state_code, text) | frozenset(listed)


def _witnesses(stated: str, lga: gazetteer.LgaMatch, places: tuple[object, ...], texts: tuple[object, ...],
               villages: gazetteer.VillageIndex) -> tuple[list[str], bool]:  # fmt: skip
    """Return the witnesses for the LGA's state, and whether any sides with the stated state."""
    found, against = [], False
    for name, place in zip(("community", "location"), places, strict=True):
        repeats_lga = names.key(place) == names.key(lga.name)
        if not repeats_lga and lga.code in _places(lga.state_code, place, villages):
            found.append(name)
        against |= bool(_places(stated, place, villages))
    for name, text in zip(("description", "source URL"), texts, strict=True):
        if names_state(text, lga.state_code):
            found.append(name)
        against |= names_state(text, stated)
    return found, against


def correction(row: tuple[object, ...], villages: gazetteer.VillageIndex) -> tuple[gazetteer.LgaMatch, str] | None:
    """Return (LGA, note) when a row's stated state should yield to its LGA's, else None.

    ``row`` is (stated state code, LGA name, community, location text, description, source URL).
    """
    stated, lga_name, community, location, description, url = row
    homes = gazetteer.lga_states(lga_name)
    if len(homes) != 1 or homes[0] == stated:
        return None
    lga = lga_lookup.find_lga(homes[0], lga_name)
    if lga is None:
        return None
    found, against = _witnesses(str(stated), lga, (community, location), (description, url), villages)
    if not found or against:
        return None
    state = gazetteer.state_by_code(lga.state_code).name
    said = gazetteer.state_by_code(str(stated)).name
    who = found[0] if len(found) == 1 else f"{', '.join(found[:-1])} and {found[-1]}"
    verb = "says" if len(found) == 1 else "say"
    return lga, f"stated {said}; {lga.name} is an LGA of {state}, as the {who} {verb}"
