"""Figure capture inside the process that runs a script.

Follows what a Jupyter notebook with the inline backend shows, which is what the published
benchmark harness counts: every matplotlib/seaborn figure displayed by ``plt.show()`` or still
open when the script ends, and every plotly figure the script shows or writes. Plotly figures
are handed back as JSON (rendered to PNG later by a trusted renderer outside the jail);
matplotlib figures are rendered here with Agg. Blankness is judged from what was drawn (artists,
traces), not from pixels: an empty set of axes has ticks, labels and dozens of colours.

Used by the forked child (``child.py``) and by the in-process baseline of the benchmark.
"""

from __future__ import annotations

import ast
import builtins
import importlib.abc
import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any

MAX_FIGURES = 32

# Trace attributes that carry data points; a trace with none of them non-empty draws nothing.
_PLOTLY_DATA_KEYS = (
    "x", "y", "z", "values", "r", "theta", "lat", "lon", "locations", "a", "b", "c",
    "dimensions", "cells", "header", "labels", "ids", "open", "high", "low", "close",
    "source", "u", "v", "w", "node", "link", "parents", "text", "value",
)


def matplotlib_figure_blank(fig: Any) -> bool:
    """A figure is blank when none of its axes (nor the figure itself) holds a drawn artist."""
    from matplotlib.collections import PathCollection

    def has_points(artist: Any) -> bool:
        try:
            if hasattr(artist, "get_xydata"):  # Line2D
                return len(artist.get_xydata()) > 0
            if isinstance(artist, PathCollection):  # scatter: one marker path, many offsets
                return len(artist.get_offsets()) > 0
            return len(artist.get_paths()) > 0  # polygons, meshes, line collections
        except Exception:
            return True

    if any(getattr(ax, "name", "") == "3d" for ax in fig.get_axes()):
        # 3D surfaces and bars (Poly3DCollection) have no 2D paths until a draw projects them
        try:
            fig.canvas.draw()
        except Exception:
            pass  # saving the figure reports it as the script's render error
    for ax in fig.get_axes():
        if any(has_points(line) for line in ax.lines):
            return False
        if any(has_points(coll) for coll in ax.collections):
            return False
        if ax.patches or ax.images or ax.tables or ax.texts or getattr(ax, "artists", []):
            return False
    return not (fig.images or fig.texts or fig.lines or fig.patches)


def plotly_figure_blank(fig_dict: dict[str, Any]) -> bool:
    layout = fig_dict.get("layout") or {}
    if layout.get("annotations") or layout.get("shapes") or layout.get("images"):
        return False
    for trace in fig_dict.get("data") or []:
        for key in _PLOTLY_DATA_KEYS:
            value = trace.get(key)
            if value is None:
                continue
            if isinstance(value, dict):
                if value:  # typed arrays ({"dtype", "bdata"}) and sankey node/link
                    return False
            elif isinstance(value, (list, tuple, str)):
                if len(value) > 0:
                    return False
            else:
                return False  # a scalar value (indicator) draws something
    return True


