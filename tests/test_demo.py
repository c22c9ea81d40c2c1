"""`viscoder demo` end to end (what `make demo` runs): data -> train -> serve -> bench on the
bundled inputs, in a subprocess as a user runs it; the report is written and the server it
started is gone afterwards."""

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.support.paths import REPO

pytestmark = pytest.mark.slow


@pytest.mark.timeout(1500)  # the demo's own budget is 10 minutes on 2 cores; CI may be slower
def test_demo_runs_the_whole_loop(tmp_path):
    pytest.importorskip("vllm")
    out = tmp_path / "demo"
    proc = subprocess.Popen([sys.executable, "-m", "viscoder.cli", "demo", "--out", str(out)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=1400)
    except subprocess.TimeoutExpired:
        # SIGTERM first: the demo then stops the server and the Ray it started, so nothing it
        # left behind slows down or blocks the tests after this one.
        proc.terminate()
        try:
            stdout, stderr = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
        pytest.fail(f"the demo ran over 1400 s:\n{stdout[-3000:]}\n{stderr[-3000:]}")
    assert proc.returncode == 0, stdout[-3000:] + stderr[-3000:]
    for step in ("1/5 tiny model", "2/5 data", "3/5 train", "4/5 serve", "5/5 bench"):
        assert f"=== {step}" in stdout
    assert "no useful code" in stdout and "Qwen/Qwen2.5-Coder-7B-Instruct" in stdout
    assert (out / "bench" / "report.html").exists()
    summary = json.loads((out / "bench" / "summary.json").read_text())
    assert summary["n_tasks"] == 4 and len(summary["exec_pass_rate"]) == 3
    assert (out / "train" / "model" / "model.safetensors").exists()
    assert json.loads((out / "data" / "stats.json").read_text())["accepted"] > 0
