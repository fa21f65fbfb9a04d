"""Time reconciling a snapshot of N generated events on PostgreSQL, beside a plain re-import in the same run.

    .venv/bin/python bench/reconcile_bench.py                     # 1,000,000 events
    .venv/bin/python bench/reconcile_bench.py --events 200000 --seed 7
    .venv/bin/python bench/reconcile_bench.py --profile           # also a cProfiled snapshot run at the end

The requirement (issue "A living dataset", Proof): reconciling a 1,000,000-event snapshot with
1 % edited, 0.5 % deleted and 0.5 % appended takes at most 1.5x a plain re-import.

Files (a temporary folder, removed at the end), written by a child process:

- **A**: ``pipeline.demo.generate.generate_events(N, seed)`` as a CSV export (its 0.2 % duplicated
  rows and 2 % empty template rows included);
- **B**: A with 1 % of the events edited, spread over six kinds (casualty counts: civilians and
  both totals +1; first actor; description text; source URL; community spelling, an inner letter
  doubled; date moved by one day, month and year with it), 0.5 % deleted, 0.5 % appended (new
  events from another seed with a new community, a description in other words and their own
  URLs), then the rows shuffled (template rows last). Edited and deleted rows are drawn only
  from events that have no exact copy in A (the generator's duplicated rows), so every edit and
  every deletion is one event's; the counts expected are printed beside the counts each run reports.

Then, in one scratch database (created on ``--admin-url`` and migrated like ``pipeline_bench``'s,
dropped at the end), each run a fresh interpreter through ``run_pipeline`` as the CLI runs it
(``workers=os.cpu_count()``), in this order:

0. first load of A (sharded over the cores, into the empty table: timed, not the subject),
   then ``VACUUM (ANALYZE) conflict_events`` (timed), so that no run pays for setting the hint
   bits of a million fresh rows or meets autovacuum half way through;
1. (a) plain re-import of A: nothing changes (the baseline);
2. (b) snapshot of B (``Target(snapshot=True, force=True)``): the subject;
3. (c) snapshot of A: restores the withdrawn events, reverts the edits, withdraws the appended
   ones (a second snapshot measurement, and the state of 1 again);
4. (d) plain re-import of A again (a second baseline).

Per run: wall seconds, seconds per stage (``RunSummary.stage_seconds``), peak memory (the
child's ``VmHWM``; its ``ru_maxrss`` too, which on Linux starts from the parent's RSS at the
fork, small here since the parent holds no data), the counts of created/updated/withdrawn/
restored/unchanged, the load average when it started, and the seconds spent in the functions of
the load stage (``pipeline.reconcile``'s matching phases and ``pipeline.load``'s writes, timed by
wrapping them in the child: nested ones, e.g. ``_stored_fields`` inside ``_candidates``, count
in both). The ratios printed are snapshot / re-import, (b)/(a) and (c)/(d), for the wall time,
the load stage and the peak memory. ``--profile`` adds a fifth run, a snapshot of B under
cProfile (its appended rows then restore the events (c) withdrew), and prints its top functions.

The load average is printed before and after; on the shared 2-core machine it matters, so
compare the runs of one invocation with each other, not with another invocation's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline_bench import DEFAULT_ADMIN, ScratchPostgres  # noqa: E402

EDIT_SHARE, DELETE_SHARE, APPEND_SHARE = 0.01, 0.005, 0.005
EDIT_KINDS = ("casualties", "actor", "description", "source_url", "community", "date")
COUNTS = ("created", "updated", "withdrawn", "restored", "unchanged")
RUNS = (  # (label, file, mode)
    ("first load A", "A", "import"),
    ("(a) re-import A", "A", "import"),
    ("(b) snapshot B", "B", "snapshot"),
    ("(c) snapshot A", "A", "snapshot"),
    ("(d) re-import A", "A", "import"),
)
# Functions of the load stage timed in each run (module -> names); Plan.diff is timed as "Plan.diff".
TIMED = {
    "pipeline.reconcile": ("plan", "stored_keys", "_given_ids", "_pair_in_order", "_free", "_candidates",
                           "_stored_fields", "_candidate_pairs", "score", "_greedy", "changed_fields"),
    "pipeline.load": ("_refusal", "_new_ids", "_insert_events", "_update_events", "_set_columns", "_change_rows",
                      "issue_rows", "write_created_changes"),
    "pipeline.bulk": ("lock_for_load", "insert_chunk", "drop_indexes", "rebuild_indexes", "read_tuples", "set_by_id"),
}  # fmt: skip


# --- the files ---------------------------------------------------------------------------------


def _is_count(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool) and value == value)


def _edit(frame: Any, rows: Any, kind: str, rng: Any) -> None:
    """Edit ``kind`` of the rows at positions ``rows`` of ``frame`` (in place)."""
    import numpy as np
    import pandas as pd

    from pipeline import columns as c

    at = frame.index[rows]
    if kind == "casualties":
        for col in ("civilian_casualties", "total_deaths", "total_casualties"):
            frame.loc[at, col] = [int(v or 0) + 1 for v in frame.loc[at, col]]
    elif kind == "actor":
        actors = np.array(sorted(frame[c.ACTOR1].dropna().unique()), dtype=object)
        now = np.searchsorted(actors, frame.loc[at, c.ACTOR1].to_numpy(dtype=object))
        frame.loc[at, c.ACTOR1] = actors[(now + rng.integers(1, len(actors), len(at))) % len(actors)]
    elif kind == "description":
        frame.loc[at, c.DESCRIPTION] = frame.loc[at, c.DESCRIPTION] + "; residents fled to nearby villages"
    elif kind == "source_url":
        frame.loc[at, c.SOURCE_URL] = frame.loc[at, c.SOURCE_URL].str.replace("/report-", "/story-", regex=False)
    elif kind == "community":
        frame.loc[at, c.COMMUNITY] = [v[:2] + v[1:] for v in frame.loc[at, c.COMMUNITY]]  # "Kaba" -> "Kaaba"
    elif kind == "date":
        days = pd.to_datetime(frame.loc[at, c.DATE], format="%Y-%m-%d")
        step = np.where(days.dt.date.to_numpy() >= date.today(), -1, 1)
        moved = pd.DatetimeIndex(days.to_numpy() + step.astype("timedelta64[D]"))
        frame.loc[at, c.DATE] = moved.strftime("%Y-%m-%d").to_numpy(dtype=object)
        frame.loc[at, c.MONTH] = moved.month_name().to_numpy(dtype=object)
        frame.loc[at, c.YEAR] = moved.year.to_numpy(dtype=object)


def _editable(frame: Any, kind: str) -> Any:
    """Return which rows of ``frame`` an edit of ``kind`` applies to."""
    import numpy as np

    from pipeline import columns as c

    if kind == "casualties":
        return np.array([_is_count(v) for v in frame["civilian_casualties"]]) & frame["total_deaths"].notna().to_numpy()
    column = {"actor": c.ACTOR1, "description": c.DESCRIPTION, "source_url": c.SOURCE_URL, "community": c.COMMUNITY,
              "date": c.DATE}[kind]  # fmt: skip
    values = frame[column]
    need = "/report-" if kind == "source_url" else ""
    return np.array([isinstance(v, str) and len(v.strip()) >= 3 and need in v for v in values], dtype=bool)


def _appended(count: int, seed: int) -> Any:
    """Return ``count`` new events: another seed, a new community, a description in other words, new URLs."""
    from pipeline import columns as c
    from pipeline.demo.generate import generate_events

    new = generate_events(count, seed=seed + 1_000_003).iloc[:count].copy()  # the events, not its copies
    new[c.COMMUNITY] = ["Sabon " + (v.strip() if isinstance(v, str) else "Gari") for v in new[c.COMMUNITY]]
    deaths = new["total_deaths"].fillna(0).astype(int).astype(str)
    new[c.DESCRIPTION] = ("Night raid on " + new[c.COMMUNITY] + ": homes burnt and " + deaths
                          + " dead, according to a newly added report")  # fmt: skip
    return new


def prepare(folder: Path, events: int, seed: int) -> dict:
    """Write A and B (module doc) into ``folder``; return what B changes and the times."""
    import numpy as np
    import pandas as pd

    from pipeline import columns as c
    from pipeline.demo.generate import generate_events, write_csv

    started = time.perf_counter()
    frame = generate_events(events, seed=seed)
    generate_s = time.perf_counter() - started
    started = time.perf_counter()
    write_csv(frame, str(folder / "A.csv"))
    write_a_s = time.perf_counter() - started

    started = time.perf_counter()
    rng = np.random.default_rng(seed + 1)
    copied = frame.duplicated(keep=False).to_numpy()  # the generator's duplicated rows, and what they copy
    template = frame[c.DATE].isna().to_numpy() & frame[c.STATE].isna().to_numpy()
    body = frame[~template].copy()
    free = np.flatnonzero(~copied[~template][: len(body)])
    free = rng.permutation(free)
    n_edit, n_delete, n_append = (round(events * s) for s in (EDIT_SHARE, DELETE_SHARE, APPEND_SHARE))
    deleted, free = free[:n_delete], free[n_delete:]
    edits: dict[str, int] = {}
    taken = np.zeros(len(body), dtype=bool)
    for i, kind in enumerate(EDIT_KINDS):
        want = n_edit // len(EDIT_KINDS) + (1 if i < n_edit % len(EDIT_KINDS) else 0)
        ok = _editable(body, kind)
        pick = free[ok[free] & ~taken[free]][:want]
        taken[pick] = True
        _edit(body, pick, kind, rng)
        edits[kind] = len(pick)
    keep = np.ones(len(body), dtype=bool)
    keep[deleted] = False
    new = _appended(n_append, seed)
    shuffled = pd.concat([body[keep], new], ignore_index=True).sample(frac=1, random_state=seed)
    snapshot = pd.concat([shuffled, frame[template]], ignore_index=True)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    write_csv(snapshot, str(folder / "B.csv"))
    write_b_s = time.perf_counter() - started
    return {"rows_a": len(frame), "rows_b": len(snapshot), "template_rows": int(template.sum()),
            "rows_with_an_exact_copy": int(copied[~template].sum()), "edited": int(sum(edits.values())),
            "edited_by_kind": edits, "deleted": len(deleted), "appended": len(new),
            "csv_mb": {k: round((folder / f"{k}.csv").stat().st_size / 1e6, 1) for k in "AB"},
            "seconds": {"generate": round(generate_s, 2), "write_a": round(write_a_s, 2),
                        "build_b": round(build_s, 2), "write_b": round(write_b_s, 2)}}  # fmt: skip


# --- one run -------------------------------------------------------------------------------------


def _instrument() -> dict[str, list[float]]:
    """Wrap the load stage's functions (TIMED) to add up their seconds and calls; return the tallies."""
    import functools
    import importlib

    from pipeline import reconcile

    tallies: dict[str, list[float]] = {}

    def timed(name: str, func: Any) -> Any:
        tally = tallies.setdefault(name, [0.0, 0])

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                tally[0] += time.perf_counter() - started
                tally[1] += 1

        return wrapper

    for module_name, names in TIMED.items():
        module = importlib.import_module(module_name)
        for name in names:
            setattr(module, name, timed(f"{module_name.split('.')[-1]}.{name}", getattr(module, name)))
    reconcile.Plan.diff = timed("reconcile.Plan.diff", reconcile.Plan.diff)  # type: ignore[method-assign]
    return tallies


