"""Step 2 without an LLM: slice a standalone plotting block out of a file, with mock data.

    from viscoder.data.static_extract import extract_static
    result = extract_static(source)      # result.code, or result.reason when there is none

What it does, on the parsed file (a notebook export's IPython syntax translated first, see
``notebook.py``):

1. finds the plotting statements: calls through a plotting library's alias (``plt.bar``,
   ``sns.heatmap``, ``px.line``), calls on objects those made (``ax.set_title``,
   ``fig.update_layout``) and pandas plotting (``df.plot``, ``df.hist``);
2. takes the scope that holds them: the module (``if __name__ == "__main__":`` blocks
   flattened), or else the first function or method that plots, which is kept and called;
3. keeps, walking backwards, every statement that defines a name the plot needs (a
   backward slice), and drops what only writes output or closes figures (``savefig``,
   ``plt.close``, ``write_html``, ``matplotlib.use``);
4. replaces file reads (``pd.read_csv``, ``np.loadtxt``, ``open()``... in any path form) and
   ``argparse`` results with mock values before slicing, and gives every name still
   undefined mock data shaped by how it is used (``mock_data.py``, ``usage.py``): a
   DataFrame with the columns and kinds of values the code asks for, a namespace with
   argparse's defaults, coefficients, counts, strings or arrays; names bound by star
   imports of numpy/math/pylab are known, not undefined;
5. appends ``plt.show()`` / ``fig.show()`` when the file never showed its figure.

Whether the block really runs and renders is the sandbox's call (step 3), not this one's;
what comes back here is a candidate, or a rejection with a reason.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field
from functools import cached_property

from viscoder.data.facts import figure_facts
from viscoder.data.mock_data import MockInputs, argparse_defaults, collect_usage, mock_assignment
from viscoder.data.notebook import pyplot_functions, python_source, star_exports
from viscoder.data.pyast import called_names as _called_names
from viscoder.data.pyast import defaults_of as _defaults_of
from viscoder.data.pyast import loads as _loads
from viscoder.data.pyast import root as _root
from viscoder.data.pyast import standalone as _standalone
from viscoder.data.pyast import stores as _stores
from viscoder.data.pyast import undefined_names

PLOT_ROOTS = {"matplotlib", "seaborn", "plotly", "bokeh", "altair", "pylab"}
PANDAS_PLOT_METHODS = {"plot", "hist", "boxplot", "scatter_matrix"}
OUTPUT_ONLY = {"savefig", "close", "write_image", "write_html", "write_json", "use", "output_file",
               "save", "clf", "cla", "ion", "ioff", "pause"}
BUILTINS = set(dir(builtins)) | {"__name__", "__file__", "display"}
MOCK_MODULES = {"numpy": "np", "pandas": "pd", "argparse": "argparse", "types": "types", "io": "io"}
MUTATORS = {"append", "extend", "insert", "update", "add", "setdefault", "pop", "remove",
            "appendleft", "put"}
STAR_PLOT_MODULES = {"pylab", "matplotlib.pylab", "matplotlib.pyplot"}


@dataclass
class Extraction:
    code: str | None
    reason: str | None = None
    libraries: list[str] = field(default_factory=list)
    mocked: list[str] = field(default_factory=list)  # names given mock values

    @cached_property
    def figure(self) -> dict:
        """facts.figure_facts of the block (charts, layout, texts, columns...). Read on
        demand: the annotate step computes them from the code, so extraction stays cheap."""
        return figure_facts(self.code, plot_analysis(self.code).is_plot_call) if self.code else {}

    plot_calls = property(lambda self: self.figure.get("plot_calls", []))
    columns = property(lambda self: self.figure.get("columns", []))
    texts = property(lambda self: self.figure.get("texts", {}))
    colors = property(lambda self: self.figure.get("colors", []))


MOCK_MARKER = "# mock data standing in for the original inputs"


class Rejected(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Analysis:
    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.imports: list[ast.stmt] = []
        self.plot_aliases: set[str] = set()
        self.libraries: set[str] = set()
        self.star_names: set[str] = set()  # bound by `from numpy import *` and the like
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
            if isinstance(node, ast.ImportFrom) and node.module \
                    and any(a.name == "*" for a in node.names):
                self.star_names |= star_exports(node.module)
                if node.module in STAR_PLOT_MODULES:  # a bare `loglog(...)` plots
                    self.plot_aliases |= pyplot_functions()
        self.plot_objects: set[str] = set()

    def is_plot_expr(self, node: ast.AST) -> bool:
        return any(self.is_plot_call(n) for n in ast.walk(node))

    def is_plot_call(self, n: ast.AST) -> bool:
        """This one node is a plotting call (its arguments are not looked at)."""
        if not isinstance(n, ast.Call):
            return False
        root = _root(n.func)
        if root in self.plot_aliases or root in self.plot_objects:
            return True
        return (isinstance(n.func, ast.Attribute) and "matplotlib" in self.libraries
                and (n.func.attr in PANDAS_PLOT_METHODS
                     or (isinstance(n.func.value, ast.Attribute) and n.func.value.attr == "plot")))

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
                   and _root(s.value.func) in needed) or any(  # df.dropna(inplace=True)
            isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr in MUTATORS and _root(n.func.value) in needed
            for n in ast.walk(s))  # `ys.append(...)` inside a loop over a file's rows
        if i in keep or _stores(s) & needed or mutates:
            keep.add(i)
            needed |= _loads(s)
    return [stmts[i] for i in sorted(keep)]


def extract_static(source: str, available: frozenset[str] | None = None) -> Extraction:
    """``available``: the top-level modules the execution runtime has (``Runtime.modules``);
    None checks this interpreter instead."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError) as exc:
        text = python_source(source)  # IPython syntax in a notebook export?
        if text is None:
            return Extraction(None, f"syntax_error: {type(exc).__name__}")
        tree = ast.parse(text)
    a = _Analysis(tree)
    if not a.plot_aliases:
        return Extraction(None, "no_plotting_import")
    try:
        return _extract(tree, a, available)
    except Rejected as r:
        return Extraction(None, r.reason, libraries=sorted(a.libraries))
    except RecursionError:
        return Extraction(None, "too_deeply_nested")


