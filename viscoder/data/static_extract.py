"""Step 2 without an LLM: slice a standalone plotting block out of a file, with mock data.

    from viscoder.data.static_extract import extract_static
    result = extract_static(source)      # result.code, or result.reason when there is none

What it does, on the parsed file:

1. finds the plotting statements: calls through a plotting library's alias (``plt.bar``,
   ``sns.heatmap``, ``px.line``), calls on objects those made (``ax.set_title``,
   ``fig.update_layout``) and pandas plotting (``df.plot``, ``df.hist``);
2. takes the scope that holds them: the module (``if __name__ == "__main__":`` blocks
   flattened), or else the first function or method that plots, which is kept and called;
3. keeps, walking backwards, every statement that defines a name the plot needs (a
   backward slice), and drops what only writes output or closes figures (``savefig``,
   ``plt.close``, ``write_html``, ``matplotlib.use``);
4. replaces file reads (``pd.read_csv``...) and ``argparse`` results with mock values, and
   gives every name still undefined mock data shaped by how it is used: a DataFrame with the
   columns the code asks for, a namespace with argparse's defaults, else a numeric array;
5. appends ``plt.show()`` / ``fig.show()`` when the file never showed its figure.

Whether the block really runs and renders is the sandbox's call (step 3), not this one's;
what comes back here is a candidate, or a rejection with a reason.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

PLOT_ROOTS = {"matplotlib", "seaborn", "plotly", "bokeh", "altair", "pylab"}
PANDAS_PLOT_METHODS = {"plot", "hist", "boxplot", "scatter_matrix"}
OUTPUT_ONLY = {"savefig", "close", "write_image", "write_html", "write_json", "use", "output_file",
               "save", "clf", "cla", "ion", "ioff", "pause"}
READERS = {"load_dataset", "read_csv", "read_excel", "read_json", "read_parquet", "read_table", "read_sql",
           "read_sql_query", "read_pickle", "read_feather", "read_hdf", "read_fwf"}
ARRAY_READERS = {"loadtxt", "genfromtxt", "load", "fromfile"}
COLUMN_KWARGS = {"x", "y", "hue", "size", "style", "color", "names", "values", "z", "text",
                 "facet_col", "facet_row", "symbol", "line_group", "col", "row", "column",
                 "by", "labels_col"}
FRAME_HINTS = ("df", "data", "frame", "table", "dataset", "records")
DATE_HINTS = ("date", "time", "year", "month", "day", "week", "timestamp")
CATEGORY_HINTS = ("name", "category", "type", "label", "country", "city", "group", "class",
                  "gender", "species", "region", "sex", "kind", "state", "team", "product",
                  "sector", "department", "status", "continent", "genre", "brand", "model")
BUILTINS = set(dir(builtins)) | {"__name__", "__file__", "display", "get_ipython"}
MOCK_ROWS = 30
MOCK_MODULES = {"numpy": "np", "pandas": "pd", "argparse": "argparse", "types": "types"}
FRAME_METHODS_WITH_COLUMNS = {"groupby", "sort_values", "set_index", "pivot", "pivot_table",
                              "drop", "dropna", "value_counts", "melt", "nlargest", "nsmallest",
                              "get", "filter", "explode", "drop_duplicates"}
CATEGORICAL_KWARGS = {"hue", "color", "style", "symbol", "facet_col", "facet_row", "names", "col",
                      "row", "by", "line_group", "columns", "index"}
DICT_METHODS = {"items", "keys", "values", "get"}


@dataclass
class Extraction:
    code: str | None
    reason: str | None = None
    libraries: list[str] = field(default_factory=list)
    plot_calls: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    texts: dict[str, list[str]] = field(default_factory=dict)  # title/xlabel/ylabel/labels
    colors: list[str] = field(default_factory=list)
    mocked: list[str] = field(default_factory=list)


class Rejected(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _stores(node: ast.AST) -> set[str]:
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            names.add(n.id)
        elif isinstance(n, (ast.Subscript, ast.Attribute)) and isinstance(n.ctx, ast.Store):
            root = _root(n)  # df["total"] = ... and obj.attr = ... change df / obj
            if root:
                names.add(root)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in n.names}
        elif isinstance(n, ast.arg):
            names.add(n.arg)
    return names


def _loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


class _Analysis:
    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.imports: list[ast.stmt] = []
        self.plot_aliases: set[str] = set()
        self.libraries: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] in PLOT_ROOTS:
                        self.plot_aliases.add((a.asname or a.name).split(".")[0])
                        self.libraries.add(_library(a.name))
            elif isinstance(node, ast.ImportFrom) and node.module \
                    and node.module.split(".")[0] in PLOT_ROOTS:
                self.libraries.add(_library(node.module))
                for a in node.names:
                    self.plot_aliases.add(a.asname or a.name)
                if any(a.name == "*" for a in node.names):
                    self.plot_aliases |= {"plot", "figure", "show", "subplot", "bar", "scatter",
                                          "hist", "xlabel", "ylabel", "title", "legend"}
        self.plot_objects: set[str] = set()

    def is_plot_expr(self, node: ast.AST) -> bool:
        for n in ast.walk(node):
            if isinstance(n, ast.Call):
                root = _root(n.func)
                if root in self.plot_aliases or root in self.plot_objects:
                    return True
                if (isinstance(n.func, ast.Attribute) and "matplotlib" in self.libraries
                        and (n.func.attr in PANDAS_PLOT_METHODS
                             or (isinstance(n.func.value, ast.Attribute)
                                 and n.func.value.attr == "plot"))):
                    return True
        return False

    def learn_objects(self, stmts: list[ast.stmt]) -> None:
        """Names bound to figures/axes (`fig, ax = plt.subplots()`) count as plotting."""
        changed = True
        while changed:
            changed = False
            for s in stmts:
                for n in ast.walk(s):
                    value = getattr(n, "value", None)
                    targets = (n.targets if isinstance(n, ast.Assign)
                               else [n.target] if isinstance(n, (ast.AnnAssign, ast.AugAssign))
                               else [])
                    if targets and value is not None and self.is_plot_expr(value):
                        new = set().union(*(_stores(t) for t in targets)) - self.plot_objects
                        if new:
                            self.plot_objects |= new
                            changed = True
                    if isinstance(n, ast.withitem) and n.optional_vars is not None \
                            and self.is_plot_expr(n.context_expr):
                        new = _stores(n.optional_vars) - self.plot_objects
                        if new:
                            self.plot_objects |= new
                            changed = True


def _library(module: str) -> str:
    root = module.split(".")[0]
    return "matplotlib" if root == "pylab" else root


def _flatten_main(body: list[ast.stmt]) -> list[ast.stmt]:
    out = []
    for s in body:
        if (isinstance(s, ast.If) and isinstance(s.test, ast.Compare)
                and isinstance(s.test.left, ast.Name) and s.test.left.id == "__name__"):
            out.extend(_flatten_main(s.body))
        else:
            out.append(s)
    return out


class _DropOutputCalls(ast.NodeTransformer):
    """savefig/close/... statements become `pass` (removed again when unparsed alone)."""

    def visit_Expr(self, node: ast.Expr):
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) \
                and call.func.attr in OUTPUT_ONLY:
            return ast.Pass()
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) \
                and call.func.id in {"input", "breakpoint", "display"}:
            return ast.Pass()
        if isinstance(call, ast.Call) and _root(call.func) == "get_ipython":  # notebook magics
            return ast.Pass()
        return node


def _plotting_function(tree: ast.Module, a: _Analysis):
    """The first function or method whose body plots: (node, owning class or None)."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and a.is_plot_expr(node):
            return node, None
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and a.is_plot_expr(item):
                    return item, node
    return None, None


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _plotting_defs(stmts: list[ast.stmt], a: _Analysis) -> set[str]:
    """Names of module-level functions that plot, directly or through each other."""
    defs = {s.name: s for s in stmts if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    plotting = {name for name, d in defs.items() if a.is_plot_expr(d)}
    changed = True
    while changed:
        changed = False
        for name, d in defs.items():
            if name not in plotting and _called_names([d]) & plotting:
                plotting.add(name)
                changed = True
    return plotting


def _slice(stmts: list[ast.stmt], a: _Analysis) -> list[ast.stmt]:
    plotting_defs = _plotting_defs(stmts, a)
    seeds = [i for i, s in enumerate(stmts) if not isinstance(s, _DEFS) and (
        a.is_plot_expr(s) or _loads(s) & a.plot_objects or _called_names([s]) & plotting_defs)]
    if not seeds:
        return []
    keep = set(seeds)
    needed: set[str] = set()
    for i in seeds:
        needed |= _loads(stmts[i])
    for i in range(max(seeds), -1, -1):
        s = stmts[i]
        mutates = (isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
                   and _root(s.value.func) in needed)  # df.dropna(inplace=True)
        if i in keep or _stores(s) & needed or mutates:
            keep.add(i)
            needed |= _loads(s)
    return [stmts[i] for i in sorted(keep)]


def _strings(node: ast.AST) -> list[str]:
    return [c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)]


