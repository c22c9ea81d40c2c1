"""Mock inputs for an extracted plotting block, shaped by how the code uses them.

    usage = collect_usage(statements)              # what the code does with each name/column
    statements = [MockInputs(usage, arg_defaults).visit(s) for s in statements]
    line = mock_assignment("results", usage, arg_defaults)   # for a name nothing defines

``collect_usage`` reads, in evaluation order: the columns each frame is indexed with
(``df['a']``, ``df[['a', 'b']]``, ``df.loc[:, 'a']``, ``df.a``, loops over a literal list of
column names), the columns a call names (``groupby``, ``x=``/``hue=``, ``names=``/``usecols=``
of the reader), columns the code creates itself (never mocked), and per column what kind of
values it needs: categories (group keys, ``hue``, ``.str`` methods, compared with
``'Male'``), dates (``.dt``, ``parse_dates``, ``pd.to_datetime(..., format=...)``), years, or
numbers in the range the code compares them with. ``usage.py`` holds that reading; this
module turns it into values.

``MockInputs`` replaces each file read, in any path form (``pd.read_csv``/``read_excel``/
``read_json``..., ``np.loadtxt``/``genfromtxt``, ``open()`` with ``csv.reader`` or line
splitting, ``glob``/``os.listdir``) by a value of that shape, and ``parse_args()`` by
argparse's declared defaults. The sandbox then decides whether the block runs: a block
whose data cannot be guessed is rejected there with the error, not forced through.
"""

from __future__ import annotations

import ast

from viscoder.data.pyast import call_name, constant, kwarg, literal_keys, root
from viscoder.data.usage import FRAME_API, Usage, collect_usage

__all__ = ["MOCK_ROWS", "MockInputs", "Usage", "argparse_defaults", "collect_usage",
           "column_expr", "mock_assignment"]

MOCK_ROWS = 30
TEXT_ROWS = 12  # rows of a mocked text file: its text is inlined in the block
READERS = {"load_dataset", "read_csv", "read_excel", "read_json", "read_parquet", "read_table",
           "read_sql", "read_sql_query", "read_pickle", "read_feather", "read_hdf", "read_fwf",
           "read_stata", "read_sas", "read_spss", "read_orc", "read_xml", "read_clipboard"}
ARRAY_READERS = {"loadtxt", "genfromtxt", "fromfile", "load", "recfromcsv"}
LISTERS = {"glob", "iglob", "listdir"}
FRAME_HINTS = ("df", "data", "frame", "table", "dataset", "records")
CATEGORY_HINTS = ("name", "category", "type", "label", "country", "city", "group", "class",
                  "gender", "species", "region", "sex", "kind", "state", "team", "product",
                  "sector", "department", "status", "continent", "genre", "brand", "model")
DATE_HINTS = ("date", "time", "timestamp", "datetime")
DICT_METHODS = {"items", "keys", "values", "get"}
ORDERED_HINTS = ("epoch", "step", "iter", "hour", "minute", "index", "idx", "frame", "round",
                 "generation", "period", "episode", "trial")
COEFFICIENTS = ("[1.0, -0.9, 0.2]", "[1.0, 0.5, -0.3, 0.1]", "[0.5, -1.2, 0.8, 2.0]",
                "[1.0, 0.0, -0.25]")
COEFF_HINTS = ("coef", "coeff", "poly", "weights")
PANDAS_ONLY = FRAME_API - set(dir(__import__("numpy").ndarray)) - {"str", "dt", "cat"}
INT_HINTS = ("n", "num", "count", "size", "steps", "bins", "nbins", "epochs", "length", "k")


