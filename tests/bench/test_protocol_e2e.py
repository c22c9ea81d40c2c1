"""``viscoder bench --protocol pandasplotbench`` end to end against a local scripted endpoint:
upstream's verdicts, its correction turns (with the third-round duplication), its judge pass
and statistics; then replay of saved answers, ``rescore`` under another protocol, and
``bench compare`` refusing to mix protocols."""

import json
import subprocess
import sys

import pytest

from tests.conftest import SHARED
from tests.support.bench_data import script_policy, write_task_rows
from tests.support.scripted_endpoint import ScriptedEndpoint

GOOD = "```python\nimport matplotlib.pyplot as plt\nplt.plot(df['x'], df['y'])\nplt.savefig('p.png')\n```"
# passes under viscoder (data.csv is in the working folder there), fails upstream: not one of
# the four spellings CPG gather_code replaces, and the kernel's folder has no data.csv
OWN_LOAD = ("```python\nimport pandas as pd\nimport matplotlib.pyplot as plt\n"
            "data = pd.read_csv('data.csv')\nplt.plot(data['x'], data['y'])\nplt.show()\n```")
KEYERROR = "```python\nimport matplotlib.pyplot as plt\nplt.plot(df['nope'])\nplt.show()\n```"
NOPLOT = "```python\nimport matplotlib.pyplot as plt\nprint(len(df))\n```"
SCRIPT = {"TASK-A": [GOOD], "TASK-B": [KEYERROR, GOOD], "TASK-C": [NOPLOT], "TASK-D": [OWN_LOAD]}


policy = script_policy(SCRIPT)


@pytest.fixture(scope="module")
def bench_data(tmp_path_factory):
    return write_task_rows(tmp_path_factory.mktemp("data") / "ppb.jsonl", SCRIPT,
                           description=" Plot Description: y against x ({key}).",
                           style=" Plot Style Description: plain.",
                           code_data='import pandas as pd\ndf = pd.read_csv("data.csv")\n')


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "viscoder.cli", "bench", *map(str, args), "--quiet"],
                          capture_output=True, text=True, timeout=600)


