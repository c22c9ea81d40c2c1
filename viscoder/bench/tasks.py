"""Benchmark tasks: PandasPlotBench (hub, local parquet/JSONL, or the partial folder copy) and
MatPlotBench (the folder layout of its ``benchmark_data``). Each loader returns the runnable
tasks and, for every input row that cannot run, the reason (nothing is dropped silently)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HUB_ID = "JetBrains-Research/PandasPlotBench"
DEFAULT_PRELUDE = 'import pandas as pd\ndf = pd.read_csv("data.csv")\n'


@dataclass
class BenchTask:
    id: str
    prompt: str  # the user turn
    task_text: str  # what the task judge reads
    files: dict[str, bytes] = field(default_factory=dict)  # placed in the working folder
    prelude: str = ""  # the dataset's own loading code, replacing the model's read_csv line
    reference_pngs: list[bytes] = field(default_factory=list)
    index: int = 0  # position in the benchmark (upstream's notebook cell number - 1)
    meta: dict[str, str] = field(default_factory=dict)  # the row's texts, for other protocols


@dataclass
class Skipped:
    id: str
    reason: str


def load_tasks(cfg: Any, prompts: Any) -> tuple[list[BenchTask], list[Skipped]]:
    if cfg.benchmark == "matplotbench":
        if not cfg.data:
            raise ValueError("MatPlotBench has no hub copy: pass --data FOLDER "
                             "(the layout of MatPlotAgent's benchmark_data/)")
        tasks, skipped = _matplotbench(Path(cfg.data), cfg.instruction, cfg.library, prompts)
    else:
        rows, skipped = _pandasplotbench_rows(cfg.data)
        protocol = getattr(cfg, "protocol", "viscoder")
        tasks = [_pandasplotbench_task(row, cfg.library, prompts, protocol) for row in rows]
        for k, task in enumerate(tasks):
            task.index = k
    if cfg.limit:
        tasks = tasks[: cfg.limit]
    return tasks, skipped


# --- PandasPlotBench ------------------------------------------------------------------------
def _pandasplotbench_rows(data: str | None) -> tuple[list[dict[str, Any]], list[Skipped]]:
    if data is None:
        from datasets import load_dataset

        return [dict(r) for r in load_dataset(HUB_ID, split="test")], []
    path = Path(data)
    if not path.exists():
        raise FileNotFoundError(f"benchmark data not found: {path}")
    if path.is_dir():
        return _partial_folder(path)
    if path.suffix == ".parquet":
        import pandas as pd

        return pd.read_parquet(path).to_dict("records"), []
    if path.suffix in (".jsonl", ".json"):
        text = path.read_text()
        rows = json.loads(text) if path.suffix == ".json" else [
            json.loads(line) for line in text.splitlines() if line.strip()]
        return rows, []
    raise ValueError(f"{path}: expected a folder, .parquet or .jsonl with the PandasPlotBench schema")


def _partial_folder(folder: Path) -> tuple[list[dict[str, Any]], list[Skipped]]:
    """tasks.json + data/data-<id>.csv: texts and data only, no reference code or images."""
    tasks_file = folder / "tasks.json"
    if not tasks_file.exists():
        raise FileNotFoundError(f"{folder} has no tasks.json")
    rows, skipped = [], []
    for item in json.loads(tasks_file.read_text()):
        csv = folder / "data" / f"data-{item['id']}.csv"
        if not csv.exists():
            skipped.append(Skipped(str(item["id"]), f"no data file {csv.name} in the copy"))
            continue
        rows.append({**item, "data_csv": csv.read_text()})
    return rows, skipped


def _pandasplotbench_task(row: dict[str, Any], library: str, prompts: Any,
                          protocol: str = "viscoder") -> BenchTask:
    description = str(row.get("task__plot_description") or "")
    style = str(row.get("task__plot_style") or "")
    if protocol == "pandasplotbench":
        from viscoder.bench.upstream import task_prompt

        prompt = task_prompt(prompts.upstream_instructs(), row, library)
    else:
        prompt = prompts.pandasplotbench_task(library=library, plot_description=description,
                                              data_csv=row["data_csv"], plot_style=style)
    refs = [_decode_png(p) for p in _as_list(row.get("plots_gt"))]
    code_data = row.get("code_data")
    return BenchTask(id=str(row["id"]), prompt=prompt,
                     task_text=f"{description.strip()}\n{style.strip()}",
                     files={"data.csv": row["data_csv"].encode()},
                     prelude=str(code_data or DEFAULT_PRELUDE),
                     reference_pngs=[r for r in refs if r],
                     meta={"plot_description": description, "plot_style": style,
                           "code_data_source": "dataset" if code_data else "default"})


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
            return parsed if isinstance(parsed, list) else [value]
        except ValueError:
            return [value]
    return list(value)


def _decode_png(value: Any) -> bytes | None:
    if isinstance(value, bytes):
        return value if value.startswith(b"\x89PNG") else None
    if isinstance(value, dict) and "bytes" in value:
        return value["bytes"]
    try:
        data = base64.b64decode(str(value))
    except ValueError:
        return None
    return data if data.startswith(b"\x89PNG") else None


# --- MatPlotBench ---------------------------------------------------------------------------
def _matplotbench(folder: Path, which: str, library: str, prompts: Any) -> tuple[list[BenchTask], list[Skipped]]:
    spec = folder / "benchmark_instructions.json"
    if not spec.exists():
        raise FileNotFoundError(f"{folder} has no benchmark_instructions.json")
    tasks, skipped = [], []
    for item in json.loads(spec.read_text()):
        task_id = str(item["id"])
        instruction = item.get(f"{which}_instruction")
        if not isinstance(instruction, str):
            skipped.append(Skipped(task_id, f"no {which}_instruction"))
            continue
        files = {}
        data_dir = folder / "data" / task_id
        if data_dir.is_dir():
            files = {p.name: p.read_bytes() for p in sorted(data_dir.iterdir()) if p.is_file()}
        ref = folder / "ground_truth" / f"example_{task_id}.png"
        tasks.append(BenchTask(
            id=task_id, prompt=prompts.matplotbench_task(library=library, instruction=instruction),
            task_text=instruction, files=files,
            reference_pngs=[ref.read_bytes()] if ref.exists() else [],
            index=len(tasks), meta={"instruction": instruction}))
    return tasks, skipped
