import contextlib
import os
import shutil
from pathlib import Path

import pytest

from viscoder.sandbox import Sandbox, SandboxConfig
from viscoder.serve.server import free_port

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
EXAMPLES = REPO / "viscoder" / "examples" / "scripts"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def has_chromium() -> bool:
    return any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome"))


needs_chromium = pytest.mark.skipif(not has_chromium(), reason="needs Chromium for plotly PNGs")


@pytest.fixture(scope="session")
def sandbox():
    with Sandbox(SandboxConfig(timeout_s=5, interrupt_grace_s=1)) as sb:
        yield sb


@pytest.fixture(scope="session")
def jailed(sandbox):
    if not sandbox.isolation.get("namespaces"):
        pytest.skip(f"no namespaces on this machine: {sandbox.isolation.get('problems')}")
    return sandbox


def ray_processes() -> set[int]:
    import subprocess

    out = subprocess.run(["pgrep", "-f", "raylet|gcs_server|ray::"], capture_output=True, text=True)
    return {int(p) for p in out.stdout.split()}


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    from viscoder.serve.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@contextlib.contextmanager
def viscoder_serve(model, model_id: str, log_dir, *extra: str):
    """`viscoder serve` on 127.0.0.1 in its own session, stopped by its own PID at the end.
    Yields {"base_url", "proc", "log", "ray_before"}."""
    pytest.importorskip("vllm")
    from viscoder.serve.server import ServeFailed, start_process, stop_process

    before = ray_processes()
    log = Path(log_dir) / "serve.log"
    try:
        proc, base = start_process(model, model_id, free_port(), log, *extra, timeout_s=600)
    except ServeFailed as exc:
        pytest.fail(str(exc))
    try:
        yield {"base_url": base, "proc": proc, "log": log, "ray_before": before}
    finally:
        stop_process(proc)


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


@pytest.fixture(scope="session")
def tiny_server(tiny_model, tmp_path_factory):
    """`viscoder serve` with the tiny model, shared by the bench and serve tests."""
    with viscoder_serve(tiny_model, "tiny", tmp_path_factory.mktemp("serve"),
                        "max_model_len=2048") as info:
        yield info
