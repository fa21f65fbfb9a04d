"""The trend explorer's filter state: a dataclass that round-trips through a URL query string."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from urllib.parse import parse_qs, urlencode

from models.event import MAX_DATASET_NAME

GRANULARITIES = ("day", "week", "month")
# Dimensions a chart or the API can group by; "actor" counts an event under each of its actors.
DIMENSIONS = ("state", "region", "lga", "crisis_type", "actor", "source")
# Metric name -> event column summed (None: count of events).
METRICS: dict[str, str | None] = {
    "events": None,
    "total_deaths": "total_deaths",
    "gsa_deaths": "gsa_casualties",
    "civilian_deaths": "civilian_casualties",
    "injured": "injured",
    "kidnapped": "kidnapped",
    "displaced": "displaced",
    "total_casualties": "total_casualties",
}
METRIC_LABELS = {
    "events": "Events",
    "total_deaths": "Deaths (total)",
    "gsa_deaths": "Deaths: security forces",
    "civilian_deaths": "Deaths: civilians",
    "injured": "Injured",
    "kidnapped": "Kidnapped",
    "displaced": "Displaced",
    "total_casualties": "Casualties (total)",
}
DIMENSION_LABELS = {
    "state": "State",
    "region": "Region",
    "lga": "LGA",
    "crisis_type": "Crisis type",
    "actor": "Actor",
    "source": "Source",
}
# URL key -> dataclass field for the multi-valued filters.
LIST_KEYS = {
    "state": "states",
    "region": "regions",
    "lga": "lgas",
    "crisis_type": "crisis_types",
    "actor": "actors",
    "source": "sources",
    "dataset": "datasets",
}
MAX_VALUES = 100
# As long as conflict_events.dataset may be.
# C0 controls, DEL and C1 controls: no place, actor or source name holds one, and a line break
# in a value would reach the CSV citation and the page captions.
CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f]")


class FilterError(ValueError):
    """Raised when a query string holds a value the explorer cannot use."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class TrendFilters:
    """What a researcher selected: date range, places, types, actors, sources, datasets, time step, view.

    No dataset chosen means the default (``trends.datasets.in_scope``). ``scope``, never in the URL, holds
    the datasets the choice (or the default) came to once settled (``trends.datasets.scoped``).
    """

    start: date | None = None
    end: date | None = None
    states: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    lgas: tuple[str, ...] = ()
    crisis_types: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    granularity: str = "month"
    group_by: str = "crisis_type"
    metric: str = "events"
    extra: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)
    scope: tuple[str, ...] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.granularity not in GRANULARITIES:
            raise FilterError("granularity", f"must be one of {', '.join(GRANULARITIES)}")
        if self.group_by not in DIMENSIONS:
            raise FilterError("group_by", f"must be one of {', '.join(DIMENSIONS)}")
        if self.metric not in METRICS:
            raise FilterError("metric", f"must be one of {', '.join(METRICS)}")
        if self.start and self.end and self.start > self.end:
            raise FilterError("start", "must not be after end")
        for key, name in LIST_KEYS.items():
            values = getattr(self, name)
            if len(values) > MAX_VALUES:
                raise FilterError(key, f"at most {MAX_VALUES} values")
            if any(CONTROL_CHARS.search(value) for value in values):
                raise FilterError(key, "must not contain control characters (line breaks, tabs)")
        if any(len(name) > MAX_DATASET_NAME for name in self.datasets):
            raise FilterError("dataset", f"at most {MAX_DATASET_NAME} characters")

    def to_params(self) -> list[tuple[str, str]]:
        """Return the non-default settings as ordered (key, value) pairs."""
        default = TrendFilters()
        pairs: list[tuple[str, str]] = []
        if self.start:
            pairs.append(("start", self.start.isoformat()))
        if self.end:
            pairs.append(("end", self.end.isoformat()))
        for key, name in LIST_KEYS.items():
            pairs.extend((key, value) for value in getattr(self, name))
        for key in ("granularity", "group_by", "metric"):
            if getattr(self, key) != getattr(default, key):
                pairs.append((key, getattr(self, key)))
        return pairs

    def to_query(self) -> str:
        """Return the query string (without '?') that reproduces these filters."""
        return urlencode(self.to_params())

    def describe(self) -> str:
        """Return a one-line human description, for citations and captions."""
        parts = [f"{key}={value}" for key, value in self.to_params()]
        return "; ".join(parts) if parts else "all events"

    def as_dict(self) -> dict[str, object]:
        """Return a JSON-serialisable dict (dates as ISO strings)."""
        data = asdict(self)
        data.pop("extra")
        data.pop("scope")
        data["start"] = self.start.isoformat() if self.start else None
        data["end"] = self.end.isoformat() if self.end else None
        return {key: list(value) if isinstance(value, tuple) else value for key, value in data.items()}


def parse_date(key: str, value: str) -> date:
    """Parse a strict ISO date (YYYY-MM-DD) or raise FilterError."""
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(key, f"not a date (YYYY-MM-DD): {value!r}") from None


def _values(raw: object) -> list[str]:
    items: Iterable[object] = raw if isinstance(raw, (list, tuple)) else [raw]
    cleaned = (str(item).strip() for item in items if item is not None)
    return list(dict.fromkeys(value for value in cleaned if value))


def from_mapping(query: Mapping[str, object]) -> TrendFilters:
    """Build filters from a mapping of key -> str or list of str (e.g. Dash's layout(**query))."""
    known = {"start", "end", "granularity", "group_by", "metric", *LIST_KEYS}
    kwargs: dict[str, object] = {}
    for key in ("start", "end"):
        values = _values(query.get(key))
        if values:
            kwargs[key] = parse_date(key, values[-1])
    for key in ("granularity", "group_by", "metric"):
        values = _values(query.get(key))
        if values:
            kwargs[key] = values[-1]
    for key, name in LIST_KEYS.items():
        kwargs[name] = tuple(_values(query.get(key)))
    extra = tuple((key, str(value)) for key, value in query.items() if key not in known)
    return TrendFilters(**kwargs, extra=extra)  # type: ignore[arg-type]


def from_query(search: str) -> TrendFilters:
    """Build filters from a URL query string (with or without the leading '?')."""
    if not isinstance(search, str):  # a forged Dash request can store anything
        raise FilterError("filters", f"not a query string: {type(search).__name__}")
    parsed = parse_qs(search.lstrip("?"), keep_blank_values=False)
    return from_mapping(parsed)


def from_controls(values: Mapping[str, object]) -> TrendFilters:
    """Build filters from UI control values, dropping invalid ones rather than failing."""
    cleaned = dict(values)
    for key in ("start", "end"):
        raw = cleaned.get(key)
        cleaned[key] = str(raw)[:10] if raw else None
    try:
        return from_mapping(cleaned)
    except FilterError as exc:
        cleaned.pop(exc.key, None)
        if exc.key == "start":
            cleaned.pop("end", None)
        return from_mapping(cleaned)
