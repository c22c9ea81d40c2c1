"""``--protocol pandasplotbench``, the pure parts: prompts byte for byte, answer post-processing,
the correction turns, the Llama-3 wrapping, judge parsing and statistics.

Every expected value is worked out by hand from the upstream harness, TIGER-AI-Lab/VisCoder
at 37fefb73df89d3f3a712981bddfacabd9e10d426, folder eval/PandasPlotBench/plotting_benchmark/
(CPG = code_plot_generator.py, DU = debug_utils.py, VJ = vis_judge.py, VE =
generation_engines/vllm_engine.py, B = benchmark.py) and task_changer.py of its parent
JetBrains-Research/PandasPlotBench (TC).
"""

import json
import os
from pathlib import Path

import pytest

from tests.conftest import SHARED
from viscoder.bench import upstream
from viscoder.bench.config import BenchConfig, UpstreamSwitches
from viscoder.bench.tasks import load_tasks
from viscoder.prompts import PromptSet

# Texts with upstream's shapes (a [PLOTLIB] marker, a data instruction ending in ":\n", a setup
# text ending in "." with no space) but not its words, which are not in this repository.
INSTRUCTS = {"system_prompt": "SYS", "plot_instruct": "PLOT LINE 1\nPLOT LINE 2",
             "setup_instruct": "Setup. Use [PLOTLIB] and [PLOTLIB] only.",
             "data_instruct": "Data description. The metadata:\n",
             "judge_instruct_vis": "JV", "judge_instruct_task": "JT"}
ROW = {"id": 5, "task__plot_description": " Plot Description: bars of n by name.\n\n- sorted",
       "task__plot_style": " Plot Style Description: blue bars.",
       "data_csv": "name,n\nb,2\na,1\n"}
DATA = ('DataFrame with 2 columns and 2 rows\nColumn names and types: name: object, n: int64\n'
        'Head:\n{"name":{"0":"b","1":"a"},"n":{"0":2,"1":1}}')


def expected(setup_tail: str) -> str:
    # CPG generate_plotting_request (l.91-107): plot_instruct + "\n", then "i. part\n" for the
    # left-stripped sections in column order: the dataset's task__plot_description and
    # task__plot_style, then task__setup and task__data_description that TC.change_task_dp
    # appends; finally one pass of "\n\n" -> "\n" (so the blank line of the description goes,
    # and so does the one between the data instruction's ":\n" and the "\n" TC adds).
    return ("PLOT LINE 1\nPLOT LINE 2\n"
            "1. Plot Description: bars of n by name.\n- sorted\n"
            "2. Plot Style Description: blue bars.\n"
            f"3. Setup. Use {{lib}} and {{lib}} only.{setup_tail}\n"
            f"4. Data description. The metadata:\n{DATA}\n")


@pytest.mark.parametrize("library,tail", [
    # B PlottingBenchmark.__init__: the notes are glued on with no separator and end in a space
    ("matplotlib", "DO NOT use seaborn for plotting. Only pure matplotlib. "),
    ("seaborn", ""),
    ("plotly", "DO NOT use matplotlib for plotting. Only plotly library. "),
])
def test_prompt_is_byte_identical_to_upstreams(library, tail):
    want = expected(tail).replace("{lib}", library)
    assert upstream.task_prompt(INSTRUCTS, ROW, library) == want


def test_prompt_through_the_loader_uses_the_instructs_file_verbatim(tmp_path):
    path = tmp_path / "instructs.json"
    path.write_text(json.dumps(INSTRUCTS))
    data = tmp_path / "ppb.jsonl"
    data.write_text(json.dumps(ROW) + "\n")
    cfg = BenchConfig(protocol="pandasplotbench", data=str(data), library="plotly",
                      prompts=str(path), generator={"model": "m"})
    tasks, _ = load_tasks(cfg, PromptSet.from_upstream(path))
    assert tasks[0].prompt == expected(
        "DO NOT use matplotlib for plotting. Only plotly library. ").replace("{lib}", "plotly")


