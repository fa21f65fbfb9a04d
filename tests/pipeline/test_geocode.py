"""Geocode: LGAs resolve within their own state (exact, alias, fuzzy, village); never a wrong state."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline import columns as c
from pipeline.geocode import geocode
from reference import gazetteer, lga_lookup, names


def places(*rows: tuple[str | None, str | None, str | None]) -> pd.DataFrame:
    """Return normalised-looking events with just state, lga, community, region and source_row."""
    frame = pd.DataFrame(rows, columns=[c.STATE, c.LGA, c.COMMUNITY], dtype=object)
    return frame.assign(**{c.REGION: None, c.SOURCE_ROW: range(1, len(rows) + 1)})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Oshodi –Isolo", "oshodi isolo"),
        ("Ikeja LGA", "ikeja"),
        ("Ikeja Local Government Area", "ikeja"),
        ("Akwa-Ibom State", "akwa ibom"),
        ("Jema’a", "jemaa"),
        ("Afikpo South (Edda)", "afikpo south"),
        ("  Obio/Akpor ", "obio akpor"),
        (None, ""),
    ],
)
def test_canon(text: str | None, expected: str) -> None:
    assert names.canon(text) == expected


@pytest.mark.parametrize(
    ("state", "lga", "name", "method"),
    [
        ("Lagos", "Ikeja", "Ikeja", "exact"),
        ("Rivers", "Portharcourt", "Port Harcourt", "exact"),
        ("Rivers", "Obio-Akpor", "Obio/Akpor", "exact"),
        ("Lagos", "Oshodi –Isolo", "Oshodi/Isolo", "exact"),
        ("Lagos", "Ikeja LGA", "Ikeja", "exact"),
        ("Plateau", "Barkin Ladi", "Barikin Ladi", "alias"),
        ("Kaduna", "Jema’a", "Jema'a", "exact"),
        ("Kaduna", "Kauru", "Kauru", "exact"),  # a real name beats the gazetteer's sibling alias
        ("Ogun", "Yewa North", "Egbado North", "alias"),  # renamed: in the reasoned alias table
        ("Ondo", "Ondo", "Ondo West", "alias"),  # the town heads Ondo West
        ("Borno", "Abadan", "Abadam", "fuzzy"),
        ("Delta", "Uviwie", "Uvwie", "fuzzy"),
        ("Osun", "Ilesah east", "Ilesa East", "fuzzy"),
        ("Oyo", "Ibadan South-East Mapo", "Ibadan South-East", "fuzzy"),
        ("Jigawa", "Kiri Kasama", "Kirika Samma", "fuzzy"),
        # Short and long forms: the name's words lie within one LGA's name, or hold one.
        ("Borno", "Uba", "Askira/Uba", "fuzzy"),
        ("Zamfara", "Namoda", "Kaura Namoda", "fuzzy"),
        ("Kano", "Kano", "Kano Municipal", "fuzzy"),
        ("Kaduna", "Kasuwa Giwa", "Giwa", "fuzzy"),
        ("Ogun", "Ijebu North East Ward", "Ijebu North East", "fuzzy"),  # the longer of two held names
        # The state's name added to a misspelt LGA.
        ("Ekiti", "Ikolle Ekiti", "Ikole", "fuzzy"),
        # Lagos LCDAs lie in one LGA each, also with an "LCDA" suffix.
        ("Lagos", "Bariga LCDA", "Somolu", "alias"),
        ("Lagos", "Itire-Ikate", "Surulere", "alias"),
        ("Lagos", "Oriade", "Amuwo-Odofin", "alias"),  # also an LGA of Osun: the state decides
    ],
)
def test_lga_resolves_within_state(state: str, lga: str, name: str, method: str) -> None:
    out = geocode(places((state, lga, None)))
    assert out.loc[0, c.LGA] == name
    assert out.loc[0, c.GEO_METHOD] == method
    assert out.loc[0, c.GEO_PRECISION] == "lga"
    assert out.loc[0, c.LGA_CODE] is not None
    assert 0.5 < out.loc[0, c.GEO_CONFIDENCE] <= 1.0
    assert out.loc[0, c.LATITUDE] == pytest.approx(gazetteer.lga_by_code(out.loc[0, c.LGA_CODE]).latitude)


@pytest.mark.parametrize(
    ("state", "lga", "why"),
    [
        ("Benue", "Birnin Gwari", "an LGA of Kaduna: the state is kept, not replaced"),
        ("Zamfara", "Faskari", "an LGA of Katsina"),
        ("Kaduna", "Kajura", "one edit from both Kaura and Kajuru: ambiguous"),
        ("Oyo", "Ibadan", "a city of five LGAs"),
        ("Cross River", "Calabar", "a city of two LGAs"),
        ("Borno", "Dikwagubio", "two LGAs run together"),
        ("Lagos", "Lekki", "a word of Ibeju/Lekki but also a ward of Eti-Osa"),
        ("Oyo", "North", "a compass word is no LGA's short name"),
        ("Yobe", "Biu-Kano Road", "a route names no place"),
        ("Borno", "Mafa Dikwa", "two LGAs named: the first is not chosen"),
        ("Nasarawa", "Lafia-Obi", "two LGAs named: the first is not chosen"),
        ("Lagos", "Atlantis", "no such place"),
    ],
)
def test_unresolvable_lga_stays_at_state_level(state: str, lga: str, why: str) -> None:
    out = geocode(places((state, lga, None)))
    assert out.loc[0, c.STATE] == state, why
    assert out.loc[0, c.GEO_PRECISION] == "state", why
    assert out.loc[0, c.LGA] == lga, why
    assert out.loc[0, c.LGA_CODE] is None
    assert out.loc[0, c.STATE_CODE] == gazetteer.find_state(state).code


def test_state_variants_and_region() -> None:
    out = geocode(places(("FCT", "Abuja Municipal", None), ("Nassarawa", "Lafia", None), ("Zamfar", None, None)))
    assert list(out[c.STATE]) == ["Federal Capital Territory", "Nasarawa", "Zamfara"]
    assert list(out[c.REGION]) == ["North Central", "North Central", "North West"]
    assert list(out[c.GEO_PRECISION]) == ["lga", "lga", "state"]
    assert out.loc[2, c.GEO_METHOD] == "fuzzy"


def test_ward_precision_when_community_is_a_ward() -> None:
    out = geocode(places(("Abia", "Aba North", "Eziama")))
    assert out.loc[0, c.GEO_PRECISION] == "ward"
    assert out.loc[0, c.WARD_CODE] is not None


def test_village_list_supplies_missing_lga() -> None:
    villages = pd.DataFrame({"state": ["Kaduna State"], "lga": ["Birnin Gwari"], "village": ["Kwaga"]})
    out = geocode(places(("Kaduna", None, "Kwaga"), ("Kaduna", None, "Nowhere")), villages)
    assert list(out[c.LGA]) == ["Birnin Gwari", None]
    assert list(out[c.GEO_METHOD]) == ["village", "exact"]
    assert list(out[c.GEO_PRECISION]) == ["lga", "state"]


@pytest.mark.parametrize(
    ("state", "name", "expected"),
    [
        ("Oyo", "Ibadan", {"Ibadan North", "Ibadan North East", "Ibadan North West", "Ibadan South West",
                           "Ibadan South-East"}),
        ("Delta", "Warri Central", {"Warri North", "Warri South", "Warri South West"}),
        ("Borno", "Dikwagubio", {"Dikwa", "Gubio"}),
        ("Borno", "Dikwa-Gubio", {"Dikwa", "Gubio"}),
        ("Borno", "Mafa and Dikwa", {"Dikwa", "Mafa"}),
        ("Ekiti", "Ekiti", set()),  # the state's own name narrows nothing
        ("Oyo", "Atlantis", set()),
    ],
)  # fmt: skip
def test_lga_candidates(state: str, name: str, expected: set[str]) -> None:
    found = lga_lookup.lga_candidates(gazetteer.find_state(state).code, name)
    assert {gazetteer.lga_by_code(code).name for code in found} == expected


@pytest.mark.parametrize(
    ("state", "lga", "community", "location", "expected", "why"),
    [
        ("Borno", "Gubiodikwa", None, "Ngala-Gubio road", "Gubio", "of two run together, the road names one"),
        ("Kwara", "Ilorin", "Oke Ose", None, "Ilorin East", "a place listed in a ward name of one of Ilorin's LGAs"),
        ("Delta", "Warri Central", "Warri", None, "Warri South", "a part of Warri; the town heads Warri South"),
        ("Oyo", "Ibadan", "Eruwa", None, None, "Eruwa heads Ibarapa East, none of Ibadan's LGAs"),
        ("Oyo", "Ibarapa", None, "Eruwa/Igbo Ora", None, "names two of the city's LGAs"),
        ("Nasarawa", "Lafia-Obi", "Obi", None, "Obi", "of two LGAs named, the community names one"),
        ("Nasarawa", "Umaisha", None, None, "Toto", "the LGA column names a ward of one LGA"),
        ("Ekiti", "Ekiti", None, "Imesi Ekiti", "Aiyekire", "the state's name as LGA says no more than the state"),
        ("Ekiti", None, "Agbado-Imesi", None, "Aiyekire", "both places lie in one LGA"),
        ("Ekiti", None, "Agbado", None, None, "a ward name of two LGAs"),
        ("Lagos", None, "Lekki", None, None, "wards of Eti-Osa and Ibeju/Lekki"),
        ("Lagos", "Lagos", "Ajah", None, "Eti-Osa", "a place listed in a ward name"),
        ("Benue", "Birnin Gwari", "Makurdi", None, None, "Kaduna's LGA: the contradiction is left to validate"),
        ("Benue", "Faskari", None, "Otukpo-Makurdi", None, "Katsina's LGA: the contradiction is left to validate"),
    ],
)
def test_community_or_location_chooses_the_lga(
    state: str, lga: str | None, community: str | None, location: str | None, expected: str | None, why: str
) -> None:
    frame = places((state, lga, community)).assign(**{c.LOCATION_TEXT: [location]})
    out = geocode(frame)
    assert out.loc[0, c.STATE_CODE] == gazetteer.find_state(state).code, why
    if expected is None:
        assert out.loc[0, c.GEO_PRECISION] == "state", why
        assert out.loc[0, c.LGA] == lga, why
    else:
        assert out.loc[0, c.LGA] == expected, why
        assert out.loc[0, c.GEO_PRECISION] in ("lga", "ward"), why
        assert out.loc[0, c.GEO_METHOD] == "village", why
        assert out.loc[0, c.GEO_CONFIDENCE] <= 0.75, why


def test_lga_column_naming_a_listed_village() -> None:
    villages = pd.DataFrame({"state": ["Kaduna", "Borno"], "lga": ["Kagarko", "Kwaya Kusar"],
                             "village": ["Zangoro", "Gujba"]})  # fmt: skip
    out = geocode(places(("Kaduna", "Zangoro", None), ("Borno", "Gujba", None)), villages)
    assert list(out[c.LGA]) == ["Kagarko", "Gujba"]
    # Gujba is an LGA of Yobe: a Borno village of that name does not make the event Borno's.
    assert list(out[c.GEO_PRECISION]) == ["lga", "state"]
    assert list(out[c.STATE]) == ["Kaduna", "Borno"]


def test_village_in_another_state_is_not_used() -> None:
    villages = pd.DataFrame({"state": ["Kaduna"], "lga": ["Birnin Gwari"], "village": ["Kwaga"]})
    out = geocode(places(("Benue", None, "Kwaga")), villages)
    assert out.loc[0, c.STATE] == "Benue"
    assert out.loc[0, c.GEO_PRECISION] == "state"


def test_missing_or_unknown_state() -> None:
    out = geocode(places((None, None, None), ("Atlantis", "Ikeja", None), (None, "Ungogo", None)))
    assert list(out[c.GEO_PRECISION]) == ["none", "none", "lga"]
    assert out.loc[1, c.STATE] == "Atlantis"
    assert out.loc[2, c.STATE] == "Kano"  # Ungogo exists in one state only
    assert out.loc[0, c.GEO_CONFIDENCE] == 0.0
    assert pd.isna(out.loc[0, c.LATITUDE])


def test_input_untouched_and_columns_added() -> None:
    frame = places(("Lagos ", "Ikeja", None))
    before = frame.copy()
    out = geocode(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert set(c.GEOCODE_COLUMNS) <= set(out.columns)


def test_lga_centroids() -> None:
    centroids = gazetteer.lga_centroids()
    assert len(centroids) == 774
    assert centroids[["latitude", "longitude"]].notna().all().all()
    assert centroids["state"].nunique() == 37


def test_many_rows_of_few_places_all_resolve() -> None:
    # Speed is measured in bench/pipeline_bench.py, not asserted here.
    first = gazetteer.lga_centroids().groupby("state_code").head(1).head(10)
    base = places(*zip(first["state"], first["lga"], [None] * len(first), strict=True))
    big = pd.concat([base] * 50_000, ignore_index=True)
    out = geocode(big)
    assert (out[c.GEO_PRECISION] == "lga").all()
