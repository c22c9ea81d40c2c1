"""What an extracted plotting block draws, read from its code: the facts the template
annotator writes an instruction from and the quality gates check it against.

    facts = figure_facts(code, is_plot)     # is_plot(call node) -> bool, from the extractor

Keys: ``charts`` (one entry per drawing call: its kind, how often, the columns/arrays it
draws, its legend label and marker), ``layout`` (grid of panels), ``texts`` (title, suptitle,
axis labels, legend entries, annotations, from literal arguments only), ``colors``,
``columns`` with ``column_kinds`` (every column a DataFrame literal of the block builds, and
what its values are), and ``plot_calls`` (all plotting call names, in order).
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from viscoder.data.pyast import call_name, constant, kwarg, literal_keys

# Calls that put marks on a figure, and what to call the mark in an instruction (no library
# or function names: "bar chart", not "ax.bar"). The other plotting calls only style it.
CHART_WORDS = {
    "plot": "line plot", "loglog": "line plot on log-log axes", "semilogx": "line plot with a log x axis",
    "semilogy": "line plot with a log y axis", "lineplot": "line plot", "line": "line chart",
    "bar": "bar chart", "barh": "horizontal bar chart", "barplot": "bar chart", "Bar": "bar chart",
    "hist": "histogram", "histplot": "histogram", "histogram": "histogram", "Histogram": "histogram",
    "displot": "distribution plot", "scatter": "scatter plot", "scatterplot": "scatter plot",
    "Scatter": "scatter trace", "scatter_3d": "3D scatter plot", "Scatter3d": "3D scatter plot",
    "scatter_geo": "map of points", "scatter_matrix": "scatter matrix", "relplot": "relational plot",
    "boxplot": "box plot", "box": "box plot", "Box": "box plot", "boxenplot": "letter-value plot",
    "violinplot": "violin plot", "violin": "violin plot", "Violin": "violin plot",
    "stripplot": "strip plot", "strip": "strip plot", "swarmplot": "swarm plot",
    "pointplot": "point plot", "catplot": "categorical plot", "countplot": "count chart",
    "heatmap": "heatmap", "Heatmap": "heatmap", "clustermap": "clustered heatmap",
    "density_heatmap": "2D density heatmap", "imshow": "image of a matrix", "matshow": "matrix image",
    "pcolormesh": "colour mesh", "spy": "sparsity pattern", "pie": "pie chart", "Pie": "pie chart",
    "kdeplot": "density curve", "ecdfplot": "cumulative distribution curve", "ecdf": "cumulative distribution curve",
    "contour": "contour plot", "contourf": "filled contour plot", "Contour": "contour plot",
    "tricontourf": "filled contour plot", "fill_between": "shaded band", "errorbar": "error bar plot",
    "stackplot": "stacked area chart", "area": "area chart", "pairplot": "grid of pairwise plots",
    "jointplot": "joint plot", "regplot": "regression plot", "lmplot": "regression plot",
    "stem": "stem plot", "step": "step plot", "polar": "polar plot", "Scatterpolar": "polar chart",
    "sunburst": "sunburst chart", "Sunburst": "sunburst chart", "treemap": "treemap",
    "Treemap": "treemap", "choropleth": "map", "Choropleth": "map", "quiver": "vector field",
    "streamplot": "streamline plot", "barbs": "wind barbs", "hexbin": "hexbin plot",
    "Table": "table", "table": "table", "Surface": "3D surface", "plot_surface": "3D surface",
    "Candlestick": "candlestick chart", "Sankey": "Sankey diagram", "Indicator": "indicator",
    "Funnel": "funnel chart", "funnel": "funnel chart", "Waterfall": "waterfall chart",
    "timeline": "timeline", "eventplot": "event plot", "broken_barh": "broken horizontal bars",
    "Circle": "circle", "Rectangle": "rectangle", "Ellipse": "ellipse", "Polygon": "polygon",
    "axhline": "horizontal reference line", "axvline": "vertical reference line",
    "axhspan": "horizontal band", "axvspan": "vertical band", "arrow": "arrow",
    "kde": "density curve", "density": "density curve",
}
CHART_CALLS = set(CHART_WORDS)
TEXT_CALLS = {"title": "title", "set_title": "title", "suptitle": "suptitle", "xlabel": "xlabel",
              "ylabel": "ylabel", "set_xlabel": "xlabel", "set_ylabel": "ylabel",
              "set_zlabel": "zlabel", "zlabel": "zlabel"}
TEXT_KWARGS = {"title": "title", "title_text": "title", "xlabel": "xlabel", "ylabel": "ylabel",
               "xaxis_title": "xlabel", "yaxis_title": "ylabel", "x_title": "xlabel",
               "y_title": "ylabel"}
PALETTE_KWARGS = {"palette", "cmap", "colorscale", "color_continuous_scale"}
COLOR_KWARGS = {"color", "c", "palette", "cmap", "colors", "color_discrete_sequence",
                "colorscale", "facecolor", "edgecolor", "color_continuous_scale"}
DATA_KWARGS = ("x", "y", "z", "values", "names", "data", "labels", "r", "theta", "path", "hue",
               "color", "cells", "header", "size")


def _describe(node: ast.AST, frames: dict[str, str], columns: dict[str, str]) -> str | None:
    """`df['a']`, `x='a'` -> "column 'a'"; `x` -> "x"; `np.sin(x)` -> "np.sin(x)" (short);
    a whole frame or a literal -> None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in columns:
        return f"column '{node.value}'"
    if isinstance(node, (ast.List, ast.Tuple)) and literal_keys(node) \
            and all(k in columns for k in literal_keys(node)):
        return "columns " + ", ".join(f"'{k}'" for k in literal_keys(node))
    if isinstance(node, ast.Name) and node.id in frames:
        return None
    if isinstance(node, ast.Subscript):
        keys = literal_keys(node.slice)
        if keys and all(k in columns for k in keys):  # a column of a frame the block builds
            return (f"column '{keys[0]}'" if len(keys) == 1 else
                    "columns " + ", ".join(f"'{k}'" for k in keys))
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
            and node.value.id in frames and node.attr not in ("values", "index", "columns", "T"):
        return f"column '{node.attr}'"
    if isinstance(node, (ast.Constant, ast.List, ast.Tuple, ast.Dict)):
        return None
    text = ast.unparse(node)
    return text if len(text) <= 40 else None


