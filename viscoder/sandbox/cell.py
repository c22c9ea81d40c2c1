"""Notebook-cell mode of the sandbox: run the code as one cell of an IPython kernel, the way the
published PandasPlotBench harness does (nbclient + ipykernel, ``eval/PandasPlotBench/
plotting_benchmark/vis_generator.py`` of TIGER-AI-Lab/VisCoder), inside the jailed child.

A real ``IPython.core.interactiveshell.InteractiveShell`` runs the cell, so magics,
``display()``, ``%matplotlib inline``'s post-execute flush of open figures and "only the last
statement of the cell is displayed" behave as in the kernel. What counts is what a notebook's
outputs would hold:

- every ``display_data`` with an ``image/png`` is a figure (an ``execute_result`` is not);
- the last error output (the kernel's traceback lines, with their ANSI colours) is the error;
  errors the shell reports from display formatters and post-execute callbacks count too,
  as they do in a kernel;
- SIGINT (the worker's timeout) raises KeyboardInterrupt in the cell, as nbclient's
  ``interrupt_on_timeout`` does.

Plotly's ``png`` renderer is the one exception to "everything happens in here": the figure is
validated and shown here (``fig.show()`` goes through plotly's renderer machinery and IPython's
display as in the kernel), but its PNG is drawn by the sandbox's jailed renderer outside this
process, so the display_data entry carries the figure JSON instead of kaleido's bytes.

The child calls ``child_cell`` when the run request's mode is ``"cell"``. Imports: the stdlib
at module level; IPython, matplotlib and plotly (runtime libraries) inside functions.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

try:  # imported in the warm worker, before the fork: a child pays nothing for it
    import IPython.core.interactiveshell  # noqa: F401
    import matplotlib_inline.backend_inline  # noqa: F401
except ImportError:  # a runtime without IPython: cell mode reports it when asked for
    pass

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
MAX_FIGURES = 32
_PLOTLY_MARK = "viscoder-deferred-plotly:"


class CellRun:
    """The outputs of one cell: figure records in display order and the last error."""

    def __init__(self, capture_dir: str):
        self.capture_dir = capture_dir
        self.figures: list[dict[str, Any]] = []
        self.plotly_json: dict[str, str] = {}
        self.error: dict[str, Any] | None = None

    def display_data(self, data: dict[str, Any]) -> None:
        png = data.get("image/png") if isinstance(data, dict) else None
        if png is None or len(self.figures) >= MAX_FIGURES:
            return
        if isinstance(png, str) and png.startswith(_PLOTLY_MARK):
            fig_json = self.plotly_json.pop(png[len(_PLOTLY_MARK):], None)
            if fig_json is not None:
                self.figures.append({"library": "plotly", "json": fig_json, "shown": True,
                                     "via": "display_data"})
            return
        raw = _png_bytes(png)
        if raw is None:
            return
        name = f"cell_{len(self.figures)}.png"
        with open(os.path.join(self.capture_dir, name), "wb") as fh:
            fh.write(raw)
        # "matplotlib": the worker reads PNG files back for records of that library
        self.figures.append({"library": "matplotlib", "file": name, "shown": True,
                             "via": "display_data"})

    def traceback(self, etype: Any, evalue: Any, stb: list[str]) -> None:
        self.error = {"error_type": getattr(etype, "__name__", str(etype)),
                      "error_message": _message(evalue), "traceback": "\n".join(map(str, stb))}


def _png_bytes(value: Any) -> bytes | None:
    if isinstance(value, bytes):
        return value if value.startswith(b"\x89PNG") else None
    try:
        raw = base64.b64decode(str(value), validate=False)
    except (binascii.Error, ValueError):
        return None
    return raw if raw.startswith(b"\x89PNG") else None


def _message(evalue: Any) -> str:
    try:
        return str(evalue)[:2000]
    except Exception:  # a hostile __str__
        return "<unprintable error>"


def make_shell(run: CellRun, execution_count: int = 1) -> Any:
    """An InteractiveShell whose display publisher and traceback display feed ``run``, with
    the kernel's default matplotlib backend (ipykernel sets MPLBACKEND to the inline one)
    and plotly's ``png`` renderer deferring its drawing to the sandbox's renderer."""
    os.environ["MPLBACKEND"] = INLINE_BACKEND
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class Publisher(DisplayPublisher):
        def publish(self, data: Any, metadata: Any = None, source: Any = None, *,
                    transient: Any = None, update: bool = False, **kwargs: Any) -> None:
            run.display_data(data)

        def clear_output(self, wait: bool = False) -> None:
            return None

    class CellShell(InteractiveShell):
        def _showtraceback(self, etype: Any, evalue: Any, stb: list[str]) -> None:
            run.traceback(etype, evalue, stb)  # ipykernel sends exactly these lines

        def enable_gui(self, gui: Any = None) -> None:  # no event loop in a sandbox
            return None

    config = Config()
    config.HistoryManager.enabled = False  # no sqlite history in the jail
    config.InteractiveShell.colors = "Neutral"  # ipykernel's default scheme
    shell = CellShell.instance(config=config, display_pub_class=Publisher)
    shell.execution_count = max(1, int(execution_count))
    _kernel_matplotlib_default()
    _defer_plotly_png(run)
    return shell


def _kernel_matplotlib_default() -> None:
    try:
        import matplotlib
        import matplotlib.pyplot as plt
    except ImportError:
        return
    matplotlib.rcParams["backend"] = INLINE_BACKEND
    plt.switch_backend(INLINE_BACKEND)
    matplotlib.interactive(False)  # a kernel without %matplotlib is not interactive


def _defer_plotly_png(run: CellRun) -> None:
    try:
        import plotly.io as pio
        from plotly.io._renderers import PngRenderer
    except ImportError:
        return

    class DeferredPng(PngRenderer):
        """Keeps the renderer's name, options and validation; hands the figure JSON out
        instead of calling kaleido in the jail."""

        def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, str]:
            key = str(len(run.plotly_json))
            run.plotly_json[key] = pio.to_json(fig_dict, validate=False)
            return {"image/png": _PLOTLY_MARK + key}

    previous = pio.renderers["png"]
    pio.renderers["png"] = DeferredPng(width=previous.width, height=previous.height,
                                       scale=previous.scale)


def run_cell(shell: Any, run: CellRun, source: str) -> dict[str, Any]:
    """Run one cell and report in the child's format (see ``child.run_script``)."""
    interrupted = False
    try:
        result = shell.run_cell(source, store_history=True)
        interrupted = isinstance(result.error_in_exec, KeyboardInterrupt)
    except KeyboardInterrupt:  # SIGINT outside the cell's own code (in IPython itself)
        interrupted = True
        if run.error is None:
            run.error = {"error_type": "KeyboardInterrupt", "error_message": "",
                         "traceback": "KeyboardInterrupt"}
    report: dict[str, Any] = {"outcome": "completed", "figures": run.figures}
    if run.error is not None:
        report.update(run.error)
        report["outcome"] = "interrupted" if interrupted else "exception"
    return report


def child_cell(plan: Any, capture_dir: str, install_seccomp: Any) -> dict[str, Any]:
    """The child's entry: set the shell up while still trusted, lock down, run the cell."""
    run = CellRun(capture_dir)
    shell = make_shell(run, int(getattr(plan, "cell_number", 1) or 1))
    if plan.isolation.seccomp:
        install_seccomp()
    return run_cell(shell, run, plan.code)
