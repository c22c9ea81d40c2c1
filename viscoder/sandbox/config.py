"""Settings of the sandbox: limits, isolation and figure capture.

Defaults follow the published benchmark harness (10 s per script) and leave room for
real plotting scripts (pandas + seaborn + a PNG render) while bounding hostile ones.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from viscoder.config import StrictConfig

DEFAULT_PRELOAD = [
    "numpy",
    "pandas",
    "matplotlib",
    "matplotlib.pyplot",
    "mpl_toolkits.mplot3d",
    "seaborn",
    "plotly.graph_objects",
    "plotly.express",
    "plotly.subplots",
    "plotly.io",
    "plotly.offline",
]


class SandboxConfig(StrictConfig):
    backend: Literal["fork", "jupyter"] = Field(
        "fork",
        description="fork: warm worker forking a jailed child per script (fast, isolated); "
        "jupyter: a fresh nbclient kernel per script (the paper's harness, slow, no jail)",
    )
    timeout_s: float = Field(10.0, gt=0, description="wall-clock limit per script")
    interrupt_grace_s: float = Field(
        2.0, ge=0, description="after SIGINT at the timeout, how long before SIGKILL"
    )
    memory_mb: int = Field(
        2048, ge=64, description="address space a script may allocate on top of the warm interpreter"
    )
    max_file_mb: int = Field(64, ge=1, description="largest file a script may write")
    scratch_mb: int = Field(512, ge=16, description="all files of one script together (tmpfs)")
    max_open_files: int = Field(256, ge=32)
    max_threads: int = Field(64, ge=4, description="threads per script (enforced with a per-worker uid)")
    isolation: Literal["auto", "strict", "none"] = Field(
        "auto",
        description="auto: the strongest jail this machine allows, with a warning when it is "
        "partial; strict: refuse to start without namespaces and seccomp; none: limits only",
    )
    sandbox_uid_base: int = Field(
        61000, ge=1000, description="when started as root, worker k runs scripts as uid base+k"
    )
    output_limit_bytes: int = Field(16384, ge=256, description="stdout/stderr kept per script")
    traceback_limit_chars: int = Field(4000, ge=200)
    dpi: int = Field(100, ge=30, le=600)
    count_unshown_plotly: bool = Field(
        False,
        description="count plotly figures that were built but never shown or written "
        "(the published harness does not)",
    )
    render_plotly: bool = Field(True, description="render plotly figures to PNG (needs Chromium)")
    preload: list[str] = Field(default_factory=lambda: list(DEFAULT_PRELOAD))
    extra_readonly_paths: list[str] = Field(
        default_factory=list, description="host paths scripts may read (e.g. a shared data folder)"
    )
    worker_start_timeout_s: float = Field(180.0, gt=0)
