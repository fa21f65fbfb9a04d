"""The registry: one list of formats and suffixes, used by extract, the upload endpoint and the CLI's help."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from api import ingest
from pipeline.cli import cli
from pipeline.errors import InputError
from pipeline.limits import Limits
from pipeline.sources import registry
from pipeline.sources.base import Extracted, Source
from pipeline.sources.csv_file import CsvFile
from pipeline.sources.generated import GeneratedFrame
from pipeline.sources.json_batch import JsonFile, Records
from pipeline.sources.xlsx_file import XlsxFile

CSV = b"Date,State,LGA,Community,Crisis Type,Source\n2024-01-05,Kano,Gwale,Dorayi,Communal Clash,Daily Trust\n"


def test_the_suffixes_are_listed_once_for_extract_uploads_and_the_cli() -> None:
    assert registry.SUFFIXES == (".xlsx", ".xlsm", ".csv", ".json")
    assert ingest.FILE_TYPES == registry.UPLOAD_SUFFIXES == (".xlsx", ".xlsm", ".csv")
    assert registry.described() == ".xlsx, .csv or .json"
    shown = CliRunner().invoke(cli, ["ingest", "--help"]).output
    assert f"Import FILE ({registry.described()})" in shown


@pytest.mark.parametrize(("name", "data", "kind"), [
    ("export.csv", CSV, CsvFile), ("batch.json", b'[{"date": "2024-01-05", "state": "Kano"}]', JsonFile),
    ("book.xlsx", b"PK\x03\x04rest", XlsxFile), ("notes.txt", CSV, CsvFile), ("noname", b"  [{}]", JsonFile),
    ("zipped", b"PK\x03\x04rest", XlsxFile),
])  # fmt: skip
def test_bytes_open_as_the_format_of_their_suffix_or_content(name: str, data: bytes, kind: type) -> None:
    assert isinstance(registry.open_bytes(data, name), kind)


def test_an_unlisted_suffix_is_refused_naming_the_listed_ones() -> None:
    with pytest.raises(InputError, match=r"unsupported file type '\.pdf' \(use \.xlsx, \.csv or \.json\)"):
        registry.open_bytes(b"%PDF", "export.pdf")


@pytest.mark.parametrize("value", ["/etc/passwd", b"bytes alone", 3, {"records": []}, ("name.csv", CSV)])
def test_an_input_of_no_accepted_kind_is_refused_when_read_never_opened(value: object) -> None:
    source = registry.as_source(value)  # type: ignore[arg-type]
    assert isinstance(source, registry.Refused) and source.name is None
    with pytest.raises(InputError, match="a batch must be a list of records"):
        source.read(Limits(), None)


def test_each_input_becomes_a_source_that_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(CSV)
    frame = pd.DataFrame([{"date": "2024-01-05", "state": "Kano"}])
    sources: list[Source] = [
        registry.as_source(path), registry.as_source((CSV, "up.csv")), registry.as_source([{"state": "Kano"}]),
        registry.as_source(frame), registry.as_source(Extracted(frame, 0)),
    ]  # fmt: skip
    assert [type(s) for s in sources] == [registry.LocalFile, registry.Uploaded, Records, GeneratedFrame,
                                          registry.Given]  # fmt: skip
    assert [s.name for s in sources] == ["export.csv", "up.csv", None, None, None]
    assert registry.as_source(frame, filename="a/b/seed.csv").name == "seed.csv"
    assert all(isinstance(s.read(Limits(), None), Extracted) for s in sources[:2])
