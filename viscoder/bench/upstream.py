"""The published PandasPlotBench harness (TIGER-AI-Lab/VisCoder, ``eval/PandasPlotBench/
plotting_benchmark/``, Apache-2.0; parent JetBrains-Research/PandasPlotBench), re-implemented
behaviour for behaviour for ``--protocol pandasplotbench``: prompt assembly, answer
post-processing, the notebook cell, error cleaning, the correction turns, the Llama-3 chat
headers of its vLLM engine and the judge's parsing and statistics. Pure functions, no I/O.

Nothing here is upstream's code; each function cites the upstream file and line it mirrors
(``code_plot_generator.py`` = CPG, ``vis_generator.py`` = VG, ``debug_utils.py`` = DU,
``vis_judge.py`` = VJ, ``task_changer.py`` = TC, ``generation_engines/vllm_engine.py`` = VE,
``generation_engines/base_engine.py`` = BE, ``benchmark.py`` = B). The prompt texts of upstream's
``instructs.json`` are not in this repository: load them with ``--prompts instructs.json``. The
few fixed strings below (the library notes, the correction-turn sentences, "Unexpected Error",
"[PLOT TASK]:") are upstream's, kept verbatim because the protocol is defined by them.

Upstream quirks that change verdicts or scores are switches (``UpstreamSwitches`` in
``viscoder/bench/config.py``), each on by default and each can be turned off alone.
"""

from __future__ import annotations

import re
from typing import Any

UNEXPECTED_ERROR = "Unexpected Error"  # B run_benchmark_model and run_self_debug
# CPG l.75-78: the only spellings of the loading line that are removed.
READ_CSV_SPELLINGS = ('df = pd.read_csv("data.csv")', "df = pd.read_csv('data.csv')",
                      'df=pd.read_csv("data.csv")', "df=pd.read_csv('data.csv')")
STOP_TOKENS = ("<|eot_id|>", "<|endoftext|>", "<EOS>", "<|start_header_id|>", "<|end_header_id|>")
DESCRIPTION_LIMIT = 4000  # TC data_descr_changer
SECTION_ORDER = ("task__plot_description", "task__plot_style", "task__setup",
                 "task__data_description")  # HF columns first, then those TC appends
FIRST_DEBUG = ("The above code failed with the following error:\n{error}\n"
               "Please provide a corrected version enclosed in ```python ... ```.")  # DU l.40
LATER_DEBUG = ("The above code still failed with the following error:\n{error}\n"
               "Please provide a corrected version enclosed in ```python ... ```.")  # DU l.50
GEN_MAX_TOKENS = {"vllm": 5000, "api": 3000}  # VE VllmEngine.__init__, BE l.42
JUDGE_MAX_TOKENS = 3000  # BE l.42: the judge is an OpenAI engine
JUDGE_MODEL = "gpt-4o-2024-05-13"  # configs/*.yaml model_judge.name
CELL_TIMEOUT_S = 10  # VG build_plots: ExecutePreprocessor(timeout=10, interrupt_on_timeout=True)

_SAVE_CALL = re.compile(r"\.savefig\([^)]*\)")  # CPG l.82: up to the first ")"
_WRITE_IMAGE_CALL = re.compile(r"\.write_image\([^)]*\)")  # CPG l.81
_TRY_AROUND_SHOW = re.compile(r"try:\s*(.*?\.show\(\).*?)except.*?pass", re.DOTALL)  # CPG l.85
_ANSI = re.compile(r"\x1B\[[0-?]*[ -/]*[@-~]")  # VG l.15
_BYTES_LITERAL = re.compile(r"b(['\"])(?:\\.|[^\\])*?\1", re.DOTALL)  # VG l.31
_FINAL_SCORE = re.compile(r".*\[FINAL SCORE]:? ?(\d+)", re.DOTALL)  # VJ parse_bench_response


# --- generation -----------------------------------------------------------------------------
def setup_text(setup_instruct: str, library: str) -> str:
    """B PlottingBenchmark.__init__: [PLOTLIB] replaced, then a library note glued on without a separator."""
    text = setup_instruct.replace("[PLOTLIB]", library)
    if "matplotlib" not in library and "seaborn" not in library:
        text += f"DO NOT use matplotlib for plotting. Only {library} library. "
    if "matplotlib" in library:
        text += "DO NOT use seaborn for plotting. Only pure matplotlib. "
    return text


def read_csv_pandas2(data_csv: str) -> Any:
    """The DataFrame as the harness's pandas 2 reads it (strings ``object``, not pandas 3's
    ``str``); checked against pandas 2.2.3 itself on all 174 CSVs of the offline copy."""
    from viscoder.prompts import read_csv_pandas2 as compat

    return compat(data_csv)