def run_one(url: str, path: Path, mode: str, profile: Path | None) -> dict:
    """Run the pipeline on ``path`` as the CLI does (``mode``: import or snapshot); return what it did."""
    from models.database import make_engine
    from pipeline.load import Target
    from pipeline.runner import run_pipeline

    tallies = _instrument()
    engine = make_engine(url, statement_timeout_ms=3_600_000)
    target = Target(snapshot=True, force=True) if mode == "snapshot" else Target()
    load_average = round(os.getloadavg()[0], 2)
    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    summary = run_pipeline(engine, path, trigger="cli", workers=os.cpu_count() or 1, target=target)
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(profile))
    engine.dispose()
    with open("/proc/self/status") as status:  # VmHWM: this interpreter's own peak, whatever its parent held
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    diff = summary.diff or {}
    return {"seconds": round(seconds, 2), "stages": summary.stage_seconds, "peak_mb": round(peak_kb / 1024),
            "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "workers_peak_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
            "load_average": load_average, "rows_read": summary.rows_read, "rows_skipped": summary.rows_skipped,
            "events": summary.events, "duplicates": summary.duplicates,
            "counts": {k: diff.get(k) for k in COUNTS} if diff else
                      {"created": summary.events_new, "updated": summary.events_updated,
                       "withdrawn": summary.events_withdrawn, "restored": summary.events_restored,
                       "unchanged": summary.events_unchanged},
            "timed": {k: [round(v[0], 3), int(v[1])] for k, v in tallies.items() if v[1]}}  # fmt: skip