def column_expr(col: str, usage: Usage) -> str:
    """A vector of MOCK_ROWS values of the kind the code needs for column `col`."""
    info = usage.columns.get(col)
    low = str(col).lower()
    n = MOCK_ROWS
    if info and info.values:  # compared with literals: every one of them occurs
        return f"np.resize({sorted(info.values)!r}, {n})"
    if info and info.arithmetic and info.kind == "cat":  # a group key that is also divided by
        return f"np.resize([1, 2, 4], {n})"
    if info and info.kind == "datestr":
        return f'pd.date_range("2024-01-01", periods={n}, freq="D").strftime({info.fmt!r})'
    if info and info.kind == "date":
        return f'pd.date_range("2024-01-01", periods={n}, freq="D")'
    if (info and info.kind == "cat") or any(h in low for h in CATEGORY_HINTS):
        return f'np.random.choice(["A", "B", "C", "D"], {n})'
    if low in ("year", "yr", "years") or low.endswith("_year"):
        return f"np.arange({2025 - n}, 2025)"
    if any(low.startswith(h) for h in ORDERED_HINTS):
        return f"np.arange(1, {n + 1})"
    if low in ("month", "months"):
        return f"np.resize(np.arange(1, 13), {n})"
    if any(h in low for h in DATE_HINTS):
        return f'pd.date_range("2024-01-01", periods={n}, freq="D")'
    if info and info.numbers:
        lo, hi = min(info.numbers), max(info.numbers)
        span = max(abs(hi - lo), abs(hi), abs(lo), 1.0)
        return f"np.random.uniform({lo - span / 2:g}, {hi + span / 2:g}, {n}).round(2)"
    return f"(np.random.rand({n}) * 100).round(2)"


def frame_expr(name: str, usage: Usage, read: ast.Call | None = None) -> str:
    """A mock DataFrame with the columns `name` is used with (x, y when none are)."""
    cols: list = usage.frame_columns(name)
    index = ""
    if read is not None:
        names = literal_keys(kwarg(read, "names")) or literal_keys(kwarg(read, "usecols"))
        cols = list(dict.fromkeys(names + [c for c in cols if c not in names]))
        header_none = constant(kwarg(read, "header")) is None and kwarg(read, "header") is not None
        if header_none and not names:
            cols = sorted(usage.int_keys.get(name, set()) | {0, 1})
        if constant(kwarg(read, "parse_dates")) is True and kwarg(read, "index_col") is not None:
            index = f', index=pd.date_range("2024-01-01", periods={MOCK_ROWS}, freq="D")'
    if name in usage.renamed:
        cols = list(usage.renamed[name])
    if not index and (name in usage.date_index or any(
            usage.aliases.get(d) == name for d in usage.date_index)):  # df.index.year
        index = f', index=pd.date_range("2024-01-01", periods={MOCK_ROWS}, freq="D")'
    index_col = constant(kwarg(read, "index_col")) if read is not None else None
    if isinstance(index_col, str):  # read_csv(..., index_col="Date")
        cols = [index_col] + [c for c in cols if c != index_col]
    cols = cols or ["x", "y"]
    body = ", ".join(f"{c!r}: {column_expr(c, usage)}" for c in cols)
    tail = f".set_index({index_col!r})" if isinstance(index_col, str) else ""
    return f"pd.DataFrame({{{body}}}{index}){tail}"


def _text_table(usage: Usage, handle: str | None) -> str:
    """CSV-like text for an opened file: a header when the code skips or reads one, then
    numeric rows as wide as the code indexes them."""
    width = max(3, usage.row_width + 1)
    header = usage.dict_rows or usage.skips_header
    sep = usage.separator
    names = usage.dict_fields or [f"c{i}" for i in range(width)]
    rows = [sep.join(names)] if header else []
    for i in range(TEXT_ROWS):
        # whole numbers: `int(row[1])` and `float(row[1])` both read them
        values = [str(i)] + [str((i * (k + 3) * 7) % 97 + 1) for k in range(len(names) - 1)]
        rows.append(sep.join(values))
    return "\n".join(rows) + "\n"


