"""Source names come from the shipped codebook and the text alone, never from a batch or the database."""

from __future__ import annotations

import pandas as pd
import pytest

from reference import codebook
from reference.codebook import canonical_source


@pytest.mark.parametrize(
    ("spellings", "name"),
    [
        (("ThisDay", "This Day", "Thisday", "Thisday Live"), "ThisDay"),
        (("Nigerian Tribune", "Tribune", "The Tribune"), "Nigerian Tribune"),
        (("Punch", "Punch Newspaper", "The Punch", "Punch Ng"), "Punch"),
        (("Channels TV", "ChannelsTV", "channelstv", "Channels Television"), "Channels TV"),
        (("TheCable", "The Cable", "cable"), "TheCable"),
        (("The Sun", "TheSun", "Daily Sun"), "The Sun"),
        (("The Guardian", "Guardian", "The guardian"), "The Guardian"),
        (("Sahara Reporters", "Saharareporters"), "Sahara Reporters"),
        (("BBC", "BBC News", "BBC Pidgin"), "BBC"),
        (("Twitter", "X"), "Twitter"),
        (("Pulse", "Pulse ng", "Pulse.ng"), "Pulse"),
    ],
)
def test_aliases_map_to_one_name(spellings: tuple[str, ...], name: str) -> None:
    assert {canonical_source(s) for s in spellings} == {name}


@pytest.mark.parametrize("text", ["Daily Trust", "daily trust", "DAILY TRUST", "  Daily   trust ", "The Daily Trust",
                                  "Daily-Trust", "DailyTrust"])  # fmt: skip
def test_casing_spacing_and_the_give_one_display(text: str) -> None:
    assert canonical_source(text) == "Daily Trust"


TYPOS = [("Premium Timess", "Premium Times"), ("Vangaurd", "Vanguard"), ("Local Soource", "Local Source"),
         ("Locl Source", "Local Source")]  # fmt: skip


@pytest.mark.parametrize(("typo", "name"), TYPOS)
def test_a_typo_of_a_codebook_name_maps_to_it(typo: str, name: str) -> None:
    assert canonical_source(typo) == name


def test_an_unknown_source_is_tidied_the_same_in_any_casing() -> None:
    assert {canonical_source(t) for t in ["daily times", "DAILY TIMES", "The  Daily Times"]} == {"Daily Times"}
    assert canonical_source("kano fm") == "Kano FM"  # a codebook acronym stays in capitals


def test_unknown_sources_are_not_merged_with_each_other() -> None:
    names = codebook.canonical_sources(pd.Series(["Kaduna Reporters"] * 50 + ["Kaduna Reporter"]))
    assert set(names) == {"Kaduna Reporters", "Kaduna Reporter"}


@pytest.mark.parametrize("text", ["", "   ", None, float("nan")])
def test_an_empty_cell_has_no_source(text: str | float | None) -> None:
    assert canonical_source(text) is None


BATCH = ["Daily post", "Thisday", "This Day", "Kaduna Reporters", "kaduna reporters", "Punch Newspaper", "Tribune",
         "channelstv", "Vangaurd", "Premium Times", None, ""]  # fmt: skip


def test_names_ignore_batch_order_and_counts() -> None:
    expected = {t: canonical_source(t) for t in BATCH if t}
    one = dict(zip(BATCH, codebook.canonical_sources(pd.Series(BATCH)), strict=True))
    again = [t for t in reversed(BATCH * 3) if t]
    other = dict(zip(again, codebook.canonical_sources(pd.Series(again)), strict=True))
    assert {t: n for t, n in one.items() if t} == other == expected


def test_two_instances_fed_different_batches_show_the_same_names() -> None:
    first, second = [*BATCH[:6], "Daily Post"] * 3, ["punch", "This Day", *reversed(BATCH)]
    one = dict(zip(first, codebook.canonical_sources(pd.Series(first)), strict=True))
    other = dict(zip(second, codebook.canonical_sources(pd.Series(second)), strict=True))
    assert all(one[t] == other[t] for t in one.keys() & other.keys())
    assert one["Thisday"] == other["This Day"] == "ThisDay" and one["Daily Post"] == other["Daily post"]


def test_the_codebook_gives_every_spelling_one_name() -> None:
    spellings = [(codebook.source_key(s), name) for name, aliases in codebook.SOURCES.items() for s in (name, *aliases)]
    assert len({k for k, _ in spellings}) == len(spellings)  # no spelling folds to another's
    assert all(canonical_source(name) == name for name in codebook.SOURCES)