def _kind_of(value: ast.AST) -> str:
    text = ast.unparse(value)
    if "strftime" in text:
        return "date strings"
    if "date_range" in text or "to_datetime" in text or "datetime" in text:
        return "dates"
    if "choice(" in text or "resize([" in text or any(
            isinstance(c, ast.Constant) and isinstance(c.value, str) for c in ast.walk(value)):
        return "categories"
    if isinstance(value, (ast.List, ast.Tuple)) and value.elts:
        first = constant(value.elts[0])
        if isinstance(first, str):
            return "text"
    if "arange(" in text and "20" in text:
        return "years" if "2025" in text or "19" in text else "numbers"
    return "numbers"


def _frames(tree: ast.AST) -> tuple[dict[str, str], dict[str, str]]:
    """Columns of every DataFrame literal (`pd.DataFrame({...})`) and their kinds; the names
    those frames are bound to."""
    columns: dict[str, str] = {}
    names: dict[str, str] = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call) \
                and call_name(n.value) == "DataFrame" and isinstance(n.targets[0], ast.Name):
            names[n.targets[0].id] = "frame"
        if isinstance(n, ast.Call) and call_name(n) == "DataFrame" and n.args \
                and isinstance(n.args[0], ast.Dict):
            for k, v in zip(n.args[0].keys, n.args[0].values, strict=True):
                if isinstance(constant(k), str):
                    columns[k.value] = _kind_of(v)
        if isinstance(n, ast.Call) and call_name(n) == "DataFrame":
            for c in literal_keys(kwarg(n, "columns")):
                columns.setdefault(c, "numbers")
    return columns, names


def _loop_sizes(tree: ast.AST) -> dict[int, int]:
    """Per call inside loops: how many times it runs when the loops are over literals
    (`for season in ["2019", "2020"]`, `range(4)`), or -1 when that is not known."""
    sizes: dict[int, int] = {}
    for n in ast.walk(tree):  # outer loops first
        if not isinstance(n, (ast.For, ast.While, ast.ListComp, ast.GeneratorExp)):
            continue
        size = 0
        it = n.iter if isinstance(n, ast.For) else None
        if isinstance(it, (ast.List, ast.Tuple)):
            size = len(it.elts)
        elif isinstance(it, ast.Call) and call_name(it) in ("enumerate", "zip"):
            lens = [len(a.elts) for a in it.args if isinstance(a, (ast.List, ast.Tuple))]
            size = min(lens) if lens else 0
        elif isinstance(it, ast.Call) and call_name(it) == "range" and len(it.args) == 1 \
                and isinstance(constant(it.args[0]), int):
            size = it.args[0].value
        for c in ast.walk(n):
            if isinstance(c, ast.Call):
                known = sizes.get(id(c), 1)
                sizes[id(c)] = known * size if size and known > 0 else -1
    return sizes


