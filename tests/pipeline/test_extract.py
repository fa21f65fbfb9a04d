"""Extract: XLSX (events sheet found by header), CSV (UTF-8/cp1252), JSON batches, clear InputErrors."""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from pipeline import columns as c
from pipeline.errors import InputError
from pipeline.sources.headers import match_header
from pipeline.sources.json_batch import read_records
from pipeline.sources.registry import read_bytes, read_file

# Headers as NVCD's export spells them (trailing space, "Communiity", "# GSA Casualties").
NVCD_HEADER = ["Date ", "Month", "Year", "Country", "Communiity", "LGA", "State", "Region", "Actor 1",
               "Actor 2", "Crisis Type", "# GSA Casualties", "M-GC", "F-GC", "Total Deaths",
               "Total Casualties", "Sources", "Source URL", "Data Source"]  # fmt: skip
ROW = [datetime(2024, 5, 1), "May", "2024", "Nigeria", "Kwaga", "Birnin Gwari", "Kaduna ", "North West",
       "Bandits", "Civilian(s)", "Banditry", 2, 1, 1, 2, 2, "Daily post", "https://dailypost.ng/x",
       "Secondary"]  # fmt: skip
TEMPLATE = [None, "May", "2024", "Nigeria", None, None, None, None, None, None, None, None, None, None, 0, 0,
            None, None, None]  # fmt: skip


