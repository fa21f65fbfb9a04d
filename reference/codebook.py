"""NVCD's codebook: crisis types, actors, regions, vague amounts, and source-name folding.

Crisis types and actors are the categories of Nextier's published codebook. Values are
matched by a folded key (case, spacing, punctuation, "(s)" and plural endings ignored)
and then by a close fuzzy match, so "Farmers(s)", "farmers" and "Farmer(s)" are one actor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

import pandas as pd
from rapidfuzz import fuzz, process

from reference import gazetteer, names

CRISIS_TYPES: tuple[str, ...] = (
    "Armed Robbery", "Banditry", "Civil Unrest", "Communal Clash", "Cult Clashes",
    "Domestic Violence", "Extra-Judicial Killings", "Farmer-Herder Conflict", "Group Conflict",
    "Group Violence", "Gunmen Attacks", "Kidnapping", "Maritime Piracy", "Militancy",
    "Secessionism", "Terrorism", "Thuggery",
)  # fmt: skip
ACTORS: tuple[str, ...] = (
    "Ansaru", "Armed Robber(s)", "Assassins", "Bandits", "Boko Haram", "Child", "Children",
    "Civilian(s)", "Cultists", "Domestic Aid", "Ethnic Groups", "Farmer(s)", "Group", "Gunmen",
    "Herder(s)", "Hoodlums", "Informal Security Actors", "IPOB/ESN", "ISWAP", "Kidnappers",
    "Lukarawa", "Mahmuda", "Maritime Pirates", "Militant(s)", "Mob", "Neighbours", "Protesters",
    "Religious Groups", "Ritualists", "Security Forces", "Wife",
)  # fmt: skip
# Genuinely different names for the same category (not spelling variants, which fold).
CATEGORY_ALIASES: dict[str, str] = {
    "Jama'atu Ansarul Muslimina fi Biladis Sudan": "Ansaru",
    "Jama'atu Ansarul": "Ansaru",
    "Herdsmen": "Herder(s)",
    "Fulani Herdsmen": "Herder(s)",
    "Military": "Security Forces",
    "Police": "Security Forces",
    "Farmer Herder Clash": "Farmer-Herder Conflict",
    "Unknown Gunmen": "Gunmen",
}
CATEGORY_FUZZY_CUTOFF = 88.0
SOURCE_FUZZY_CUTOFF = 90.0
SOURCE_FUZZY_MIN_LENGTH = 8

# NVCD's "Table 1: Quantifying Vague Amounts": what the database records for a vague report.
VAGUE_AMOUNTS: dict[str, int] = {
    "a couple": 2,
    "a couple of": 2,
    "a number of": 3,
    "a few": 3,
    "several": 3,
    "some": 3,
    "many": 5,
    "tens": 11,
    "a dozen": 12,
    "more than a dozen": 13,
}
DATA_SOURCES = ("primary", "secondary")


def category_key(text: object) -> str:
    """Fold a category name: "Farmers(s)" and "farmer" -> "farmer"."""
    words = re.sub(r"\(s\)", "", names.canon(text)).split()
    return "".join(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words)


@cache
def _index(kind: str) -> dict[str, str]:
    names = CRISIS_TYPES if kind == "crisis_type" else ACTORS
    index = {category_key(name): name for name in names}
    index.update({category_key(a): n for a, n in CATEGORY_ALIASES.items() if n in names})
    return index


@cache
def _canonical(kind: str, text: str) -> str:
    k = category_key(text)
    index = _index(kind)
    if k in index:
        return index[k]
    if len(k) >= 5:
        found = process.extractOne(k, list(index), scorer=fuzz.ratio, score_cutoff=CATEGORY_FUZZY_CUTOFF)
        if found is not None:
            return index[found[0]]
    return " ".join(text.split())


def canonical_crisis_type(text: str) -> str:
    """Return the codebook's crisis type for a spelling, or the trimmed text if unknown."""
    return _canonical("crisis_type", text)