_FRAME_API = set(dir(__import__("pandas").DataFrame))


@dataclass
class _Usage:
    """How the kept code uses its names: the mock data is shaped from this."""
    keys: dict[str, set[str]]  # per name: string keys / plotting-kwarg columns it is used with
    attrs: dict[str, set[str]]  # per name: attributes read from it
    categorical: set[str]  # columns used as hue/colour/facets/group keys

    def frame_columns(self, name: str) -> list[str]:
        cols = set(self.keys.get(name, set()))
        cols |= {a for a in self.attrs.get(name, set()) if a not in _FRAME_API and not a.startswith("_")}
        return sorted(cols)

    def frame_expr(self, name: str) -> str:
        """A mock DataFrame with the columns `name` is used with (x, y when none are)."""
        cols = self.frame_columns(name) or ["x", "y"]
        body = ", ".join(f"{c!r}: {_column_expr(c, self.categorical)}" for c in cols)
        return f"pd.DataFrame({{{body}}})"


def _collect_usage(stmts: list[ast.stmt]) -> _Usage:
    keys: dict[str, set[str]] = {}
    attrs: dict[str, set[str]] = {}
    categorical: set[str] = set()
    for s in stmts:
        for n in ast.walk(s):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) \
                    and isinstance(n.func.value, ast.Name) \
                    and n.func.attr in FRAME_METHODS_WITH_COLUMNS:
                cols = [c for arg in n.args for c in _strings(arg)]
                cols += [c for k in n.keywords if k.arg in ("by", "subset", "columns", "index",
                                                            "values", "id_vars") for c in _strings(k.value)]
                keys.setdefault(n.func.value.id, set()).update(cols)
                if n.func.attr in ("groupby", "value_counts", "pivot", "pivot_table"):
                    categorical.update(c for arg in n.args for c in _strings(arg))
            if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name):
                for c in ast.walk(n.slice):
                    if isinstance(c, ast.Constant) and isinstance(c.value, str):
                        keys.setdefault(n.value.id, set()).add(c.value)
            elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name):
                attrs.setdefault(n.value.id, set()).add(n.attr)
            elif isinstance(n, ast.Call):
                frame = next((k.value.id for k in n.keywords if k.arg in ("data", "data_frame")
                              and isinstance(k.value, ast.Name)), None)
                if frame is None and isinstance(n.func, ast.Attribute) \
                        and isinstance(n.func.value, ast.Name) and n.func.attr in PANDAS_PLOT_METHODS:
                    frame = n.func.value.id
                if frame is None and isinstance(n.func, ast.Attribute) \
                        and isinstance(n.func.value, ast.Attribute) and n.func.value.attr == "plot" \
                        and isinstance(n.func.value.value, ast.Name):
                    frame = n.func.value.value.id
                if frame is None and n.args and isinstance(n.args[0], ast.Name) and any(
                        k.arg in COLUMN_KWARGS for k in n.keywords):
                    frame = n.args[0].id  # px.scatter(df, x="a")
                if frame is not None:
                    for k in n.keywords:
                        if k.arg in COLUMN_KWARGS | CATEGORICAL_KWARGS:
                            cols = _strings(k.value)
                            keys.setdefault(frame, set()).update(cols)
                            if k.arg in CATEGORICAL_KWARGS:
                                categorical.update(cols)
    return _Usage(keys, attrs, categorical)


