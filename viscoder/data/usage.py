"""How a plotting block uses its inputs: the reading that ``mock_data.py`` shapes mocks from.

    usage = collect_usage(statements)
    usage.frame_columns("df")        # columns df is read with, minus those the code makes
    usage.columns["Date"].kind       # "date" | "datestr" | "cat" | "num"

Statements are walked in evaluation order (an assignment's value before its target), so
``df['revenue'] = df['units'] * df['price']`` counts ``units`` and ``price`` as inputs and
``revenue`` as made by the code. Only literal keys count as columns (``df[skewed + '_log']``
names none). Frames derived by filtering or sorting (``recent = df[df.year > 2000]``) pass
their columns on to the frame they come from.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import pandas as pd

from viscoder.data.pyast import call_name, constant, kwarg, literal_keys
from viscoder.data.usage_calls import call_roles, plot_columns

FRAME_API = set(dir(pd.DataFrame)) | {"str", "dt", "cat"}
COLUMN_METHODS = {"groupby", "sort_values", "set_index", "pivot", "pivot_table", "drop", "dropna",
                  "value_counts", "melt", "nlargest", "nsmallest", "get", "filter", "explode",
                  "drop_duplicates", "fillna", "agg", "resample", "rolling", "isin"}
GROUP_METHODS = {"groupby", "value_counts", "pivot", "pivot_table", "crosstab"}
METHOD_COLUMN_KWARGS = ("by", "subset", "columns", "index", "values", "id_vars", "value_vars", "on")
PASS_THROUGH = {"copy", "dropna", "fillna", "sort_values", "reset_index", "head", "tail", "query",
                "sample", "drop_duplicates", "astype", "loc", "iloc", "groupby", "sort_index",
                "ffill", "bfill", "interpolate", "round"}
DATE_ATTRS = {"year", "month", "day", "hour", "minute", "dayofweek", "weekday", "date",
              "day_name", "month_name", "strftime", "to_period", "dayofyear", "quarter"}


@dataclass
class ColumnInfo:
    kind: str = "num"
    values: set[str] = field(default_factory=set)  # string literals it is compared with
    numbers: list[float] = field(default_factory=list)  # numbers it is compared with
    fmt: str = "%Y-%m-%d"
    arithmetic: bool = False  # used in arithmetic: numbers, even when also a group key


@dataclass
class Usage:
    keys: dict[str, list] = field(default_factory=dict)  # per frame: columns read, in order
    attrs: dict[str, set[str]] = field(default_factory=dict)
    created: dict[str, set] = field(default_factory=dict)  # per frame: columns the code makes
    columns: dict = field(default_factory=dict)  # column -> ColumnInfo
    aliases: dict[str, str] = field(default_factory=dict)  # derived frame -> its source
    renamed: dict[str, list[str]] = field(default_factory=dict)  # df.columns = [...]
    int_keys: dict[str, set[int]] = field(default_factory=dict)
    roles: dict[str, set[str]] = field(default_factory=dict)  # str/int/coeffs/matrix/array
    array_width: dict[str, int] = field(default_factory=dict)  # max k in data[:, k]
    named_lists: dict[str, list[str]] = field(default_factory=dict)
    row_names: set[str] = field(default_factory=set)  # rows of an opened text file
    readers: set[str] = field(default_factory=set)
    row_width: int = 0
    dict_rows: bool = False
    dict_fields: list[str] = field(default_factory=list)
    skips_header: bool = False
    separator: str = ","
    date_index: set[str] = field(default_factory=set)  # frames whose index is used as dates

    def frame_columns(self, name: str) -> list:
        derived = [name] + [d for d in self.aliases if self._source(d) == name]
        cols: list = []
        for frame in derived:
            made = self.created.get(frame, set())
            cols += [c for c in self.keys.get(frame, []) if c not in made]
            cols += sorted(a for a in self.attrs.get(frame, set())
                           if a not in FRAME_API and not a.startswith("_") and a not in made)
        return list(dict.fromkeys(c for c in cols if isinstance(c, str)))

    def _source(self, name: str) -> str:
        seen = set()
        while name in self.aliases and name not in seen:
            seen.add(name)
            name = self.aliases[name]
        return name

    def column(self, col) -> ColumnInfo:
        return self.columns.setdefault(col, ColumnInfo())

    def role(self, name: str, role: str) -> None:
        self.roles.setdefault(name, set()).add(role)


def collect_usage(stmts: list[ast.stmt]) -> Usage:
    usage = Usage()
    visitor = _Reader(usage)
    for s in stmts:
        visitor.visit(s)
    return usage


class _Reader(ast.NodeVisitor):
    def __init__(self, usage: Usage):
        self.u = usage

    # -- bindings, in evaluation order ------------------------------------------------
    def visit_Assign(self, node: ast.Assign):
        self.visit(node.value)
        for target in node.targets:
            self._bind(target, node.value)
            self.visit(target)

    def visit_AugAssign(self, node: ast.AugAssign):
        self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node: ast.For):
        self.visit(node.iter)
        keys = literal_keys(node.iter, self.u.named_lists)
        if isinstance(node.target, ast.Tuple) and isinstance(node.iter, ast.Call):
            # `for k, col in enumerate([...])`, `for ax, col in zip(axes, [...])`
            sources = ([None] if call_name(node.iter) == "enumerate" else []) + node.iter.args
            for target, source in zip(node.target.elts, sources, strict=False):
                names = literal_keys(source, self.u.named_lists) if source is not None else []
                if isinstance(target, ast.Name) and names:
                    self.u.named_lists[target.id] = names
        source = self._derived_from(node.iter)
        if isinstance(node.target, ast.Tuple) and len(node.target.elts) == 2 \
                and isinstance(node.target.elts[1], ast.Name) and source in self.u.keys:
            self.u.aliases[node.target.elts[1].id] = source  # for key, group in df.groupby(..)
        if isinstance(node.target, ast.Name):
            if keys:
                self.u.named_lists[node.target.id] = keys
            if self._is_reader(node.iter):
                self.u.row_names.add(node.target.id)
        self.visit(node.target)
        for s in node.body + node.orelse:
            self.visit(s)

    def visit_With(self, node: ast.With):
        for item in node.items:
            self.visit(item.context_expr)
            if isinstance(item.optional_vars, ast.Name) and call_name(item.context_expr) == "open":
                self.u.readers.add(item.optional_vars.id)
        for s in node.body:
            self.visit(s)

    def _bind(self, target: ast.expr, value: ast.expr) -> None:
        u = self.u
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            frame = target.value.id
            for c in literal_keys(target.slice, u.named_lists):
                if c not in u.keys.get(frame, []):
                    u.created.setdefault(frame, set()).add(c)
        if isinstance(target, ast.Attribute) and target.attr == "columns" \
                and isinstance(target.value, ast.Name) and isinstance(value, (ast.List, ast.Tuple)):
            u.renamed[target.value.id] = literal_keys(value)
        if not isinstance(target, ast.Name):
            return
        name = target.id
        keys = literal_keys(value)
        if keys and isinstance(value, (ast.List, ast.Tuple)) and len(keys) == len(value.elts):
            u.named_lists[name] = keys
        if self._is_reader(value):
            u.readers.add(name)
        if isinstance(value, ast.Call) and call_name(value) == "split":
            u.row_names.add(name)
        source = self._derived_from(value)
        if source and source != name:
            u.aliases[name] = source

    def _is_reader(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.u.readers
        if isinstance(node, ast.Call):
            name = call_name(node)
            if name in ("reader", "DictReader", "open", "readlines"):
                return True
            if name in ("enumerate", "islice") and node.args:
                return self._is_reader(node.args[0])
        return False

    def _derived_from(self, node: ast.expr) -> str | None:
        """`df[...]`, `df.dropna().copy()`, `df.loc[...]`: the frame a value is a view of."""
        while True:
            if isinstance(node, ast.Name):
                return node.id
            if isinstance(node, ast.Subscript):
                node = node.value
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in PASS_THROUGH:
                node = node.func.value
            elif isinstance(node, ast.Attribute) and node.attr in ("loc", "iloc"):
                node = node.value
            else:
                return None

    # -- reads -------------------------------------------------------------------------
    def visit_Subscript(self, node: ast.Subscript):
        u = self.u
        frame, slice_ = self._frame_and_key(node)
        if frame is not None:
            for c in literal_keys(slice_, u.named_lists):
                if c not in u.keys.setdefault(frame, []):
                    u.keys[frame].append(c)
                u.column(c)
            if isinstance(slice_, ast.Constant) and isinstance(slice_.value, int) \
                    and not isinstance(slice_.value, bool):
                u.int_keys.setdefault(frame, set()).add(slice_.value)
                if frame in u.row_names:
                    u.row_width = max(u.row_width, slice_.value)
            if frame in u.row_names and literal_keys(slice_):
                u.dict_fields = list(dict.fromkeys(u.dict_fields + literal_keys(slice_)))
        if isinstance(node.value, ast.Name):
            if isinstance(node.slice, ast.Tuple) and len(node.slice.elts) == 2:
                u.role(node.value.id, "matrix")
                k = constant(node.slice.elts[1])
                if isinstance(k, int):
                    u.array_width[node.value.id] = max(u.array_width.get(node.value.id, 0), k)
            elif isinstance(node.slice, ast.Slice):
                for bound in (node.slice.lower, node.slice.upper):
                    if isinstance(bound, ast.Name):
                        u.role(bound.id, "int")
                if constant(node.slice.lower) == 1 and node.value.id in u.readers:
                    u.skips_header = True
        self.generic_visit(node)

    def _frame_and_key(self, node: ast.Subscript):
        value = node.value
        if isinstance(value, ast.Attribute) and value.attr in ("loc", "at"):
            key = node.slice.elts[1] if isinstance(node.slice, ast.Tuple) and \
                len(node.slice.elts) == 2 else None
            return self._derived_from(value.value), key
        if isinstance(value, ast.Name):
            return value.id, node.slice
        if isinstance(value, ast.Call) and call_name(value) in ("groupby", "resample", "rolling"):
            return self._derived_from(value), node.slice  # df.groupby('g')['v']: v is df's
        return None, None

    def visit_Attribute(self, node: ast.Attribute):
        u = self.u
        if isinstance(node.value, ast.Name):
            u.attrs.setdefault(node.value.id, set()).add(node.attr)
        if node.attr in DATE_ATTRS and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "index" and isinstance(node.value.value, ast.Name):
            u.date_index.add(self._derived_from(node.value.value) or node.value.value.id)
        ref = self._column_ref(node.value)
        if ref and node.attr == "str":
            u.column(ref).kind = "cat"
        elif ref and node.attr == "dt" and u.column(ref).kind != "datestr":
            u.column(ref).kind = "date"
        self.generic_visit(node)

    def _column_ref(self, node: ast.AST):
        if isinstance(node, ast.Subscript):
            frame, key = self._frame_and_key(node)
            keys = literal_keys(key, self.u.named_lists) if frame else []
            return keys[0] if len(keys) == 1 and isinstance(key, (ast.Constant, ast.Name)) else None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.attr not in FRAME_API and node.value.id in self.u.keys:
            return node.attr
        return None

    def visit_Compare(self, node: ast.Compare):
        sides = [node.left, *node.comparators]
        for i, side in enumerate(sides):
            col = self._column_ref(side)
            if col is None:
                continue
            for other in sides[:i] + sides[i + 1:]:
                if isinstance(other, ast.Name) and other.id in self.u.named_lists:
                    self.u.column(col).values.update(self.u.named_lists[other.id])
                value = constant(other)
                if isinstance(value, str):
                    self.u.column(col).values.add(value)
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    self.u.column(col).numbers.append(float(value))
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp):
        for side, other in ((node.left, node.right), (node.right, node.left)):
            col = self._column_ref(side)
            if col is not None and not isinstance(constant(other), str):
                self.u.column(col).arithmetic = True
        if isinstance(node.op, ast.Add):
            for a, b in ((node.left, node.right), (node.right, node.left)):
                if isinstance(a, ast.Name) and isinstance(constant(b), str):
                    self.u.role(a.id, "str")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call):
        u = self.u
        name = call_name(node)
        func = node.func
        if isinstance(func, ast.Attribute) and name in COLUMN_METHODS:
            frame = self._derived_from(func.value)
            ref = self._column_ref(func.value)
            if name == "isin" and ref and node.args:
                u.column(ref).values.update(literal_keys(node.args[0], u.named_lists))
            elif frame:
                cols = [c for a in node.args for c in literal_keys(a, u.named_lists)]
                cols += [c for k in node.keywords if k.arg in METHOD_COLUMN_KWARGS
                         for c in literal_keys(k.value, u.named_lists)]
                for c in cols:
                    if c not in u.keys.setdefault(frame, []):
                        u.keys[frame].append(c)
                    if name in GROUP_METHODS and u.column(c).kind == "num":
                        u.column(c).kind = "cat"
        if name == "resample" and isinstance(func, ast.Attribute) and kwarg(node, "on") is None:
            frame = self._derived_from(func.value)
            if frame:
                u.date_index.add(frame)
        if name == "rename" and isinstance(func, ast.Attribute):
            mapping = kwarg(node, "columns")
            frame = self._derived_from(func.value)
            if isinstance(mapping, ast.Dict) and frame:
                for k in mapping.keys:
                    if isinstance(constant(k), str) and k.value not in u.keys.setdefault(frame, []):
                        u.keys[frame].append(k.value)
        if name in ("to_datetime", "strptime") and node.args:
            ref = self._column_ref(node.args[0])
            fmt = constant(kwarg(node, "format")) or (constant(node.args[1]) if len(node.args) > 1 else None)
            if ref:
                info = u.column(ref)
                info.kind = "datestr"
                if isinstance(fmt, str) and "%" in fmt:
                    info.fmt = fmt
        for k in node.keywords:
            if k.arg == "parse_dates":
                for c in literal_keys(k.value):
                    u.column(c).kind = "date"
            if k.arg in ("skiprows", "skip_header", "header") and isinstance(constant(k.value), int):
                u.skips_header = u.skips_header or bool(constant(k.value))
            if k.arg in ("delimiter", "sep") and isinstance(constant(k.value), str):
                u.separator = k.value.value
        if name == "DictReader":
            u.dict_rows = True
        if name == "next" and node.args and self._is_reader(node.args[0]) or name == "readline":
            u.skips_header = True
        if name == "split" and isinstance(func, ast.Attribute):
            sep = constant(node.args[0]) if node.args else None
            u.separator = sep if isinstance(sep, str) and sep.strip(" ") else (
                " " if not node.args else u.separator)
        call_roles(u, node, name)
        plot_columns(u, node, name)
        self.generic_visit(node)
