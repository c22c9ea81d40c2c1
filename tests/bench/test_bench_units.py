"""Prompt building, code extraction, the self-debug turn structure, metrics, judge parsing."""

import asyncio
import json

import pytest

from tests.conftest import SHARED
from viscoder.bench.config import BenchConfig
from viscoder.bench.engine import EndpointFailure, Services, solve_task
from viscoder.bench.extract import extract_code, with_prelude
from viscoder.bench.judge import parse_score
from viscoder.bench.metrics import summarize
from viscoder.bench.tasks import BenchTask, load_tasks
from viscoder.prompts import PromptSet, describe_dataframe
from viscoder.sandbox.result import ExecResult, ExecStatus, Figure

PROMPTS = PromptSet.default()


# --- prompts --------------------------------------------------------------------------------
def test_pandasplotbench_prompt_sections_in_order():
    text = PROMPTS.pandasplotbench_task(library="plotly", plot_description=" Plot Description: bars",
                                        data_csv="a,b\n1,x\n2,y\n", plot_style=" Plot Style Description: blue")
    lines = text.splitlines()
    assert lines[0].startswith("Write code that draws a plot")
    numbered = [line for line in lines if line[:3] in ("1. ", "2. ", "3. ", "4. ")]
    assert [line[:3] for line in numbered] == ["1. ", "2. ", "3. ", "4. "]
    assert "plotly" in numbered[0] and "Do not plot with matplotlib" in numbered[0]
    assert numbered[1] == "2. Plot Description: bars"
    assert numbered[2].startswith("3. Data description.")
    assert numbered[3] == "4. Plot Style Description: blue"
    assert 'df = pd.read_csv("data.csv")' in text
    assert "DataFrame with 2 columns and 2 rows" in text and "a: int64, b: " in text


def test_data_description_is_bounded_and_survives_bad_csv():
    big = "x\n" + "\n".join(str(i) * 50 for i in range(2000))
    text = PROMPTS.pandasplotbench_task(library="seaborn", plot_description="d", data_csv=big, plot_style="s")
    assert len(text) < 6000
    assert "could not be read" in describe_dataframe('a,b\n"unterminated')


def test_upstream_prompt_file_maps_onto_ours(tmp_path):
    path = tmp_path / "instructs.json"
    path.write_text(json.dumps({"system_prompt": "SYS", "setup_instruct": "Use [PLOTLIB] {braces}.",
                                "plot_instruct": "PLOT", "data_instruct": "DATA",
                                "judge_instruct_vis": "JV", "judge_instruct_task": "JT"}))
    prompts = PromptSet.from_upstream(path)
    assert prompts.system == "SYS" and prompts.judge_visual == "JV"
    assert prompts.setup_line("seaborn") == "Use seaborn {braces}."
    text = prompts.pandasplotbench_task(library="seaborn", plot_description="P", data_csv="a\n1\n", plot_style="S")
    assert text.startswith("PLOT\n1. Use seaborn") and "3. DATA\nDataFrame" in text
    with pytest.raises(ValueError):
        (tmp_path / "bad.json").write_text("{}")
        PromptSet.from_upstream(tmp_path / "bad.json")


# --- code extraction ------------------------------------------------------------------------
@pytest.mark.parametrize("answer,expected", [
    ("```python\nA\n```\ntext\n```python\nB\n```", "A"),  # several fences: the first python one
    ("just code\nprint(1)<|im_end|>", "just code\nprint(1)"),  # no fence: the whole text
    ("I think we should...\n\n```python\nA\n```", "A"),  # reasoning before the code
    ("<think>```python\nWRONG\n```</think>\n```python\nA\n```", "A"),  # reasoning block skipped
    ("```py\nA\n```", "A"),
    ("```python\nA\nB", "A\nB"),  # cut off before the closing fence
    ("```\nnot marked python\n```", "```\nnot marked python\n```"),
])
def test_extract_code(answer, expected):
    assert extract_code(answer) == expected


def test_prelude_replaces_the_models_loading_line():
    code = "import pandas as pd\ndf = pd.read_csv('data.csv')\ndf2 = pd.read_csv('other.csv')\ndf.plot()"
    out = with_prelude(code, "import pandas as pd\ndf = pd.read_csv('data.csv', sep=',')")
    assert out.splitlines()[:2] == ["import pandas as pd", "df = pd.read_csv('data.csv', sep=',')"]
    assert "df2 = pd.read_csv('other.csv')" in out
    assert out.count("read_csv('data.csv')") == 0