def _column_expr(col: str, categorical: set[str]) -> str:
    low = col.lower()
    if col in categorical or any(h in low for h in CATEGORY_HINTS):
        return f'np.random.choice(["A", "B", "C", "D"], {MOCK_ROWS})'
    if any(h in low for h in DATE_HINTS):
        return f'pd.date_range("2024-01-01", periods={MOCK_ROWS}, freq="D")'
    return f"np.random.rand({MOCK_ROWS}) * 100"


def _argparse_defaults(tree: ast.Module) -> dict[str, str]:
    out = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) \
                and n.func.attr == "add_argument" and n.args:
            flag = n.args[-1]
            if not (isinstance(flag, ast.Constant) and isinstance(flag.value, str)):
                continue
            dest = next((k.value.value for k in n.keywords if k.arg == "dest"
                         and isinstance(k.value, ast.Constant)), flag.value.lstrip("-"))
            default = next((k.value for k in n.keywords if k.arg == "default"), None)
            out[dest.replace("-", "_")] = ast.unparse(default) if default is not None else "None"
    return out


class _MockReads(ast.NodeTransformer):
    """`x = pd.read_csv(...)` -> a mock DataFrame shaped by how `x` is used; argparse's
    `parse_args()` -> a Namespace of the declared defaults."""

    def __init__(self, usage: _Usage, arg_defaults: dict[str, str]):
        self.usage, self.arg_defaults = usage, arg_defaults
        self.mocked: list[str] = []

    def visit_Assign(self, node: ast.Assign):
        call = node.value
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            return node
        target = node.targets[0].id if isinstance(node.targets[0], ast.Name) else None
        if call.func.attr in READERS and target:
            expr = self.usage.frame_expr(target)
        elif call.func.attr in ARRAY_READERS and _root(call.func) in ("np", "numpy") and target:
            expr = f"np.random.rand({MOCK_ROWS}, 3)"
        elif call.func.attr in ("parse_args", "parse_known_args") and target:
            used = self.usage.attrs.get(target, set())
            fields_ = {k: v for k, v in self.arg_defaults.items() if k in used or not used}
            for k in used - set(fields_):
                fields_[k] = "None"
            expr = "argparse.Namespace(" + ", ".join(f"{k}={v}" for k, v in fields_.items()) + ")"
        else:
            return node
        self.mocked.append(target)
        node.value = ast.parse(expr, mode="eval").body
        return node