def test_pandasplotbench_protocol_then_rescore_and_compare(bench_data, tmp_path):
    out = tmp_path / "ppb"
    with ScriptedEndpoint(policy) as ep:
        proc = run_cli("--protocol", "pandasplotbench", "--data", bench_data, "--library", "matplotlib",
                       "--base-url", ep.base_url, "--model", "scripted", "--self-debug-rounds", "3",
                       "--workers", "1", "--judge-base-url", ep.base_url, "--judge-model", "scripted",
                       "--out", out, "sandbox.runtime=default")
        assert proc.returncode == 0, proc.stderr[-3000:]
        summary = json.loads((out / "summary.json").read_text())
        assert summary["protocol"] == "pandasplotbench" and summary["runtime"] == "default"
        assert summary["generator_max_tokens"] == 5000
        # A passes (savefig -> show), B fixed at round 1, C never plots, D reads its own file
        assert summary["exec_pass_rate"] == pytest.approx([25.0, 50.0, 50.0, 50.0])
        assert summary["error_types"][0] == {"KeyError": 1, "NoPlot": 1, "FileNotFoundError": 1}
        records = {r["id"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
        assert records["2"]["attempts"][0]["upstream_error"] == "Unexpected Error"
        assert records["0"]["attempts"][0]["code"].endswith("plt.show()")

        # round 3 of C: system, task, then (code, error) pairs with the first debug pair twice
        convo = next(c for k, c in ep.conversations.items() if "TASK-C" in k)
        assert len(convo) == 4 and [m["role"] for m in convo[3]].count("assistant") == 4
        assert convo[1][3]["content"].startswith("The above code failed with the following error:\n"
                                                 "Unexpected Error\nPlease provide")
        assert convo[3][4]["content"] == convo[3][6]["content"]  # the duplicated debug answer

        # judge: round 0 of every task, then every debug attempt with a plot; no plot -> 0
        stats = summary["judge_upstream"]["stats"]
        assert stats["normal"]["task"]["mean"] == int(80 / 4)  # only A had a plot at round 0
        assert stats["attempt_0"]["task"]["mean"] == int(160 / 4)  # B's round-1 plot scored 80
        assert summary["judge_upstream"]["judge_calls"] == 4  # (A0, B1) x (vis, task)
        page = (out / "report.html").read_text()
        assert "pandasplotbench" in page and "&lt;" not in page.split("<h2>Tasks")[0]

    # the same answers, no model: replayed and scored under our protocol
    re_out = tmp_path / "rescored"
    proc = run_cli("rescore", out, "--protocol", "viscoder", "--runtime", "default", "--no-judge",
                   "--out", re_out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    again = json.loads((re_out / "summary.json").read_text())
    assert again["protocol"] == "viscoder" and again["answers"].endswith("results.jsonl")
    # D passes here (data.csv is in the working folder); C's saved answers stop at round 3
    assert again["exec_pass_rate"][0] == pytest.approx(50.0)

    proc = subprocess.run([sys.executable, "-m", "viscoder.cli", "bench", "compare", out, re_out,
                           "--plot", tmp_path / "c.png"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "different protocols" in proc.stderr and "rescore" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "viscoder.cli", "bench", "compare", out, re_out,
                           "--mix-protocols", "--plot", tmp_path / "c.png"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "pandasplotbench" in proc.stdout


def test_answers_file_replay(bench_data, tmp_path):
    answers = tmp_path / "answers.jsonl"
    answers.write_text("\n".join(json.dumps({"id": str(k), "round": 0, "answer": a})
                                 for k, a in enumerate([GOOD, KEYERROR, NOPLOT, GOOD])) + "\n"
                       + json.dumps({"id": "1", "round": 1, "answer": GOOD}) + "\n")
    out = tmp_path / "replay"
    proc = run_cli("--protocol", "pandasplotbench", "--answers", answers, "--data", bench_data,
                   "--library", "matplotlib", "--no-judge", "--workers", "1", "--self-debug-rounds", "2",
                   "--out", out, "sandbox.runtime=default")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == "answers:answers" and summary["endpoint_errors"] == 0
    assert summary["exec_pass_rate"] == pytest.approx([50.0, 75.0, 75.0])
    records = {r["id"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    assert records["2"]["attempts"][-1]["status"] == "no_answer"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "answer": "x"}\nnot json\n')
    proc = run_cli("--answers", bad, "--data", bench_data, "--no-judge", "--out", tmp_path / "b")
    assert proc.returncode == 2 and "bad.jsonl:2" in proc.stderr


MATPLOTBENCH = SHARED / "benchmarks" / "matplotbench"
TWO_BLOCKS = ("First the imports:\n```python\nimport matplotlib.pyplot as plt\n```\nThen the plot:\n"
              "```python\nplt.plot([1, 2, 3], [2, 1, 3])\nplt.savefig('novice.png')\nprint('Saved.')\n```")


@pytest.mark.skipif(not MATPLOTBENCH.exists(), reason="no offline MatPlotBench copy")
def test_matplotagent_protocol(tmp_path):
    out = tmp_path / "mpa"
    with ScriptedEndpoint(lambda first_user, round_: TWO_BLOCKS) as ep:
        proc = run_cli("--protocol", "matplotagent", "--data", MATPLOTBENCH, "--limit", "2",
                       "--base-url", ep.base_url, "--model", "scripted", "--workers", "1",
                       "--judge-base-url", ep.base_url, "--judge-model", "scripted", "--out", out,
                       "sandbox.runtime=default")
        assert proc.returncode == 0, proc.stderr[-3000:]
        convo = next(iter(ep.conversations.values()))[0]
    assert [m["role"] for m in convo] == ["user"] and "novice.png" in convo[0]["content"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["protocol"] == "matplotagent" and summary["self_debug_rounds"] == 0
    assert summary["exec_pass_rate"] == [100.0]
    assert summary["judge"]["visual_final"]["mean"] == 80.0
    record = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    assert record["attempts"][0]["code"] == ("import matplotlib.pyplot as plt\n"
                                            "plt.plot([1, 2, 3], [2, 1, 3])\nplt.savefig('novice.png')\n"
                                            "print('Saved.')")


def test_matplotagent_success_rule_and_parsing():
    from viscoder.bench import matplotagent as mpa

    # agents/utils.py is_run_code_success: any "Error:" in the output fails, warnings do not
    assert mpa.succeeded("UserWarning: careful\n") and not mpa.succeeded("ValueError: x")
    assert not mpa.succeeded("printed Error: by the script itself")
    # evaluation/average_score_calc.py: the first "[FINAL SCORE]: N", 1-3 digits
    assert mpa.parse_score("[FINAL SCORE]: 70 then [FINAL SCORE]: 10") == 70
    assert mpa.parse_score("[FINAL SCORE] 70") is None
    # PlotAgent.get_code2: no fences, from the first import to the call naming the file
    text = "Sure.\nimport matplotlib.pyplot as plt\nplt.plot([1])\nplt.savefig('novice.png')\nDone."
    assert mpa.gather_code(text) == "import matplotlib.pyplot as plt\nplt.plot([1])\nplt.savefig('novice.png')"