REAL_INSTRUCTS = os.environ.get("VISCODER_UPSTREAM_INSTRUCTS")  # upstream's own file, if you have it


@pytest.mark.skipif(not REAL_INSTRUCTS, reason="set VISCODER_UPSTREAM_INSTRUCTS=instructs.json")
def test_real_instructs_file_on_the_offline_copy():
    folder = SHARED / "benchmarks" / "pandasplotbench_partial"
    if not folder.exists():
        pytest.skip("no offline copy")
    cfg = BenchConfig(protocol="pandasplotbench", data=str(folder), library="seaborn",
                      prompts=REAL_INSTRUCTS, generator={"model": "m"}, limit=1)
    prompt = load_tasks(cfg, PromptSet.from_upstream(REAL_INSTRUCTS))[0][0].prompt
    assert prompt.startswith(json.loads(Path(REAL_INSTRUCTS).read_text())["plot_instruct"] + "\n1. Plot")


def test_data_description_prints_pandas2_dtypes():
    # TC head_df_description under the harness's pandas 2: strings are "object" (pandas 3: "str");
    # test_upstream_description.py compares all 174 CSVs of the offline copy with pandas 2.2.3.
    assert "name: object, n: int64" in upstream.head_description(ROW["data_csv"])
    long = "x\n" + "\n".join("7" * 900 for _ in range(10))
    text = upstream.task_prompt(INSTRUCTS, {**ROW, "data_csv": long}, "seaborn")
    # TC cuts at 4000 characters, then CPG drops the "\n\n" of the instruction and adds "\n"
    assert len(text.split("4. ", 1)[1]) == upstream.DESCRIPTION_LIMIT


# --- answer post-processing (CPG gather_code l.52-88) ---------------------------------------
@pytest.mark.parametrize("answer,code", [
    # the four spellings become "#" (l.75-78); any other stays
    ('```python\ndf = pd.read_csv("data.csv")\nx\n```', "#\nx"),
    ("```python\ndf = pd.read_csv('data.csv')\nx\n```", "#\nx"),
    ('```python\ndf=pd.read_csv("data.csv")\nx\n```', "#\nx"),
    ("```python\ndf=pd.read_csv('data.csv')\nx\n```", "#\nx"),
    ("```python\ndf = pd.read_csv( 'data.csv')\n```", "df = pd.read_csv( 'data.csv')"),
    # "np." anywhere, even in a comment or "cmap.", prepends the import (l.79-80)
    ("```python\ny = 1  # see np.nan\n```", "import numpy as np\ny = 1  # see np.nan"),
    ("```python\nprint('gnp.csv')\n```", "import numpy as np\nprint('gnp.csv')"),
    # .savefig(...) / .write_image(...) up to the first ")" become .show() (l.81-82)
    ("```python\nplt.savefig('a.png', dpi=90)\n```", "plt.show()"),
    ("```python\nfig.write_image('a.png')\n```", "fig.show()"),
    ("```python\nplt.savefig(os.path.join(d, 'a.png'))\n```", "plt.show())"),
    ("```python\nfig.write_html('a.html')\n```", "fig.write_html('a.html')"),
    # try: ... .show() ... except ...: pass keeps only the body (l.85-86), indentation and all
    ("```python\ntry:\n    plt.show()\nexcept Exception:\n    pass\n```", "plt.show()\n"),
    ("```python\ntry:\n    fig.show()\n    x = 1\nexcept:\n    pass\n```", "fig.show()\n    x = 1\n"),
    # fences: the first "```python" block only; no fence: the whole text less stop tokens
    ("```python\nA\n```\n```python\nB\n```", "A"),
    ("```python3\nA\n```", "3\nA"),
    ("```py\nA\n```", "```py\nA\n```"),
    ("A<|eot_id|>", "A"),
    ("A<|im_end|>", "A<|im_end|>"),
    ("<think>```python\nW\n```</think>```python\nA\n```", "W"),
])
def test_gather_code(answer, code):
    assert upstream.gather_code(answer) == code


