"""Wards, the places a ward's name lists, and LGA seats: the LGAs a community name points to."""

from __future__ import annotations

import re
from functools import cache

import naija_data
import pandas as pd

from reference.names import canon, key


@cache
def all_wards() -> tuple[naija_data.Ward, ...]:
    """Return every ward, in code order, through naija-data's public API (its own order, tests check)."""
    return tuple(sorted((ward for lga in naija_data.lgas() for ward in naija_data.wards(lga)), key=lambda w: w.code))


@cache
def _wards() -> dict[str, dict[str, str]]:
    """Return per LGA code: ward name key -> ward code."""
    out: dict[str, dict[str, str]] = {}
    for ward in all_wards():
        for term in (ward.name, *ward.aliases):
            out.setdefault(ward.lga_code, {}).setdefault(key(term), ward.code)
    return out


_NUMBERING = re.compile(r"(\s+(?:[ivx]+|\d+|town|and environs))+$")


def _ward_parts(name: str) -> set[str]:
    """Return keys for a ward name and the places it lists ("Oke Oyi/Oke Ose/Alalubosa", "Lekki I")."""
    parts = {name, *name.split("/")}
    return {k for part in parts if (k := key(_NUMBERING.sub("", canon(part)) or part))}


@cache
def place_homes() -> dict[tuple[str, str], frozenset[str]]:
    """Return (state code, place key) -> codes of the LGAs with a ward, or headquarters, of that name."""
    homes: dict[tuple[str, str], set[str]] = {}
    for ward in all_wards():
        for term in (ward.name, *ward.aliases):
            for part in _ward_parts(term):
                homes.setdefault((ward.state_code, part), set()).add(ward.lga_code)
    for lga in naija_data.lgas():
        if lga.headquarters:
            homes.setdefault((lga.state_code, key(lga.headquarters)), set()).add(lga.code)
    return {k: frozenset(v) for k, v in homes.items()}


@cache
def ward_table() -> pd.DataFrame:
    """Return every ward as (lga_code, ward_key, ward_code), one row per name key in an LGA."""
    rows = [(lga_code, ward_key, code) for lga_code, wards in _wards().items() for ward_key, code in wards.items()]
    return pd.DataFrame(rows, columns=["lga_code", "ward_key", "ward_code"])
