"""Untrusted plotly figure JSON made safe to hand to a browser, before it is rendered.

A script's figure is hostile input: plotly.js fetches whatever URL a figure names (layout
images, map styles and tiles, map layers, geojson given by URL) and draws local files a
``file:`` or relative URL points at. The jailed renderer (``render_server.py``) has neither
network nor host files, so this is the second layer, and it also keeps renders bounded:

- only ``data`` and ``layout`` are kept (``config``, ``frames`` and anything else dropped:
  ``config`` carries ``topojsonURL``, ``mapboxAccessToken`` and the like);
- every value of a key that plotly.js fetches (``source``, ``geojson``, ``tiles``, ``url``,
  ...) that is not a ``data:`` URL is removed, map styles other than ``white-bg`` (each of the
  others loads tiles from the internet) become ``white-bg``, access tokens go;
- strings that carry CSS resource references (``url(``, ``@import``, CSS escapes in a
  ``style`` attribute of text markup) are emptied;
- the output size is bounded: width and height are clamped to ``[MIN_SIDE, max_side]``.

Standard library only.

    from viscoder.sandbox.render_sanitize import sanitize_figure, FigureRefused
    clean = sanitize_figure(fig_json, max_side=4096)
    clean.figure, clean.width, clean.height, clean.removed
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

MAX_JSON_CHARS = 64 * 1024 * 1024
MAX_DEPTH = 64  # a plotly figure nests about ten deep; a deeper one is not a figure
MIN_SIDE = 10
DEFAULT_SIZE = (700, 500)
SAFE_MAP_STYLE = "white-bg"  # the only built-in map style that loads nothing
# Keys whose string values plotly.js (or the mapbox/maplibre style spec inside it) fetches.
URL_KEYS = frozenset({
    "source", "geojson", "tiles", "url", "urls", "sprite", "glyphs", "href", "src",
    "topojson", "topojsonurl", "mathjax", "plotlyjs", "plotlyserverurl",
})
SECRET_KEYS = frozenset({"accesstoken", "mapboxaccesstoken"})
_MAP_TRACES = frozenset({"scattermapbox", "choroplethmapbox", "densitymapbox",
                         "scattermap", "choroplethmap", "densitymap"})
_MAP_SUBPLOT = re.compile(r"^(mapbox|map)\d*$")
_CSS_RESOURCE = re.compile(r"url\s*\(|@import|image-set\s*\(|expression\s*\(", re.IGNORECASE)
_STYLE_WITH_ESCAPE = re.compile(r"style\s*=[^>]*\\", re.IGNORECASE)


class FigureRefused(ValueError):
    """The figure is not renderable input (too large, not a figure, nested too deep)."""


@dataclass
class CleanFigure:
    figure: dict[str, Any]
    width: int
    height: int
    removed: list[str] = field(default_factory=list)  # JSON paths of what was stripped

    @property
    def pixels(self) -> int:
        return self.width * self.height


def sanitize_figure(fig_json: str | bytes, max_side: int = 4096) -> CleanFigure:
    """Parse, strip and bound one figure; raises :class:`FigureRefused` with the reason."""
    if len(fig_json) > MAX_JSON_CHARS:
        raise FigureRefused(f"figure JSON of {len(fig_json)} characters exceeds the bound "
                            f"of {MAX_JSON_CHARS}")
    try:
        raw = json.loads(fig_json)
    except (ValueError, RecursionError) as exc:
        raise FigureRefused(f"figure is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(raw, dict):
        raise FigureRefused("figure JSON is not an object")
    data = raw.get("data") if raw.get("data") is not None else []
    layout = raw.get("layout") if raw.get("layout") is not None else {}
    if not isinstance(data, list) or not isinstance(layout, dict):
        raise FigureRefused("figure has no list of traces / layout object")
    figure = {"data": data, "layout": layout}
    removed: list[str] = [key for key in raw if key not in ("data", "layout")]
    _clean_tree(figure, removed)
    _pin_map_styles(figure, removed)
    width, height = _size(layout, max_side)
    layout["width"], layout["height"] = width, height  # what plotly.js lays out is what we bound
    return CleanFigure(figure, width, height, removed)


def _clean_tree(root: dict[str, Any], removed: list[str]) -> None:
    """Walk iteratively (no recursion limit to hit) and strip in place."""
    stack: list[tuple[Any, str, int, bool]] = [(root, "", 0, False)]
    while stack:
        node, path, depth, in_map = stack.pop()
        if depth > MAX_DEPTH:
            raise FigureRefused(f"figure nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            for key in list(node):
                value = node[key]
                where = f"{path}.{key}" if path else str(key)
                lower = str(key).lower()
                child_in_map = in_map or bool(_MAP_SUBPLOT.match(str(key)))
                if lower in SECRET_KEYS:
                    del node[key]
                    removed.append(where)
                elif lower == "style" and in_map and value != SAFE_MAP_STYLE:
                    node[key] = SAFE_MAP_STYLE
                    removed.append(where)
                elif lower in URL_KEYS and _fetches(value):
                    del node[key]
                    removed.append(where)
                elif isinstance(value, str):
                    if _css_resource(value):
                        node[key] = ""
                        removed.append(where)
                elif isinstance(value, (dict, list)):
                    stack.append((value, where, depth + 1, child_in_map))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, str):
                    if _css_resource(value):
                        node[i] = ""
                        removed.append(f"{path}[{i}]")
                elif isinstance(value, (dict, list)):
                    stack.append((value, f"{path}[{i}]", depth + 1, in_map))


def _pin_map_styles(figure: dict[str, Any], removed: list[str]) -> None:
    """A map subplot without a style gets plotly.js's default, which loads tiles from the
    internet: every map subplot a trace or the layout names is pinned to ``white-bg``."""
    layout = figure["layout"]
    names = {key for key in layout if _MAP_SUBPLOT.match(str(key))}
    for trace in figure["data"]:
        kind = trace.get("type") if isinstance(trace, dict) else None
        if kind in _MAP_TRACES:
            subplot = trace.get("subplot")
            default = "mapbox" if kind.endswith("mapbox") else "map"
            names.add(subplot if isinstance(subplot, str) and _MAP_SUBPLOT.match(subplot)
                      else default)
    for name in names:
        if not isinstance(layout.get(name), dict):
            layout[name] = {}
        if layout[name].get("style") != SAFE_MAP_STYLE:
            layout[name]["style"] = SAFE_MAP_STYLE
            removed.append(f"layout.{name}.style (default)")


def _fetches(value: Any) -> bool:
    """A URL-carrying value that would make the browser load something: any string that is
    not a ``data:`` URL (relative names resolve against the page's ``file:`` URL), or a list
    holding one. Inline objects (a geojson dict) are walked instead."""
    if isinstance(value, str):
        return bool(value.strip()) and not value.strip().lower().startswith("data:")
    if isinstance(value, list):
        return any(isinstance(v, str) and _fetches(v) for v in value)
    return False


def _css_resource(text: str) -> bool:
    return bool(_CSS_RESOURCE.search(text) or _STYLE_WITH_ESCAPE.search(text))


def _size(layout: dict[str, Any], max_side: int) -> tuple[int, int]:
    template = layout.get("template")
    tlayout = template.get("layout") if isinstance(template, dict) else None
    tlayout = tlayout if isinstance(tlayout, dict) else {}
    out = []
    for key, default in zip(("width", "height"), DEFAULT_SIZE, strict=True):
        value = layout.get(key)
        if not _positive_number(value):
            value = tlayout.get(key)
        if not _positive_number(value):
            value = default
        out.append(int(min(max(value, MIN_SIDE), max_side)))
    return out[0], out[1]


def _positive_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def dumps(clean: CleanFigure) -> bytes:
    """The cleaned figure as compact JSON for the render process."""
    return json.dumps(clean.figure, separators=(",", ":"), ensure_ascii=True).encode()
