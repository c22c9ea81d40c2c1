"""Processes a test starts and must stop itself: `viscoder serve` servers (by their PID),
and the Ray processes and actors under this test process.

    with viscoder_serve(model, "tiny", tmp_path, "max_model_len=2048") as srv:
        srv["base_url"]
"""

import contextlib
import subprocess
from pathlib import Path

import pytest

from viscoder.serve.process import free_port, start_process, stop_process

__all__ = ["descendant_pids", "free_port", "ray_processes", "viscoder_serve", "wait_for"]


def ray_processes() -> set[int]:
    """PIDs of Ray's daemons and workers on this machine (any owner)."""
    out = subprocess.run(["pgrep", "-f", "raylet|gcs_server|ray::"], capture_output=True, text=True)
    return {int(p) for p in out.stdout.split()}


def descendant_pids(marker: str) -> list[int]:
    """Processes under this test process (its own local Ray) whose command line has
    ``marker``, e.g. a Ray actor's class name."""
    import psutil

    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if marker in " ".join(proc.cmdline()):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


def wait_for(condition, timeout_s: float, what: str, interval_s: float = 0.2):
    """Poll ``condition()`` until it returns something truthy and return that; fail the test
    with ``what`` after ``timeout_s``. A bound on waiting for an event, not a speed claim:
    set it far above what the event takes on a loaded machine."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)


@contextlib.contextmanager
def viscoder_serve(model, model_id: str, log_dir, *extra: str):
    """`viscoder serve` on 127.0.0.1 in its own session, stopped by its own PID at the end
    (if the test has not stopped it). Yields {"base_url", "proc", "log", "ray_before"}."""
    pytest.importorskip("vllm")
    from viscoder.serve.server import ServeFailed

    before = ray_processes()
    log = Path(log_dir) / f"serve-{model_id}.log"
    try:
        proc, base = start_process(model, model_id, free_port(), log, *extra, timeout_s=600)
    except ServeFailed as exc:
        pytest.fail(str(exc))
    try:
        yield {"base_url": base, "proc": proc, "log": log, "ray_before": before}
    finally:
        stop_process(proc)