def _vacuum(url: str) -> float:
    """VACUUM (ANALYZE) the events after the first load; return its seconds.

    Without it the first read of the stored keys sets every row's hint bits (measured: 24.6 s
    against 14.6-19 s for the reads after it), and autovacuum may start in the middle of a run:
    (a) would pay for both.
    """
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    started = time.perf_counter()
    with engine.connect() as conn:
        conn.execute(text("VACUUM (ANALYZE) conflict_events"))
    engine.dispose()
    return time.perf_counter() - started


def _child(args: list[str]) -> dict:
    """Run one step in a fresh interpreter and return its JSON result."""
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True)
    if out.returncode:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"step {args[0]} failed (exit {out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the report ----------------------------------------------------------------------------------


def _expected(made: dict, events_a: int) -> dict[str, dict[str, int]]:
    edited, deleted, appended = made["edited"], made["deleted"], made["appended"]
    nothing = {"created": 0, "updated": 0, "withdrawn": 0, "restored": 0, "unchanged": events_a}
    return {
        "A": {"created": events_a, "updated": 0, "withdrawn": 0, "restored": 0, "unchanged": 0},
        "a": nothing,
        "b": {"created": appended, "updated": edited, "withdrawn": deleted, "restored": 0,
              "unchanged": events_a - edited - deleted},
        "c": {"created": 0, "updated": edited, "withdrawn": appended, "restored": deleted,
              "unchanged": events_a - edited},
        "d": nothing,
    }  # fmt: skip