def workbook(*sheets: tuple[str, list[list[object]]]) -> bytes:
    """Return XLSX bytes with the given sheets (name, rows)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets:
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Date ", c.DATE),
        ("Communiity", c.COMMUNITY),
        ("  crisis   TYPE", c.CRISIS_TYPE),
        ("# GSA Casualties", "gsa_casualties"),
        ("M-GC", "gsa_casualties_male"),
        ("#Injured Victims", "injured"),
        ("Incident Confirmation/Verification", c.VERIFICATION),
        ("source_url", c.SOURCE_URL),
        ("Actor 2", c.ACTOR2),
        ("Comunity", c.COMMUNITY),  # close misspelling
        ("Column1", None),
        ("", None),
    ],
)
def test_headers_are_matched_tolerantly(header: str, field: str | None) -> None:
    assert match_header(header) == field


def test_xlsx_events_sheet_found_by_header_and_template_rows_skipped() -> None:
    pivot = ("Sheet1", [["Region", "State", "Incidents"], ["North West", "Kaduna", 3]])
    home = ("Home", [["NVCD export"], [], NVCD_HEADER, ROW, TEMPLATE, TEMPLATE, ROW])
    village_rows = [
        ["State", "Lga", "District", "posatal", "Village"],
        ["Kaduna State", "Birnin Gwari", "X", 1, "Kwaga"],
    ]
    villages = ("Villages", village_rows)
    extracted = read_bytes(workbook(pivot, home, villages), "export.xlsx")
    events = extracted.events
    assert len(events) == 2
    assert extracted.rows_skipped == 2
    assert list(events[c.SOURCE_ROW]) == [4, 7]  # spreadsheet row numbers
    assert events.loc[0, c.STATE] == "Kaduna "  # extract keeps raw text; normalise trims
    assert events.loc[0, c.COMMUNITY] == "Kwaga"
    assert events.loc[0, c.DATE] in (date(2024, 5, 1), datetime(2024, 5, 1))
    assert set(c.RAW_COLUMNS) <= set(events.columns)
    assert extracted.villages is not None
    village = {"state": "Kaduna State", "lga": "Birnin Gwari", "village": "Kwaga"}
    assert extracted.villages.to_dict("records") == [village]


def test_csv_any_column_order_and_cp1252() -> None:
    text = "State,LGA,Communiity,Date,Sources,Crisis Type\n"
    text += "Benue,Guma,Yelwata,2024-06-14,Vanguard,Farmer - Herder Conflict\n"
    text += "Plateau,Jos North,Angwan Rogo’s,14/06/2024,Punch,Communal Clash\n,,,,,\n"
    extracted = read_bytes(text.encode("cp1252"), "export.csv")
    assert len(extracted.events) == 2
    assert extracted.rows_skipped == 1
    assert extracted.events.loc[1, c.COMMUNITY] == "Angwan Rogo’s"
    assert list(extracted.events[c.SOURCE_ROW]) == [2, 3]


def test_csv_utf8_with_bom() -> None:
    text = "\ufeffdate,state,lga,community,crisis_type\n2024-01-02,Kano,Ungogo,Rangaza,Kidnapping\n"
    extracted = read_bytes(text.encode("utf-8"), "batch.csv")
    assert extracted.events.loc[0, c.DATE] == "2024-01-02"
    assert extracted.events.loc[0, c.LGA] == "Ungogo"


def test_json_file_and_records() -> None:
    records = [{"date": "2024-02-03", "state": "Borno", "lga": "Konduga", "total_deaths": 4}, {"state": "Yobe"}]
    extracted = read_bytes(json.dumps({"records": records}).encode(), "batch.json")
    assert len(extracted.events) == 2
    assert extracted.events.loc[0, "total_deaths"] == 4
    assert list(extracted.events[c.SOURCE_ROW]) == [1, 2]
    assert read_records(records).events.loc[1, c.STATE] == "Yobe"


def test_real_path_is_read(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("date,state,lga,crisis_type,source\n2024-03-01,Lagos,Ikeja,Cult Clashes,Punch\n")
    assert len(read_file(path).events) == 1


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("export.xlsx", b"PK\x03\x04 this is not a workbook", "not a readable XLSX workbook"),
        ("export.xlsx", b"", "is empty"),
        ("export.csv", b"   \n", "is empty"),
        ("export.csv", b"name,age\nAda,3\n", "does not have NVCD columns"),
        ("export.csv", "date,state\n\x81".encode("latin-1"), "neither UTF-8 nor cp1252"),
        ("export.csv", b"date,state\x00\x01\x02", "binary"),
        ("export.json", b"{not json", "not valid JSON"),
        ("export.json", b'{"records": 3}', "must be a list"),
        ("export.pdf", b"%PDF-1.4", "unsupported file type"),
        ("export.csv", "date,state\n2024-05-01,Kano\n".encode("utf-16"), "is UTF-16 text; save it as CSV UTF-8"),
        ("export.txt", "date,state\n2024-05-01,Kano\n".encode("utf-16-be"), "is UTF-16 text; save it as CSV UTF-8"),
        ("export.csv", "date,state\n2024-05-01,Kano\n".encode("utf-32"), "is UTF-32 text"),
        ("export.json", '[{"state": "Kano"}]'.encode("utf-16"), "is UTF-16 text; save it as UTF-8"),
        ("export.csv", b'date,state\n"2024-05-01,Kano\n', "not valid CSV"),
    ],
)
def test_unreadable_input_gives_one_line_input_error(filename: str, data: bytes, message: str) -> None:
    with pytest.raises(InputError) as err:
        read_bytes(data, filename)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_xlsx_without_events_sheet() -> None:
    data = workbook(("Sheet1", [["Region", "State"], ["North West", "Kaduna"]]))
    with pytest.raises(InputError, match="no visible sheet with NVCD event headers"):
        read_bytes(data, "export.xlsx")


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ({"state": "Kano"}, "must be a list"),
        ([], "no records"),
        (["Kano"], "record 1 must be an object"),
        ([{"state": "Kano"}, {"colour": "red"}], "record 2 has no known fields"),
        ([{"state": ["Kano"]}], "record 1, field 'state': expected a string or number, got list"),
    ],
)
def test_bad_batches(records: object, message: str) -> None:
    with pytest.raises(InputError) as err:
        read_records(records)
    assert message in str(err.value)


def test_a_batch_error_quotes_its_keys_apart_from_the_stored_reason() -> None:
    with pytest.raises(InputError) as err:
        read_records([{"state": "Kano"}, {"colour": "red"}])
    assert "colour" not in str(err.value)
    assert err.value.quoted == "got: colour"


def test_missing_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_file(tmp_path / "absent.csv")