def _layout(call: ast.Call, name: str) -> str | None:
    def num(i: int, *keys: str):
        for k in keys:
            v = constant(kwarg(call, k))
            if isinstance(v, int):
                return v
        return constant(call.args[i]) if len(call.args) > i else None

    if name in ("subplots", "make_subplots"):
        rows, cols = num(0, "nrows", "rows"), num(1, "ncols", "cols")
        rows, cols = rows if isinstance(rows, int) else 1, cols if isinstance(cols, int) else 1
        return f"{rows} x {cols}" if rows * cols > 1 else None
    if name in ("subplot", "add_subplot"):
        if len(call.args) == 1 and isinstance(constant(call.args[0]), int) and call.args[0].value > 100:
            code = call.args[0].value
            return f"{code // 100} x {code // 10 % 10}"
        rows, cols = num(0), num(1)
        if isinstance(rows, int) and isinstance(cols, int) and rows * cols > 1:
            return f"{rows} x {cols}"
    return None


def figure_facts(code: str, is_plot: Callable[[ast.AST], bool]) -> dict:
    tree = ast.parse(code)
    columns, frames = _frames(tree)
    loops = _loop_sizes(tree)
    charts: dict[str, dict] = {}
    texts: dict[str, list[str]] = {}
    colors: list[str] = []
    palettes: list[str] = []
    plot_calls: list[str] = []
    layout = None

    strings = {t.id: n.value.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
               for t in n.targets if isinstance(t, ast.Name) and isinstance(constant(n.value), str)}

    def add_text(kind: str, value) -> None:
        if isinstance(value, ast.Name):  # `title = "Sales"` ... `ax.set_title(title)`
            value = strings.get(value.id)
        elif isinstance(value, ast.AST):
            value = constant(value)
        if isinstance(value, str) and value.strip() and value not in texts.get(kind, []):
            texts.setdefault(kind, []).append(value.strip())

    calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)),
                   key=lambda n: (n.lineno, n.col_offset))  # in reading order
    for n in calls:
        name = call_name(n)
        plotting = is_plot(n)
        if plotting and name not in plot_calls:
            plot_calls.append(name)
        layout = layout or (_layout(n, name) if plotting else None)
        if name in TEXT_CALLS and n.args:
            add_text(TEXT_CALLS[name], n.args[0])
        if name in ("annotate", "text", "add_annotation", "figtext"):
            arg = kwarg(n, "text") or (n.args[0] if name == "annotate" and n.args
                                       else n.args[2] if len(n.args) > 2 else None)
            add_text("annotations", arg)
        if name == "legend" and n.args and isinstance(n.args[0], (ast.List, ast.Tuple)):
            for label in literal_keys(n.args[0]):
                add_text("legend", label)
        if name == "legend" or (name == "update_layout" and kwarg(n, "showlegend") is not None):
            texts.setdefault("legend", [])
        for k in n.keywords:
            if k.arg in TEXT_KWARGS:
                add_text(TEXT_KWARGS[k.arg], k.value)
            if k.arg in COLOR_KWARGS and isinstance(constant(k.value), str) \
                    and k.value.value not in columns:
                (palettes if k.arg in PALETTE_KWARGS else colors).append(k.value.value)
            if k.arg in COLOR_KWARGS and isinstance(k.value, (ast.List, ast.Tuple)):
                colors += [c for c in literal_keys(k.value) if c.startswith("#") or c.isalpha()]
        if not (plotting and name in CHART_CALLS):
            continue
        kind = constant(kwarg(n, "kind"))  # df.plot(kind="barh")
        name = kind if name == "plot" and kind in CHART_WORDS else name
        positional = [a for a in n.args[:3] if _describe(a, frames, columns)]
        roles = ["y"] if len(positional) == 1 else ["x", "y", "z"]
        pairs = list(zip(roles, positional, strict=False)) + [
            (k, v) for k in DATA_KWARGS if (v := kwarg(n, k)) is not None]
        data = []
        for role, arg in pairs:
            desc = _describe(arg, frames, columns)
            if desc and desc not in [d for _, d in data] and len(data) < 5:
                data.append([role, desc])
        # the same call on the same data is one chart drawn n times ("four tables")
        chart = charts.setdefault(name + repr(data), {"call": name, "count": 0, "data": data,
                                                      "labels": [], "markers": [], "looped": False})
        times = loops.get(id(n), 1)
        chart["count"] += max(times, 1)
        chart["looped"] |= times < 0
        for key in ("label", "name"):
            value = constant(kwarg(n, key))
            if isinstance(value, str) and value not in chart["labels"]:
                chart["labels"].append(value)
        marker = constant(kwarg(n, "marker"))
        if isinstance(marker, str) and marker not in chart["markers"]:
            chart["markers"].append(marker)
    return {"plot_calls": plot_calls, "charts": list(charts.values()), "layout": layout,
            "texts": texts, "colors": sorted(set(colors)),
            "palettes": sorted(set(palettes)), "columns": sorted(columns),
            "column_kinds": columns}