def head_description(data_csv: str) -> str:
    """TC head_df_description: shape, ``name: dtype`` pairs, then ``Head:`` and the JSON of
    the first five rows."""
    df = read_csv_pandas2(data_csv)
    types = ", ".join(f"{col}: {df[col].dtype}" for col in df.columns)
    return (f"DataFrame with {len(df.columns)} columns and {len(df)} rows\n"
            f"Column names and types: {types}\nHead:\n{df.head().to_json()}")


def task_prompt(instructs: dict[str, str], row: dict[str, Any], library: str) -> str:
    """CPG generate_plotting_request over the row TC.change_task leaves: the plot
    instruction, a newline, then each non-empty ``task__*`` section left-stripped and numbered
    in column order, every section ending in a newline; then one pass of "\\n\\n" -> "\\n"."""
    data = (instructs["data_instruct"] + "\n" + head_description(row["data_csv"]))
    sections = {"task__plot_description": str(row.get("task__plot_description") or ""),
                "task__plot_style": str(row.get("task__plot_style") or ""),
                "task__setup": setup_text(instructs["setup_instruct"], library),
                "task__data_description": data[:DESCRIPTION_LIMIT]}
    task = instructs["plot_instruct"] + "\n"
    number = 1
    for name in SECTION_ORDER:
        part = sections[name].lstrip()
        if part:
            task += f"{number}. {part}\n"
            number += 1
    return task.replace("\n\n", "\n")


def gather_code(answer: str, switches: Any = None) -> str:
    """CPG gather_code l.52-88: the text between the first "```python" and the next "```"
    (the whole answer, less stop tokens, when there is none), the four loading lines turned
    into "#", numpy imported when "np." appears, save calls turned into ``.show()`` and
    try/except-pass around a ``.show()`` unwrapped."""
    sw = switches
    answer = answer or ""
    if "```python" in answer:
        code = answer.split("```python", 1)[1].split("```", 1)[0].strip()
    else:
        for token in STOP_TOKENS:
            answer = answer.replace(token, "")
        code = answer.strip()
    if _on(sw, "replace_read_csv"):
        for spelling in READ_CSV_SPELLINGS:
            code = code.replace(spelling, "#")
    if _on(sw, "prepend_numpy") and "np." in code:
        code = "import numpy as np\n" + code
    if _on(sw, "save_to_show"):
        code = _WRITE_IMAGE_CALL.sub(".show()", code)
        code = _SAVE_CALL.sub(".show()", code)
    if _on(sw, "unwrap_try_show"):
        code = _TRY_AROUND_SHOW.sub(r"\1", code)
    return code


def cell_source(task_id: str, code_data: str, code: str, library: str, data_path: str) -> str:
    """VG generate_code: the id comment, the backend line(s), the task's loading code
    pointed at its CSV, the code, the rcParams / seaborn resets and ``%reset -f``."""
    blocks = [f"# id = {task_id}"]
    if "matplotlib" in library or "seaborn" in library:
        blocks.append("%matplotlib inline")
    if "plotly" in library:
        blocks += ["import plotly.io as pio", 'pio.renderers.default = "png"']
    blocks += [code_data.replace("data.csv", data_path), code]
    if "matplotlib" in library or "seaborn" in library:
        blocks.append("plt.rcParams.update(plt.rcParamsDefault)")
    if "seaborn" in library:
        blocks.append("sns.reset_orig()")
    blocks.append("%reset -f")
    return "\n".join(blocks)


# --- execution results ----------------------------------------------------------------------
def clean_error(traceback_lines: list[str], switches: Any = None) -> str:
    """VG parse_plots_notebook: the cell's error output, its traceback lines joined
    with newlines, ANSI colours removed, long bytes literals shortened. VG's
    ``truncate_error_message`` (head and tail 1000 characters) is defined but never called
    upstream; ``truncate_error`` turns it on."""
    text = _ANSI.sub("", "\n".join(traceback_lines))
    text = _BYTES_LITERAL.sub(_shorten_bytes, text)
    if _on(switches, "truncate_error", default=False) and len(text) > 2000:
        text = text[:1000] + "\n...\n" + text[-1000:]
    return text


def _shorten_bytes(match: re.Match[str]) -> str:
    # VG l.23-29: the literal's length less its ``b'`` and closing quote, compared with 100
    whole = match.group(0)
    inner = whole[2:-1] if whole[1] in "\"'" else whole
    return "b`...`" if len(inner) >= 100 else whole


