"""Restate: an LGA of another state moves the event there only with a witness and none against."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipeline import columns as c
from pipeline import restate
from pipeline.geocode import geocode
from pipeline.validate import validate
from reference import gazetteer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Gunmen kill 12 in Benue community", {"BE"}),
        ("https://punchng.com/gunmen-attack-akwa-ibom-fishermen/", {"AK"}),
        ("Bandits on the Abuja-Kaduna road", {"FC", "KD"}),
        ("Militants attack a Niger Delta oil facility", set()),
        ("Herders cross rivers and streams", set()),
        ("Kidnappers strike in NIGER STATE.", {"NI"}),
        ("Rivers State police confirm", {"RI"}),
        ("Cross River", {"CR"}),
        ("", set()),
        (None, set()),
    ],
)
def test_names_state(text: str | None, expected: set[str]) -> None:
    assert {s.code for s in gazetteer.states() if restate.names_state(text, s.code)} == expected


def events(state: str, lga: str, community: str | None = None, description: str | None = None,
           url: str | None = None) -> pd.DataFrame:  # fmt: skip
    """Return one normalised-looking event."""
    row = {c.EVENT_DATE: date(2024, 5, 1), c.STATE: state, c.LGA: lga, c.COMMUNITY: community, c.LOCATION_TEXT: None,
           c.REGION: None, c.DESCRIPTION: description, c.SOURCE_URL: url, c.SOURCE_ROW: 1}  # fmt: skip
    return pd.DataFrame([row], dtype=object)


@pytest.mark.parametrize(
    ("event", "expected", "why"),
    [
        (
            events("Plateau", "Guma", description="Gunmen kill 100 in Benue community"),
            "Benue",
            "the description names the LGA's state",
        ),
        (events("Benue", "Birnin Gwari", community="Gayam"), "Kaduna", "the community is a ward of that LGA"),
        (
            events("Ekiti", "Uhunmwonde", url="https://guardian.ng/news/gunmen-on-edo-highway/"),
            "Edo",
            "the source URL names the LGA's state",
        ),
        (events("Plateau", "Guma"), "Plateau", "no witness: one field against another"),
        (
            events("Plateau", "Guma", description="Clashes in Benue and Plateau villages"),
            "Plateau",
            "a witness on each side",
        ),
        (events("Benue", "Birnin Gwari", community="Makurdi"), "Benue", "the community is a place of Benue"),
        (events("Borno", "Geidam", community="Geidam"), "Borno", "the LGA's name repeated proves nothing"),
        (events("Kano", "Surulere", description="Cultists clash in Lagos"), "Kano", "an LGA of two other states"),
        (
            events("Delta", "Southern Ijaw", description="Militants attack a Niger Delta oil facility"),
            "Delta",
            "'Niger Delta' names neither Niger nor Delta State",
        ),
    ],
)
def test_state_moves_only_with_a_witness(event: pd.DataFrame, expected: str, why: str) -> None:
    out = geocode(event)
    assert out.loc[0, c.STATE] == expected, why
    assert out.loc[0, c.STATE_CODE] == gazetteer.find_state(expected).code, why
    moved = expected != event.loc[0, c.STATE]
    assert out.loc[0, c.GEO_PRECISION] in (("lga", "ward") if moved else ("state",)), why
    assert (out.loc[0, c.STATE_CORRECTION] is not None) == moved, why
    if moved:
        lga = gazetteer.lga_by_code(out.loc[0, c.LGA_CODE])
        assert lga.state_code == out.loc[0, c.STATE_CODE]
        assert out.loc[0, c.GEO_CONFIDENCE] == restate.CORRECTED_CONFIDENCE
        assert out.loc[0, c.REGION] == gazetteer.state_by_code(lga.state_code).region


def test_village_list_witness() -> None:
    villages = pd.DataFrame({"state": ["Kaduna"], "lga": ["Birnin Gwari"], "village": ["Kwaga"]})
    out = geocode(events("Sokoto", "Birnin Gwari", community="Kwaga"), villages)
    assert (out.loc[0, c.STATE], out.loc[0, c.LGA]) == ("Kaduna", "Birnin Gwari")
    assert out.loc[0, c.STATE_CORRECTION] == "stated Sokoto; Birnin Gwari is an LGA of Kaduna, as the community says"


def test_moved_event_is_reported_and_the_unmoved_one_is_an_error() -> None:
    frame = pd.concat([events("Plateau", "Guma", "Yelwata", "Gunmen kill villagers in Benue"),
                       events("Plateau", "Guma", "Yelwata")], ignore_index=True)  # fmt: skip
    frame[c.SOURCE_ROW] = [1, 2]
    validated, issues = validate(geocode(frame))
    rules = issues.groupby(c.SOURCE_ROW)[c.RULE].apply(set)
    assert "state_corrected" in rules[1] and "lga_in_state" not in rules[1]
    assert "lga_in_state" in rules[2] and "state_corrected" not in rules[2]
    note = issues.loc[issues[c.RULE] == "state_corrected", c.DETAIL].item()
    assert note == "stated Plateau; Guma is an LGA of Benue, as the description says"
    assert list(validated[c.ERROR_COUNT]) == [0, 1]
