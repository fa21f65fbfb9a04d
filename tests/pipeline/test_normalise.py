"""Normalise: canonical names, dates, vague amounts flagged as derived, unreadable cells as issues."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipeline import columns as c
from pipeline.normalise import normalise, parse_date
from reference import codebook


def raw(*records: dict[str, object]) -> pd.DataFrame:
    """Return a raw frame as extract makes it (object columns plus source_row)."""
    frame = pd.DataFrame(list(records), dtype=object).reindex(columns=list(c.RAW_COLUMNS)).astype(object)
    return frame.assign(**{c.SOURCE_ROW: range(2, len(records) + 2)})


def one(column: str, value: object, **other: object) -> object:
    events, _ = normalise(raw({c.STATE: "Kano", column: value, **other}))
    return events.loc[0, column if column != c.DATE else c.EVENT_DATE]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        (c.STATE, "Kaduna ", "Kaduna"),
        (c.STATE, "FCT", "Federal Capital Territory"),
        (c.STATE, "akwa-ibom state", "Akwa Ibom"),
        (c.STATE, "Nassarawa", "Nasarawa"),
        (c.STATE, "Atlantis", "Atlantis"),  # unknown stays as written; validate flags it
        (c.LGA, "  Oshodi –Isolo ", "Oshodi -Isolo"),
        (c.COMMUNITY, "Jema’a", "Jema'a"),
        (c.REGION, "North-Central", "North Central"),
        (c.CRISIS_TYPE, "Farmer - Herder Conflict", "Farmer-Herder Conflict"),
        (c.CRISIS_TYPE, "banditry ", "Banditry"),
        (c.CRISIS_TYPE, "Alien Invasion", "Alien Invasion"),
        (c.ACTOR1, "Farmers(s)", "Farmer(s)"),
        (c.ACTOR1, "farmers", "Farmer(s)"),
        (c.ACTOR1, "Assasins", "Assassins"),
        (c.ACTOR1, "informal Security Actors", "Informal Security Actors"),
        (c.ACTOR1, "Ipob/ESN", "IPOB/ESN"),
        (c.ACTOR1, "Jama'atu Ansarul ", "Ansaru"),
        (c.DATA_SOURCE, "Primary ", "primary"),
        (c.DATA_SOURCE, "Seconday", "secondary"),
        (c.SOURCE, "Daily post", "Daily Post"),
        (c.SOURCE, "TheSun", "The Sun"),
        (c.CONFIRMATION_LEVEL, 0.0, "0"),
        (c.DESCRIPTION, "  attack   by bandits\n", "attack   by bandits"),  # free text is trimmed only
        (c.DESCRIPTION, 12.0, "12"),
        (c.SOURCE_URL, " https://punchng.com/x ", "https://punchng.com/x"),
    ],
)
def test_text_is_trimmed_and_canonical(column: str, value: object, expected: object) -> None:
    assert one(column, value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2021, 3, 4), date(2021, 3, 4)),
        ("2021-03-04", date(2021, 3, 4)),
        ("04/03/2021", date(2021, 3, 4)),  # NVCD writes day first
        ("4 March 2021", date(2021, 3, 4)),
        (44259, date(2021, 3, 4)),  # an Excel serial day
        ("not a date", None),
        ("2021", None),  # a year alone is not a date
        ("2021-03", None),
    ],
)
def test_dates(value: object, expected: date | None) -> None:
    parsed = parse_date(value)
    assert (parsed.date() if parsed is not None else None) == expected


def test_sources_fold_case_spacing_leading_the_aliases_and_typos() -> None:
    values = pd.Series(["Daily post", "Daily Post", "Local Source", "Local Source ", "local Soource", "The Sun",
                        "TheSun", "The sun", "Thisday", "This Day", None, "Punch"])  # fmt: skip
    out = codebook.canonical_sources(values)
    assert list(out) == ["Daily Post", "Daily Post", "Local Source", "Local Source", "Local Source", "The Sun",
                         "The Sun", "The Sun", "ThisDay", "ThisDay", None, "Punch"]  # fmt: skip


@pytest.mark.parametrize(
    ("cell", "value", "derived"),
    [
        (3.0, 3, False),
        ("7", 7, False),
        (" 12 ", 12, False),
        ("1,200", 1200, False),
        ("a couple", 2, True),
        ("A Few", 3, True),
        ("several", 3, True),
        ("a number of", 3, True),
        ("some", 3, True),
        ("many", 5, True),
        ("tens", 11, True),
        ("a dozen", 12, True),
        ("more than a dozen", 13, True),
        (None, None, False),
        ("   ", None, False),
    ],
)
def test_counts_and_vague_amounts(cell: object, value: int | None, derived: bool) -> None:
    events, issues = normalise(raw({"injured": cell, c.STATE: "Kano"}))
    got = events.loc[0, "injured"]
    assert (None if pd.isna(got) else int(got)) == value
    assert bool(events.loc[0, c.IS_DERIVED]) is derived
    assert events.loc[0, c.DERIVED_FIELDS] == ("injured" if derived else None)
    assert issues.empty
    assert str(events["injured"].dtype) == "Int64"


@pytest.mark.parametrize("cell", ["16 11", "  n", "2.5", "about ten"])
def test_unreadable_counts_become_issues_not_crashes(cell: str) -> None:
    events, issues = normalise(raw({"displaced": cell, "kidnapped": "a few", c.STATE: "Kano"}))
    assert pd.isna(events.loc[0, "displaced"])
    assert events.loc[0, c.DERIVED_FIELDS] == "kidnapped"
    assert issues.to_dict("records") == [
        {
            c.SOURCE_ROW: 2,
            c.RULE: "number_format",
            c.SEVERITY: "warning",
            c.FIELD: "displaced",
            c.DETAIL: f"text in number cell: {cell.strip()!r}",
        }
    ]


def test_several_derived_columns_are_listed() -> None:
    events, _ = normalise(raw({"total_deaths": "many", "kidnapped": "a dozen", c.STATE: "Kano"}))
    assert events.loc[0, c.DERIVED_FIELDS] == "total_deaths,kidnapped"


def test_unreadable_date_is_an_issue() -> None:
    events, issues = normalise(raw({c.DATE: "31/31/2024", c.STATE: "Kano"}))
    assert pd.isna(events.loc[0, c.EVENT_DATE])
    assert issues.loc[0, c.RULE] == "date_format"


def test_output_shape_and_input_untouched() -> None:
    frame = raw({c.STATE: "Lagos ", c.DATE: "2024-01-01", "total_deaths": "a few"})
    before = frame.copy()
    events, issues = normalise(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert list(events.columns) == list(c.NORMALISED_COLUMNS)
    assert list(issues.columns) == list(c.ISSUE_COLUMNS)
    assert events.loc[0, c.SOURCE_ROW] == 2


def test_free_text_column_of_numbers_only() -> None:
    events, _ = normalise(raw({c.DESCRIPTION: 3.0, c.STATE: "Kano"}, {c.DESCRIPTION: None, c.STATE: "Kano"}))
    assert list(events[c.DESCRIPTION]) == ["3", None]


def test_empty_frame() -> None:
    events, issues = normalise(raw())
    assert events.empty and issues.empty
    assert list(events.columns) == list(c.NORMALISED_COLUMNS)


def _dated(*cells: object) -> pd.DataFrame:
    frame = pd.DataFrame({c.DATE: list(cells), c.STATE: "Kano"}, dtype=object).reindex(columns=list(c.RAW_COLUMNS))
    return frame.astype(object).assign(**{c.SOURCE_ROW: range(2, len(cells) + 2)})


@pytest.mark.parametrize(
    ("cell", "expected", "rule", "detail"),
    [
        ("03/04/2024", date(2024, 4, 3), "date_ambiguous",
         "'03/04/2024' read day first as 3 April 2024; month first it would be 4 March 2024"),
        ("1.2.2023", date(2023, 2, 1), "date_ambiguous",
         "'1.2.2023' read day first as 1 February 2023; month first it would be 2 January 2023"),
        (45000, date(2023, 3, 15), "date_serial", "the number 45000 read as Excel day 45000: 15 March 2023"),
        (45000.0, date(2023, 3, 15), "date_serial", "the number 45000 read as Excel day 45000: 15 March 2023"),
        # No safe reading: the date stays empty (validate's date_required error follows).
        (12, None, "date_format", "the number 12 is no date (as an Excel serial day it would have to be 2000-2099)"),
        (20240304, None, "date_format",
         "the number 20240304 is no date (as an Excel serial day it would have to be 2000-2099)"),
    ],
)  # fmt: skip
def test_a_guessed_date_is_a_warning_stating_the_reading(cell, expected, rule, detail) -> None:
    """Issue #11.4: an ambiguous day/month or a serial number is read, and the reading said."""
    events, issues = normalise(_dated(cell))
    got = events.loc[0, c.EVENT_DATE]
    assert (None if pd.isna(got) else got.date()) == expected
    assert issues[[c.SOURCE_ROW, c.RULE, c.SEVERITY, c.FIELD, c.DETAIL]].to_dict("records") == [
        {c.SOURCE_ROW: 2, c.RULE: rule, c.SEVERITY: c.WARNING, c.FIELD: c.EVENT_DATE, c.DETAIL: detail}
    ]


