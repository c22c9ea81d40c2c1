"""The jobs/ wrappers against a real Ray head: `ray start --head` on loopback ports (its own
process group, stopped by its own PID), a stage submitted through jobs/data.sh, SUCCEEDED,
and its progress readable with `ray job logs`."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.paths import REPO
from tests.support.processes import free_port

pytestmark = pytest.mark.slow
VENV_BIN = Path(sys.executable).parent


@pytest.fixture()
def ray_head(tmp_path):
    port, dashboard, agent = free_port(), free_port(), free_port()
    # Token authentication on both sides: the head writes ~/.ray/auth_token, the CLI sends it.
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "RAY_AUTH_MODE": "token"}
    env.pop("RAY_ADDRESS", None)
    log = tmp_path / "head.log"
    # Ray's socket paths must stay under 108 bytes: pytest's tmp_path is too deep for them.
    temp_dir = tempfile.mkdtemp(prefix="vray-", dir="/tmp")
    with open(log, "w") as fh:
        head = subprocess.Popen(
            [str(VENV_BIN / "ray"), "start", "--head", "--block", f"--port={port}",
             "--node-ip-address=127.0.0.1", "--dashboard-host=127.0.0.1",
             f"--dashboard-port={dashboard}", "--num-cpus=2",
             # The job agent's HTTP port is fixed (52365) by default: any other Ray on this
             # machine (a test's local ray.init, a user's session) holds it, and then this
             # head never gets a job agent ("No available agent to submit job").
             f"--dashboard-agent-listen-port={agent}",
             f"--temp-dir={temp_dir}"],
            stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    address = f"http://127.0.0.1:{dashboard}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if head.poll() is not None:
            pytest.fail(f"ray start exited:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(f"{address}/api/version", timeout=2)
            break
        except urllib.error.HTTPError:  # it answers (token auth may refuse us): it is up
            break
        except OSError:
            time.sleep(1)
    else:
        os.killpg(head.pid, signal.SIGKILL)
        pytest.fail(f"the Ray head did not come up:\n{log.read_text()[-3000:]}")
    yield {"address": address, "env": {**env, "RAY_ADDRESS": address}, "log": log}
    os.killpg(head.pid, signal.SIGTERM)  # `ray start --block` stops its own processes
    try:
        head.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait()
    shutil.rmtree(temp_dir, ignore_errors=True)


def test_a_stage_runs_as_a_ray_job(ray_head, tmp_path):
    out = tmp_path / "data-out"
    env = {**ray_head["env"], "RAY_JOB_SUBMIT_ARGS": "--no-wait --submission-id viscoder-test-data"}
    # A fresh head answers before its job agent is up ("No available agent to submit job,
    # please try again later"): try again, as Ray asks, for up to two minutes.
    deadline = time.monotonic() + 120
    while True:
        submit = subprocess.run([str(REPO / "jobs" / "data.sh"), "--config", "configs/tiny/data.yaml",
                                 f"output_dir={out}", "exec_actors=1"],
                                cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        if submit.returncode == 0 or "No available agent" not in submit.stderr + submit.stdout \
                or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert submit.returncode == 0, submit.stdout + submit.stderr + ray_head["log"].read_text()[-3000:]

    def ray_job(*args):
        return subprocess.run([str(VENV_BIN / "ray"), "job", *args, "viscoder-test-data"],
                              env=ray_head["env"], capture_output=True, text=True, timeout=60)

    deadline = time.monotonic() + 480
    status = ""
    while time.monotonic() < deadline:
        done = ray_job("status")
        status = (done.stdout + done.stderr).upper()  # Ray logs the status line to stderr
        if any(s in status for s in ("SUCCEEDED", "FAILED", "STOPPED")):
            break
        time.sleep(3)
    logs = ray_job("logs").stdout
    assert "SUCCEEDED" in status, f"{status}\n{logs[-4000:]}"
    assert "[data] export" in logs and "rows in:" in logs
    assert (out / "stats.json").exists() and (out / "dataset").is_dir()
