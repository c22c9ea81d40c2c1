"""Session fixtures shared by every test folder. The helpers themselves live in tests/support/
(one place, outside the product package); the names below are re-exported for the tests that
import them from here."""

import os

import pytest

from tests.support.paths import EXAMPLES, REPO, SHARED, has_chromium
from tests.support.processes import descendant_pids, free_port, ray_processes, viscoder_serve
from viscoder.sandbox import Sandbox, SandboxConfig

__all__ = ["EXAMPLES", "REPO", "SHARED", "descendant_pids", "free_port", "has_chromium",
           "needs_chromium", "ray_processes", "viscoder_serve"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")

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


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    from viscoder.serve.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_server(tiny_model, tmp_path_factory):
    """`viscoder serve` with the tiny model, shared by the bench, data and serve tests. No test
    may stop it: a test that stops a server starts its own (tests/serve/test_serve.py)."""
    with viscoder_serve(tiny_model, "tiny", tmp_path_factory.mktemp("serve"),
                        "max_model_len=2048") as info:
        yield info