@pytest.mark.parametrize(
    "cell", ["13/04/2024", "04/04/2024", "2024-03-04", "2024-03-04T10:00:00Z", "3 April 2024", "April 3, 2024",
             "03 Apr 2024", date(2024, 3, 4), pd.Timestamp("2024-03-04 10:30")],
)  # fmt: skip
def test_unambiguous_dates_stay_silent(cell) -> None:
    events, issues = normalise(_dated(cell, cell))
    assert events[c.EVENT_DATE].notna().all()
    assert issues.empty


def test_free_text_has_a_documented_maximum() -> None:
    """Issue #11.12: a huge description is cut to its limit with the text_too_long warning."""
    huge = "word " * 2_000_000  # 10 MB
    frame = _dated("2024-03-04").assign(**{c.DESCRIPTION: huge, c.SOURCE_URL: "https://x.example/" + "a" * 5000})
    events, issues = normalise(frame)
    assert len(events.loc[0, c.DESCRIPTION]) <= c.FREE_TEXT_LIMITS[c.DESCRIPTION] == 20_000
    assert len(events.loc[0, c.SOURCE_URL]) == c.FREE_TEXT_LIMITS[c.SOURCE_URL]
    cut = issues.set_index(c.FIELD)
    assert set(cut.index) == {c.DESCRIPTION, c.SOURCE_URL} and set(cut[c.RULE]) == {"text_too_long"}
    assert cut.loc[c.DESCRIPTION, c.DETAIL].startswith(f"{len(huge.strip())} characters cut to 20000: 'word word")