def canonical_actor(text: str) -> str:
    """Return the codebook's actor for a spelling, or the trimmed text if unknown."""
    return _canonical("actor", text)


def is_crisis_type(text: str) -> bool:
    """Tell whether a (canonical) crisis type is in the codebook."""
    return text in CRISIS_TYPES


def is_actor(text: str) -> bool:
    """Tell whether a (canonical) actor is in the codebook."""
    return text in ACTORS


def regions() -> dict[str, str]:
    """Return each state's region (NVCD spelling of naija-data's geopolitical zone)."""
    return {s.name: s.region for s in gazetteer.states()}


def vague_amount(text: object) -> int | None:
    """Return NVCD's number for a vague casualty phrase ("a few" -> 3), or None."""
    phrase = " ".join(re.sub(r"[^a-z ]", " ", str(text).casefold()).split())
    return VAGUE_AMOUNTS.get(phrase)


def canonical_data_source(text: str) -> str:
    """Return "primary" or "secondary" for NVCD's data-source cell ("Seconday " too)."""
    k = names.key(text)
    for name in DATA_SOURCES:
        if k[:4] == name[:4] or fuzz.ratio(k, name) >= CATEGORY_FUZZY_CUTOFF:
            return name
    return " ".join(text.split()).casefold()


def source_key(text: object) -> str:
    """Fold a source name: case, spacing, punctuation and a leading "The" ignored."""
    k = names.key(text)
    return k[3:] if k.startswith("the") and len(k) > 6 else k


def source_display(text: str) -> str:
    """Return a tidy display form: spaces collapsed, all-lower-case words capitalised."""
    return " ".join(w[:1].upper() + w[1:] if w.islower() else w for w in text.split())


def _display_rank(text: str) -> tuple[int, int, str]:
    # More words ("This Day" over "Thisday"), then more capitals, then a fixed order.
    return (-len(text.split()), -sum(ch.isupper() for ch in text), text)


def canonical_sources(values: pd.Series, known: Iterable[str] = ()) -> pd.Series:
    """Map source names to one display form per folded name (rare typos merge into common names).

    ``known`` are names already stored: a batch's spelling of one of them takes the stored
    form, so a small batch cannot start a second spelling of a source.
    """
    return apply_spellings(values, source_spellings(values.value_counts(), known))


def apply_spellings(values: pd.Series, spellings: dict[str, str]) -> pd.Series:
    """Map source names to their display forms (``source_spellings``); None where there is none."""
    mapped = values.map(spellings)
    return mapped.astype(object).where(mapped.notna(), None)


def source_spellings(counts: pd.Series, known: Iterable[str] = ()) -> dict[str, str]:
    """Return each source name's display form, from how often a batch spells it (``value_counts``)."""
    counts = counts[[isinstance(t, str) and t.strip() != "" for t in counts.index]]
    if counts.empty:
        return {}
    counts = counts.groupby(level=0).sum()  # counts of several parts of one batch add up
    keys = {text: source_key(text) for text in counts.index}
    key_counts = pd.Series(counts.values, index=[keys[t] for t in counts.index]).groupby(level=0).sum()
    stored = {source_key(name): name for name in known}
    target = {k: k for k in [*stored, *key_counts.index]}
    frequent = [*stored, *(k for k in key_counts.sort_values(ascending=False).index if k not in stored)]
    for rank, k in enumerate(frequent):
        if len(k) < SOURCE_FUZZY_MIN_LENGTH:
            continue
        found = process.extractOne(k, frequent[:rank], scorer=fuzz.ratio, score_cutoff=SOURCE_FUZZY_CUTOFF)
        if found is not None:
            target[k] = target[found[0]]
    display: dict[str, str] = dict(stored)
    # The display form comes from a spelling of the cluster's most common name, not a typo.
    for text in sorted(counts.index, key=lambda t: (keys[t] != target[keys[t]], *_display_rank(t))):
        display.setdefault(target[keys[text]], source_display(text))
    return {text: display[target[keys[text]]] for text in counts.index}