def verdict(error: str, n_pngs: int) -> tuple[bool, str]:
    """(passed, error) as upstream records them: no PNG and no error is "Unexpected Error"
    (B run_benchmark_model); a task passes when its error is empty."""
    if not error and n_pngs == 0:
        error = UNEXPECTED_ERROR
    return error == "", error


def error_type(error: str) -> str | None:
    """The exception class named on the last line of the IPython traceback (what upstream's
    error text says, our ``error_type``); "Unexpected Error" for no plot."""
    if not error:
        return None
    if error == UNEXPECTED_ERROR:
        return "NoPlot"
    for line in reversed(error.strip().splitlines()):
        m = re.match(r"^([A-Za-z_][\w.]*)(?::|$)", line.strip())
        if m:
            return m.group(1).rsplit(".", 1)[-1]
    return "Error"


# --- self-debug -----------------------------------------------------------------------------
def debug_conversation(task: str, first_code: str, first_error: str,
                       history: list[dict[str, Any]], switches: Any = None) -> list[dict[str, Any]]:
    """DU generate_self_debug_conversation. Round 1: the task, the failed code in a fence, the
    first correction turn. Round k > 1 starts from the conversation of round k-1 and appends
    the pair of EVERY earlier debug attempt (DU l.46-50): from round 3 on the first debug
    pair appears twice (``duplicate_debug_history``); off, only the newest pair is added.
    ``history`` holds the debug attempts so far: {"code", "error"} in order."""
    conversation = [{"content": task},
                    {"content": f"```python\n{first_code}\n```", "is_assistant": True},
                    {"content": FIRST_DEBUG.format(error=first_error)}]
    for k in range(1, len(history) + 1):  # the conversation of debug round k+1
        added = history[:k] if _on(switches, "duplicate_debug_history") else history[k - 1:k]
        for attempt in added:
            conversation.append({"content": f"```python\n{attempt['code']}\n```", "is_assistant": True})
            conversation.append({"content": LATER_DEBUG.format(error=attempt["error"])})
    return conversation


def chat_messages(system: str, conversation: list[dict[str, Any]]) -> list[dict[str, str]]:
    """BE make_self_debug_request: the system prompt, then the turns as user/assistant."""
    return [{"role": "system", "content": system}] + [
        {"role": "assistant" if turn.get("is_assistant") else "user", "content": turn["content"]}
        for turn in conversation]


def llama3_prompt(messages: list[dict[str, str]]) -> str:
    """VE format_input / format_self_debug_conversation: hand-written Llama-3 headers for every
    model, ending with an open assistant header (no ``<|begin_of_text|>``: the tokenizer adds
    it where the model has one)."""
    out = ""
    for m in messages:
        out += f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n{m['content']}<|eot_id|>"
    return out + "<|start_header_id|>assistant<|end_header_id|>\n\n"


# --- judging --------------------------------------------------------------------------------
def parse_score(reply: str | None) -> int | None:
    """VJ parse_bench_response: a bare integer, else the number after the last
    "[FINAL SCORE]" (":" and one space optional), else None. Not clamped."""
    reply = reply or ""
    try:
        return int(reply)
    except ValueError:
        m = _FINAL_SCORE.search(reply)
        return int(m.group(1)) if m else None


def task_judge_text(base: str, description: str, style: str) -> str:
    """VJ gen_task_judge_request."""
    return "\n".join([base, "[PLOT TASK]:", description, style])


def judge_stats(scores: list[int | float | None], switches: Any = None) -> dict[str, Any]:
    """VJ calculate_stats_by_type: unparsed/failed scores count as 0, the mean and
    median are truncated with int(), good/bad are fractions (>= 75, <= 25) rounded to 2."""
    import numpy as np

    zero_fill = _on(switches, "unparsed_scores_zero")
    kept = [0 if s is None else s for s in scores] if zero_fill else [s for s in scores if s is not None]
    if not kept:
        return {"mean": None, "median": None, "good": None, "bad": None,
                "num_scored_items": 0, "unparsed": len(scores)}
    arr = np.asarray(kept, dtype=float)
    whole = int if _on(switches, "truncate_mean") else (lambda v: round(float(v), 2))
    return {"mean": whole(np.mean(arr)), "median": whole(np.median(arr)),
            "good": round(float(np.sum(arr >= 75) / len(arr)), 2),
            "bad": round(float(np.sum(arr <= 25) / len(arr)), 2),
            "min": whole(arr.min()), "max": whole(arr.max()),
            "num_scored_items": len(arr), "unparsed": sum(1 for s in scores if s is None)}


def _on(switches: Any, name: str, default: bool = True) -> bool:
    return bool(getattr(switches, name, default)) if switches is not None else default
