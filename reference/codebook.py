"""NVCD's codebook: crisis types, actors, news sources, regions and vague amounts.

Crisis types and actors are the categories of Nextier's published codebook. Values are
matched by a folded key (case, spacing, punctuation, "(s)" and plural endings ignored)
and then by a close fuzzy match, so "Farmers(s)", "farmers" and "Farmer(s)" are one actor.
News sources are matched the same way against the shipped ``SOURCES`` table, so a source's
name depends on its text alone, never on the batch it came in or on what is already stored.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

import numpy as np
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

# News sources: each display name with its other spellings. Case, spacing, punctuation and a
# leading "The" need no alias (they fold); an alias is a different name for the same outlet.
SOURCES: dict[str, tuple[str, ...]] = {
    "ACLED": ("Armed Conflict Location and Event Data", "Armed Conflict Location & Event Data Project"),
    "AFP": ("Agence France-Presse", "AFP News"),
    "AIT": ("Africa Independent Television", "AIT News"),
    "Al Jazeera": ("Al Jazeera English",),
    "Amnesty International": ("Amnesty", "Amnesty International Nigeria"),
    "Arise TV": ("Arise News", "Arise Television"),
    "BBC": ("BBC News", "BBC Pidgin", "BBC Hausa", "BBC News Pidgin"),
    "Blueprint": ("Blueprint Newspaper", "Blueprint NG"),
    "BusinessDay": ("BusinessDay NG",),
    "Channels TV": ("Channels Television", "Channels", "Channels TV News"),
    "Daily Nigerian": (),
    "Daily Post": ("Daily Post Nigeria", "Daily Post NG"),
    "Daily Trust": ("Daily Trust Newspaper",),
    "Eons Intelligence": ("Eons Intel",),
    "Facebook": ("FB",),
    "HumAngle": ("HumAngle Media",),
    "Independent": ("Daily Independent", "Independent Newspaper", "Independent NG"),
    "Information Nigeria": ("Information NG",),
    "Leadership": ("Leadership Newspaper", "Leadership NG"),
    "Legit": ("Legit NG", "Naij"),
    "Local Source": ("Local Sources",),
    "NTA": ("Nigerian Television Authority", "NTA News"),
    "New Telegraph": ("New Telegraph Online",),
    "News Agency of Nigeria": ("NAN",),
    "Nigeria Police Force": ("Nigeria Police", "Nigerian Police", "Nigerian Police Force", "NPF"),
    "Nigerian Tribune": ("Tribune", "Tribune Online", "Tribune NG"),
    "PM News": ("PM News Nigeria",),
    "Premium Times": ("Premium Times Nigeria", "Premium Times NG"),
    "Pulse": ("Pulse NG", "Pulse Nigeria"),
    "Punch": ("Punch Newspaper", "Punch Newspapers", "Punch NG"),
    "Reuters": ("Thomson Reuters",),
    "Ripples Nigeria": ("Ripples", "Ripples NG"),
    "Sahara Reporters": (),
    "TheCable": ("TheCable NG",),
    "The Guardian": ("Guardian Nigeria", "Guardian NG"),
    "The Nation": ("The Nation Online", "The Nation Newspaper"),
    "The Sun": ("Sun", "Daily Sun", "Sun News", "Sun News Online"),
    "ThisDay": ("Thisday Live",),
    "TVC News": ("TVC", "Television Continental"),
    "Twitter": ("X", "Tweet"),
    "Vanguard": ("Vanguard News", "Vanguard Newspaper", "Vanguard NGR", "Vanguard Nigeria"),
    "Zagazola Makama": ("Zagazola",),
}
# Words an unknown source's display keeps in capitals (besides those in SOURCES' names).
SOURCE_ACRONYMS: tuple[str, ...] = ("CNN", "DSS", "FM", "NEMA", "NGO", "UN", "UNHCR")
# fuzz.ratio of folded keys: 85 lets one swapped or wrong letter through in an 8-letter name
# ("Vangaurd"), none in shorter ones, which only match exactly.
SOURCE_FUZZY_CUTOFF = 85.0
SOURCE_FUZZY_MIN_LENGTH = 8


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


@cache
def _source_index() -> dict[str, str]:
    return {source_key(spelling): name for name, aliases in SOURCES.items() for spelling in (name, *aliases)}


@cache
def _acronyms() -> frozenset[str]:
    spellings = [w for name, aliases in SOURCES.items() for s in (name, *aliases) for w in s.split()]
    return frozenset(names.key(w) for w in [*spellings, *SOURCE_ACRONYMS] if w.isupper() and len(w) > 1)


def source_display(text: str) -> str:
    """Return an unknown source's display form, the same in any casing: "daily times" -> "Daily Times".

    Words are capitalised (acronyms such as "FM" in capitals) and a leading word "The" is dropped
    (``source_key`` ignores it); spacing and punctuation are kept.
    """
    words = text.split()
    if len(words) > 1 and words[0].casefold() == "the":
        words = words[1:]
    acronyms = _acronyms()
    return " ".join(w.upper() if names.key(w) in acronyms else _capitalised(w) for w in words)


def _capitalised(word: str) -> str:
    return re.sub(r"[^\W\d_]", lambda m: m[0].upper(), word.lower(), count=1)


@lru_cache(maxsize=1 << 14)
def canonical_source(text: str | None) -> str | None:
    """Return a source's display name from its text alone; None for an empty cell.

    The codebook's name when the folded text is one of its spellings or a close typo of one
    (``SOURCE_FUZZY_CUTOFF``, keys of ``SOURCE_FUZZY_MIN_LENGTH`` or more); else ``source_display``.
    """
    tidy = " ".join(text.split()) if isinstance(text, str) else ""
    if not tidy:
        return None
    k, index = source_key(tidy), _source_index()
    if k in index:
        return index[k]
    if len(k) >= SOURCE_FUZZY_MIN_LENGTH:
        found = process.extractOne(k, list(index), scorer=fuzz.ratio, score_cutoff=SOURCE_FUZZY_CUTOFF)
        if found is not None:
            return index[found[0]]
    return source_display(tidy)


def canonical_sources(values: pd.Series) -> pd.Series:
    """Map source names to their display names (``canonical_source``, once per distinct text); None where none."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.array([*(canonical_source(u) for u in uniques), None], dtype=object)
    return pd.Series(table[codes], index=values.index, dtype=object)
