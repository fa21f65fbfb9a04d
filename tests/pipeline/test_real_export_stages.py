"""The first four stages on the real NVCD export (skipped when the file is absent)."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline import columns as c
from pipeline.geocode import geocode
from pipeline.normalise import normalise
from pipeline.rules import RULES_BY_NAME
from pipeline.sources.base import Extracted
from pipeline.validate import validate
from reference import codebook, gazetteer

pytestmark = pytest.mark.slow

# The export's "Home" sheet holds 6,580 events; the rest are empty template rows.
REAL_EVENTS = 6580


@pytest.fixture(scope="module")
def extracted(real_extracted: Extracted) -> Extracted:
    """Return the real export, extracted once for the session (tests/conftest.py)."""
    return real_extracted


@pytest.fixture(scope="module")
def stages(extracted: Extracted) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (normalised, geocoded, validated) events."""
    normalised, _ = normalise(extracted.events)
    geocoded = geocode(normalised, extracted.villages)
    validated, _ = validate(geocoded)
    return normalised, geocoded, validated


def test_extract_counts_events_and_skips_template_rows(extracted: Extracted) -> None:
    assert len(extracted.events) == REAL_EVENTS
    assert extracted.rows_skipped > 1000
    assert extracted.events[c.SOURCE_ROW].is_unique
    assert extracted.villages is not None and len(extracted.villages) > 40_000


def test_every_event_has_a_valid_state(stages: tuple[pd.DataFrame, ...]) -> None:
    _, geocoded, _ = stages
    known = {s.name for s in gazetteer.states()}
    assert geocoded[c.STATE].isin(known).all()
    assert geocoded[c.STATE_CODE].notna().all()
    assert geocoded[c.REGION].notna().all()


def test_lga_level_geocoding(stages: tuple[pd.DataFrame, ...]) -> None:
    normalised, geocoded, validated = stages
    named = normalised[c.LGA].notna()
    lga_level = geocoded[c.GEO_PRECISION].isin(["lga", "ward"])
    share = (named & lga_level).sum() / named.sum()
    assert share >= 0.99, f"LGA-level share {share:.4f}"
    # The rest: LGAs of another state with no witness (kept in their stated state, flagged
    # lga_in_state), and cities or merged names that the community cannot narrow to one LGA.
    contradicted = named & ~lga_level & geocoded[c.LGA].map(lambda v: bool(v and gazetteer.lga_states(v)))
    assert contradicted.sum() < 0.01 * named.sum()
    assert (validated.loc[contradicted, c.ERROR_COUNT] > 0).all()
    # Every LGA found lies in the event's state.
    resolved = geocoded[c.LGA_CODE].notna()
    lga_states = geocoded.loc[resolved, c.LGA_CODE].map(lambda code: gazetteer.lga_by_code(code).state_code)
    assert (lga_states == geocoded.loc[resolved, c.STATE_CODE]).all()
    # The stated state is kept, but where the LGA and a witness agree on another state (a few
    # dozen events, each with a note saying so).
    stated = normalised[c.STATE].map(lambda name: getattr(gazetteer.find_state(name), "code", None))
    moved = stated.notna() & (stated != geocoded[c.STATE_CODE])
    assert (moved == geocoded[c.STATE_CORRECTION].notna()).all()
    assert 0 < moved.sum() < 0.005 * named.sum()
    assert geocoded.loc[moved, c.STATE_CORRECTION].str.startswith("stated ").all()


def test_codebook_values_after_normalise(stages: tuple[pd.DataFrame, ...]) -> None:
    normalised, _, _ = stages
    assert normalised[c.CRISIS_TYPE].dropna().map(codebook.is_crisis_type).mean() > 0.99
    actors = pd.concat([normalised[col] for col in c.ACTORS]).dropna()
    assert actors.map(codebook.is_actor).mean() > 0.99
    assert set(normalised[c.DATA_SOURCE].dropna()) <= set(codebook.DATA_SOURCES)
    sources = normalised[c.SOURCE].dropna()
    # Case and spacing variants of one source fold to one display form.
    assert sources.map(codebook.source_key).nunique() == sources.nunique()


def test_dates_within_database_span(stages: tuple[pd.DataFrame, ...]) -> None:
    normalised, _, validated = stages
    assert normalised[c.EVENT_DATE].notna().all()
    assert validated[c.ERROR_COUNT].eq(0).mean() > 0.95
    assert set(RULES_BY_NAME) >= {"lga_in_state"}
