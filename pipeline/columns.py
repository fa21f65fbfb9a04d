"""Column names used by every stage, written once.

Raw columns (what ``extract`` returns) use canonical field names. The same names are the
field names of JSON batches (``sources.json_batch.read_records`` and ``POST /api/v1/ingest/batch``):

    date, month, year, country, location_text, community, lga, state, region,
    actor1, actor2, actor3, crisis_type, action,
    gsa_casualties, gsa_casualties_male, gsa_casualties_female,
    civilian_casualties, civilian_casualties_male, civilian_casualties_female,
    total_deaths, injured, injured_male, injured_female, total_casualties,
    kidnapped, kidnapped_male, kidnapped_female,
    displaced, displaced_male, displaced_female,
    description, verification, confirmation_level, source, source_url,
    other_sources, source_contact, reporter_name, data_source, reporter_contact

A record needs at least one of them; ``date`` is an ISO date (``2024-05-31``) or
``dd/mm/yyyy``; counts are numbers, numeric strings or NVCD's vague words ("a few").
Event columns (what ``normalise``/``geocode``/``validate`` return) are the attribute names
of ``models.ConflictEvent`` that the pipeline fills.
"""

from __future__ import annotations

from models.event import COUNT_COLUMNS, SPLIT_COUNT_COLUMNS

SOURCE_ROW = "source_row"
# The public event id: an input column (``Event ID``) when the file carries one, else assigned on load.
EVENT_ID = "event_id"
DATASET = "dataset"

# Raw canonical names (and JSON batch field names).
DATE = "date"
MONTH = "month"
YEAR = "year"
COUNTRY = "country"
LOCATION_TEXT = "location_text"
COMMUNITY = "community"
LGA = "lga"
STATE = "state"
REGION = "region"
ACTOR1, ACTOR2, ACTOR3 = "actor1", "actor2", "actor3"
ACTORS = (ACTOR1, ACTOR2, ACTOR3)
CRISIS_TYPE = "crisis_type"
ACTION = "action"
DESCRIPTION = "description"
VERIFICATION = "verification"
CONFIRMATION_LEVEL = "confirmation_level"
SOURCE = "source"
SOURCE_URL = "source_url"
OTHER_SOURCES = "other_sources"
SOURCE_CONTACT = "source_contact"
REPORTER_NAME = "reporter_name"
DATA_SOURCE = "data_source"
REPORTER_CONTACT = "reporter_contact"


def _with_splits(name: str) -> tuple[str, ...]:
    return (name, f"{name}_male", f"{name}_female") if name in SPLIT_COUNT_COLUMNS else (name,)


# Every count column in NVCD order, splits after their total.
ALL_COUNT_COLUMNS: tuple[str, ...] = tuple(c for name in COUNT_COLUMNS for c in _with_splits(name))
# (part, male, female) triples for the male+female <= part rule.
SPLITS: tuple[tuple[str, str, str], ...] = tuple((n, f"{n}_male", f"{n}_female") for n in SPLIT_COUNT_COLUMNS)

RAW_COLUMNS: tuple[str, ...] = (
    EVENT_ID, DATE, MONTH, YEAR, COUNTRY, LOCATION_TEXT, COMMUNITY, LGA, STATE, REGION,
    *ACTORS, CRISIS_TYPE, ACTION, *ALL_COUNT_COLUMNS,
    DESCRIPTION, VERIFICATION, CONFIRMATION_LEVEL, SOURCE, SOURCE_URL, OTHER_SOURCES,
    SOURCE_CONTACT, REPORTER_NAME, DATA_SOURCE, REPORTER_CONTACT,
)  # fmt: skip

# Event columns (models.ConflictEvent attribute names).
EVENT_DATE = "event_date"
SOURCE_RAW = "source_raw"  # the source name as the export spelled it (``source`` is the codebook's)
DERIVED_FIELDS = "derived_fields"
IS_DERIVED = "is_derived"
LATITUDE, LONGITUDE = "latitude", "longitude"
GEO_PRECISION, GEO_METHOD, GEO_CONFIDENCE = "geo_precision", "geo_method", "geo_confidence"
STATE_CODE, LGA_CODE, WARD_CODE = "state_code", "lga_code", "ward_code"
ERROR_COUNT, WARNING_COUNT = "error_count", "warning_count"
# Deduplicate's hashes of an event's identity and of its content (hex), stored with it.
FINGERPRINT, CONTENT_HASH = "fingerprint", "content_hash"
# Geocode's note on an event moved to its LGA's state (pipeline.restate); not stored, but
# reported by the state_corrected rule.
STATE_CORRECTION = "state_correction"
# The event columns held as numbers (beside ``source_row``): integer counts, and coordinates or a confidence.
INT_COLUMNS = frozenset((*ALL_COUNT_COLUMNS, ERROR_COUNT, WARNING_COUNT))
FLOAT_COLUMNS = frozenset((LATITUDE, LONGITUDE, GEO_CONFIDENCE))

