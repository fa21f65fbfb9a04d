"""The feed's cursor: what encode() gives out decodes back; nothing else does."""

from __future__ import annotations

import re

import pytest

from revisions import cursor


@pytest.mark.parametrize("last_id", [0, 1, 34, 10**12, cursor.MAX_ID])
def test_a_cursor_names_the_change_it_was_made_for(last_id: int) -> None:
    made = cursor.encode(last_id)
    assert re.fullmatch(cursor.PATTERN, made) and cursor.decode(made) == last_id


@pytest.mark.parametrize("text", ["", "0", "v1:5", "djE6", "djE6LTE", "djE6MDE", "djE6eA", "dj E6MQ", "é", "a" * 41])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(cursor.CursorError):
        cursor.decode(text)


def test_an_id_past_bigint_is_refused() -> None:
    with pytest.raises(cursor.CursorError):
        cursor.decode(cursor.encode(cursor.MAX_ID + 1))