def plot_analysis(code: str) -> _Analysis:
    """The plotting names of a block (``.is_plot_call(node)``, ``.is_plot_expr(node)``), for
    blocks that did not come through `extract_static` too (CoSyn rebuilds, LLM extractions)."""
    tree = ast.parse(code)
    a = _Analysis(tree)
    a.learn_objects(tree.body)
    return a


def _is_import(s: ast.stmt) -> bool:
    return isinstance(s, (ast.Import, ast.ImportFrom))


def _extract(tree: ast.Module, a: _Analysis, available: frozenset[str] | None = None
             ) -> Extraction:
    flat = _flatten_main(tree.body)
    imports = [s for s in flat if _is_import(s)]
    usage = collect_usage(flat)
    arg_defaults = argparse_defaults(tree)
    mocker = MockInputs(usage, arg_defaults)
    # reads are mocked before slicing, so the path-building statements they needed drop out
    body = [mocker.visit(s) for s in flat if not _is_import(s)]
    a.learn_objects(body)
    tail: list[ast.stmt] = []
    parameters: list[str] = []  # of the plotting function we call: they need mock values
    kept = _slice(body, a)
    if not kept:
        fn, owner = _plotting_function(tree, a)
        if fn is None:
            raise Rejected("no_plotting_call")
        fn = mocker.visit(_standalone(fn, owner))
        a.learn_objects(fn.body)
        params = [p.arg for p in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]
        kept = [s for s in body if not isinstance(s, ast.ClassDef) and not (
            isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == fn.name)]
        kept = _slice(kept + [fn], a) or [fn]
        if fn not in kept:
            kept.append(fn)
        tail.append(ast.parse(f"_result = {fn.name}({', '.join(params)})").body[0])
        defaults = _defaults_of(fn)
        pre = [ast.parse(f"{p} = {defaults[p]}").body[0] for p in params if p in defaults]
        parameters = [p for p in params if p not in defaults]
        kept = pre + kept
    kept = [_DropOutputCalls().visit(s) for s in kept]
    stmts = [s for s in kept if not isinstance(s, ast.Pass)] + tail
    if not any(a.is_plot_expr(s) for s in stmts) and not any(
            isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) for s in stmts):
        raise Rejected("no_plotting_call")
    if any(isinstance(n, ast.Name) and n.id == "get_ipython" for s in stmts for n in ast.walk(s)):
        raise Rejected("ipython_shell_output: the plot uses the output of a shell/magic line")

    import_names = set().union(*(_stores(i) for i in imports)) if imports else set()
    missing = _unavailable_modules(imports, available)
    if missing:
        raise Rejected(f"unavailable_module: {missing[0]}")
    known = import_names | a.star_names | set(a.plot_aliases) | set(MOCK_MODULES.values())
    undefined = parameters + [n for n in undefined_names(stmts, known | BUILTINS) if n not in parameters]
    called = _called_names(stmts)
    bad_calls = [n for n in undefined if n in called]
    if bad_calls:
        raise Rejected(f"undefined_function: {bad_calls[0]}")
    if undefined:  # shaped by how the kept block (not the whole file) uses each name
        block_usage = collect_usage(stmts)
        mocks = [mock_assignment(n, block_usage, arg_defaults) for n in undefined]
    else:
        mocks = []

    header = [ast.unparse(i) for i in imports]
    body = [ast.unparse(s) for s in stmts]
    needs = "\n".join(mocks) + "\n" + "\n".join(body)
    for module, alias in MOCK_MODULES.items():
        if f"{alias}." in needs and alias not in import_names:
            header.append(f"import {module} as {alias}" if module != alias else f"import {module}")
    lines = header + [""]
    if "np.random" in needs:  # mock values are the same on every run
        lines += ["np.random.seed(0)"]
    if mocks:
        lines += [MOCK_MARKER, *mocks, ""]
    lines += body
    lines += _show_lines(needs, a)
    code = "\n".join(line for line in lines if line is not None).strip() + "\n"
    try:
        compile(code, "<extracted>", "exec")
    except SyntaxError as exc:
        raise Rejected(f"unparsable_slice: {exc.msg}") from None
    return Extraction(code=code, libraries=sorted(a.libraries),
                      mocked=list(dict.fromkeys(mocker.mocked + undefined)))


def _unavailable_modules(imports: list[ast.stmt], available: frozenset[str] | None = None
                         ) -> list[str]:
    """Top-level modules the file imports that the runtime (``available``; else this
    interpreter) does not have (the project's own packages, usually): it could never run."""
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
            if available is not None:
                if root not in available:
                    missing.append(root)
                continue
            if root in sys.builtin_module_names or root in _AVAILABLE:
                continue
            if importlib.util.find_spec(root) is None:
                missing.append(root)
            else:
                _AVAILABLE.add(root)
    return missing


_AVAILABLE: set[str] = set()


def _show_lines(text: str, a: _Analysis) -> list[str]:
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