def test_each_post_processing_step_can_be_turned_off():
    answer = '```python\ndf = pd.read_csv("data.csv")\nnp.x\nplt.savefig("a")\n```'
    off = UpstreamSwitches(replace_read_csv=False, prepend_numpy=False, save_to_show=False)
    assert upstream.gather_code(answer, off) == 'df = pd.read_csv("data.csv")\nnp.x\nplt.savefig("a")'
    assert upstream.gather_code(answer, UpstreamSwitches(prepend_numpy=False)) == "#\nnp.x\nplt.show()"


def test_cell_is_built_like_upstreams_notebook_cell():
    # VG generate_code: id comment, backend line(s), loading code pointed at the CSV, the code,
    # the resets, %reset -f, joined with "\n"
    cell = upstream.cell_source("3", 'import pandas as pd\ndf = pd.read_csv("data.csv")\n', "CODE",
                                "seaborn", "/d/data-3.csv")
    assert cell == ('# id = 3\n%matplotlib inline\nimport pandas as pd\ndf = pd.read_csv("/d/data-3.csv")\n'
                    "\nCODE\nplt.rcParams.update(plt.rcParamsDefault)\nsns.reset_orig()\n%reset -f")
    assert upstream.cell_source("3", "L", "C", "plotly", "p").splitlines() == [
        "# id = 3", "import plotly.io as pio", 'pio.renderers.default = "png"', "L", "C", "%reset -f"]


# --- errors and the correction turns --------------------------------------------------------
def test_error_cleaning():
    # VG remove_ansi_escape + remove_bytes_literal: long bytes literals (>= 100 inside) shortened
    lines = ["\x1b[31mValueError\x1b[39m: bad", "b'" + "x" * 100 + "' and b'short'"]
    assert upstream.clean_error(lines) == "ValueError: bad\nb`...` and b'short'"
    long = ["y" * 3000]
    assert upstream.clean_error(long) == long[0]  # VG truncate_error_message is never called
    assert len(upstream.clean_error(long, UpstreamSwitches(truncate_error=True))) == 2005
    assert upstream.verdict("", 0) == (False, "Unexpected Error")  # B run_benchmark_model
    assert upstream.verdict("", 2) == (True, "")
    assert upstream.verdict("NameError: x", 1) == (False, "NameError: x")
    assert upstream.error_type("Traceback...\nCell In[3], line 2\nKeyError: 'a'") == "KeyError"


def test_debug_conversation_with_the_third_round_duplication():
    # DU _generate_single_turn_conversation / _generate_multi_turn_conversation
    first = upstream.debug_conversation("TASK\n", "C0", "E0", [])
    assert first == [{"content": "TASK\n"}, {"content": "```python\nC0\n```", "is_assistant": True},
                     {"content": "The above code failed with the following error:\nE0\n"
                                 "Please provide a corrected version enclosed in ```python ... ```."}]
    history = [{"code": "C1", "error": "E1"}, {"code": "C2", "error": "E2"}]
    third = upstream.debug_conversation("TASK\n", "C0", "E0", history)
    codes = [t["content"] for t in third if t.get("is_assistant")]
    assert codes == ["```python\nC0\n```", "```python\nC1\n```", "```python\nC1\n```", "```python\nC2\n```"]
    assert third[4]["content"].startswith("The above code still failed with the following error:\nE1\n")
    fixed = upstream.debug_conversation("TASK\n", "C0", "E0", history,
                                        UpstreamSwitches(duplicate_debug_history=False))
    assert [t["content"] for t in fixed if t.get("is_assistant")] == [
        "```python\nC0\n```", "```python\nC1\n```", "```python\nC2\n```"]
    messages = upstream.chat_messages("SYS", first)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]


def test_llama3_headers():
    # VE format_input / format_self_debug_conversation
    text = upstream.llama3_prompt([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])
    assert text == ("<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
                    "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>"
                    "<|start_header_id|>assistant<|end_header_id|>\n\n")


