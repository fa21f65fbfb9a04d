"""Workbook limits: read from the environment, measured from the zip, configurable per deployment."""

from __future__ import annotations

import numpy as np
import pytest

import config
from pipeline.errors import LimitExceeded
from pipeline.limits import MB, Limits, _reference_extent, check_workbook
from pipeline.sources.registry import read_bytes
from tests.pipeline import hostile_files as h


def test_limits_come_from_the_environment_with_defaults() -> None:
    assert Limits.from_settings(config.from_environment({})) == Limits()
    assert Limits() == Limits(xlsx_inflated_bytes=256 * MB, xlsx_members=1_000, sheet_rows=500_000,
                              sheet_cells=5_000_000)  # fmt: skip
    env = {"MAX_XLSX_INFLATED_MB": "8", "MAX_XLSX_MEMBERS": "40", "MAX_SHEET_ROWS": "100", "MAX_SHEET_CELLS": "900"}
    assert Limits.from_settings(config.from_environment(env)) == Limits(8 * MB, 40, 100, 900)
    with pytest.raises(config.ConfigError, match="MAX_SHEET_ROWS"):
        config.from_environment({"MAX_SHEET_ROWS": "many"})


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (b'<c r="A1" s="1">', (1, 1, 1)),
        (b'<row r="10742" spans="1:43"><c r="AQ10742">', (10742, 43, 1)),
        (b'<c r="XFD1048576"/>', (1048576, 16384, 1)),
        (b'<c r="ZZZ123456789"/>', (12345678, 18278, 1)),  # more digits than a row has: read as too many
        (b'<a:srgbClr lastClr="5400000"/>', (5400000, 0, 0)),  # a look-alike only ever overestimates
        (b'<c t="s"><v>1</v></c>', (0, 0, 0)),
        (b'<c r="B', (0, 2, 1)),  # cut by the chunk's end: read short, the next chunk sees it whole
    ],
)
def test_cell_references_are_measured(xml: bytes, expected: tuple[int, int, int]) -> None:
    assert _reference_extent(np.frombuffer(xml, dtype=np.uint8)) == expected


def test_a_workbook_within_lowered_limits_and_beyond_them() -> None:
    data = h.workbook(("Home", [h.HEADER, *[h.row(day=1 + i % 28, community=f"C{i}") for i in range(99)]], "visible"))
    check_workbook(data, Limits(sheet_rows=100, sheet_cells=1_000))
    with pytest.raises(LimitExceeded, match=r"a sheet holds over 99 rows \(MAX_SHEET_ROWS\)"):
        check_workbook(data, Limits(sheet_rows=99))
    with pytest.raises(LimitExceeded, match=r"a sheet spans over 999 cells \(MAX_SHEET_CELLS\)"):
        check_workbook(data, Limits(sheet_cells=999))


def test_the_real_export_fits_the_defaults_and_a_lowered_limit_refuses_it(real_export) -> None:
    data = real_export.read_bytes()
    check_workbook(data, Limits())
    with pytest.raises(LimitExceeded, match=r"inflates to more than 10 MB \(MAX_XLSX_INFLATED_MB\)"):
        read_bytes(data, real_export.name, Limits(xlsx_inflated_bytes=10 * MB))


@pytest.mark.parametrize("app_overrides", [{"MAX_XLSX_INFLATED_MB": 1}])
def test_the_worker_applies_its_configured_limit(client, engine, run_jobs, app_overrides) -> None:
    import io

    data = h.zip_bomb(2)  # 2 MB of sheet XML
    response = client.post("/api/v1/ingest/file", data={"file": (io.BytesIO(data), "small-bomb.xlsx")},
                           headers={"Authorization": "Bearer test-token"},
                           content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 202
    run_jobs()
    run = client.get(response.headers["Location"]).json
    assert run["status"] == "failed"
    assert run["error"] == "small-bomb.xlsx is too large: it inflates to more than 1 MB (MAX_XLSX_INFLATED_MB)"
