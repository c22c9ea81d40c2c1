"""Step 1: keep the files of a raw Python corpus that use a plotting library, and say which.

Two passes so that the common case costs almost nothing: a substring test on the raw text
(most files never mention a plotting library), then, for the candidates only, a regular
expression over import lines. Nothing is parsed here; the extractor parses what survives.
Every row comes out either kept (with ``libraries``) or rejected with a reason: binary,
not UTF-8, too large, empty, no plotting library.

    from viscoder.data.filter import detect_libraries
    detect_libraries("import seaborn as sns\\n...")   # -> ["seaborn"]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_LIBRARIES = ("matplotlib", "seaborn", "plotly")
OPTIONAL_LIBRARIES = ("bokeh", "altair")
_MODULE_OF = {"pylab": "matplotlib"}  # `from pylab import *` is matplotlib


def _import_pattern(libraries: tuple[str, ...]) -> re.Pattern[str]:
    modules = sorted(set(libraries) | {m for m, lib in _MODULE_OF.items() if lib in libraries})
    names = "|".join(re.escape(m) for m in modules)
    earlier = r"(?:[\w.]+(?:[ \t]+as[ \t]+\w+)?[ \t]*,[ \t]*)*"  # `import numpy as np, seaborn`
    return re.compile(rf"^[ \t]*(?:import[ \t]+{earlier}|from[ \t]+)({names})\b", re.MULTILINE)


@dataclass(frozen=True)
class Verdict:
    libraries: tuple[str, ...] = ()
    reason: str | None = None  # set when rejected

    @property
    def kept(self) -> bool:
        return self.reason is None


class LibraryFilter:
    """A compiled filter for a set of libraries; cheap to call millions of times."""

    def __init__(self, libraries: tuple[str, ...] = DEFAULT_LIBRARIES, max_bytes: int = 200_000):
        self.libraries = tuple(libraries)
        self.max_bytes = max_bytes
        self._needles = tuple(sorted(set(self.libraries) | {
            m for m, lib in _MODULE_OF.items() if lib in self.libraries}))
        self._imports = _import_pattern(self.libraries)

    def detect(self, text: str) -> tuple[str, ...]:
        if not any(n in text for n in self._needles):
            return ()
        found = {_MODULE_OF.get(m, m) for m in self._imports.findall(text)}
        return tuple(lib for lib in self.libraries if lib in found)

    def __call__(self, content: str | bytes | None) -> Verdict:
        if content is None:
            return Verdict(reason="empty")
        if isinstance(content, bytes):
            if len(content) > self.max_bytes:
                return Verdict(reason="too_large")
            if b"\x00" in content[:8192]:
                return Verdict(reason="binary")
            try:
                content = content.decode("utf-8")
            except UnicodeDecodeError:
                return Verdict(reason="not_utf8")
        elif len(content) > self.max_bytes:
            return Verdict(reason="too_large")
        if "\x00" in content[:8192]:
            return Verdict(reason="binary")
        if not content.strip():
            return Verdict(reason="empty")
        libraries = self.detect(content)
        if not libraries:
            return Verdict(reason="no_plotting_library")
        return Verdict(libraries=libraries)


def detect_libraries(text: str, libraries: tuple[str, ...] = DEFAULT_LIBRARIES) -> list[str]:
    return list(LibraryFilter(libraries).detect(text))
