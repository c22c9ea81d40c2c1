"""The one sandbox of viscoder: runs untrusted plotting code, shared by data and bench.

See ``executor.py`` for the library API and ``python -m viscoder.sandbox --help`` (the same as
``viscoder exec``) for the command line.
"""

from viscoder.sandbox.config import SandboxConfig
from viscoder.sandbox.executor import ExecTask, Sandbox, SandboxPool, WorkerUnavailable
from viscoder.sandbox.result import ExecResult, ExecStatus, Figure

__all__ = ["ExecResult", "ExecStatus", "ExecTask", "Figure", "Sandbox", "SandboxConfig",
           "SandboxPool", "WorkerUnavailable"]
