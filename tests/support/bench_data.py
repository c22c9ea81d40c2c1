"""Small PandasPlotBench-shaped inputs for the bench tests: a reference PNG, task rows keyed
by a script of answers, and the scripted endpoint's policy that plays that script."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

from tests.support.scripted_endpoint import Policy


def script_policy(script: dict[str, list[str]]) -> Policy:
    """Answer round k of the task whose key is in the first user turn with script[key][k]
    (the last answer repeats past the end)."""
    def policy(first_user: str, round_: int) -> str | None:
        for key, answers in script.items():
            if key in first_user:
                return answers[min(round_, len(answers) - 1)]
        return None
    return policy


def reference_png() -> str:
    """A base64 PNG of a small line plot: the ground-truth figure the judge is shown."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([1, 2, 3], [3, 1, 2])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def write_task_rows(path: Path, script: dict[str, list[str]], *, description: str,
                    style: str, code_data: str) -> Path:
    """One PandasPlotBench row per script key; ``description`` may hold ``{key}``."""
    ref = reference_png()
    rows = [{"id": k, "task__plot_description": description.format(key=key),
             "task__plot_style": style, "data_csv": "x,y\n1,2\n2,4\n3,1\n",
             "code_data": code_data, "plots_gt": [ref]} for k, key in enumerate(script)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path