def _undefined(stmts: list[ast.stmt], defined: set[str]) -> list[str]:
    stores = set(defined)
    for s in stmts:
        stores |= _stores(s)
    loads: list[str] = []
    for s in stmts:
        for n in ast.walk(s):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in stores \
                    and n.id not in BUILTINS and n.id not in loads:
                loads.append(n.id)
    return loads


def _called_names(stmts: list[ast.stmt]) -> set[str]:
    return {n.func.id for s in stmts for n in ast.walk(s)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}


def _mock_value(name: str, usage: _Usage, arg_defaults: dict[str, str]) -> str:
    keys, attrs = usage.keys, usage.attrs
    if name == "args" or (name in attrs and attrs[name] & set(arg_defaults)):
        used = attrs.get(name, set())
        body = ", ".join(f"{k}={arg_defaults.get(k, 'None')}" for k in sorted(used))
        return f"argparse.Namespace({body})"
    if name in keys or any(h in name.lower() for h in FRAME_HINTS):
        return usage.frame_expr(name)
    if name in attrs and attrs[name] <= DICT_METHODS:  # used like a dict: series by name
        return "{" + ", ".join(f"'series {k}': np.random.rand({MOCK_ROWS}).cumsum()"
                               for k in "ABC") + "}"
    if name in attrs:  # an object whose attributes are read: each one a numeric array
        body = ", ".join(f"{a}=np.random.rand({MOCK_ROWS}) * 100" for a in sorted(attrs[name]))
        return f"types.SimpleNamespace({body})"
    return f"np.linspace(0, 10, {MOCK_ROWS})"


