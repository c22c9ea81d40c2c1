"""Plotly per-figure cost of the jailed renderer, per runtime, against the same renderer without
its jail (the cost of isolation), both measured in this one run with rounds interleaved so that
a machine's load falls on both alike.

    .venv/bin/python benchmarks/render_cost.py [--runtime NAME ...] [--python PATH] [-n 10] [--rounds 3]

Prints, per runtime: the kaleido generation, the start (browser launch + first figure, not
charged to any script), the warm median seconds per 700x500 figure, jailed and not, and their
ratio. Figures go through the sanitiser, as in the sandbox.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from viscoder.sandbox.render import START_TIMEOUT_S, RenderProcess, runtime_python  # noqa: E402
from viscoder.sandbox.render_sanitize import dumps, sanitize_figure  # noqa: E402

FIGURE = json.dumps({
    "data": [{"type": "bar", "x": list(range(30)), "y": list(range(30))},
             {"type": "scatter", "x": list(range(30)), "y": [i % 7 for i in range(30)]}],
    "layout": {"title": {"text": "per-figure cost"}},
})


def per_figure(proc: RenderProcess, n: int) -> float:
    start = time.monotonic()
    for _ in range(n):
        clean = sanitize_figure(FIGURE)
        proc.render(dumps(clean), clean.width, clean.height, 120)
    return (time.monotonic() - start) / n


def measure(name: str, python: str, n: int, rounds: int) -> dict:
    procs = {"jailed": RenderProcess(python, uid=60980), "unjailed": RenderProcess(python, jailed=False)}
    starts, times = {}, {k: [] for k in procs}
    try:
        for key, proc in procs.items():
            t0 = time.monotonic()
            proc.render(dumps(sanitize_figure(FIGURE)), 700, 500, START_TIMEOUT_S)
            starts[key] = time.monotonic() - t0
        for r in range(rounds):  # alternate which goes first: load drifts within a round
            for key in (list(procs) if r % 2 == 0 else list(procs)[::-1]):
                times[key].append(per_figure(procs[key], n))
    finally:
        for proc in procs.values():
            proc.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"runtime": name, "engine": procs["jailed"].info.get("engine"),
            "start_s": round(starts["jailed"], 2), "jailed_s": round(med["jailed"], 3),
            "unjailed_s": round(med["unjailed"], 3),
            "ratio": round(med["jailed"] / med["unjailed"], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", action="append", help="runtime name (repeatable)")
    parser.add_argument("--python", help="an interpreter with plotly + kaleido instead")
    parser.add_argument("-n", type=int, default=10, help="figures per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from viscoder.sandbox.runtimes import available_runtimes

    targets = [(args.python, args.python)] if args.python else [
        (name, runtime_python(argparse.Namespace(runtime=name)))
        for name in args.runtime or available_runtimes()]
    for name, python in targets:
        row = measure(name, python, args.n, args.rounds)
        print(f"{row['runtime']}: {row['engine']}, start {row['start_s']:.2f} s; warm "
              f"{row['jailed_s']:.3f} s a figure jailed, {row['unjailed_s']:.3f} s without the "
              f"jail ({row['ratio']:.2f}x)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
