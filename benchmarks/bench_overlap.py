"""Does the bench overlap generation, execution and self-debug? Its wall time against the time
the endpoint alone needs to produce the same answers, both measured in this run.

    .venv/bin/python benchmarks/bench_overlap.py [--tasks 99] [--latency 2.0] [--capacity 16]

The endpoint is the scripted local server (tests/support/scripted_endpoint.py) with a fixed
latency per answer and a cap on answers in flight, i.e. a GPU server's capacity. A third of the
tasks get broken code first and are fixed in self-debug. "Endpoint alone" replays every task's
conversation turn by turn (round k+1 waits for round k, as in the bench) with the same
concurrency and no execution. Target (issue #3): bench / endpoint alone <= 1.2.
Ray is started before the clock, as on a cluster where `ray job submit` finds it running.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import zlib
from pathlib import Path

import openai
import ray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the scripted endpoint is test support
from tests.support.scripted_endpoint import ScriptedEndpoint  # noqa: E402
from viscoder.bench.config import BenchConfig  # noqa: E402
from viscoder.bench.runner import run_bench  # noqa: E402

SHARED_PPB = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "pandasplotbench_partial"

GENERIC = """```python
import pandas as pd
import matplotlib.pyplot as plt
df = pd.read_csv("data.csv")
numeric = df.select_dtypes("number")
if numeric.empty:
    numeric = df.iloc[:, :2].apply(lambda s: s.astype("category").cat.codes)
numeric.iloc[:300, :3].plot()
plt.title("overview")
plt.show()
```"""
BROKEN = "```python\nimport pandas as pd\ndf = pd.read_csv('data.csv')\ndf['no such column'].plot()\n```"


def policy(first_user: str, round_: int) -> str:
    broken = zlib.crc32(first_user.encode()) % 3 == 0
    return BROKEN if broken and round_ == 0 else GENERIC


def make_tasks(n: int, folder: Path) -> Path:
    """Tasks from the partial PandasPlotBench copy when present, else synthetic ones."""
    path = folder / "tasks.jsonl"
    rows = []
    if SHARED_PPB.exists():
        for item in json.loads((SHARED_PPB / "tasks.json").read_text()):
            csv = SHARED_PPB / "data" / f"data-{item['id']}.csv"
            if csv.exists():
                rows.append({**item, "data_csv": csv.read_text()})
    while len(rows) < n:
        k = len(rows)
        rows.append({"id": f"s{k}", "task__plot_description": f" Plot Description: line {k}",
                     "task__plot_style": " Plot Style Description: plain",
                     "data_csv": "a,b\n" + "\n".join(f"{i},{(i * k) % 7}" for i in range(50))})
    path.write_text("\n".join(json.dumps(r) for r in rows[:n]) + "\n")
    return path


async def replay(base_url: str, conversations: list[list[list[dict]]], concurrency: int) -> float:
    client = openai.AsyncOpenAI(base_url=base_url, api_key="EMPTY")
    slots = asyncio.Semaphore(concurrency)

    async def chain(turns: list[list[dict]]) -> None:
        for messages in turns:  # round k+1 only after round k
            async with slots:
                await client.chat.completions.create(model="scripted", messages=messages)

    start = time.perf_counter()
    await asyncio.gather(*(chain(turns) for turns in conversations))
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=99)
    parser.add_argument("--latency", type=float, default=2.0, help="seconds per answer")
    parser.add_argument("--capacity", type=int, default=16, help="answers in flight at the endpoint")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-overlap-"))
    data = make_tasks(args.tasks, folder)
    ray.init(include_dashboard=False, log_to_driver=False)
    with ScriptedEndpoint(policy, latency_s=args.latency, capacity=args.capacity) as ep:
        cfg = BenchConfig(data=str(data), out=str(folder / "run"), workers=args.workers,
                          self_debug_rounds=3, judge={"enabled": False},
                          generator={"base_url": ep.base_url, "model": "scripted",
                                     "max_concurrent_requests": args.capacity})
        start = time.perf_counter()
        t0 = time.monotonic()
        summary = run_bench(cfg, progress=True)
        bench_s = time.perf_counter() - start
        first, last = min(ep.arrivals), max(ep.arrivals)
        print(f"first request after {first - t0:.1f} s, last at {last - t0:.1f} s, "
              f"run ended at {time.monotonic() - t0:.1f} s")
        conversations = [list(turns) for turns in ep.conversations.values()]  # a snapshot: replaying appends
        n_requests = sum(len(c) for c in conversations)
        alone_s = asyncio.run(replay(ep.base_url, conversations, args.capacity))
    ray.shutdown()
    ratio = bench_s / alone_s
    print(f"\n{summary['n_tasks']} tasks, {n_requests} generation requests, "
          f"latency {args.latency:g} s, capacity {args.capacity}, {args.workers} workers")
    print(f"pass rate by round: {summary['exec_pass_rate']}")
    print(f"endpoint alone: {alone_s:.1f} s   bench: {bench_s:.1f} s   ratio {ratio:.2f}x  "
          f"(target <= 1.2: {'PASS' if ratio <= 1.2 else 'FAIL'})")
    return 0 if ratio <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