def _facts(stmts: list[ast.stmt], a: _Analysis, out: Extraction) -> None:
    calls, texts, colors = [], {}, []
    for s in stmts:
        for n in ast.walk(s):
            if not isinstance(n, ast.Call):
                continue
            name = n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
            if a.is_plot_expr(n) and name not in calls:
                calls.append(name)
            if name in ("title", "set_title", "suptitle", "xlabel", "ylabel", "set_xlabel",
                        "set_ylabel") and n.args and isinstance(n.args[0], ast.Constant):
                texts.setdefault(name.replace("set_", ""), []).append(str(n.args[0].value))
            for k in n.keywords:
                if k.arg in ("color", "c", "palette", "cmap", "colors", "color_discrete_sequence") \
                        and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str):
                    colors.append(k.value.value)
                if k.arg in ("title", "xlabel", "ylabel") and isinstance(k.value, ast.Constant):
                    texts.setdefault(k.arg, []).append(str(k.value.value))
    out.plot_calls, out.texts, out.colors = calls, texts, sorted(set(colors))


def extract_static(source: str) -> Extraction:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        return Extraction(None, f"syntax_error: {type(exc).__name__}")
    a = _Analysis(tree)
    if not a.plot_aliases:
        return Extraction(None, "no_plotting_import")
    try:
        return _extract(tree, a)
    except Rejected as r:
        return Extraction(None, r.reason, libraries=sorted(a.libraries))
    except RecursionError:
        return Extraction(None, "too_deeply_nested")


def _extract(tree: ast.Module, a: _Analysis) -> Extraction:
    body = [s for s in _flatten_main(tree.body) if not isinstance(s, (ast.Import, ast.ImportFrom))]
    imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    a.learn_objects(body)
    tail: list[ast.stmt] = []
    parameters: list[str] = []  # of the plotting function we call: they need mock values
    kept = _slice(body, a)
    if not kept:
        fn, owner = _plotting_function(tree, a)
        if fn is None:
            raise Rejected("no_plotting_call")
        fn = _standalone(fn, owner)
        a.learn_objects(fn.body)
        params = [p.arg for p in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]
        kept = [s for s in body if not isinstance(s, ast.ClassDef)]
        kept = _slice(kept + [fn], a) or [fn]
        if fn not in kept:
            kept.append(fn)
        call = ast.parse(f"_result = {fn.name}({', '.join(params)})").body[0]
        tail.append(call)
        defaults = _defaults_of(fn)
        pre = [ast.parse(f"{p} = {defaults[p]}").body[0] for p in params if p in defaults]
        parameters = [p for p in params if p not in defaults]
        kept = pre + kept
    kept = [_DropOutputCalls().visit(s) for s in kept]
    kept = [s for s in kept if not isinstance(s, ast.Pass)]
    stmts = kept + tail
    if not any(a.is_plot_expr(s) for s in stmts) and not any(
            isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) for s in stmts):
        raise Rejected("no_plotting_call")

    usage = _collect_usage(stmts)
    arg_defaults = _argparse_defaults(tree)
    mocker = _MockReads(usage, arg_defaults)
    stmts = [mocker.visit(s) for s in stmts]
    import_names = set().union(*(_stores(i) for i in imports)) if imports else set()
    missing = _unavailable_modules(imports)
    if missing:
        raise Rejected(f"unavailable_module: {missing[0]}")
    undefined = parameters + [n for n in _undefined(
        stmts, import_names | set(a.plot_aliases) | set(MOCK_MODULES.values())) if n not in parameters]
    called = _called_names(stmts)
    bad_calls = [n for n in undefined if n in called]
    if bad_calls:
        raise Rejected(f"undefined_function: {bad_calls[0]}")
    mocks = [f"{n} = {_mock_value(n, usage, arg_defaults)}" for n in undefined]

    out = Extraction(code=None, libraries=sorted(a.libraries), mocked=mocker.mocked + undefined)
    header = [ast.unparse(i) for i in imports]
    needs = "\n".join(mocks) + "\n" + "\n".join(ast.unparse(s) for s in stmts)
    for module, alias in MOCK_MODULES.items():
        if f"{alias}." in needs and alias not in import_names:
            header.append(f"import {module} as {alias}" if module != alias else f"import {module}")
    lines = header + [""]
    if mocks:
        lines += ["# mock data standing in for the original inputs", "np.random.seed(0)"
                  if "np.random" in "\n".join(mocks) else "", *mocks, ""]
    lines += [ast.unparse(s) for s in stmts]
    lines += _show_lines(stmts, a)
    code = "\n".join(line for line in lines if line is not None).strip() + "\n"
    try:
        compile(code, "<extracted>", "exec")
    except SyntaxError as exc:
        raise Rejected(f"unparsable_slice: {exc.msg}") from None
    out.code = code
    frames = [n for n in undefined + mocker.mocked if n in usage.keys or n in usage.attrs]
    out.columns = sorted({c for f in frames for c in usage.frame_columns(f)})
    _facts(stmts, a, out)
    return out


