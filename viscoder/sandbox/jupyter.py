"""The paper's harness: a fresh Jupyter kernel per script, through nbclient.

Kept as the faithful baseline (the benchmark script compares the fork backend against it) and
for users who want notebook semantics exactly. It has no jail: the kernel runs as the caller,
in a temporary working folder, with a hard wall-clock kill on top of nbclient's interrupt
(nbclient's ``interrupt_on_timeout`` alone waits forever for a script that ignores SIGINT).

Outputs are read the way the published harness reads them: PNG display outputs are the
images (``%matplotlib inline``; plotly with the ``png`` renderer), an error output is the
failure. A small probe installed in the kernel records whether each figure was blank.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
import time
from typing import Any

from viscoder.sandbox.config import SandboxConfig
from viscoder.sandbox.errors import bound_text, strip_ansi
from viscoder.sandbox.files import place_files

_PROBE_MARK = "__viscoder_probe__"

_SETUP = """
%matplotlib inline
import json as _json, matplotlib.pyplot as _plt, plotly.io as _pio
from matplotlib_inline import backend_inline as _bi
from viscoder.sandbox.capture import matplotlib_figure_blank as _mpl_blank, plotly_figure_blank as _ply_blank
_pio.renderers.default = "png"
_vc_records = []
def _vc_before_flush():
    for _n in _plt.get_fignums():
        _vc_records.append({"library": "matplotlib", "blank": _mpl_blank(_plt.figure(_n))})
_vc_show = _plt.show
def _vc_plt_show(*a, **k):
    _vc_before_flush()
    return _vc_show(*a, **k)
_plt.show = _vc_plt_show
_vc_pio_show = _pio.show
def _vc_show_plotly(fig, *a, **k):
    _vc_records.append({"library": "plotly", "blank": _ply_blank(fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else fig)})
    return _vc_pio_show(fig, *a, **k)
_pio.show = _vc_show_plotly
def _vc_recorder(_real):
    def _written(fig, *a, **k):
        _d = fig if isinstance(fig, dict) else fig.to_plotly_json()
        _vc_records.append({"library": "plotly", "written": True, "blank": _ply_blank(_d),
                            "json": _pio.to_json(fig)})
        return _real(fig, *a, **k)
    return _written
_pio.write_image = _vc_recorder(_pio.write_image)
_pio.write_html = _vc_recorder(_pio.write_html)
get_ipython().events.register("post_execute", _vc_before_flush)
try:
    get_ipython().events.unregister("post_execute", _bi.flush_figures)
    get_ipython().events.register("post_execute", _bi.flush_figures)
except ValueError:
    pass
"""

_REPORT = f"print({_PROBE_MARK!r} + _json.dumps(_vc_records))"


class JupyterBackend:
    def __init__(self, config: SandboxConfig):
        try:
            import nbclient  # noqa: F401
            import nbformat  # noqa: F401
        except ImportError as exc:
            raise RuntimeError("the jupyter backend needs nbclient, nbformat and ipykernel "
                               "(pip install 'viscoder[jupyter]')") from exc
        self.config = config

    def close(self) -> None:
        pass

    def execute(self, request: dict[str, Any]) -> dict[str, Any]:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellTimeoutError, DeadKernelError

        timeout = float(request["timeout_s"])
        workdir = tempfile.mkdtemp(prefix="viscoder-nb-")
        try:
            place_files(workdir, request.get("files") or {})
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_SETUP),
                                                 nbformat.v4.new_code_cell(request["code"]),
                                                 nbformat.v4.new_code_cell(_REPORT)])
            code_cell = nb.cells[1]
            # The hard kill is armed when the script's cell starts: nbclient's own interrupt
            # comes first, this catches scripts that ignore it.
            killer = _KernelKiller()
            watchdog = threading.Timer(timeout + self.config.interrupt_grace_s + 3, killer.kill)

            def arm(cell: Any, cell_index: int, **_: Any) -> None:
                if cell_index == 1:
                    watchdog.start()

            client = NotebookClient(
                nb, kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
                timeout_func=lambda cell: timeout if cell is code_cell else 120,
                startup_timeout=120, resources={"metadata": {"path": workdir}},
                on_cell_execute=arm)
            killer.client = client
            start = time.monotonic()
            failure: dict[str, Any] | None = None
            try:
                client.execute()
            except CellTimeoutError:
                failure = {"status": "timeout", "error_type": "TimeoutError",
                           "error_message": f"did not finish in {timeout:g} s"}
            except DeadKernelError as exc:
                failure = {"status": "timeout" if killer.killed else "crashed",
                           "error_type": "DeadKernelError", "error_message": str(exc)[:500]}
            finally:
                watchdog.cancel()
                killer.kill()
            duration = time.monotonic() - start
            reply = self._read_outputs(code_cell, nb.cells[2], timeout)
            if failure:
                reply.update(failure)
                reply["figures"] = []
            reply["duration_s"] = duration
            return reply
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _read_outputs(self, cell: Any, report_cell: Any, timeout: float) -> dict[str, Any]:
        limit = self.config.output_limit_bytes
        stdout, stderr, pngs = [], [], []
        reply: dict[str, Any] = {"status": "completed", "error_type": None,
                                 "error_message": None, "traceback": None}
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                (stdout if out.get("name") == "stdout" else stderr).append(out.get("text", ""))
            elif kind in ("display_data", "execute_result") and "image/png" in out.get("data", {}):
                pngs.append(out["data"]["image/png"])
            elif kind == "error":
                ename = out.get("ename", "Error")
                reply.update(error_type=ename, error_message=bound_text(out.get("evalue", ""), 2000),
                             traceback=bound_text(strip_ansi("\n".join(out.get("traceback", []))),
                                                  self.config.traceback_limit_chars))
                if ename == "KeyboardInterrupt":
                    reply.update(status="timeout", error_message=f"interrupted at the {timeout:g} s limit")
                elif ename == "MemoryError":
                    reply["status"] = "memory"
                else:
                    reply["status"] = "error"
        records = _probe_records(report_cell)
        displayed = [r for r in records if not r.get("written")]
        figures = []
        for k, png in enumerate(pngs):
            rec = displayed[k] if k < len(displayed) else {"library": "matplotlib", "blank": False}
            figures.append({"library": rec["library"], "blank": rec["blank"], "shown": True,
                            "via": "display", "png_b64": png.replace("\n", "")})
        # Written (not shown) plotly figures count as plots, as in the fork backend.
        figures += [{"library": "plotly", "blank": r["blank"], "shown": True, "via": "write",
                     "json": r["json"]} for r in records if r.get("written")]
        reply["figures"] = figures if reply["status"] in ("completed", "error") else []
        reply["stdout"] = bound_text("".join(stdout), limit)
        reply["stderr"] = bound_text("".join(stderr), limit)
        return reply


def _probe_records(report_cell: Any) -> list[dict[str, Any]]:
    for out in report_cell.get("outputs", []):
        text = out.get("text", "")
        if out.get("output_type") == "stream" and _PROBE_MARK in text:
            try:
                return json.loads(text.split(_PROBE_MARK, 1)[1])
            except ValueError:
                return []
    return []


class _KernelKiller:
    """Kills the kernel's whole process group: whatever the script started dies with it."""

    def __init__(self) -> None:
        self.client: Any = None
        self.killed = False

    def kill(self) -> None:
        km = getattr(self.client, "km", None)
        process = getattr(getattr(km, "provisioner", None), "process", None)
        if process is None or process.poll() is not None:
            return
        self.killed = True
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