# --- judge ----------------------------------------------------------------------------------
@pytest.mark.parametrize("reply,score", [
    ("85", 85), (" 85\n", 85), ("[FINAL SCORE]: 40", 40), ("[FINAL SCORE] 40", 40),
    ("[FINAL SCORE]:40", 40), ("[FINAL SCORE]:  40", None), ("[FINAL SCORE]: 120", 120),
    ("[FINAL SCORE]: 10 ... [FINAL SCORE]: 30", 30), ("[FINAL SCORE]: 72.5", 72),
    ("**[FINAL SCORE]: 60**", 60), ("score: 60", None), ("", None),
])
def test_judge_reply_parsing(reply, score):
    assert upstream.parse_score(reply) == score  # VJ parse_bench_response


def test_judge_statistics():
    # VJ calculate_stats_by_type: None -> 0 (kept in the mean), int() of the mean, fractions
    stats = upstream.judge_stats([100, 90, None, 41])
    assert stats["mean"] == 57 and stats["good"] == 0.5 and stats["bad"] == 0.25
    assert stats["num_scored_items"] == 4 and stats["unparsed"] == 1
    ours = upstream.judge_stats([100, 90, None, 41],
                                UpstreamSwitches(unparsed_scores_zero=False, truncate_mean=False))
    assert ours["mean"] == 77.0 and ours["num_scored_items"] == 3


def test_protocol_defaults():
    cfg = BenchConfig(protocol="pandasplotbench", generator={"model": "m"})
    assert cfg.generator.max_tokens == 5000 and cfg.judge.max_tokens == 3000  # VE VllmEngine.__init__, BE l.42
    assert cfg.judge.model == "gpt-4o-2024-05-13"
    assert BenchConfig(protocol="pandasplotbench", upstream={"engine": "api"}).generator.max_tokens == 3000
    assert BenchConfig(protocol="pandasplotbench", generator={"max_tokens": 77}).generator.max_tokens == 77
    assert BenchConfig().generator.max_tokens == 2048


def test_judge_pass_order_dependent_behaviours():
    # VJ score_by_type: the task request is rebuilt from the previous one for every judged
    # item; a failed call leaves `score` at the previous item's value; no plot or no library
    # name in the code is 0 without a call
    import asyncio

    from viscoder.bench.engine import EndpointFailure
    from viscoder.bench.upstream_engine import UpstreamJudge

    sent: list[str] = []
    replies = iter(["[FINAL SCORE]: 70", None, "nonsense", "55"])

    async def chat(messages):
        sent.append(messages[1]["content"][0]["text"])
        assert messages[0] == {"role": "system", "content": "SYS"}
        reply = next(replies)
        if reply is None:
            raise EndpointFailure("HTTP 500")
        return reply

    png = b"\x89PNG fake"
    items = [{"pngs": [png], "code": "import seaborn", "description": f"D{k}", "style": f"S{k}"}
             for k in range(4)]
    items.insert(2, {"pngs": [png], "code": "import plotly", "description": "X", "style": "X"})
    items.insert(3, {"pngs": [], "code": "import seaborn", "description": "Y", "style": "Y"})

    def run(switches):
        sent.clear()
        judge = UpstreamJudge(chat, {"judge_instruct_task": "JT", "system_prompt": "SYS"}, "seaborn", switches)
        return [r["score"] for r in asyncio.run(judge.score_items(items, "task"))]

    replies = iter(["[FINAL SCORE]: 70", None, "nonsense", "55"])
    assert run(UpstreamSwitches()) == [70, 70, 0, 0, None, 55]
    assert sent[0] == "JT\n[PLOT TASK]:\nD0\nS0"
    assert sent[1] == "JT\n[PLOT TASK]:\nD0\nS0\n[PLOT TASK]:\nD1\nS1"  # grown
    assert sent[3].count("[PLOT TASK]") == 4
    replies = iter(["[FINAL SCORE]: 70", None, "nonsense", "55"])
    fixed = UpstreamSwitches(judge_prompt_grows=False, judge_reuses_previous_score=False)
    assert run(fixed) == [70, None, 0, 0, None, 55]
    assert sent[3] == "JT\n[PLOT TASK]:\nD3\nS3"
