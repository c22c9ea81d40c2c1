"""The bench harness on the offline benchmark copies, all three libraries, with a fixed baseline
"model": a scripted local endpoint that answers every task with the same generic plot of its
data file in the requested library, and a more defensive version after a failure. It measures
the harness (prompts, execution, self-debug, reports, timing) on real task data; it says
nothing about any LLM. No model weights can be loaded on this machine.

    .venv/bin/python benchmarks/harness_baseline.py [--out runs/harness-baseline] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import ray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the scripted endpoint is test support
from tests.support.scripted_endpoint import ScriptedEndpoint  # noqa: E402
from viscoder.bench.config import BenchConfig  # noqa: E402
from viscoder.bench.report import compare  # noqa: E402
from viscoder.bench.runner import run_bench  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"

LOAD = """import glob
import pandas as pd
files = sorted(glob.glob("*.csv"))
df = pd.read_csv(files[0]) if files else pd.DataFrame({"x": range(10), "y": [v * v for v in range(10)]})
"""
DEFENSIVE = """import glob
import pandas as pd
files = sorted(glob.glob("*.csv"))
try:
    df = pd.read_csv(files[0], encoding="utf-8-sig", on_bad_lines="skip")
except Exception:
    df = pd.DataFrame()
num = df.select_dtypes("number")
if num.empty:
    num = pd.DataFrame({"x": range(10), "y": [v * v for v in range(10)]})
"""
DRAW = {
    "matplotlib": "import matplotlib.pyplot as plt\nnum.iloc[:500, :3].plot()\nplt.show()",
    "seaborn": "import seaborn as sns\nimport matplotlib.pyplot as plt\nsns.lineplot(data=num.iloc[:500, :3])\nplt.show()",
    "plotly": "import plotly.express as px\nfig = px.line(num.iloc[:500, :3])\nfig.show()",
}


def policy_for(library: str):
    first = LOAD + 'num = df.select_dtypes("number")\n' + DRAW[library]
    second = DEFENSIVE + DRAW[library]

    def policy(first_user: str, round_: int) -> str:
        return f"```python\n{first if round_ == 0 else second}\n```"

    return policy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/harness-baseline")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    benches = [("pandasplotbench", SHARED / "pandasplotbench_partial"), ("matplotbench", SHARED / "matplotbench")]
    benches = [(b, p) for b, p in benches if p.exists()]
    if not benches:
        print(f"no benchmark copies under {SHARED}", file=sys.stderr)
        return 2
    ray.init(include_dashboard=False, log_to_driver=False)
    dirs = []
    for bench, path in benches:
        for library in ("matplotlib", "seaborn", "plotly"):
            out = Path(args.out) / f"{bench}-{library}"
            with ScriptedEndpoint(policy_for(library), model="baseline") as ep:
                cfg = BenchConfig(benchmark=bench, data=str(path), library=library, out=str(out),
                                  limit=args.limit, workers=args.workers, self_debug_rounds=2,
                                  judge={"enabled": False},
                                  generator={"base_url": ep.base_url, "model": "baseline"})
                start = time.perf_counter()
                summary = run_bench(cfg, progress=False)
                print(f"{bench:<16} {library:<10} {summary['n_tasks']:>4} tasks  pass by round "
                      f"{summary['exec_pass_rate']}  top errors r0 {dict(list(summary['error_types'][0].items())[:3])}"
                      f"  {time.perf_counter() - start:.0f} s", flush=True)
            dirs.append(out)
    ray.shutdown()
    print()
    print(compare(dirs, Path(args.out) / "compare.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
