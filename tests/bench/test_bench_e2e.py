"""End to end on CPU: `viscoder bench` against a real local OpenAI-compatible server that was
made to fail and fix specific tasks at specific rounds; the per-round pass rates, the turn
structure, retries, resume, the judge path and the report page are checked."""

import json
import subprocess
import sys

import pytest

from tests.conftest import has_chromium
from tests.support.bench_data import script_policy, write_task_rows
from tests.support.scripted_endpoint import ScriptedEndpoint

GOOD = "```python\nimport pandas as pd\nimport matplotlib.pyplot as plt\ndf = pd.read_csv('data.csv')\nplt.plot(df['x'], df['y'])\nplt.show()\n```"
KEYERROR = "Here you go:\n```python\nimport pandas as pd\ndf = pd.read_csv(\"data.csv\")\ndf.plot(x='nope', y='y')\n```"
NOPLOT = "```python\nimport pandas as pd\ndf = pd.read_csv('data.csv')\nprint(df.shape)\n```"

# task key -> answers by round (None past the end repeats the last)
SCRIPT = {
    "TASK-A": [GOOD],                                  # passes at round 0
    "TASK-B": [KEYERROR, GOOD],                        # fixed at round 1
    "TASK-C": [KEYERROR, KEYERROR, GOOD],              # fixed at round 2
    "TASK-D": [KEYERROR],                              # never
    "TASK-E": [NOPLOT, GOOD],                          # no plot, fixed at round 1
    "TASK-F": [GOOD],                                  # 500 twice first (retried), then passes
}
EXPECTED_RATES = [2 / 6 * 100, 4 / 6 * 100, 5 / 6 * 100, 5 / 6 * 100]


policy = script_policy(SCRIPT)


@pytest.fixture(scope="module")
def bench_data(tmp_path_factory):
    return write_task_rows(tmp_path_factory.mktemp("data") / "ppb.jsonl", SCRIPT,
                           description=" Plot Description: a line of y against x ({key}).",
                           style=" Plot Style Description: default style.",
                           code_data="import pandas as pd\ndf = pd.read_csv('data.csv')\n")


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "viscoder.cli", "bench", *map(str, args), "--quiet"],
                          capture_output=True, text=True, timeout=600)


def test_bench_end_to_end_with_self_debug(bench_data, tmp_path):
    out = tmp_path / "run"
    with ScriptedEndpoint(policy, faults={"TASK-F": (500, 2)}) as ep:
        args = ["--benchmark", "pandasplotbench", "--data", bench_data, "--library", "matplotlib",
                "--base-url", ep.base_url, "--model", "scripted", "--self-debug-rounds", "3",
                "--workers", "2", "--judge-base-url", ep.base_url, "--judge-model", "scripted",
                "--out", out, "generator.max_retries=3", "judge.max_retries=1"]
        proc = run_cli(*args)
        assert proc.returncode == 0, proc.stderr[-3000:]
        summary = json.loads((out / "summary.json").read_text())
        assert summary["n_tasks"] == 6 and summary["library"] == "matplotlib"
        assert summary["model"] == "scripted"
        assert summary["exec_pass_rate"] == pytest.approx(EXPECTED_RATES, abs=0.01)
        assert summary["error_types"][0] == {"KeyError": 3, "NoPlot": 1}
        assert summary["error_types"][3] == {"KeyError": 1}
        assert summary["endpoint_errors"] == 0
        judge = summary["judge"]
        assert judge["visual_final"]["mean"] == pytest.approx((5 * 80) / 6, abs=0.01)
        assert judge["task_round0"]["n_scored"] == 6

        records = {r["id"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
        assert [records[str(k)]["passed_round"] for k in range(6)] == [0, 1, 2, None, 1, 0]
        assert len(records["3"]["attempts"]) == 4
        assert records["1"]["attempts"][0]["error_type"] == "KeyError"
        assert all(p.startswith("images/") for p in records["1"]["attempts"][1]["images"])

        # the conversation of round 2 of TASK-C: one assistant/user pair per failed attempt
        convo = next(c for k, c in ep.conversations.items() if "TASK-C" in k)
        assert [m["role"] for m in convo[2]] == ["system", "user", "assistant", "user", "assistant", "user"]
        assert convo[2][2]["content"].startswith("```python\nimport pandas as pd\ndf = pd.read_csv('data.csv')")
        assert "KeyError" in convo[2][3]["content"] and "still failed" in convo[2][5]["content"]
        assert ep.fault_counts["TASK-F"] == 2  # retried through two 500s

        # resume: nothing is asked again, same numbers
        before = sum(ep.requests.values())
        proc = run_cli(*args)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert sum(ep.requests.values()) == before
        assert json.loads((out / "summary.json").read_text())["exec_pass_rate"] == summary["exec_pass_rate"]

    assert (out / "pass_rate.png").read_bytes().startswith(b"\x89PNG")
    page = (out / "report.html").read_text()
    assert "TASK" not in page or "task 2" in page
    assert "reference/" in page and "pass_rate.png" in page
    if has_chromium():
        shot = tmp_path / "report.png"
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update",
                        f"--user-data-dir={tmp_path / 'chrome'}", f"--screenshot={shot}",
                        "--window-size=1280,2000", (out / "report.html").as_uri()],
                       capture_output=True, timeout=120)
        assert shot.exists() and shot.stat().st_size > 20_000


def test_endpoint_down_is_recorded_and_run_finishes(bench_data, tmp_path):
    out = tmp_path / "down"
    proc = run_cli("--data", bench_data, "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                   "--no-judge", "--limit", "2", "--workers", "1", "--out", out,
                   "generator.max_retries=1", "generator.timeout_s=2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["endpoint_errors"] == 2 and summary["exec_pass_rate"][0] == 0.0
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(x)["endpoint_error"] for x in lines)


def test_clear_errors_for_bad_invocations(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    proc = run_cli("--data", tmp_path / "missing", "--model", "m", "--no-judge", "--out", tmp_path / "o")
    assert proc.returncode == 2 and "not found" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "viscoder.cli", "bench", "--model", "m", "--out",
                           str(tmp_path / "o")], capture_output=True, text=True,
                          env={k: v for k, v in __import__("os").environ.items() if k != "OPENAI_API_KEY"})
    assert proc.returncode == 2 and "--no-judge" in proc.stderr
