"""Generate realistic NVCD-shaped records for the demo, replay and scale benchmarks.

Deterministic for a seed, vectorised with numpy (a million rows in a few seconds).
Places come from the gazetteer (naija-data), categories from the codebook. The
weights (``pipeline.demo.weights``) approximate the shares in Nextier's published NVCD export (rounded;
no rows or text of it are copied): events by state, crisis type and source, the
actors typical of each crisis type, and casualty sizes (log-normal fits).

Messiness is injected at known rates (``MESS_RATES``), the kinds real exports show:
trailing spaces, case variants, misspelt LGAs, en-dashes and curly apostrophes,
vague casualty words ("a few"), text in number cells, another state's name beside the
LGA (half the time in the description too, else the description names the LGA's own
state), empty template rows and duplicated rows. The frame holds ``n`` events, then the duplicated rows, then the
template rows (so ``len(frame) >= n``), as in a real export.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from pipeline import columns as c
from pipeline.demo.weights import (
    ACTOR_SHARES,
    COUNT_SHAPES,
    CRISIS_SHARES,
    MESS_RATES,
    OPPONENT,
    SOURCE_SHARES,
    SPLIT_SHARE,
    STATE_SHARES,
    TARGET_SHARES,
)
from reference import codebook, gazetteer

VAGUE_WORDS = tuple(codebook.VAGUE_AMOUNTS)
NUMBER_TEXT = ("n/a", "unknown", "not stated", "-")
ACTIONS = ("attack", "armed clash")
VERIFY = ("Confirmed by the state police command", "Confirmed by a local source", "Reported by residents",
          "Confirmed by the army spokesperson", "Confirmed by a community leader")  # fmt: skip
SYLLABLES = np.array(["ka", "ba", "da", "ma", "gi", "ri", "lu", "na", "zo", "ya", "wu", "ko", "shi", "te", "fa", "ji",
                      "ngo", "mi", "sa", "ru", "e", "o", "a", "u"], dtype=object)  # fmt: skip
DEFAULT_SPAN_DAYS = 5 * 365 + 200


def _pick(rng: np.random.Generator, shares: dict[str, float], size: int) -> np.ndarray:
    keys = np.array(list(shares), dtype=object)
    p = np.array(list(shares.values()), dtype=float)
    return keys[rng.choice(len(keys), size=size, p=p / p.sum())]


def _dates(rng: np.random.Generator, n: int, start: date, end: date) -> np.ndarray:
    """Draw event dates with month-to-month swings (a random walk), so trends have shape."""
    days = (end - start).days + 1
    months = days // 30 + 1
    weight = np.exp(np.cumsum(rng.normal(0, 0.15, months)))
    per_day = np.repeat(weight, 30)[:days]
    offsets = rng.choice(days, size=n, p=per_day / per_day.sum())
    return np.datetime64(start, "D") + offsets.astype("timedelta64[D]")


def _places(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Draw state, LGA (uniform within the state) and a community name."""
    lgas = gazetteer.lga_centroids()
    states = _pick(rng, STATE_SHARES, n)
    out_lga = np.empty(n, dtype=object)
    for code, idx in pd.Series(np.arange(n)).groupby(states).groups.items():
        names = lgas.loc[lgas["state_code"] == code, "lga"].to_numpy(dtype=object)
        out_lga[idx.to_numpy()] = names[rng.integers(0, len(names), len(idx))]
    names = {s.code: ("FCT" if s.code == "FC" else s.name) for s in gazetteer.states()}
    regions = {s.code: s.region for s in gazetteer.states()}
    syl = SYLLABLES[rng.integers(0, len(SYLLABLES), (n, 3))]
    community = _capitalise((syl[:, 0] + syl[:, 1] + syl[:, 2]).astype(object))
    return pd.DataFrame({
        c.STATE: pd.Series(states).map(names).to_numpy(dtype=object),
        c.REGION: pd.Series(states).map(regions).to_numpy(dtype=object),
        c.LGA: out_lga,
        c.COMMUNITY: community,
    })  # fmt: skip


