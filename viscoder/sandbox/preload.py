"""What the warm worker imports, and when: the core of every plotting script at start, the
rest of the runtime's preload list the first time a script needs it.

Every forked child starts from the worker's memory, so a module the worker has imported costs
a script nothing. But importing everything a runtime declares (seaborn + scipy.stats, plotly
and its templates, scikit-learn, IPython...) costs ~1-2 s of start-up, which a user running
30 scripts pays in full. So the worker imports numpy, pandas and matplotlib (and warms
matplotlib's fonts and mathtext) before it says ready, and imports a deferred module in the
worker, once, just before forking the first script whose code names it (``seaborn``,
``plotly``, ``sklearn``, ``3d``...). Only modules on the runtime's own list are ever imported
this way; the script's code is only searched for names, never run here.

    loader = Preloader(["numpy", "pandas", "seaborn", "plotly.express"])
    loader.start()                     # the core, at worker start
    loader.for_code("import seaborn")  # True: seaborn is now imported in the worker
"""

from __future__ import annotations

import gc
import importlib
import os
import re
import warnings

CORE = ("numpy", "pandas", "matplotlib")  # top-level packages imported at start
EXTRA = ("PIL.Image", "PIL.PngImagePlugin")  # the worker decodes every figure PNG (png.py)
# Words in a script that call for a deferred module besides its own top-level name.
TRIGGERS = {"mpl_toolkits.mplot3d": ("mplot3d", "3d")}
# The notebook-cell mode (cell.py) runs every cell in an IPython shell.
CELL_MODE = ("IPython.core.interactiveshell", "matplotlib_inline.backend_inline")


class Preloader:
    def __init__(self, modules: list[str]):
        self.core = [m for m in modules if m.split(".")[0] in CORE]
        self.deferred = [m for m in modules if m not in self.core]
        self._done: set[str] = set()

    def start(self) -> None:
        _import([*self.core, *EXTRA])
        _warm_matplotlib()

    def for_code(self, code: str, mode: str = "script") -> bool:
        """Import the deferred modules ``code`` names (and, for a notebook cell, IPython);
        True when anything was imported."""
        wanted = [m for m in self.deferred if m not in self._done and _named(m, code)]
        if mode == "cell":
            wanted += [m for m in CELL_MODE if m not in self._done]
        if not wanted:
            return False
        self._done.update(wanted)
        _import(wanted)
        if any(m.startswith("plotly") for m in wanted):
            _warm_plotly()
        return True

    def everything(self) -> None:
        """Import the whole list now (the in-process baseline of the benchmark)."""
        self.start()
        self.for_code(" ".join(self.deferred + [w for ws in TRIGGERS.values() for w in ws]))


def _named(module: str, code: str) -> bool:
    words = (module.split(".")[0], *TRIGGERS.get(module, ()))
    return any(re.search(rf"\b{re.escape(w)}\b", code) for w in words)


def _import(modules: list[str]) -> None:
    gc.disable()  # imports allocate objects that live forever: no point scanning them
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in modules:
                try:
                    importlib.import_module(name)
                except Exception:
                    pass  # a missing optional library fails in the script that needs it
    finally:
        gc.enable()


def _warm_matplotlib() -> None:
    """Pay the first-use costs (font cache, mathtext) once, in the worker."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots()
            ax.plot([0, 1], [0, 1])
            ax.set_title("warm-up $x^2$")
            fig.savefig(os.devnull, format="png")
            plt.close("all")
    except Exception:
        pass


def _warm_plotly() -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import plotly.express as px

            px.scatter(x=[0, 1], y=[0, 1]).to_json()  # loads the default template once
    except Exception:
        pass
