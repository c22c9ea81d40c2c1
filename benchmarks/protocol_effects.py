"""What each difference between ``--protocol viscoder`` and ``--protocol pandasplotbench`` does
to verdicts, measured on a fixed corpus of answers (no model is available offline).

The corpus: for every task of the bundled examples (viscoder/examples/bench_tasks.jsonl) and
the first N (8) tasks of the offline PandasPlotBench copy, in each library, six answers written
from the task's own columns, each in one style models really write: the canonical one
(``df = pd.read_csv("data.csv")``, plot, show), its own loading line, saving instead of
showing, ``np.`` without importing numpy, never showing (figure left open / plotly figure
built only), and a pandas API removed in pandas 3 (``DataFrame.applymap``).

Each answer is scored under: ``viscoder`` (our extraction, script mode, ``default`` runtime);
``pandasplotbench`` (upstream's post-processing, notebook cell, ``pandasplotbench`` runtime);
and ``pandasplotbench`` with one thing changed at a time (each post-processing switch off,
the ``default`` runtime, script mode). Verdicts of identical code in the same execution are
computed once. Prints pass rates and, per change, how many verdicts it flips.

    .venv/bin/python benchmarks/protocol_effects.py [--tasks 8] [--out runs/protocol_effects.json]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from viscoder.bench import upstream  # noqa: E402
from viscoder.bench.config import UpstreamSwitches  # noqa: E402
from viscoder.bench.extract import extract_code, with_prelude  # noqa: E402
from viscoder.bench.upstream_engine import DATA_NAME, exec_error  # noqa: E402
from viscoder.sandbox import Sandbox, SandboxConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OFFLINE = ROOT.parent / "shared" / "benchmarks" / "pandasplotbench_partial"
CODE_DATA = 'import pandas as pd\ndf = pd.read_csv("data.csv")\n'
LIBS = ("matplotlib", "seaborn", "plotly")


def tasks(n: int) -> list[tuple[str, str]]:
    rows = [json.loads(x) for x in (ROOT / "viscoder/examples/bench_tasks.jsonl").read_text().splitlines()]
    out = [(f"ex{r['id']}", r["data_csv"]) for r in rows]
    if OFFLINE.exists():
        for item in json.loads((OFFLINE / "tasks.json").read_text())[:n]:
            csv = OFFLINE / "data" / f"data-{item['id']}.csv"
            if csv.exists():
                out.append((f"ppb{item['id']}", csv.read_text()))
    return out


def draw(lib: str, cols: list[str], frame: str = "df") -> tuple[str, str, str]:
    """(imports, plotting lines, show line) for a plot of the first numeric columns."""
    y = repr(cols[0])
    if lib == "matplotlib":
        return "import matplotlib.pyplot as plt\n", f"plt.plot({frame}[{y}])\n", "plt.show()\n"
    if lib == "seaborn":
        return ("import seaborn as sns\nimport matplotlib.pyplot as plt\n",
                f"sns.lineplot(data={frame}, y={y}, x={frame}.index)\n", "plt.show()\n")
    return "import plotly.express as px\n", f"fig = px.line({frame}, y={y})\n", "fig.show()\n"


def answers(lib: str, csv: str) -> dict[str, str]:
    df = pd.read_csv(io.StringIO(csv))
    cols = [str(c) for c in df.select_dtypes("number").columns] or [str(df.columns[0])]
    imp, plot, show = draw(lib, cols)
    load = 'import pandas as pd\ndf = pd.read_csv("data.csv")\n'
    save = "plt.savefig('plot.png')\n" if lib != "plotly" else "fig.write_image('plot.png')\n"
    own_imp, own_plot, own_show = draw(lib, cols, "data")
    return {
        "canonical": load + imp + plot + show,
        "own_loading_line": "import pandas as pd\ndata = pd.read_csv('data.csv')\n" + own_imp + own_plot + own_show,
        "save_instead_of_show": load + imp + plot + save,
        "np_without_import": load + imp + "positions = np.arange(len(df))\n" + plot + show,
        "never_shown": load + imp + plot,
        "pandas3_removed_api": load + "df = df.applymap(lambda v: v)\n" + imp + plot + show,
    }


class Runner:
    """One sandbox per runtime; verdicts cached by (runtime, mode, code, task)."""

    def __init__(self) -> None:
        self.boxes: dict[str, Sandbox] = {}
        self.cache: dict[tuple, bool] = {}
        self.runs = 0

    def box(self, runtime: str) -> Sandbox:
        if runtime not in self.boxes:
            self.boxes[runtime] = Sandbox(SandboxConfig(runtime=runtime, timeout_s=10))
            self.boxes[runtime].start()
        return self.boxes[runtime]

    def verdict(self, runtime: str, mode: str, code: str, task: str, lib: str, csv: str) -> bool:
        key = (runtime, mode, code, task, lib)
        if key not in self.cache:
            self.runs += 1
            if mode == "cell":
                name = DATA_NAME.format(id=task)
                cell = upstream.cell_source(task, CODE_DATA, code, lib, name)
                res = self.box(runtime).run(cell, files={name: csv.encode()}, mode="cell")
                self.cache[key] = upstream.verdict(exec_error(res, None), len(res.pngs))[0]
            else:
                res = self.box(runtime).run(code, files={"data.csv": csv.encode()})
                self.cache[key] = res.status.value == "ok"
        return self.cache[key]

    def close(self) -> None:
        for box in self.boxes.values():
            box.close()


def settings() -> dict[str, dict]:
    ppb = {"extract": "upstream", "mode": "cell", "runtime": "pandasplotbench", "switches": {}}
    out = {"viscoder": {"extract": "viscoder", "mode": "script", "runtime": "default"},
           "pandasplotbench": ppb}
    for name in ("replace_read_csv", "prepend_numpy", "save_to_show", "unwrap_try_show"):
        out[f"pandasplotbench, {name} off"] = {**ppb, "switches": {name: False}}
    out["pandasplotbench, default runtime"] = {**ppb, "runtime": "default"}
    out["pandasplotbench, script mode"] = {**ppb, "mode": "script"}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=8, help="tasks of the offline copy")
    ap.add_argument("--out", default="runs/protocol_effects.json")
    args = ap.parse_args()
    runner, started = Runner(), time.monotonic()
    corpus = [(t, lib, style, text) for t, csv in tasks(args.tasks) for lib in LIBS
              for style, text in answers(lib, csv).items()]
    csvs = dict(tasks(args.tasks))
    verdicts: dict[str, list[bool]] = {}
    try:
        for name, s in settings().items():
            row = []
            for task, lib, _style, text in corpus:
                answer = f"```python\n{text}```"
                if s["extract"] == "viscoder":
                    code = with_prelude(extract_code(answer), CODE_DATA)
                else:
                    code = upstream.gather_code(answer, UpstreamSwitches(**s["switches"]))
                    if s["mode"] == "script":
                        code = CODE_DATA + code
                row.append(runner.verdict(s["runtime"], s["mode"], code, task, lib, csvs[task]))
            verdicts[name] = row
            print(f"{name:<42} pass {100 * sum(row) / len(row):5.1f} %", flush=True)
    finally:
        runner.close()
    base = verdicts["pandasplotbench"]
    report = {"n_answers": len(corpus), "executions": runner.runs,
              "wall_s": round(time.monotonic() - started, 1), "settings": {}}
    for name, row in verdicts.items():
        flips = [(c[0], c[1], c[2]) for c, a, b in zip(corpus, row, base, strict=True) if a != b]
        per_lib = {lib: round(100 * sum(v for c, v in zip(corpus, row, strict=True) if c[1] == lib)
                              / sum(1 for c in corpus if c[1] == lib), 1) for lib in LIBS}
        by_style: dict[str, int] = {}
        for _, _, style in flips:
            by_style[style] = by_style.get(style, 0) + 1
        per_source = {src: round(100 * sum(v for c, v in zip(corpus, row, strict=True) if c[0].startswith(src))
                                 / max(1, sum(1 for c in corpus if c[0].startswith(src))), 1)
                      for src in ("ex", "ppb")}
        report["settings"][name] = {"pass_rate": round(100 * sum(row) / len(row), 1), "by_library": per_lib,
                                    "by_source": per_source,
                                    "flips_vs_pandasplotbench": len(flips), "flips_by_style": by_style}
    report["verdicts"] = {name: "".join("1" if v else "0" for v in row) for name, row in verdicts.items()}
    report["corpus"] = [list(c[:3]) for c in corpus]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