# --- the self-debug loop --------------------------------------------------------------------
def _result(status: str, error_type=None, png=False) -> ExecResult:
    figs = [Figure(library="matplotlib", png=b"\x89PNG fake")] if png else []
    return ExecResult(id="t", status=ExecStatus(status), error_type=error_type,
                      error_message="boom" if error_type else None,
                      traceback=f"Traceback ...\n{error_type}: boom" if error_type else None, figures=figs)


def _run(outcomes, answers, rounds=3, **cfg_values):
    seen = []

    async def chat(messages):
        seen.append([dict(m) for m in messages])
        return answers[min(len(seen) - 1, len(answers) - 1)]

    results = iter(outcomes)

    async def execute(code, files):
        return next(results)

    cfg = BenchConfig(self_debug_rounds=rounds, judge={"enabled": False}, **cfg_values)
    task = BenchTask(id="t", prompt="PROMPT", task_text="T", prelude="PRE")
    record = asyncio.run(solve_task(task, cfg, PROMPTS, Services(chat=chat, execute=execute)))
    return record, seen


def test_self_debug_turns_one_pair_per_failure():
    outcomes = [_result("error", "KeyError"), _result("error", "TypeError"), _result("ok", png=True)]
    record, seen = _run(outcomes, ["```python\nA\n```", "```python\nB\n```", "```python\nC\n```"])
    assert record["passed_round"] == 2 and len(record["attempts"]) == 3
    assert [m["role"] for m in seen[2]] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert seen[2][2]["content"] == "```python\nPRE\nA\n```"  # the code that ran
    assert "KeyError: boom" in seen[2][3]["content"] and "failed with this error" in seen[2][3]["content"]
    assert "TypeError: boom" in seen[2][5]["content"] and "still failed" in seen[2][5]["content"]
    assert seen[1] == seen[2][:4]  # history never duplicated


def test_loop_stops_after_k_rounds_and_on_success():
    record, seen = _run([_result("error", "E")] * 4, ["x"], rounds=3)
    assert record["passed_round"] is None and len(seen) == 4
    record, seen = _run([_result("ok", png=True)], ["x"], rounds=3)
    assert record["passed_round"] == 0 and len(seen) == 1


def test_no_plot_feedback_generic_or_precise():
    _, seen = _run([_result("no_plot"), _result("ok", png=True)], ["x"])
    assert PROMPTS.generic_failure in seen[1][-1]["content"]
    _, seen = _run([_result("no_plot"), _result("ok", png=True)], ["x"], visual_feedback=True)
    assert "displayed no figure" in seen[1][-1]["content"]


def test_blank_rule_and_image_feedback():
    blank = _result("ok", png=True)
    blank.figures[0].blank = True
    record, _ = _run([blank], ["x"], rounds=0)
    assert record["passed_round"] == 0
    record, seen = _run([blank, _result("ok", png=True)], ["x"], blank_is_failure=True,
                        visual_feedback=True, feedback_images=True)
    assert record["passed_round"] == 1 and record["attempts"][0]["blank_failure"]
    parts = seen[1][-1]["content"]
    assert parts[0]["type"] == "text" and "empty" in parts[0]["text"]
    assert parts[1]["type"] == "image_url"


def test_endpoint_failure_is_recorded():
    async def chat(messages):
        raise EndpointFailure("APIConnectionError: refused")

    async def execute(code, files):
        raise AssertionError("not reached")

    cfg = BenchConfig(judge={"enabled": False})
    record = asyncio.run(solve_task(BenchTask(id="t", prompt="p", task_text="t"), cfg, PROMPTS,
                                    Services(chat=chat, execute=execute)))
    assert record["endpoint_error"] and record["attempts"][0]["status"] == "endpoint_error"


# --- metrics and judge ----------------------------------------------------------------------
def _rec(passed, kinds, judge=None):
    attempts = [{"round": k, "status": "error", "error_type": kind} for k, kind in enumerate(kinds)]
    if passed is not None:
        attempts.append({"round": len(kinds), "status": "ok"})
    return {"id": "x", "passed_round": passed, "attempts": attempts, "judge": judge}


