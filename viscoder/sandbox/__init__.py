"""The one sandbox of viscoder: runs untrusted plotting code, shared by data and bench.

See ``executor.py`` for the library API, ``runtimes.py`` for the pinned interpreters scripts
run under, and ``python -m viscoder.sandbox --help`` (the same as ``viscoder exec``) for the
command line.

The names below are imported on first use, not here: the warm worker imports
``viscoder.sandbox.worker`` under an execution runtime's interpreter, which has the standard
library and the runtime's plotting stack but not pydantic (which the config and result
models need).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SandboxConfig": "viscoder.sandbox.config",
    "ExecTask": "viscoder.sandbox.executor",
    "Sandbox": "viscoder.sandbox.executor",
    "SandboxPool": "viscoder.sandbox.executor",
    "WorkerUnavailable": "viscoder.sandbox.executor",
    "ExecResult": "viscoder.sandbox.result",
    "ExecStatus": "viscoder.sandbox.result",
    "Figure": "viscoder.sandbox.result",
    "Runtime": "viscoder.sandbox.runtimes",
    "RuntimeUnavailable": "viscoder.sandbox.runtimes",
    "available_runtimes": "viscoder.sandbox.runtimes",
    "get_runtime": "viscoder.sandbox.runtimes",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
