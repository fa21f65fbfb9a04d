"""The named data-quality rules, with severities, and the issue rows their failures become.

Normalise raises the cell rules (a number or date it cannot read, text cut to its column),
validate the event rules; both build issue rows here, one per failure, stored per event in
``validation_issues``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from pipeline import columns as c

# NVCD's first recorded events are from June 2020; earlier dates are typos (or Excel's 1900).
NVCD_START = date(2020, 6, 1)
E, W = c.ERROR, c.WARNING


@dataclass(frozen=True)
class Rule:
    """A named data-quality rule as listed to users."""

    name: str
    severity: str
    field: str | None
    description: str


# Cell rules (normalise).
NUMBER_FORMAT = Rule("number_format", W, None, "A count cell holds text that is not a number or a vague amount")
DATE_FORMAT = Rule("date_format", W, c.EVENT_DATE, "The date cell cannot be read as a date")
DATE_AMBIGUOUS = Rule(
    "date_ambiguous",
    W,
    c.EVENT_DATE,
    "A dd/mm/yyyy date whose day and month could swap; read day first, as NVCD writes dates",
)
DATE_SERIAL = Rule(
    "date_serial", W, c.EVENT_DATE, "A number in the date cell, read as an Excel serial day (2000-2099 only)"
)
TEXT_TOO_LONG = Rule(
    "text_too_long",
    W,
    None,
    "A text cell is longer than its column holds (free text: columns.FREE_TEXT_LIMITS) and was cut",
)
CELL_RULES: tuple[Rule, ...] = (NUMBER_FORMAT, DATE_FORMAT, DATE_AMBIGUOUS, DATE_SERIAL, TEXT_TOO_LONG)

# Event rules (validate).
DATE_REQUIRED = Rule("date_required", E, c.EVENT_DATE, "The event has no date")
STATE_REQUIRED = Rule("state_required", E, c.STATE, "The event has no state")
CRISIS_TYPE_REQUIRED = Rule("crisis_type_required", W, c.CRISIS_TYPE, "The event has no crisis type")
SOURCE_REQUIRED = Rule("source_required", W, c.SOURCE, "The event names neither a source nor a source URL")
DATE_IN_FUTURE = Rule("date_in_future", E, c.EVENT_DATE, "The event date is after today")
DATE_BEFORE_START = Rule(
    "date_before_start", E, c.EVENT_DATE, f"The event date is before NVCD began ({NVCD_START:%B %Y})"
)
STATE_KNOWN = Rule("state_known", E, c.STATE, "The state is not one of Nigeria's 36 states or the FCT")
LGA_IN_STATE = Rule("lga_in_state", E, c.LGA, "The LGA belongs to another state, not the event's state")
STATE_CORRECTED = Rule(
    "state_corrected", W, c.STATE, "The stated state was replaced by the state of the LGA, as another field confirms"
)
LGA_KNOWN = Rule("lga_known", W, c.LGA, "The LGA could not be found in the event's state")
DEATHS_TOTAL = Rule("deaths_total", E, "total_deaths", "Total deaths differ from GSA plus civilian casualties")
CASUALTIES_TOTAL = Rule(
    "casualties_total", E, "total_casualties", "Total casualties differ from total deaths plus injured"
)
SPLIT_EXCEEDS_COUNT = Rule("split_exceeds_count", E, None, "Male plus female exceeds the count they split")
COUNT_NEGATIVE = Rule("count_negative", E, None, "A count is negative")
SOURCE_URL_FORMAT = Rule("source_url_format", W, c.SOURCE_URL, "The source URL is not a well-formed http(s) URL")
CRISIS_TYPE_CODEBOOK = Rule("crisis_type_codebook", W, c.CRISIS_TYPE, "The crisis type is not in NVCD's codebook")
ACTOR_CODEBOOK = Rule("actor_codebook", W, None, "An actor is not in NVCD's codebook")
DATA_SOURCE_KNOWN = Rule("data_source_known", W, c.DATA_SOURCE, "The data source is neither primary nor secondary")

RULES: tuple[Rule, ...] = (
    DATE_REQUIRED, STATE_REQUIRED, CRISIS_TYPE_REQUIRED, SOURCE_REQUIRED, DATE_IN_FUTURE, DATE_BEFORE_START,
    STATE_KNOWN, STATE_CORRECTED, LGA_IN_STATE, LGA_KNOWN, DEATHS_TOTAL, CASUALTIES_TOTAL, SPLIT_EXCEEDS_COUNT,
    COUNT_NEGATIVE, SOURCE_URL_FORMAT, CRISIS_TYPE_CODEBOOK, ACTOR_CODEBOOK, DATA_SOURCE_KNOWN, *CELL_RULES,
)  # fmt: skip
RULES_BY_NAME = {rule.name: rule for rule in RULES}


def issue_frame(rows: np.ndarray, rule: Rule, field: str | None, details: np.ndarray | str) -> pd.DataFrame:
    """Return one issue row per failing source row of ``rule``."""
    return pd.DataFrame({c.SOURCE_ROW: rows, c.RULE: rule.name, c.SEVERITY: rule.severity, c.FIELD: field,
                         c.DETAIL: details})  # fmt: skip


def empty_issues() -> pd.DataFrame:
    """Return an issue frame with no rows."""
    return pd.DataFrame({col: pd.Series(dtype="int64" if col == c.SOURCE_ROW else object) for col in c.ISSUE_COLUMNS})
