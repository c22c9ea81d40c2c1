"""Files that are not quite Python: notebooks exported as scripts, and star imports.

* ``python_source(text)``: a file that does not parse because it holds IPython syntax
  (``%matplotlib inline``, ``!pip install x``, ``%%time`` cells, ``df?``) is run through
  IPython's own ``TransformerManager``, cell by cell (``# In[..]:`` markers), which turns
  the syntax into ``get_ipython()`` calls; those are later dropped by the extractor, except
  ``%pylab``, which becomes the ``from pylab import *`` it stands for.
* ``star_exports(module)``: the names ``from module import *`` binds, for the few modules
  plotting scripts star-import (numpy, math, pylab...), so that ``loglog`` or ``sqrt`` are
  known names rather than undefined ones.

    from viscoder.data.notebook import python_source
    python_source("%matplotlib inline\\nimport pylab\\n")
"""

from __future__ import annotations

import ast
import importlib
import re
from functools import cache

_CELL = re.compile(r"^# In\[[^\]]*\]:.*$", re.MULTILINE)
_PYLAB = re.compile(r"get_ipython\(\)\.run_line_magic\(['\"]pylab['\"],[^)]*\)")
# Modules whose star import is common in plotting scripts and cheap to inspect; importing
# them runs only installed library code, never the file's.
STAR_MODULES = {"numpy", "math", "cmath", "pylab", "matplotlib.pylab", "matplotlib.pyplot",
                "random", "statistics", "scipy", "numpy.random", "numpy.linalg", "scipy.stats",
                "matplotlib.patches", "matplotlib.ticker", "datetime", "itertools"}


def python_source(text: str) -> str | None:
    """`text` if it parses, else its IPython translation if that parses, else None."""
    try:
        ast.parse(text)
        return text
    except (SyntaxError, ValueError):
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # IPython is a dependency; without it such files stay rejected
        return None
    manager = TransformerManager()
    starts = [0] + [m.start() for m in _CELL.finditer(text)] + [len(text)]
    cells = [text[a:b] for a, b in zip(starts, starts[1:], strict=False) if text[a:b].strip()]
    try:
        out = "\n".join(manager.transform_cell(cell) for cell in cells)
    except Exception:  # IPython's transformers raise on input they cannot tokenise
        return None
    out = _PYLAB.sub("from pylab import *", out)
    try:
        ast.parse(out)
    except (SyntaxError, ValueError):
        return None
    return out


@cache
def star_exports(module: str) -> frozenset[str]:
    """Names `from module import *` binds; empty for modules outside STAR_MODULES."""
    if module not in STAR_MODULES:
        return frozenset()
    try:
        mod = importlib.import_module(module)
    except Exception:  # not installed here: its names stay unknown
        return frozenset()
    names = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
    return frozenset(names)


@cache
def pyplot_functions() -> frozenset[str]:
    """pyplot's own functions: after `from pylab import *` a bare `loglog(...)` plots."""
    import matplotlib.pyplot as plt  # headless: matplotlib picks a non-GUI backend itself

    return frozenset(n for n in dir(plt) if not n.startswith("_") and callable(getattr(plt, n))
                     and getattr(getattr(plt, n), "__module__", "") == "matplotlib.pyplot")