class MockInputs(ast.NodeTransformer):
    """File reads -> mock values shaped by the usage; `parse_args()` -> declared defaults."""

    def __init__(self, usage: Usage, arg_defaults: dict[str, str]):
        self.usage, self.arg_defaults = usage, arg_defaults
        self.mocked: list[str] = []
        self._target: str | None = None
        self._unpack = 0  # `x, y = np.loadtxt(...)`: how many names the read unpacks into

    def visit_Assign(self, node: ast.Assign):
        first = node.targets[0]
        self._target = first.id if isinstance(first, ast.Name) else None
        self._unpack = len(first.elts) if isinstance(first, ast.Tuple) else 0
        node.value = self.visit(node.value)
        self._target, self._unpack = None, 0
        return node

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        name = call_name(node)
        base = root(node.func) if isinstance(node.func, ast.Attribute) else None
        expr = None
        if name in READERS and isinstance(node.func, ast.Attribute):
            expr = self._frame(node)
        elif name in ARRAY_READERS and base in ("np", "numpy"):
            expr = self._array(node)
        elif name in ("load", "loads") and base == "json":
            expr = self._json(self._target)
        elif name == "read" and isinstance(node.func.value, ast.Attribute | ast.Name) \
                and ast.unparse(node.func.value).endswith("wavfile"):
            # (sample rate, samples): a second of a 440 Hz tone as 16-bit audio
            expr = "(8000, (np.sin(2 * np.pi * 440 * np.arange(8000) / 8000) * 8000).astype(np.int16))"
        elif name in LISTERS and base in ("glob", "os"):
            expr = "[" + ", ".join(f"'mock_{i}.csv'" for i in range(3)) + "]"
        elif name == "open" and isinstance(node.func, ast.Name) or (
                name == "open" and base in ("io", "codecs")):
            expr = self._open(node)
        elif name in ("parse_args", "parse_known_args") and self._target:
            expr = self._namespace(self._target)
            if name == "parse_known_args":
                expr = f"({expr}, [])"
        if expr is None:
            return node
        self.mocked.append(self._target or name)
        return ast.parse(expr, mode="eval").body

    def _frame(self, node: ast.Call) -> str:
        target = self._target or "_"
        sheets = kwarg(node, "sheet_name")
        expr = frame_expr(target, self.usage, node)
        if sheets is not None and (constant(sheets) is None or isinstance(sheets, ast.List)):
            return f"{{'Sheet1': {expr}}}"  # sheet_name=None/list: a dict of frames
        return expr

    def _array(self, node: ast.Call) -> str:
        target = self._target or "_"
        if constant(kwarg(node, "names")) is True or call_name(node) == "recfromcsv":
            return frame_expr(target, self.usage) + ".to_records(index=False)"
        used = literal_keys(kwarg(node, "usecols"))
        usecols = kwarg(node, "usecols")
        width = len(usecols.elts) if isinstance(usecols, (ast.Tuple, ast.List)) else 0
        width = width or self._unpack or max(3, self.usage.array_width.get(target, 0) + 1)
        if used:
            width = len(used)
        if constant(kwarg(node, "unpack")) is True or self._unpack:
            return f"np.abs(np.random.randn({width}, {MOCK_ROWS})).cumsum(axis=1).round(3)"
        return f"np.abs(np.random.randn({MOCK_ROWS}, {width})).cumsum(axis=0).round(3)"

    def _open(self, node: ast.Call) -> str:
        mode = constant(node.args[1]) if len(node.args) > 1 else constant(kwarg(node, "mode"))
        mode = mode if isinstance(mode, str) else "r"
        if any(m in mode for m in "wax"):  # output: kept in memory, not on a host path
            return "io.BytesIO()" if "b" in mode else "io.StringIO()"
        if "b" in mode:
            return None
        return f"io.StringIO({_text_table(self.usage, self._target)!r})"

    def _json(self, target: str | None) -> str:
        """A JSON document read into `target`: an object with the keys the code reads from
        it (each a list of numbers), else a list of numbers."""
        keys = [k for k in self.usage.keys.get(target or "", []) if isinstance(k, str)]
        if not keys and self.usage.attrs.get(target or "", set()) & DICT_METHODS:
            keys = ["A", "B", "C"]  # iterated with .items(): an object of series
        if not keys:
            return f"np.random.randint(1, 100, {MOCK_ROWS}).tolist()"
        return "{" + ", ".join(f"{k!r}: np.random.randint(1, 100, {MOCK_ROWS}).tolist()"
                               for k in keys) + "}"

    def visit_Attribute(self, node: ast.Attribute):
        self.generic_visit(node)
        if node.attr == "argv" and isinstance(node.value, ast.Name) and node.value.id == "sys" \
                and isinstance(node.ctx, ast.Load):
            self.mocked.append("sys.argv")  # command-line arguments: numbers read as either
            return ast.parse("['script.py', '1', '1', '1', '1', '1']", mode="eval").body
        return node

    def _namespace(self, target: str) -> str:
        used = self.usage.attrs.get(target, set())
        fields = {k: v for k, v in self.arg_defaults.items() if k in used or not used}
        for k in used - set(fields):
            fields[k] = "None"
        return "argparse.Namespace(" + ", ".join(f"{k}={v}" for k, v in fields.items()) + ")"


