"""Every prompt viscoder sends, in one place: the templates in ``templates/`` and the functions
that render them. Written in our own words; the structure follows the published benchmark
protocol (PandasPlotBench: an instruction preamble, then numbered sections setup, plot
description, data description built from the CSV, plot style; code in a fenced python block;
self-debug as one assistant/user pair per failed attempt; judges that end with a
``[FINAL SCORE]`` marker).

To reproduce published numbers with the upstream wording, load PandasPlotBench's own
instruction file: ``PromptSet.from_upstream("instructs.json")`` (``--prompts`` on the command
line). Its keys map onto ours; keys it lacks keep our text.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, fields, replace
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
DATA_DESCRIPTION_LIMIT = 4000  # characters, as in the published harness

_UPSTREAM_KEYS = {  # PandasPlotBench instructs.json key -> our field
    "system_prompt": "system",
    "setup_instruct": "setup",
    "plot_instruct": "plot_instruction",
    "data_instruct": "data_instruction",
    "judge_instruct_vis": "judge_visual",
    "judge_instruct_task": "judge_task",
}

_LIBRARY_NOTES = {
    "matplotlib": " Do not use seaborn: plain matplotlib only.",
    "plotly": " Do not plot with matplotlib: plotly only.",
}


@dataclass(frozen=True)
class PromptSet:
    system: str
    setup: str
    plot_instruction: str
    data_instruction: str
    self_debug: str
    self_debug_again: str
    feedback_no_plot: str
    feedback_blank: str
    judge_visual: str
    judge_task: str
    matplotbench_template: str
    generic_failure: str = "No plot was produced."
    source: str = "viscoder"
    upstream_raw: tuple[tuple[str, str], ...] = ()  # an upstream file's texts, verbatim

    @classmethod
    def default(cls) -> PromptSet:
        values = {f.name: (TEMPLATES / f"{f.name}.txt").read_text().strip()
                  for f in fields(cls) if (TEMPLATES / f"{f.name}.txt").exists()}
        return cls(**values)

    @classmethod
    def from_upstream(cls, path: str | Path) -> PromptSet:
        """Our set with the texts of an upstream ``instructs.json`` put in place. The upstream
        setup text names the library as ``[PLOTLIB]``; it becomes our ``{library}``."""
        data = json.loads(Path(path).read_text())
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object of prompt texts")
        updates = {}
        for key, field_name in _UPSTREAM_KEYS.items():
            if isinstance(data.get(key), str):
                text = data[key]
                if field_name == "setup":
                    text = text.replace("{", "{{").replace("}", "}}").replace("[PLOTLIB]", "{library}")
                    text += "{library_note}"
                updates[field_name] = text
        for f in fields(cls):  # our own field names are accepted too
            if isinstance(data.get(f.name), str):
                updates[f.name] = data[f.name]
        if not updates and not {"user_prompt", "judge_prompt"} & set(data):  # matplotagent's
            raise ValueError(f"{path}: none of the known prompt keys found "
                             f"({', '.join(sorted(_UPSTREAM_KEYS))})")
        raw = tuple((k, v) for k, v in data.items() if isinstance(v, str))
        return replace(cls.default(), source=str(path), upstream_raw=raw, **updates)

    def upstream_instructs(self) -> dict[str, str]:
        """The texts ``--protocol pandasplotbench`` assembles, under upstream's key names: the
        loaded instructs.json exactly as written, or else ours (setup with ``[PLOTLIB]`` and
        without our library note, which the protocol adds in upstream's words)."""
        ours = {"system_prompt": self.system, "plot_instruct": self.plot_instruction,
                "setup_instruct": self.setup.replace("{library}", "[PLOTLIB]")
                .replace("{library_note}", "").replace("{{", "{").replace("}}", "}"),
                "data_instruct": self.data_instruction + "\n",
                "judge_instruct_vis": self.judge_visual, "judge_instruct_task": self.judge_task}
        return {**ours, **dict(self.upstream_raw)}

    # --- the benchmark prompt ---------------------------------------------------------------
    def setup_line(self, library: str) -> str:
        return self.setup.format(library=library, library_note=_LIBRARY_NOTES.get(library, ""))

    def pandasplotbench_task(self, *, library: str, plot_description: str, data_csv: str,
                             plot_style: str) -> str:
        data_section = f"{self.data_instruction}\n{describe_dataframe(data_csv)}"
        sections = [self.setup_line(library), plot_description.strip(),
                    data_section[:DATA_DESCRIPTION_LIMIT], plot_style.strip()]
        numbered = "\n".join(f"{k}. {text}" for k, text in enumerate(filter(None, sections), 1))
        return f"{self.plot_instruction}\n{numbered}".replace("\n\n", "\n")

    def matplotbench_task(self, *, library: str, instruction: str) -> str:
        return self.matplotbench_template.format(setup=self.setup_line(library),
                                             instruction=instruction.strip())

    # --- self-debug -------------------------------------------------------------------------
    def self_debug_turn(self, error_text: str, round_index: int) -> str:
        """The user turn after a failed attempt; round_index 1 is the first self-debug round."""
        template = self.self_debug if round_index <= 1 else self.self_debug_again
        return template.format(error=error_text)

    # --- judges -----------------------------------------------------------------------------
    def judge_task_text(self, task_text: str) -> str:
        return f"{self.judge_task}\n[PLOT TASK]:\n{task_text}"


def describe_dataframe(data_csv: str) -> str:
    """Shape, column names and dtypes, and the first rows (as JSON), built from the CSV at run
    time: the 'head' data description of the published harness."""
    try:
        df = read_csv_pandas2(data_csv)
    except Exception as exc:  # an unreadable CSV is described as such, not a crash
        return f"(the data file could not be read: {type(exc).__name__}: {exc})"
    columns = ", ".join(f"{col}: {df[col].dtype}" for col in df.columns)
    return (f"DataFrame with {len(df.columns)} columns and {len(df)} rows\n"
            f"Column names and types: {columns}\n"
            f"First rows:\n{df.head().to_json()}")


def read_csv_pandas2(data_csv: str):
    """The CSV as pandas 2 reads it, whatever pandas runs here: string columns stay
    ``object`` (pandas 3 infers ``str``), so the prompt does not depend on the orchestrator's
    pandas and matches the published harness's (27 of PandasPlotBench's 174 CSVs differ)."""
    import warnings

    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if int(pd.__version__.split(".")[0]) >= 3:
            with pd.option_context("future.infer_string", False):
                return pd.read_csv(io.StringIO(data_csv))
        return pd.read_csv(io.StringIO(data_csv))