TEXT_COLUMNS: tuple[str, ...] = (
    EVENT_ID, STATE, LGA, COMMUNITY, LOCATION_TEXT, REGION, *ACTORS, CRISIS_TYPE, ACTION,
    DESCRIPTION, VERIFICATION, CONFIRMATION_LEVEL, SOURCE, SOURCE_RAW, SOURCE_URL, OTHER_SOURCES, DATA_SOURCE,
)  # fmt: skip
# The most characters stored of each free-text field (unbounded ``Text`` columns in the database); the
# rest is cut with a ``text_too_long`` warning. The real export's longest are 1,170 (description),
# 337 (source URL), 281, 225 and 45 characters: these leave room many times over.
FREE_TEXT_LIMITS: dict[str, int] = {
    DESCRIPTION: 20_000, VERIFICATION: 5_000, OTHER_SOURCES: 5_000, LOCATION_TEXT: 2_000, SOURCE_URL: 2_048,
}  # fmt: skip
NORMALISED_COLUMNS: tuple[str, ...] = (
    EVENT_ID, EVENT_DATE, STATE, LGA, COMMUNITY, LOCATION_TEXT, REGION, *ACTORS, CRISIS_TYPE, ACTION,
    *ALL_COUNT_COLUMNS, DERIVED_FIELDS, IS_DERIVED,
    DESCRIPTION, VERIFICATION, CONFIRMATION_LEVEL, SOURCE, SOURCE_RAW, SOURCE_URL, OTHER_SOURCES, DATA_SOURCE,
    SOURCE_ROW,
)  # fmt: skip
GEOCODE_COLUMNS: tuple[str, ...] = (
    LATITUDE,
    LONGITUDE,
    GEO_PRECISION,
    GEO_METHOD,
    GEO_CONFIDENCE,
    STATE_CODE,
    LGA_CODE,
    WARD_CODE,
)
VALIDATION_COLUMNS: tuple[str, ...] = (ERROR_COUNT, WARNING_COUNT)
EVENT_COLUMNS: tuple[str, ...] = NORMALISED_COLUMNS[:-1] + GEOCODE_COLUMNS + VALIDATION_COLUMNS + (SOURCE_ROW,)


def in_event_order(columns: list[str]) -> list[str]:
    """Return column names with event columns first, in EVENT_COLUMNS order, others after."""
    return [col for col in EVENT_COLUMNS if col in columns] + [col for col in columns if col not in EVENT_COLUMNS]


# Issues: one row per failed rule per event, keyed by the event's source_row.
RULE, SEVERITY, FIELD, DETAIL = "rule", "severity", "field", "detail"
ISSUE_COLUMNS: tuple[str, ...] = (SOURCE_ROW, RULE, SEVERITY, FIELD, DETAIL)
ERROR, WARNING = "error", "warning"

# Geocoding precision levels.
PRECISIONS = ("ward", "lga", "state", "none")

# Header spellings seen in NVCD exports, matched after pipeline.sources.headers.header_key()
# (case, spacing and punctuation folded); each field's canonical name matches too.
HEADER_VARIANTS: dict[str, tuple[str, ...]] = {
    EVENT_ID: ("Event ID", "Event Id"),
    DATE: ("Date", "Event Date"),
    LOCATION_TEXT: ("Highways/Roads/Waterways", "Location"),
    COMMUNITY: ("Community", "Communiity", "Village"),
    LGA: ("LGA", "Local Government Area"),
    ACTOR1: ("Actor 1",),
    ACTOR2: ("Actor 2",),
    ACTOR3: ("Actor 3",),
    CRISIS_TYPE: ("Crisis Type",),
    "gsa_casualties": ("# GSA Casualties", "GSA Casualties"),
    "gsa_casualties_male": ("M-GC",),
    "gsa_casualties_female": ("F-GC",),
    "civilian_casualties": ("# Civilian Casualties", "Civilian Casualties"),
    "civilian_casualties_male": ("M-CC",),
    "civilian_casualties_female": ("F-CC",),
    "total_deaths": ("Total Deaths",),
    "injured": ("#Injured Victims", "Injured Victims", "Injured"),
    "injured_male": ("M-IV",),
    "injured_female": ("F-IV",),
    "total_casualties": ("Total Casualties",),
    "kidnapped": ("#Kidnap Victims", "Kidnap Victims", "Kidnapped"),
    "kidnapped_male": ("M-KV",),
    "kidnapped_female": ("F-KV",),
    "displaced": ("# IDPs", "IDPs", "Displaced"),
    "displaced_male": ("M-IDP",),
    "displaced_female": ("F-IDP",),
    VERIFICATION: ("Incident Confirmation/Verification", "Verification"),
    SOURCE: ("Sources", "Source"),
    SOURCE_URL: ("Source URL",),
    OTHER_SOURCES: ("Other sources",),
    SOURCE_CONTACT: ("Source Contact Details/Pictures",),
}
