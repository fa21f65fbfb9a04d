"""Frame micro-benchmark: one snapshot message framed for N clients, this tree vs an earlier commit.

Times ``Encoded(...).frame_for(bits)`` called once per client (as the fan-out does: the
first call builds the frame, the rest share it), for a deflate client population
(window bits 15, as browsers offer) and a plain one, with a snapshot-sized JSON payload.
``--before REV`` loads that commit's ``api/wire.py`` (git show) and times it in the same
run, alternating. Usage (from the repository root):

    .venv/bin/python bench/ws_frames.py --clients 1,100,1000 --before ba83fcb
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere


def payload(size_kb: int) -> bytes:
    """Return a snapshot-like JSON message of about ``size_kb`` KB."""
    runs = [
        {
            "id": i,
            "status": "succeeded",
            "stage": f"stage-{i % 7}",
            "items": i * 37,
            "ms": i * 3.25,
            "source": ["ACLED", "Nextier", "Premium Times"][i % 3],
        }
        for i in range(size_kb * 8)
    ]
    return json.dumps(
        {"type": "pipeline_status_update", "version": 42, "data": {"runs": runs}}, separators=(",", ":")
    ).encode()


def load_wire(rev: str) -> types.ModuleType:
    """Return the ``api/wire.py`` of commit ``rev`` as a module."""
    source = subprocess.run(
        ["git", "show", f"{rev}:api/wire.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    module = types.ModuleType(f"wire_{rev}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:api/wire.py", "exec"), module.__dict__)  # our own history
    return module


def time_fanout(encoded_cls: type, text: bytes, clients: int, bits: int | None, repeat: int) -> float:
    """Return the median microseconds to frame one message for ``clients`` clients."""
    samples = []
    for seq in range(repeat):
        started = time.perf_counter()
        message = encoded_cls(seq, "snapshot", seq, text)
        for _client in range(clients):
            message.frame_for(bits)
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def main() -> None:
    """Time both implementations and print a JSON line and a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,100,1000", help="comma-separated client counts")
    parser.add_argument("--size-kb", type=int, default=17, help="approximate message size")
    parser.add_argument("--repeat", type=int, default=200, help="messages timed per cell and round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (median of medians)")
    parser.add_argument("--before", help="an earlier commit to time in the same run")
    args = parser.parse_args()
    from api.wire import Encoded

    impls = {"this tree": Encoded}
    if args.before:
        impls[args.before] = load_wire(args.before).Encoded
    text = payload(args.size_kb)
    for bits in (15, None):
        assert len({impl(0, "snapshot", 0, text).frame_for(bits) for impl in impls.values()}) == 1, "frames differ"
    rows = []
    for n in (int(x) for x in args.clients.split(",")):
        for bits in (15, None):
            cell = {name: [] for name in impls}
            for _round in range(args.rounds):
                for name, impl in impls.items():
                    cell[name].append(time_fanout(impl, text, n, bits, args.repeat))
            rows.append(
                {
                    "clients": n,
                    "deflate": bits is not None,
                    "bytes": len(text),
                    **{name: round(statistics.median(values), 1) for name, values in cell.items()},
                }
            )
    print(json.dumps({"load_average": os.getloadavg(), "rows": rows}))
    names = list(impls)
    print(f"| clients | deflate | {' | '.join(f'{n} µs' for n in names)} |")
    print(f"|---|---|{'---|' * len(names)}")
    for row in rows:
        print(f"| {row['clients']} | {'yes' if row['deflate'] else 'no'} | {' | '.join(str(row[n]) for n in names)} |")


if __name__ == "__main__":
    main()
