"""Step 4: the instruction that asks for a script, in five parts (setup, data description,
data block, plot description, style), assembled by one fixed template into the user turn.

Two annotators. The vision-language one (an OpenAI-compatible endpoint, see ``llm.py``) is the
published method. The template annotator here needs nothing: it writes the parts from what the
static analysis knows (plot kinds, columns, labels, titles, colours) and marks its rows
``annotator=template`` so they can be told apart or re-annotated later.
"""

from __future__ import annotations

import ast
import json

import pandas as pd

from viscoder.data.rows import alive, reject
from viscoder.prompts.data import assistant_turn, user_turn

PLOT_WORDS = {
    "bar": "bar chart", "barh": "horizontal bar chart", "barplot": "bar chart",
    "hist": "histogram", "histplot": "histogram", "histogram": "histogram",
    "scatter": "scatter plot", "scatterplot": "scatter plot", "plot": "line plot",
    "lineplot": "line plot", "line": "line chart", "boxplot": "box plot", "box": "box plot",
    "violinplot": "violin plot", "violin": "violin plot", "heatmap": "heatmap",
    "imshow": "image of a matrix", "pie": "pie chart", "kdeplot": "density curve",
    "contour": "contour plot", "contourf": "filled contour plot", "fill_between": "shaded band",
    "errorbar": "error bars", "stackplot": "stacked area chart", "area": "area chart",
    "pairplot": "grid of pairwise plots", "countplot": "count chart", "regplot": "regression plot",
    "lmplot": "regression plot", "stem": "stem plot", "step": "step plot", "polar": "polar plot",
    "subplots": "several panels", "Figure": "figure", "Scatter": "scatter trace",
    "Bar": "bar trace", "sunburst": "sunburst chart", "treemap": "treemap", "density_heatmap":
    "2D density heatmap", "choropleth": "map", "quiver": "vector field", "hexbin": "hexbin plot",
}
STYLE_CALLS = {"legend": "a legend", "grid": "a grid", "tight_layout": "a tight layout",
               "colorbar": "a colour bar", "yscale": "a scaled y axis", "xscale": "a scaled x axis",
               "xticks": "custom x ticks", "annotate": "annotations", "text": "text labels",
               "update_layout": "a customised layout", "set_style": "a seaborn style",
               "set_theme": "a theme"}


_PLOT_TOKENS = ("plt.", "sns.", "px.", "go.", ".plot(", ".plot.", "ax.", "axes", "fig", "make_subplots")


def _data_block(code: str) -> str:
    """The mock-data lines, or else the top-level statements before the first one that
    plots (whole statements, so a loop is never cut in half), imports left out."""
    lines = code.splitlines()
    if "# mock data standing in for the original inputs" in lines:
        start = lines.index("# mock data standing in for the original inputs") + 1
        block = []
        for line in lines[start:]:
            if not line.strip():
                break
            block.append(line)
        return "\n".join(block)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ""
    data = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            continue
        text = ast.get_source_segment(code, stmt) or ast.unparse(stmt)
        if any(tok in text for tok in _PLOT_TOKENS):
            break
        data.append(text)
    return "\n".join(data[:15])


def template_parts(code: str, facts: dict, libraries: list[str], table_head: str = "") -> dict:
    libs = " and ".join(libraries) or "matplotlib"
    kinds = [PLOT_WORDS[c] for c in facts.get("plot_calls", []) if c in PLOT_WORDS]
    kinds = list(dict.fromkeys(kinds)) or ["chart"]
    columns = facts.get("columns") or []
    if table_head:
        header = table_head.splitlines()[0]
        data_description = f"A table read from a CSV file with the columns {header}."
        block = "\n".join(table_head.splitlines()[:4])
    elif columns:
        data_description = (f"A table with the columns {', '.join(columns)}; the script builds "
                            "small mock values for it.")
        block = _data_block(code)
    else:
        data_description = "Numeric arrays created in the script."
        block = _data_block(code)
    texts = facts.get("texts") or {}
    plot = f"Draw a {' with '.join(kinds[:3])}."
    if texts.get("title"):
        plot += f" The title reads \"{texts['title'][0]}\"."
    labels = [f"x axis \"{texts['xlabel'][0]}\"" if texts.get("xlabel") else "",
              f"y axis \"{texts['ylabel'][0]}\"" if texts.get("ylabel") else ""]
    labels = [lb for lb in labels if lb]
    if labels:
        plot += " Label the " + " and the ".join(labels) + "."
    style = []
    if facts.get("colors"):
        style.append("colours " + ", ".join(facts["colors"][:4]))
    called = _called(code)
    style += [words for call, words in STYLE_CALLS.items() if call in called]
    if "figsize" in code:
        style.append("a custom figure size")
    style_description = ("Use " + ", ".join(style) + ".") if style else "Default styling."
    return {"setup": f"Write Python code that uses {libs}.",
            "data_description": data_description, "data_block": block or "(no data lines)",
            "plot_description": plot, "style_description": style_description}


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
