"""The values each trend filter offers, and how often they are listed anew."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import ConflictEvent, bump_version
from tests.trends.conftest import insert_events
from trends import options
from trends.filters import LIST_KEYS


def test_every_list_filter_offers_the_distinct_values_of_its_column(engine: Engine) -> None:
    options.clear_options_cache()
    insert_events(engine)
    listed = options.filter_options(engine, now=1000.0)
    assert set(listed) == set(LIST_KEYS)
    assert listed["state"] == ["Borno", "Kano", "Lagos"]
    assert listed["lga"] == ["Ikeja", "Kano Municipal", "Maiduguri"]  # no empty or missing LGA
    assert listed["actor"] == ["Bandits", "Boko Haram", "Cultists", "Military", "Police"]
    assert listed["source"] == ["Daily Post", "Premium Times", "Punch"]


def test_filter_options_follow_data_changes_at_most_every_few_minutes(engine: Engine) -> None:
    options.clear_options_cache()
    insert_events(engine)
    assert options.filter_options(engine, now=1000.0)["state"] == ["Borno", "Kano", "Lagos"]
    with Session(engine) as session:
        session.add(
            ConflictEvent(event_id="NGA99", fingerprint="new", content_hash="h", state="Oyo", geo_precision="none")
        )
        bump_version(session)
        session.commit()
    assert "Oyo" not in options.filter_options(engine, now=1010.0)["state"]  # changed, but listed 10 s ago
    assert "Oyo" in options.filter_options(engine, now=1000.0 + options.OPTIONS_MAX_AGE_S)["state"]
