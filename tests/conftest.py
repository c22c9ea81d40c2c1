import os
import shutil
from pathlib import Path

import pytest

from viscoder.sandbox import Sandbox, SandboxConfig

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