def argparse_defaults(tree: ast.Module) -> dict[str, str]:
    out = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and call_name(n) == "add_argument" and n.args:
            flag = n.args[-1]
            if not (isinstance(flag, ast.Constant) and isinstance(flag.value, str)):
                continue
            dest = next((k.value.value for k in n.keywords if k.arg == "dest"
                         and isinstance(k.value, ast.Constant)), flag.value.lstrip("-"))
            default = kwarg(n, "default")
            out[dest.replace("-", "_")] = ast.unparse(default) if default is not None else "None"
    return out


def mock_assignment(name: str, usage: Usage, arg_defaults: dict[str, str]) -> str:
    """`name = <value>` for a name the block reads but nothing defines."""
    return f"{name} = {_mock_value(name, usage, arg_defaults)}"


def _mock_value(name: str, usage: Usage, arg_defaults: dict[str, str]) -> str:
    attrs = usage.attrs.get(name, set())
    low = name.lower()
    roles = usage.roles.get(name, set())
    if name == "args" or attrs & set(arg_defaults):
        body = ", ".join(f"{k}={arg_defaults.get(k, 'None')}" for k in sorted(attrs))
        return f"argparse.Namespace({body})"
    if "str" in roles:
        return repr(name.replace("_", " "))
    if "int" in roles or (low in INT_HINTS and "array" not in roles):
        return "30"
    if "coeffs" in roles or any(h in low for h in COEFF_HINTS):
        # a few real-looking coefficient sets, so that two mocked polynomials differ
        return f"np.array({COEFFICIENTS[sum(map(ord, name)) % len(COEFFICIENTS)]})"
    if name in usage.keys or any(h in low for h in FRAME_HINTS):
        return frame_expr(name, usage)
    if attrs and attrs <= DICT_METHODS:  # used like a dict: series by name
        return "{" + ", ".join(f"'series {k}': np.random.randn({MOCK_ROWS}).cumsum()"
                               for k in "ABC") + "}"
    if attrs & PANDAS_ONLY:  # `s.plot()`, `df.iloc`: a pandas object, not an array
        return frame_expr(name, usage)
    plain = {a for a in attrs if a not in FRAME_API and not a.startswith("_")}
    if plain:  # an object whose attributes are read: each one a numeric array
        body = ", ".join(f"{a}=np.random.rand({MOCK_ROWS}) * 100" for a in sorted(plain))
        return f"types.SimpleNamespace({body})"
    if "matrix" in roles:
        return f"np.random.rand({MOCK_ROWS // 3}, {MOCK_ROWS // 3})"
    if low in ("x", "t", "time", "xs", "ts") or low.startswith(("x_", "t_")):
        return f"np.linspace(0, 10, {MOCK_ROWS})"
    return f"np.random.randn({MOCK_ROWS}).cumsum().round(3)"