class FigureCapture:
    """Patches pyplot/plotly display functions so that nothing blocks and everything shown is
    recorded. ``finish()`` renders what is still open and returns the figure records."""

    def __init__(self, out_dir: str, dpi: int = 100):
        self.out_dir = out_dir
        self.dpi = dpi
        self.records: list[dict[str, Any]] = []
        self.render_errors: list[BaseException] = []
        self._plotly_fig_type: type | None = None
        self._reentrant = False
        self._seen_plotly: set[int] = set()

    # --- installation -------------------------------------------------------------------
    def install(self) -> None:
        builtins.input = _harmless_input
        self._install_matplotlib()
        self._install_plotly()

    def _install_matplotlib(self) -> None:
        import matplotlib
        import matplotlib.pyplot as plt

        capture = self

        def show(*args: Any, **kwargs: Any) -> None:
            capture.snapshot_open_figures("show")

        def keep_backend(*args: Any, **kwargs: Any) -> None:
            # Scripts written for a desktop ask for TkAgg/Qt; capture needs Agg.
            return None

        plt.show = show
        matplotlib.use = keep_backend
        plt.switch_backend = keep_backend

    def _install_plotly(self) -> None:
        # Importing plotly costs ~70 ms: a child whose worker has not preloaded it (the script
        # does not name it) patches plotly only if and when the script imports it.
        if "plotly" in sys.modules:
            self._patch_plotly()
        else:
            sys.meta_path.insert(0, _AfterImport("plotly", self._patch_plotly))

    def _patch_plotly(self) -> None:
        try:
            import plotly.io as pio
            import plotly.offline as poff
            from plotly.basedatatypes import BaseFigure
        except ImportError:
            return
        self._plotly_fig_type = BaseFigure
        capture = self

        def recorder(via: str, real: Callable[..., Any] | None) -> Callable[..., Any]:
            def wrapped(fig: Any = None, *args: Any, **kwargs: Any) -> Any:
                if not capture._reentrant:
                    capture.record_plotly(fig, via)
                if real is None:
                    return None
                capture._reentrant = True
                try:
                    return real(fig, *args, **kwargs)
                finally:
                    capture._reentrant = False
            return wrapped

        pio.show = recorder("show", None)  # never open a browser
        pio.write_image = recorder("write_image", None)  # rendered outside the jail
        pio.write_html = recorder("write_html", pio.write_html)
        poff.iplot = recorder("show", None)
        poff.plot = recorder("write_html", None)

    # --- recording ----------------------------------------------------------------------
    def _slots_left(self) -> bool:
        return len(self.records) < MAX_FIGURES

    def snapshot_open_figures(self, via: str) -> None:
        import matplotlib.pyplot as plt

        for num in plt.get_fignums():
            fig = plt.figure(num)
            if self._slots_left():
                name = f"fig_{len(self.records)}.png"
                record: dict[str, Any] = {"library": "matplotlib", "via": via, "shown": True}
                try:
                    record["blank"] = matplotlib_figure_blank(fig)
                    fig.savefig(os.path.join(self.out_dir, name), format="png", dpi=self.dpi,
                                bbox_inches="tight")
                    record["file"] = name
                except Exception as exc:  # an unrenderable figure is the script's error
                    record["render_error"] = f"{type(exc).__name__}: {exc}"
                    self.render_errors.append(exc)
                self.records.append(record)
            plt.close(fig)

    def record_plotly(self, fig: Any, via: str, shown: bool = True) -> None:
        if not self._slots_left():
            return
        self._seen_plotly.add(id(fig))
        try:
            if isinstance(fig, dict):
                import plotly.graph_objects as go

                fig = go.Figure(fig)
            fig_json = fig.to_json()
            fig_dict = fig.to_plotly_json()
            blank = plotly_figure_blank(fig_dict)
        except Exception as exc:
            self.records.append({"library": "plotly", "via": via, "shown": shown,
                                 "render_error": f"{type(exc).__name__}: {exc}"})
            return
        self.records.append({"library": "plotly", "via": via, "shown": shown,
                             "json": fig_json, "blank": blank})

    def display_value(self, value: Any) -> None:
        """A trailing expression of a notebook cell is displayed: a plotly figure is shown."""
        if self._plotly_fig_type is not None and isinstance(value, self._plotly_fig_type):
            self.record_plotly(value, "display")

    def finish(self, namespace: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Render the matplotlib figures still open, and record the plotly figures the script
        built (held in its globals) but never showed or wrote, marked ``shown=False``."""
        self.snapshot_open_figures("end")
        if namespace is not None and self._plotly_fig_type is not None:
            for value in list(namespace.values()):
                if isinstance(value, self._plotly_fig_type) and id(value) not in self._seen_plotly:
                    self.record_plotly(value, "unshown", shown=False)
        return self.records


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``callback`` once, right after the top-level package ``name`` is first imported
    (Python has no post-import hook of its own)."""

    def __init__(self, name: str, callback: Callable[[], None]):
        self.name = name
        self.callback = callback

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)  # the other finders' answer
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        real_exec, callback = spec.loader.exec_module, self.callback

        def exec_module(module: Any) -> None:
            real_exec(module)
            callback()

        spec.loader.exec_module = exec_module
        return spec


def _harmless_input(prompt: object = "") -> str:
    print(prompt, end="", flush=True)
    return ""


def run_code(code: str, filename: str, namespace: dict[str, Any], capture: FigureCapture) -> None:
    """Run ``code`` like a notebook cell: statements in order, a trailing expression displayed."""
    tree = ast.parse(code, filename=filename, mode="exec")
    last_expr = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last_expr = ast.Expression(tree.body.pop().value)
    exec(compile(tree, filename, "exec", dont_inherit=True), namespace)
    if last_expr is not None:
        value = eval(compile(last_expr, filename, "eval", dont_inherit=True), namespace)
        capture.display_value(value)
