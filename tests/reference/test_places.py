"""Wards through naija-data's public API: every ward, once, in the package's own order."""

from __future__ import annotations

import naija_data

from reference import places


def test_all_wards_are_every_ward_once_in_code_order() -> None:
    wards = places.all_wards()
    codes = [ward.code for ward in wards]
    assert len(wards) == naija_data.meta()["counts"]["wards"] == 8809
    assert codes == sorted(set(codes))
    assert {ward.lga_code for ward in wards} == {lga.code for lga in naija_data.lgas()}


def test_ward_table_keys_each_ward_name_in_its_lga() -> None:
    table = places.ward_table()
    assert list(table.columns) == ["lga_code", "ward_key", "ward_code"]
    assert not table.duplicated(["lga_code", "ward_key"]).any()
    assert set(table["ward_code"]) <= {ward.code for ward in places.all_wards()}
    # As from the package's private list before (naija-data 1.0.0): a name repeated in an LGA keeps its first code.
    assert (len(table), table["ward_code"].nunique()) == (8927, 8794)
