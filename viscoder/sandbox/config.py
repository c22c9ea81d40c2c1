"""Settings of the sandbox: the execution runtime, limits, isolation and figure capture.

Defaults follow the published benchmark harness (10 s per script) and leave room for
real plotting scripts (pandas + seaborn + a PNG render) while bounding hostile ones.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from viscoder.config import StrictConfig


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
        description="auto: on Linux the full jail (namespaces, seccomp, uid drop) or refuse to "
        "run; elsewhere limits only, with a warning; strict: refuse anywhere without the full "
        "jail; none: limits only (scripts can read the user's files and reach the network)",
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
    render_budget_s: float = Field(
        20.0, gt=0, description="rendering time of one script's plotly figures together; a "
        "figure over it gets render_error 'render budget exceeded' (see sandbox/render.py)"
    )
    render_budget_pixels: int = Field(
        40_000_000, ge=10_000, description="pixels of one script's plotly figures together"
    )
    render_max_side: int = Field(4096, ge=100, le=16384, description="plotly figure width/height cap")
    runtime: str = Field(
        "default",
        description="execution runtime scripts run under: a pinned interpreter declared in "
        "viscoder/sandbox/runtimes/NAME.toml and built in .runtimes/NAME (see runtimes.py)",
    )
    runtime_versions: dict[str, str] = Field(
        default_factory=dict,
        description="recorded, not a setting: the runtime's python and library versions, "
        "filled in by resolve_runtime() when a run writes its config (provenance)",
    )
    preload: list[str] = Field(
        default_factory=list,
        description="modules the worker pre-imports on top of the runtime's own preload list",
    )
    extra_readonly_paths: list[str] = Field(
        default_factory=list, description="host paths scripts may read (e.g. a shared data folder)"
    )
    worker_start_timeout_s: float = Field(180.0, gt=0)

    @field_validator("runtime")
    @classmethod
    def _declared_runtime(cls, name: str) -> str:
        # Unknown names fail here, at config load; a declared but unbuilt runtime fails when a
        # sandbox starts (both messages list the built ones and how to build).
        from viscoder.sandbox.runtimes import RuntimeUnavailable, get_runtime

        try:
            get_runtime(name, require_built=False)
        except RuntimeUnavailable as exc:
            raise ValueError(str(exc)) from None
        return name

    def resolve_runtime(self) -> SandboxConfig:
        """This config with ``runtime_versions`` recorded from the built runtime, for the
        resolved config a run writes. Raises ``RuntimeUnavailable`` (listing the built
        runtimes and how to build) when ``runtime`` is not built."""
        from viscoder.sandbox.runtimes import get_runtime

        rt = get_runtime(self.runtime)
        if self.backend == "jupyter":  # its kernels run in this process's environment
            return self.model_copy(update={"runtime_versions": _host_versions(rt.library_versions())})
        return self.model_copy(update={"runtime_versions": {
            "python": rt.python_version or "?", **rt.library_versions()}})

    @property
    def runtime_label(self) -> str:
        """The name outputs record for where scripts ran: a runtime, or ``host`` for the
        jupyter backend, whose kernels use the project's own environment."""
        return "host" if self.backend == "jupyter" else self.runtime


def _host_versions(libraries: dict[str, str]) -> dict[str, str]:
    """This interpreter's versions of the libraries a runtime pins (jupyter backend)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in libraries:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "absent"
    return out
