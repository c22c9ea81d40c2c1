"""Sandbox throughput: the fork backend against the paper's nbclient harness and against the
physical limit (the same scripts exec()'d back to back in one warm, unsandboxed interpreter with
the same figure capture), all measured in this one run.

    .venv/bin/python benchmarks/sandbox_throughput.py [--repeat 3] [--nb-scripts 8] [--out FILE]

Targets (issue #2): fork >= 8x nbclient per core; fork <= 1.25x the in-process limit; two
workers >= 1.8x one worker. Also prints the plotly per-figure cost and projects 1M scripts on
100 cores from the measured per-core rate.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import viscoder
from viscoder.sandbox import ExecTask, Sandbox, SandboxConfig, SandboxPool
from viscoder.sandbox.capture import FigureCapture
from viscoder.sandbox.child import run_script
from viscoder.sandbox.worker import preload

EXAMPLES = Path(viscoder.__file__).parent / "examples" / "scripts"
MPL_SEABORN = sorted(p for p in EXAMPLES.glob("*.py") if p.stem.startswith(("mpl_", "seaborn_", "pandas_")))
PLOTLY = sorted(EXAMPLES.glob("plotly_*.py"))


def load(paths: list[Path], repeat: int) -> list[ExecTask]:
    return [ExecTask(id=f"{p.stem}-{r}", code=p.read_text()) for r in range(repeat) for p in paths]


def time_sandbox(config: SandboxConfig, tasks: list[ExecTask]) -> tuple[list[float], int]:
    times, ok = [], 0
    with Sandbox(config) as sb:
        sb.run("import matplotlib.pyplot as plt\nplt.plot([1])")  # start-up is not per script
        for task in tasks:
            start = time.perf_counter()
            res = sb.run_task(task)
            times.append(time.perf_counter() - start)
            ok += res.ok
    return times, ok


def time_in_process(config: SandboxConfig, tasks: list[ExecTask]) -> tuple[list[float], int]:
    import matplotlib.pyplot as plt

    preload(config.preload)
    times, ok = [], 0
    cwd = os.getcwd()
    for task in tasks:
        folder = tempfile.mkdtemp()
        os.chdir(folder)
        start = time.perf_counter()
        capture = FigureCapture(folder, dpi=config.dpi)
        capture.install()
        report = run_script(task.code, os.path.join(folder, "script.py"), capture, 4000)
        times.append(time.perf_counter() - start)
        ok += report["outcome"] == "completed" and bool(report.get("figures"))
        plt.close("all")
        os.chdir(cwd)
        shutil.rmtree(folder, ignore_errors=True)
    return times, ok


def throughput(config: SandboxConfig, tasks: list[ExecTask], workers: int) -> float:
    pool = SandboxPool(config, workers)
    warm = [ExecTask(id=f"warm{k}", code="import matplotlib.pyplot as plt\nplt.plot([1])")
            for k in range(workers)]
    results = pool.imap_unordered(iter(warm + tasks))
    for _ in range(workers):  # wait until every worker is up before starting the clock
        next(results)
    start = time.perf_counter()
    n = sum(1 for _ in results)
    return n / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="passes over the script set")
    parser.add_argument("--nb-scripts", type=int, default=len(MPL_SEABORN),
                        help="scripts run through nbclient (about 1.5 s each)")
    parser.add_argument("--out", default=None, help="write the numbers as JSON here")
    args = parser.parse_args()
    config = SandboxConfig(timeout_s=60)
    tasks = load(MPL_SEABORN, args.repeat)
    print(f"{len(MPL_SEABORN)} matplotlib/seaborn scripts x {args.repeat}; {os.cpu_count()} cores")

    nb_times, nb_ok = time_sandbox(config.model_copy(update={"backend": "jupyter"}),
                                   load(MPL_SEABORN[: args.nb_scripts], 1))
    fork_times, fork_ok = time_sandbox(config, tasks)
    inproc_times, inproc_ok = time_in_process(config, tasks)
    one = throughput(config, tasks * 2, 1)
    two = throughput(config, tasks * 2, 2)
    plotly_times, plotly_ok = time_sandbox(config, load(PLOTLY, args.repeat))

    nb, fork, inproc = (statistics.mean(t) for t in (nb_times, fork_times, inproc_times))
    nb_sub = statistics.mean(fork_times[: len(nb_times)])
    numbers = {
        "nbclient_s_per_script": nb, "fork_s_per_script": fork, "inprocess_s_per_script": inproc,
        "fork_vs_nbclient": nb / nb_sub, "fork_over_inprocess": fork / inproc,
        "throughput_1_worker": one, "throughput_2_workers": two, "two_vs_one": two / one,
        "plotly_s_per_script": statistics.median(plotly_times),
        "ok": {"nbclient": nb_ok, "fork": fork_ok, "inprocess": inproc_ok, "plotly": plotly_ok},
        "projection_hours_1M_scripts_100_cores": 1e6 * fork / 100 / 3600,
    }
    print(f"\n{'per script (s)':<34}{'mean':>8}{'median':>8}")
    for name, ts in (("nbclient (fresh kernel)", nb_times), ("fork backend, 1 worker", fork_times),
                     ("in-process limit (no isolation)", inproc_times),
                     ("fork backend, plotly scripts", plotly_times)):
        print(f"{name:<34}{statistics.mean(ts):>8.3f}{statistics.median(ts):>8.3f}")
    checks = [
        ("fork vs nbclient, per core", numbers["fork_vs_nbclient"], ">=", 8.0),
        ("fork / in-process limit", numbers["fork_over_inprocess"], "<=", 1.25),
        ("2 workers / 1 worker throughput", numbers["two_vs_one"], ">=", 1.8),
    ]
    print()
    failed = 0
    for name, value, op, target in checks:
        good = value >= target if op == ">=" else value <= target
        failed += not good
        print(f"{name:<34}{value:>8.2f}x  target {op} {target:g}  {'PASS' if good else 'FAIL'}")
    print(f"\nthroughput: {one:.2f} scripts/s with 1 worker, {two:.2f} with 2")
    print(f"plotly scripts (one figure each, rendered outside the jail): "
          f"{numbers['plotly_s_per_script']:.3f} s per script (median; the first starts Chromium)")
    print(f"projection: 1M matplotlib/seaborn scripts on 100 cores ~ "
          f"{numbers['projection_hours_1M_scripts_100_cores']:.2f} h")
    print(f"all ok: nbclient {nb_ok}/{len(nb_times)}, fork {fork_ok}/{len(fork_times)}, "
          f"in-process {inproc_ok}/{len(inproc_times)}, plotly {plotly_ok}/{len(plotly_times)}")
    if args.out:
        Path(args.out).write_text(json.dumps(numbers, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
