"""Small questions about Python syntax trees that the static extractor, the mock-data
synthesis and the figure facts all ask: which name an expression hangs off, which names a
statement binds or reads, which string literals a key expression spells.

    from viscoder.data.pyast import root, stores, loads
    root(ast.parse("df.groupby('a')['b'].sum()", mode="eval").body)   # -> "df"
"""

from __future__ import annotations

import ast


def root(node: ast.AST) -> str | None:
    """The name at the bottom of an attribute/call/subscript chain (`df` in `df.a[0].b()`)."""
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def stores(node: ast.AST) -> set[str]:
    """Names a statement binds or changes (`df["x"] = ...` changes `df`)."""
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            names.add(n.id)
        elif isinstance(n, (ast.Subscript, ast.Attribute)) and isinstance(n.ctx, ast.Store):
            base = root(n)
            if base:
                names.add(base)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in n.names if a.name != "*"}
        elif isinstance(n, ast.arg):
            names.add(n.arg)
    return names


def loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def literal_keys(node: ast.AST | None, named_lists: dict[str, list[str]] | None = None) -> list[str]:
    """The column names a key expression spells: `'a'`, `['a', 'b']`, or a name bound to such
    a list. Anything computed (`skewed + '_log'`, f-strings) spells none: a mock column made
    from a fragment of it would be a column the file never had."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    if isinstance(node, ast.Name) and named_lists and node.id in named_lists:
        return list(named_lists[node.id])
    return []


def call_name(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")


def kwarg(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def constant(node: ast.AST | None):
    return node.value if isinstance(node, ast.Constant) else None


def defaults_of(fn: ast.FunctionDef) -> dict[str, str]:
    args = fn.args.posonlyargs + fn.args.args
    out = {}
    for arg, default in zip(args[len(args) - len(fn.args.defaults):], fn.args.defaults, strict=True):
        out[arg.arg] = ast.unparse(default)
    for arg, default in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True):
        if default is not None:
            out[arg.arg] = ast.unparse(default)
    return out


def standalone(fn: ast.FunctionDef, owner: ast.ClassDef | None) -> ast.FunctionDef:
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


def undefined_names(stmts: list[ast.stmt], defined: set[str]) -> list[str]:
    """Names the statements read, in order, that neither they nor `defined` bind."""
    bound = set(defined)
    for s in stmts:
        bound |= stores(s)
    names: list[str] = []
    for s in stmts:
        for n in ast.walk(s):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in bound \
                    and n.id not in names:
                names.append(n.id)
    return names


def called_names(stmts: list[ast.stmt]) -> set[str]:
    return {n.func.id for s in stmts for n in ast.walk(s)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