def test_pass_rates_and_error_types_per_round():
    records = [_rec(0, []), _rec(1, ["KeyError"]), _rec(None, ["KeyError", "TypeError", "TypeError", "TypeError"]),
               _rec(None, ["NameError"] * 4)]
    s = summarize(records, rounds=3)
    assert s["exec_pass_rate"] == [25.0, 50.0, 50.0, 50.0]
    assert s["incorrect_code_rate"] == [75.0, 50.0, 50.0, 50.0]
    assert s["error_types"][0] == {"KeyError": 2, "NameError": 1}
    assert s["error_types"][1] == {"TypeError": 1, "NameError": 1}
    assert s["judge"] is None


def test_judge_summary_counts_unparseable_apart():
    j = lambda v, t: {"round0": {"visual": v, "task": t}, "final": {"visual": v, "task": t}}  # noqa: E731
    records = [_rec(0, [], j({"score": 90.0}, {"score": 80.0})),
               _rec(0, [], j({"score": None}, {"score": 70.0})),
               _rec(None, ["E"], j({"score": 0.0}, {"score": 0.0}))]
    judge = summarize(records, rounds=0)["judge"]
    assert judge["visual_final"] == {"mean": 45.0, "good": 50.0, "n_scored": 2, "n_unparseable": 1,
                                     "n_unavailable": 0}
    assert judge["task_round0"]["mean"] == 50.0


@pytest.mark.parametrize("reply,score", [
    ("[FINAL SCORE]: 40", 40.0), ("blah\n[FINAL SCORE] 85.5", 85.5), ("[final score]: **70**", 70.0),
    ("[FINAL SCORE]: 140", 100.0), ("score 40", None), ("", None), (None, None),
    ("[FINAL SCORE]: 10 ... corrected [FINAL SCORE]: 20", 20.0),
])
def test_parse_score(reply, score):
    assert parse_score(reply) == score


# --- the benchmark copies in ../shared (skipped when absent) --------------------------------
needs_ppb = pytest.mark.skipif(not (SHARED / "benchmarks/pandasplotbench_partial").exists(),
                               reason="../shared/benchmarks/pandasplotbench_partial is absent")
needs_mpb = pytest.mark.skipif(not (SHARED / "benchmarks/matplotbench").exists(),
                               reason="../shared/benchmarks/matplotbench is absent")


@needs_ppb
def test_partial_pandasplotbench_copy_loads():
    cfg = BenchConfig(data=str(SHARED / "benchmarks/pandasplotbench_partial"), library="seaborn")
    tasks, skipped = load_tasks(cfg, PROMPTS)
    assert len(tasks) == 99 and [s.id for s in skipped] == ["30"]
    assert all(t.files["data.csv"] and not t.reference_pngs for t in tasks)


@needs_mpb
def test_matplotbench_copy_loads():
    cfg = BenchConfig(benchmark="matplotbench", data=str(SHARED / "benchmarks/matplotbench"),
                      instruction="expert")
    tasks, skipped = load_tasks(cfg, PROMPTS)
    assert len(tasks) == 100 and not skipped
    by_id = {t.id: t for t in tasks}
    assert set(by_id["98"].files) == {"Consumption.csv", "Grain_Consumption_Ratio.csv", "Imports.csv"}
    assert all(t.reference_pngs[0].startswith(b"\x89PNG") for t in tasks)


def test_parquet_with_the_published_schema(tmp_path):
    import base64

    import pandas as pd

    png = b"\x89PNG\r\n\x1a\n" + b"0" * 20
    pd.DataFrame([{"id": 7, "code_plot": "...", "code_data": "import pandas as pd\ndf = pd.read_csv('data.csv', sep=',')\n",
                   "data_csv": "a,b\n1,2\n", "task__plot_description": " Plot Description: x",
                   "task__plot_style": " Plot Style Description: y",
                   "plots_gt": [base64.b64encode(png).decode()]}]).to_parquet(tmp_path / "ppb.parquet")
    tasks, skipped = load_tasks(BenchConfig(data=str(tmp_path / "ppb.parquet")), PROMPTS)
    assert not skipped and len(tasks) == 1
    task = tasks[0]
    assert task.id == "7" and task.reference_pngs == [png]
    assert task.prelude.startswith("import pandas as pd\ndf = pd.read_csv('data.csv', sep=',')")
    assert task.files == {"data.csv": b"a,b\n1,2\n"}