def _capitalise(words: np.ndarray) -> np.ndarray:
    """Upper-case the first letter of each word (vectorised over distinct values)."""
    series = pd.Series(words, dtype=object)
    codes, uniques = pd.factorize(series)
    return np.array([u[:1].upper() + u[1:] for u in uniques], dtype=object)[codes]


def _counts(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Draw casualty counts; totals add up as NVCD's do (deaths = GSA + civilians, casualties = deaths + injured)."""
    out: dict[str, np.ndarray] = {}
    for name, (share, mu, sigma) in COUNT_SHAPES.items():
        has = rng.random(n) < share
        size = np.ceil(rng.lognormal(mu, sigma, n)).astype(np.int64)
        out[name] = np.where(has, size, -1)
    deaths = np.maximum(out["gsa_casualties"], 0) + np.maximum(out["civilian_casualties"], 0)
    out["total_deaths"] = deaths
    out["total_casualties"] = deaths + np.maximum(out["injured"], 0)
    for part_name, male_name, female_name in c.SPLITS:
        part = out[part_name]
        split = (rng.random(n) < SPLIT_SHARE) & (part > 0)
        male = rng.binomial(np.maximum(part, 0), 0.7)
        out[male_name] = np.where(split, male, -1)
        out[female_name] = np.where(split, np.maximum(part, 0) - male, -1)
    return out


def _as_cells(values: np.ndarray) -> np.ndarray:
    """Return counts as object cells (ints, None where absent)."""
    cells = values.astype(object)
    cells[values < 0] = None
    return cells


def _actors(rng: np.random.Generator, crisis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(crisis)
    actor1 = np.empty(n, dtype=object)
    for kind, idx in pd.Series(np.arange(n)).groupby(crisis).groups.items():
        actor1[idx.to_numpy()] = _pick(rng, ACTOR_SHARES[kind], len(idx))
    actor2 = _pick(rng, TARGET_SHARES, n)
    facing = pd.Series(crisis).map(OPPONENT).to_numpy(dtype=object)
    security = (actor1 == "Security Forces") & pd.notna(facing)
    actor2[security] = facing[security]
    actor2[actor2 == actor1] = "Civilian(s)"
    return actor1, actor2


def _text_mess(rng: np.random.Generator, frame: pd.DataFrame, rates: dict[str, float]) -> None:
    """Apply the text messiness in place (on small random subsets)."""
    n = len(frame)

    def rows(rate: float) -> np.ndarray:
        return np.flatnonzero(rng.random(n) < rate)

    for col in (c.STATE, c.LGA, c.SOURCE, c.COMMUNITY):
        idx = rows(rates["trailing_space"])
        frame.loc[idx, col] = frame.loc[idx, col].astype(object) + " "
    for col, how in ((c.SOURCE, str.lower), (c.LGA, str.upper), (c.CRISIS_TYPE, str.lower), (c.STATE, str.upper)):
        idx = rows(rates["case_variant"] / 2)
        frame.loc[idx, col] = [how(v) if isinstance(v, str) else v for v in frame.loc[idx, col]]
    idx = rows(rates["misspelt_lga"])
    salts = rng.integers(0, 1 << 30, len(idx))
    frame.loc[idx, c.LGA] = [_misspell(v, int(k)) for v, k in zip(frame.loc[idx, c.LGA], salts, strict=True)]
    idx = rows(rates["dash_apostrophe"])
    frame.loc[idx, c.LGA] = [v.replace("-", " – ") if isinstance(v, str) else v for v in frame.loc[idx, c.LGA]]
    frame.loc[idx, c.DESCRIPTION] = frame.loc[idx, c.DESCRIPTION].astype(object) + " in the residents’ area"


def _wrong_state(rng: np.random.Generator, frame: pd.DataFrame, rate: float) -> None:
    """Name another state beside the LGA (in place); half of these descriptions name it too."""
    idx = np.flatnonzero(rng.random(len(frame)) < rate)
    names = np.array(sorted({("FCT" if s.code == "FC" else s.name) for s in gazetteer.states()}), dtype=object)
    stated = frame.loc[idx, c.STATE].to_numpy(dtype=object)
    other = names[rng.integers(0, len(names), len(idx))]
    other = np.where(other == stated, names[(np.searchsorted(names, other) + 1) % len(names)], other)
    frame.loc[idx, c.STATE] = other
    told = idx[rng.random(len(idx)) < 0.5]
    frame.loc[told, c.DESCRIPTION] = [text.replace(f", {old}, ", f", {new}, ") for text, old, new in zip(
        frame.loc[told, c.DESCRIPTION], stated[np.isin(idx, told)], frame.loc[told, c.STATE], strict=True)]  # fmt: skip


def _misspell(name: object, k: int) -> object:
    """Misspell an LGA the way reporters do: a space dropped, or one inner letter doubled or lost."""
    if not isinstance(name, str) or len(name) < 6:
        return name
    if " " in name and k % 3 == 0:
        return name.replace(" ", "", 1)
    pos = 2 + k % (len(name) - 4)
    return name[:pos] + name[pos + 1 :] if k % 2 else name[:pos] + name[pos] + name[pos:]


def _number_mess(rng: np.random.Generator, frame: pd.DataFrame, rates: dict[str, float]) -> None:
    """Put vague words and stray text into casualty cells (in place)."""
    n = len(frame)
    for col in ("civilian_casualties", "kidnapped", "injured"):
        filled = frame[col].notna().to_numpy()
        idx = np.flatnonzero(filled & (rng.random(n) < rates["vague_word"] * 2))
        frame.loc[idx, col] = np.array(VAGUE_WORDS, dtype=object)[rng.integers(0, len(VAGUE_WORDS), len(idx))]
        idx = np.flatnonzero(filled & (rng.random(n) < rates["text_in_number"] * 2))
        frame.loc[idx, col] = np.array(NUMBER_TEXT, dtype=object)[rng.integers(0, len(NUMBER_TEXT), len(idx))]


def _day_texts(dates: np.ndarray, sep: str = "-") -> np.ndarray:
    """Format dates as text once per distinct day, then spread (formatting 1M dates is slow)."""
    days, inverse = np.unique(dates, return_inverse=True)
    texts = np.array([str(d).replace("-", sep) for d in days], dtype=object)
    return texts[inverse]


def _number_texts(values: np.ndarray) -> np.ndarray:
    """Format small non-negative ints as text through a lookup table."""
    table = np.array([str(i) for i in range(int(values.max(initial=0)) + 1)], dtype=object)
    return table[values]


def _describe(frame: pd.DataFrame) -> np.ndarray:
    """Write a headline-like description from the event's own fields."""
    deaths = _number_texts(frame["total_deaths"].to_numpy(dtype=np.int64))
    verb = np.where(frame["kidnapped"].notna().to_numpy(), " abduct residents in ", " attack ")
    text = frame[c.ACTOR1].to_numpy(dtype=object) + verb.astype(object) + frame[c.COMMUNITY].to_numpy(dtype=object)
    text = text + ", " + frame[c.STATE].to_numpy(dtype=object) + ", kill " + deaths
    return text


def _urls(rng: np.random.Generator, sources: np.ndarray, dates: np.ndarray) -> np.ndarray:
    domains = pd.Series(sources).map({k: v[1] for k, v in SOURCE_SHARES.items()}).to_numpy(dtype=object)
    path = _day_texts(dates, "/")
    # Unique per row within a batch, and (by the random prefix) across batches.
    prefix = f"/report-{int(rng.integers(0, 1 << 40)):x}-"
    urls = "https://" + domains + "/" + path + prefix + np.arange(len(sources)).astype(str).astype(object)
    return np.where(domains == "", np.array(None, dtype=object), urls)


def _template_rows(rng: np.random.Generator, count: int, dates: np.ndarray) -> pd.DataFrame:
    """Rows like the export's empty template rows: only month, year and country filled."""
    when = pd.DatetimeIndex(dates[rng.integers(0, len(dates), count)] if len(dates) else [])
    return pd.DataFrame({c.MONTH: when.month_name().to_numpy(dtype=object), c.YEAR: when.year.to_numpy(dtype=object),
                         c.COUNTRY: "Nigeria"})  # fmt: skip


def generate_events(n: int, seed: int = 0, *, start: date | None = None, end: date | None = None,
                    mess: bool = True) -> pd.DataFrame:  # fmt: skip
    """Return ``n`` NVCD-shaped raw events (canonical columns), plus duplicates and template rows."""
    rng = np.random.default_rng(seed)
    end = end or datetime.now(UTC).date()
    start = start or end - timedelta(days=DEFAULT_SPAN_DAYS)
    rates = MESS_RATES if mess else dict.fromkeys(MESS_RATES, 0.0)
    dates = _dates(rng, n, start, end)
    frame = _places(rng, n)
    crisis = _pick(rng, CRISIS_SHARES, n)
    actor1, actor2 = _actors(rng, crisis)
    sources = _pick(rng, {k: v[0] for k, v in SOURCE_SHARES.items()}, n)
    when = pd.DatetimeIndex(dates)
    frame = frame.assign(**{
        c.DATE: _day_texts(dates), c.MONTH: when.month_name().to_numpy(dtype=object),
        c.YEAR: when.year.to_numpy(dtype=object), c.COUNTRY: "Nigeria", c.CRISIS_TYPE: crisis, c.ACTOR1: actor1,
        c.ACTOR2: actor2, c.ACTION: np.array(ACTIONS, dtype=object)[(rng.random(n) < 0.062).astype(int)],
        **{name: _as_cells(values) for name, values in _counts(rng, n).items()},
        c.SOURCE: sources, c.SOURCE_URL: _urls(rng, sources, dates),
        c.DATA_SOURCE: np.where(sources == "Local Source", "Primary", "Secondary").astype(object),
        c.VERIFICATION: np.array(VERIFY, dtype=object)[rng.integers(0, len(VERIFY), n)],
    })  # fmt: skip
    frame[c.DESCRIPTION] = _describe(frame)
    _wrong_state(rng, frame, rates["wrong_state"])
    frame.loc[rng.random(n) < rates["no_community"], c.COMMUNITY] = None
    frame.loc[rng.random(n) < rates["no_lga"], c.LGA] = None
    _text_mess(rng, frame, rates)
    _number_mess(rng, frame, rates)
    dups = frame.iloc[np.flatnonzero(rng.random(n) < rates["duplicate_row"])]
    templates = _template_rows(rng, int(round(n * rates["template_row"])), dates)  # noqa: RUF046 - rates may be numpy floats
    # Like real exports: duplicated rows after the events, empty template rows at the end.
    out = pd.concat([frame, dups, templates], ignore_index=True)
    missing = {name: np.full(len(out), None, dtype=object) for name in c.RAW_COLUMNS if name not in out}
    return out.assign(**missing)[list(c.RAW_COLUMNS)]


def generate_records(n: int, seed: int = 0, **options: object) -> list[dict[str, object]]:
    """Return generated events as JSON-ready records (missing fields left out)."""
    frame = generate_events(n, seed, **options)  # type: ignore[arg-type]
    clean = frame.where(frame.notna(), None)
    return [{k: v for k, v in row.items() if v is not None} for row in clean.to_dict("records")]


def export_headers() -> dict[str, str]:
    """Return the NVCD export header for each canonical column (for CSV files like real exports)."""
    return {name: c.HEADER_VARIANTS.get(name, (name.replace("_", " ").title(),))[0] for name in c.RAW_COLUMNS}


def write_csv(frame: pd.DataFrame, path: str, *, nvcd_headers: bool = True) -> None:
    """Write generated rows to a CSV file with the export's headers (UTF-8)."""
    out = frame.rename(columns=export_headers()) if nvcd_headers else frame
    out.to_csv(path, index=False)
