"""Step 4: the instruction that asks for a script, in five parts (setup, data description,
data block, plot description, style), assembled by one fixed template into the user turn.

Two annotators. The vision-language one (an OpenAI-compatible endpoint, see ``llm.py``) is the
published method. The template annotator here needs nothing: it describes the figure the
code draws from the facts read off the code (``facts.py``): each drawing call's kind and how
often it occurs ("four tables", "a scatter plot of x and y with 'x' markers"), the columns
or arrays it draws with their kinds, the grid of panels, titles, axis labels, legend entries
and annotations from literal arguments; the data block is the code that builds the data.
Rows are marked ``annotator=template`` so they can be told apart or re-annotated later.

    parts = template_parts(code, facts, ["matplotlib"])   # the five parts, as a dict
"""

from __future__ import annotations

import ast
import json
import re

import pandas as pd

from viscoder.data.facts import CHART_WORDS, figure_facts
from viscoder.data.rows import alive, reject
from viscoder.data.static_extract import plot_analysis
from viscoder.prompts.data import assistant_turn, user_turn

STYLE_CALLS = {"grid": "a grid", "tight_layout": "a tight layout", "colorbar": "a colour bar",
               "yscale": "a scaled y axis", "xscale": "a scaled x axis", "set_yscale": "a scaled y axis",
               "set_xscale": "a scaled x axis", "xticks": "custom x ticks",
               "set_xticks": "custom x ticks", "xlim": "a fixed x range", "ylim": "a fixed y range",
               "set_xlim": "a fixed x range", "set_ylim": "a fixed y range",
               "update_layout": "a customised layout", "set_style": "a preset style",
               "set_theme": "a theme", "invert_yaxis": "an inverted y axis",
               "set_aspect": "a fixed aspect ratio", "axis": "adjusted axes"}
NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
_ALIASES = re.compile(r"\b(?:np|numpy|pd|pandas|plt|sns|px|go|math|mpl)\.")
MAX_BLOCK_LINES = 30


def _plural(word: str) -> str:
    head, _, rest = word.partition(" of ")
    if head.endswith(("s", "x")):
        return word
    return head + "s" + (f" of {rest}" if rest else "")


def _article(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _data_block(code: str) -> str:
    """The statements that build the data: mock values and every statement that does not
    plot (at module level, inside the plotting function, inside a loop that also plots),
    imports and seeding left out."""
    try:
        tree = ast.parse(code)
        is_plot = plot_analysis(code).is_plot_expr
    except SyntaxError:
        return ""
    lines: list[str] = []

    def take(stmts):
        for stmt in stmts:
            if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Pass, ast.Return)) or (
                    isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
                    and isinstance(stmt.value.func, ast.Name)):  # `main()`: a call, not data
                continue
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                take(stmt.body)
                continue
            text = ast.get_source_segment(code, stmt) or ast.unparse(stmt)
            plots = is_plot(stmt) or "_result" in text or ".show(" in text
            if plots and isinstance(stmt, (ast.For, ast.While, ast.With, ast.If, ast.Try)):
                take(stmt.body)  # a loop that reads each file and plots it: its reads
                continue
            if plots or "random.seed" in text or "argparse" in text or "add_argument" in text:
                continue
            lines.extend(text.splitlines())

    take(tree.body)
    return "\n".join(lines[:MAX_BLOCK_LINES])


def _chart_phrase(chart: dict) -> str:
    word = CHART_WORDS.get(chart["call"], "chart")
    if chart.get("looped"):
        phrase = f"one {word} per item of a loop"
    elif chart["count"] > 1:
        phrase = f"{NUMBERS.get(chart['count'], chart['count'])} {_plural(word)}"
    else:
        phrase = _article(word)
    data = {}
    for role, desc in chart.get("data", []):
        data.setdefault(role, _ALIASES.sub("", desc))
    main = data.get("y") or data.get("values") or data.get("z") or data.get("r") \
        or data.get("cells") or data.get("x")
    if main and chart["call"] in ("axhline", "axvline"):
        phrase += f" at {main}"
    elif main:
        phrase += f" of {main}"
    if data.get("x") and data["x"] != main:
        phrase += f" against {data['x']}"
    if data.get("names") or data.get("labels") or data.get("path"):
        phrase += f" by {data.get('names') or data.get('labels') or data.get('path')}"
    for role, words in (("hue", "coloured by"), ("color", "coloured by"), ("size", "sized by")):
        if data.get(role):
            phrase += f", {words} {data[role]}"
            break
    if chart.get("labels"):
        phrase += " labelled " + ", ".join(f'"{lb}"' for lb in chart["labels"][:3])
    if chart.get("markers"):
        phrase += " with " + ", ".join(f"'{m}'" for m in chart["markers"][:2]) + " markers"
    return phrase


