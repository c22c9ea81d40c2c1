"""What plotting and numeric calls tell about the data they are given, for ``usage.py``:
the columns a plotting call names (``sns.barplot(data=df, x='a')``, ``df.plot(x='a')``,
``px.scatter(df, x='a')``) and which of them are categories, and the role of plain names
passed to calls (``range(n)``: a count; ``np.polyval(c, x)``: coefficients; ``imshow(m)``: a
matrix; ``plt.title(t)``: a string).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from viscoder.data.pyast import kwarg, literal_keys

if TYPE_CHECKING:
    from viscoder.data.usage import Usage

COLUMN_KWARGS = {"x", "y", "hue", "size", "style", "color", "names", "values", "z", "text",
                 "facet_col", "facet_row", "symbol", "line_group", "col", "row", "column", "by",
                 "labels_col", "hover_name", "hover_data", "parents", "path", "lat", "lon",
                 "locations", "animation_frame", "error_y", "error_x", "weights", "units"}
CATEGORICAL_KWARGS = {"hue", "color", "style", "symbol", "facet_col", "facet_row", "names", "col",
                      "row", "by", "line_group", "columns", "index", "parents", "path",
                      "hover_name", "locations", "animation_frame"}
# `px.scatter(df, x="a")`: a first positional frame goes with these; `plt.bar(x, y, color=..)`
# has no frame
FRAME_FIRST_KWARGS = {"x", "y", "names", "values", "z", "path", "locations", "lat", "lon", "hue"}
CATEGORICAL_X = {"barplot", "boxplot", "violinplot", "countplot", "stripplot", "swarmplot",
                 "pointplot", "boxenplot", "catplot", "box", "pie", "strip", "violin"}
TEXT_CALLS = {"title", "set_title", "suptitle", "xlabel", "ylabel", "set_xlabel", "set_ylabel",
              "text", "annotate"}
INT_KWARGS = {"num", "bins", "size", "n", "nbins", "ncols", "nrows", "periods"}
MATRIX_CALLS = {"imshow", "heatmap", "matshow", "pcolormesh", "pcolor", "clustermap", "spy"}


def call_roles(u: Usage, node: ast.Call, name: str) -> None:
    """What a call says about the plain names it is given: counts, strings, matrices..."""
    args = node.args
    if name == "range" or (name == "arange" and len(args) == 1):
        for a in args:
            if isinstance(a, ast.Name):
                u.role(a.id, "int")
    if name == "linspace" and len(args) >= 3 and isinstance(args[2], ast.Name):
        u.role(args[2].id, "int")
    if name in ("polyval", "poly1d", "roots", "polyder", "polyint") and args \
            and isinstance(args[0], ast.Name):
        u.role(args[0].id, "coeffs")
    if name in MATRIX_CALLS and args and isinstance(args[0], ast.Name):
        u.role(args[0].id, "matrix")
    if name in ("len", "zip", "enumerate"):
        for a in args:
            if isinstance(a, ast.Name):
                u.role(a.id, "array")
    if name in TEXT_CALLS and args and isinstance(args[0], ast.Name):
        u.role(args[0].id, "str")
    for k in node.keywords:
        if k.arg in INT_KWARGS and isinstance(k.value, ast.Name):
            u.role(k.value.id, "int")
        if k.arg in ("label", "title", "xlabel", "ylabel") and isinstance(k.value, ast.Name):
            u.role(k.value.id, "str")

def plot_columns(u: Usage, node: ast.Call, name: str) -> None:
    """`sns.barplot(data=df, x='a')`, `df.plot(x='a')`, `px.scatter(df, x='a')`."""
    func = node.func
    frame = next((k.value.id for k in node.keywords if k.arg in ("data", "data_frame")
                  and isinstance(k.value, ast.Name)), None)
    if frame is None and isinstance(func, ast.Attribute):
        if func.attr in ("plot", "hist", "boxplot", "scatter_matrix", "bar", "barh", "line",
                         "scatter", "pie", "area", "box", "kde", "density") \
                and isinstance(func.value, ast.Name) and func.value.id in u.keys:
            frame = func.value.id
        elif isinstance(func.value, ast.Attribute) and func.value.attr == "plot" \
                and isinstance(func.value.value, ast.Name):
            frame = func.value.value.id
        elif func.attr in ("plot", "hist", "boxplot") and isinstance(func.value, ast.Name) \
                and any(k.arg in ("x", "y", "by", "column") for k in node.keywords):
            frame = func.value.id
    if frame is None and node.args and isinstance(node.args[0], ast.Name) \
            and any(k.arg in FRAME_FIRST_KWARGS for k in node.keywords):
        frame = node.args[0].id
    if frame is None:
        return
    u.keys.setdefault(frame, [])
    palette, hue = kwarg(node, "palette"), literal_keys(kwarg(node, "hue"))
    if isinstance(palette, ast.Dict) and len(hue) == 1:  # palette={'Male': 'b', ...}
        u.column(hue[0]).values.update(literal_keys(ast.List(elts=palette.keys)))
    for k in node.keywords:
        if k.arg not in COLUMN_KWARGS | CATEGORICAL_KWARGS:
            continue
        for c in literal_keys(k.value, u.named_lists):
            if c not in u.keys[frame]:
                u.keys[frame].append(c)
            categorical = k.arg in CATEGORICAL_KWARGS or (k.arg == "x" and name in CATEGORICAL_X)
            if categorical and u.column(c).kind == "num":
                u.column(c).kind = "cat"
            u.column(c)
