"""Quality gates: a sample that passes execution still has to be a good training pair. Each
failed gate is a recorded rejection (``stage`` = the step, ``reason`` = ``gate: ...``).

* ``image_gate(png)`` (execute step): the image is not blank or nearly so: at most
  ``MIN_INK`` of its pixels differ from the background colour means nothing was drawn.
* ``instruction_gate(parts, code)`` (annotate step, either annotator):
  - every column the instruction names (``column 'a'``, ``columns 'a', 'b'``, a quoted name
    in the table's column list) exists in the data block;
  - the data block is not empty when the code was given mock data, and no mock value in it
    is empty (``[]``, ``np.array([])``, ``pd.DataFrame()``, zero rows);
  - every chart kind the plot description names ("pie chart", "heatmap") is drawn by a call
    in the code.

    from viscoder.data.gates import instruction_gate
    instruction_gate(parts, code)     # None, or the reason the pair is rejected
"""

from __future__ import annotations

import ast
import io
import re

from viscoder.data.facts import CHART_WORDS

MIN_INK = 0.002  # share of pixels that differ from the background
_COLUMN_LIST = re.compile(r"columns? ((?:'[^']+'(?: \([a-z ]+\))?(?:, | and )?)+)")
_QUOTED = re.compile(r"'([^']+)'")
# A phrase is drawn by any call of its family ("line chart" by `ax.plot`, `px.line` or a
# plotly Scatter trace), so that an LLM annotator's wording is not held to ours.
_FAMILIES = ("line", "scatter", "bar", "hist", "box", "violin", "heat", "pie", "contour",
             "area", "table", "density", "regression", "surface", "map")
_EXTRA = {"line": {"Scatter", "step", "errorbar", "relplot", "plot_date"},
          "scatter": {"plot", "relplot", "regplot", "lmplot", "jointplot", "pairplot", "scatter_geo"},
          "bar": {"countplot", "catplot", "histogram"}, "hist": {"displot", "distplot"},
          "density": {"displot", "distplot", "kde"}, "box": {"catplot"}, "violin": {"catplot"}}
_QUOTES = re.compile(r"\"[^\"]*\"|'[^']*'")


def _calls_for(phrase: str) -> set[str]:
    calls = {c for c, w in CHART_WORDS.items() if w == phrase}
    for family in _FAMILIES:
        if family in phrase:
            calls |= {c for c, w in CHART_WORDS.items() if family in w} | _EXTRA.get(family, set())
    return calls


_CALLS_FOR = {phrase: _calls_for(phrase) for phrase in set(CHART_WORDS.values())}
_PHRASES = sorted(_CALLS_FOR, key=len, reverse=True)  # "horizontal bar chart" before "bar chart"


def image_gate(png: bytes) -> str | None:
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(png)).convert("RGB")
    except Exception as exc:  # a PNG that does not decode is no image to train on
        return f"gate: image does not decode ({type(exc).__name__})"
    image.thumbnail((256, 256))
    colors = image.getcolors(maxcolors=256 * 256) or []
    total = image.width * image.height
    if not colors or not total:
        return "gate: blank image"
    count, background = max(colors)
    ink = sum(n for n, c in colors if max(abs(a - b) for a, b in zip(c, background, strict=True)) > 24)
    if ink / total < MIN_INK:
        return f"gate: nearly blank image ({ink / total:.2%} of pixels drawn)"
    return None


def named_columns(text: str) -> list[str]:
    names: list[str] = []
    for group in _COLUMN_LIST.findall(text):
        names += [n for n in _QUOTED.findall(group) if n not in names]
    return names


def _code_calls(code: str) -> set[str]:
    """Names of the calls in the code, and pandas' `kind="bar"` as the call it stands for."""
    tree = ast.parse(code)
    calls = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Call):
            calls.add(n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", ""))
            calls |= {k.value.value for k in n.keywords if k.arg == "kind"
                      and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str)}
    return calls


def _empty_value(node: ast.AST) -> bool:
    if isinstance(node, (ast.List, ast.Tuple, ast.Dict, ast.Set)):
        return not (node.elts if not isinstance(node, ast.Dict) else node.keys)
    if isinstance(node, ast.Call):
        args = list(node.args)
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in ("array", "DataFrame", "Series", "list", "dict") and (
                not args or _empty_value(args[0])):
            return True
        if any(isinstance(a, ast.Constant) and a.value == 0 for a in args[:1]) and name in (
                "rand", "randn", "zeros", "empty", "ones", "arange"):
            return True
        periods = next((k.value for k in node.keywords if k.arg == "periods"), None)
        if isinstance(periods, ast.Constant) and periods.value == 0:
            return True
    return False


def mock_gate(code: str, mocked: list[str]) -> str | None:
    """Mock values the extractor gave the block are not empty."""
    if not mocked:
        return None
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in mocked for t in node.targets) \
                and _empty_value(node.value):
            return f"gate: empty mock data for {ast.unparse(node.targets[0])}"
    return None


def instruction_gate(parts: dict, code: str, table_head: str = "",
                     mocked: list[str] | None = None) -> str | None:
    block = parts.get("data_block", "") + "\n" + table_head
    text = parts.get("data_description", "") + " " + parts.get("plot_description", "")
    for name in named_columns(text):
        if f"'{name}'" not in block and f'"{name}"' not in block and name not in table_head:
            return f"gate: column '{name}' is not in the data block"
    if mocked and parts.get("data_block", "").startswith("(no data lines"):
        return "gate: mock data not shown in the data block"
    try:
        calls = _code_calls(code)
    except SyntaxError:
        return "gate: code does not parse"
    plot = _QUOTES.sub(" ", parts.get("plot_description", "")).lower()  # not titles/labels
    for phrase in _PHRASES:
        if phrase.lower() in plot:
            if not _CALLS_FOR[phrase] & calls:
                return f"gate: the plot description names a {phrase} the code does not draw"
            plot = plot.replace(phrase.lower(), " ")
    return mock_gate(code, mocked or [])


def gate_batch(batch):
    """The instruction gates over every alive annotated code row of a pandas batch."""
    import json

    from viscoder.data.rows import alive, reject

    batch = batch.copy()
    for i in batch.index[alive(batch) & (batch["instruction"] != "") & (batch["code"] != "")]:
        facts = json.loads(batch.at[i, "facts"] or "{}")
        head = batch.at[i, "table_csv"][:2000] if batch.at[i, "table_csv"] else ""
        why = instruction_gate(json.loads(batch.at[i, "instruction"]), batch.at[i, "code"],
                               head, facts.get("mocked") or [])
        if why:
            reject(batch, i, "annotate", why)
    return batch