def _plot_description(fig: dict) -> str:
    texts = fig.get("texts") or {}
    charts = fig.get("charts") or []
    out = []
    if fig.get("layout"):
        out.append(f"Lay the figure out as a {fig['layout']} grid of panels.")
    if charts:
        out.append("Draw " + "; ".join(_chart_phrase(c) for c in charts[:6]) + ".")
    else:
        kinds = [CHART_WORDS[c] for c in fig.get("plot_calls", []) if c in CHART_WORDS]
        out.append("Draw " + _article(" with ".join(list(dict.fromkeys(kinds))[:3]) or "chart") + ".")
    if texts.get("suptitle"):
        out.append(f"The overall title reads \"{texts['suptitle'][0]}\".")
    if texts.get("title"):
        titles = texts["title"]
        out.append(f"The title reads \"{titles[0]}\"." if len(titles) == 1 else
                   "The panel titles read " + ", ".join(f'"{t}"' for t in titles[:6]) + ".")
    labels = [f"the {axis} axis \"{texts[key][0]}\"" for key, axis in
              (("xlabel", "x"), ("ylabel", "y"), ("zlabel", "z")) if texts.get(key)]
    if labels:
        out.append("Label " + " and ".join(labels) + ".")
    if "legend" in texts:
        entries = texts["legend"] or [lb for c in charts for lb in c.get("labels", [])]
        out.append("Add a legend" + (" with the entries " + ", ".join(f'"{e}"' for e in entries[:6])
                                     if entries else "") + ".")
    if texts.get("annotations"):
        out.append("Annotate it with the text " + ", ".join(
            f'"{t}"' for t in texts["annotations"][:4]) + ".")
    return " ".join(out)


def _data_description(fig: dict, table_head: str, mocked: bool) -> str:
    if table_head:
        return f"A table read from a CSV file with the columns {table_head.splitlines()[0]}."
    kinds = fig.get("column_kinds") or {}
    if kinds:
        cols = ", ".join(f"'{c}' ({k})" for c, k in kinds.items())
        tail = "; the script builds small mock values for it" if mocked else ""
        return f"A table with the columns {cols}{tail}."
    arrays = [d for c in fig.get("charts", []) for _, d in c.get("data", [])
              if re.fullmatch(r"[A-Za-z_]\w*", d)]
    if arrays:
        return ("Arrays built in the script: " + ", ".join(dict.fromkeys(arrays)) + "."
                + (" Mock values stand in for the script's inputs." if mocked else ""))
    return "Values created in the script."


def template_parts(code: str, facts: dict, libraries: list[str], table_head: str = "") -> dict:
    libs = " and ".join(libraries) or "matplotlib"
    fig = facts.get("figure") or {}
    if not fig.get("charts"):
        try:
            fig = figure_facts(code, plot_analysis(code).is_plot_call)
        except SyntaxError as exc:
            raise ValueError(f"code does not parse: {exc.msg}") from None
    block = "\n".join(table_head.splitlines()[:4]) if table_head else _data_block(code)
    style = []
    if fig.get("colors"):
        style.append("colours " + ", ".join(fig["colors"][:4]))
    if fig.get("palettes"):
        style.append("the colour map " + ", ".join(fig["palettes"][:2]))
    called = _called(code)
    style += list(dict.fromkeys(words for call, words in STYLE_CALLS.items() if call in called))
    if "figsize" in code or "width=" in code:
        style.append("a custom figure size")
    return {"setup": f"Write Python code that uses {libs}.",
            "data_description": _data_description(fig, table_head, bool(facts.get("mocked"))),
            "data_block": block or "(no data lines: the values are written in the plotting calls)",
            "plot_description": _plot_description(fig),
            "style_description": ("Use " + ", ".join(style) + ".") if style else "Default styling."}


def _called(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
            for n in ast.walk(tree) if isinstance(n, ast.Call)}


def messages_for(parts: dict, code: str) -> str:
    return json.dumps([{"role": "user", "content": user_turn(parts)},
                       {"role": "assistant", "content": assistant_turn(code)}])


def annotate_template(batch: pd.DataFrame) -> pd.DataFrame:
    """Template annotation for every alive code row (dialogue rows already have messages)."""
    batch = batch.copy()
    for i in batch.index[alive(batch) & (batch["messages"] == "")]:
        facts = json.loads(batch.at[i, "facts"] or "{}")
        libraries = [lib for lib in batch.at[i, "libraries"].split(",") if lib]
        head = batch.at[i, "table_csv"][:2000] if batch.at[i, "table_csv"] else ""
        try:
            parts = template_parts(batch.at[i, "code"], facts, libraries, head)
            batch.at[i, "instruction"] = json.dumps(parts)
            batch.at[i, "messages"] = messages_for(parts, batch.at[i, "code"])
            batch.at[i, "annotator"] = "template"
        except ValueError as exc:
            reject(batch, i, "annotate", str(exc))
    return batch
