"""Comparison forms of place names, so that case, accents, punctuation, dashes, apostrophes and
"LGA"/"LCDA"/"State" suffixes never matter."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TRAILING_WORDS = (("local", "government", "area"), ("local", "government"), ("lga",), ("l", "g", "a"), ("state",),
                   ("local", "council", "development", "area"), ("lcda",))  # fmt: skip
_BRACKETED = re.compile(r"\([^)]*\)")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


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