def _defaults_of(fn: ast.FunctionDef) -> dict[str, str]:
    args = fn.args.posonlyargs + fn.args.args
    out = {}
    for arg, default in zip(args[len(args) - len(fn.args.defaults):], fn.args.defaults, strict=True):
        out[arg.arg] = ast.unparse(default)
    for arg, default in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True):
        if default is not None:
            out[arg.arg] = ast.unparse(default)
    return out


def _standalone(fn: ast.FunctionDef, owner: ast.ClassDef | None) -> ast.FunctionDef:
    """A method becomes a plain function; `self` is then mocked like any other input."""
    fn = ast.parse(ast.unparse(fn)).body[0]
    fn.decorator_list = []
    if owner is not None:
        for n in ast.walk(fn):
            if isinstance(n, ast.Name) and n.id == "self":
                n.id = "self_"
        for p in fn.args.posonlyargs + fn.args.args:
            if p.arg == "self":
                p.arg = "self_"
    return fn


def _unavailable_modules(imports: list[ast.stmt]) -> list[str]:
    """Top-level modules the file imports that this environment does not have (the
    project's own packages, usually): the block could never run."""
    import importlib.util
    import sys

    missing = []
    for node in imports:
        if isinstance(node, ast.ImportFrom):
            if node.level or not node.module:
                missing.append("." * node.level + (node.module or ""))
                continue
            roots = [node.module.split(".")[0]]
        else:
            roots = [a.name.split(".")[0] for a in node.names]
        for root in roots:
            if root in sys.builtin_module_names or root in _AVAILABLE:
                continue
            if importlib.util.find_spec(root) is None:
                missing.append(root)
            else:
                _AVAILABLE.add(root)
    return missing


_AVAILABLE: set[str] = set()


def _show_lines(stmts: list[ast.stmt], a: _Analysis) -> list[str]:
    text = "\n".join(ast.unparse(s) for s in stmts)
    if ".show(" in text or "show()" in text:
        return []
    for alias in ("plt", "pyplot", "pylab"):
        if alias in a.plot_aliases:
            return [f"{alias}.show()"]
    if "plotly" in a.libraries:
        figs = [n for n in a.plot_objects if n.startswith("fig")] or sorted(a.plot_objects)
        if figs:
            return [f"{figs[0]}.show()"]
    return []