def _table(results: list[tuple[str, dict]], expected: dict[str, dict[str, int]]) -> str:
    stages = ("extract", "normalise", "geocode", "validate", "deduplicate", "load", "measure")
    head = ["run", "wall s", *stages, "peak MB", *COUNTS, "load avg"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for label, r in results:
        key = "A" if label.startswith("first") else label[1]
        counts = [f"{r['counts'][k]:,}" + ("" if r["counts"][k] == expected[key][k] else
                                           f" (expected {expected[key][k]:,})") for k in COUNTS]  # fmt: skip
        cells = [label, f"{r['seconds']:.1f}", *(f"{r['stages'].get(s, 0):.1f}" for s in stages),
                 f"{r['peak_mb']:,}", *counts, f"{r['load_average']:.2f}"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _timed_table(results: list[tuple[str, dict]]) -> str:
    names = sorted({n for _, r in results for n in r["timed"]}, key=lambda n: -max(r["timed"].get(n, [0])[0]
                                                                                 for _, r in results))  # fmt: skip
    lines = ["| function (s, calls) | " + " | ".join(label for label, _ in results) + " |",
             "|" + " --- |" * (len(results) + 1)]  # fmt: skip
    for n in names:
        cells = [f"{r['timed'][n][0]:.2f} ({r['timed'][n][1]})" if n in r["timed"] else "" for _, r in results]
        lines.append(f"| `{n}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _ratios(results: dict[str, dict]) -> dict[str, float]:
    out = {}
    for snap, base in (("b", "a"), ("c", "d")):
        s, r = results[snap], results[base]
        out[f"({snap})/({base}) wall"] = round(s["seconds"] / r["seconds"], 2)
        out[f"({snap})/({base}) load stage"] = round(s["stages"]["load"] / r["stages"]["load"], 2)
        out[f"({snap})/({base}) peak memory"] = round(s["peak_mb"] / r["peak_mb"], 2)
    snaps, bases = (results["b"], results["c"]), (results["a"], results["d"])
    out["snapshots/re-imports wall (sums)"] = round(sum(s["seconds"] for s in snaps) / sum(r["seconds"] for r in bases),
                                                    2)  # fmt: skip
    return out


def _print_profile(path: Path) -> None:
    import pstats

    stats = pstats.Stats(str(path))
    print("\ncProfile of a snapshot of B (top 30 by cumulative time, then by own time):")
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--profile", action="store_true", help="add a cProfiled snapshot of B at the end")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, *rest = args.child
        if step == "prepare":
            result = prepare(Path(rest[0]), args.events, args.seed)
        else:
            url, path, mode, *profile = rest
            result = run_one(url, Path(path), mode, Path(profile[0]) if profile else None)
        print(json.dumps(result))
        return

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, cpus: {os.cpu_count()}")
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    print(f"commit {commit}, {args.events:,} events, seed {args.seed}, {time.strftime('%Y-%m-%d %H:%M')}")
    folder = Path(tempfile.mkdtemp(prefix="nvcd-reconcile-bench-"))
    try:
        made = _child(["prepare", str(folder), "--events", str(args.events), "--seed", str(args.seed)])
        print("files:", json.dumps(made))
        results: list[tuple[str, dict]] = []
        with ScratchPostgres(args.admin_url) as url:
            plan = list(RUNS) + ([("(p) snapshot B, profiled", "B", "snapshot")] if args.profile else [])
            for label, name, mode in plan:
                profile = [str(folder / "snapshot.prof")] if label.startswith("(p)") else []
                result = _child(["run", url, str(folder / f"{name}.csv"), mode, *profile])
                results.append((label, result))
                print(f"{label}: {json.dumps(result)}", flush=True)
                if label.startswith("first"):
                    print(f"VACUUM (ANALYZE) after the first load: {_vacuum(url):.1f} s", flush=True)
            if args.profile:
                _print_profile(folder / "snapshot.prof")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    measured = [(label, r) for label, r in results if not label.startswith("(p)")]
    first = measured[0][1]
    expected = _expected(made, first["events"])
    if args.profile:  # the profiled snapshot of B restores the appended events (c) withdrew
        b = expected["b"]
        expected["p"] = b | {"created": 0, "restored": made["appended"], "unchanged": b["unchanged"] + made["appended"]}
    print(f"\nevents in A: {first['events']:,} distinct ({first['duplicates']:,} exact duplicate rows merged, "
          f"{first['rows_skipped']:,} template rows skipped); B: {made['edited']:,} edited "
          f"{made['edited_by_kind']}, {made['deleted']:,} deleted, {made['appended']:,} appended\n")  # fmt: skip
    print(_table(results, expected))
    print("\nseconds in the load stage's functions (nested ones count in both):\n")
    print(_timed_table(results[1:]))
    by_key = {label[1]: r for label, r in measured[1:]}
    print("\nratios:", json.dumps(_ratios(by_key)))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
