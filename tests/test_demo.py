"""`viscoder demo` end to end (what `make demo` runs): data -> train -> serve -> bench on the
bundled inputs, in a subprocess as a user runs it; the report is written and the server it
started is gone afterwards."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_demo_runs_the_whole_loop(tmp_path):
    pytest.importorskip("vllm")
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "viscoder.cli", "demo", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for step in ("1/5 tiny model", "2/5 data", "3/5 train", "4/5 serve", "5/5 bench"):
        assert f"=== {step}" in proc.stdout
    assert "no useful code" in proc.stdout and "Qwen/Qwen2.5-Coder-7B-Instruct" in proc.stdout
    assert (out / "bench" / "report.html").exists()
    summary = json.loads((out / "bench" / "summary.json").read_text())
    assert summary["n_tasks"] == 4 and len(summary["exec_pass_rate"]) == 3
    assert (out / "train" / "model" / "model.safetensors").exists()
    assert json.loads((out / "data" / "stats.json").read_text())["accepted"] > 0
