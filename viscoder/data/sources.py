"""Step 1 for every source: raw rows -> the common row shape (``rows.COLUMNS``).

* raw corpus: filter by plotting library (``filter.LibraryFilter``);
* CoSyn-style: rebuild a runnable script that loads its table the way a user would;
* Code-Feedback-style: keep Python dialogues within the turn and length limits, roles
  normalised; they skip extraction, execution and annotation.

Each function takes and returns a pandas batch; rows that cannot be used are rejected with
a reason, never dropped.
"""

from __future__ import annotations

import ast

import pandas as pd

from viscoder.chat import ChatError, dumps, normalise_chat
from viscoder.data.filter import LibraryFilter
from viscoder.data.rows import normalise, reject


def filter_raw(batch: pd.DataFrame, id_column: str, text_column: str, libraries: list[str],
               max_bytes: int) -> pd.DataFrame:
    check = LibraryFilter(tuple(libraries), max_bytes)
    ids = batch[id_column] if id_column in batch else pd.Series(range(len(batch)))
    texts = batch[text_column] if text_column in batch else pd.Series([None] * len(batch))
    out = normalise(pd.DataFrame({"id": ids.astype(str).values}), "stack")
    kept_text, libs = [], []
    for i, content in enumerate(texts):
        verdict = check(content)
        if verdict.kept:
            kept_text.append(content if isinstance(content, str) else content.decode())
            libs.append(",".join(verdict.libraries))
        else:
            kept_text.append("")
            libs.append("")
            reject(out, i, "filter", verdict.reason)
    out["text"], out["libraries"] = kept_text, libs
    if text_column not in batch:
        out["stage"], out["reason"] = "filter", f"no {text_column!r} column"
    return out


def rebuild_cosyn(code: str, table_csv: str, table_name: str) -> str:
    """A script that reads the table from a CSV file (header and first row shown as
    comments), then runs the chart code; the final plotting call is appended if missing."""
    lines = [ln for ln in table_csv.strip().splitlines() if ln.strip()]
    header = lines[0] if lines else ""
    first = lines[1] if len(lines) > 1 else ""
    body = code.rstrip()
    try:
        tree = ast.parse(body)
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    except SyntaxError:
        names, attrs = set(), set()
    prelude = ["import pandas as pd"]
    if "plt" in names and "import matplotlib.pyplot as plt" not in body:
        prelude.append("import matplotlib.pyplot as plt")
    prelude += ["", f"# {table_name}: {header}", f"# first row: {first}",
                f"data = pd.read_csv({table_name!r})", ""]
    tail = []
    if "show" not in attrs and "savefig" not in attrs:
        if "plt" in names:
            tail = ["", "plt.show()"]
        elif "fig" in names:
            tail = ["", "fig.show()"]
    return "\n".join(prelude) + body + "\n" + "\n".join(tail) + ("\n" if tail else "")


def cosyn_rows(batch: pd.DataFrame, id_column: str, code_column: str, table_column: str,
               table_name: str) -> pd.DataFrame:
    out = normalise(pd.DataFrame({"id": batch[id_column].astype(str).values}), "cosyn")
    texts, tables = [], []
    for i, (code, table) in enumerate(zip(batch.get(code_column, [None] * len(batch)),
                                          batch.get(table_column, [None] * len(batch)),
                                          strict=True)):
        if not isinstance(code, str) or not code.strip():
            reject(out, i, "ingest", "no chart code")
            texts.append("")
            tables.append("")
            continue
        if not isinstance(table, str) or not table.strip():
            reject(out, i, "ingest", "no data table")
            texts.append("")
            tables.append("")
            continue
        texts.append(rebuild_cosyn(code, table, table_name))
        tables.append(table)
    out["code"], out["table_csv"], out["table_name"] = texts, tables, table_name
    out["extractor"] = "cosyn_rebuild"
    out["libraries"] = [_libraries_of(c) for c in texts]
    return out


def _libraries_of(code: str) -> str:
    found = [lib for lib in ("seaborn", "plotly", "matplotlib") if lib in code]
    return ",".join(found) or "matplotlib"


def normalise_dialogue(raw, max_turns: int, max_chars: int) -> tuple[list[dict] | None, str]:
    """(messages, "") or (None, reason). The chat schema is viscoder.chat's (the train stage
    reads what this writes with the same rules); the turn, length and language limits are
    this source's."""
    try:
        chat = normalise_chat(raw)
    except ChatError as exc:
        return None, str(exc)
    turns = [m for m in chat if m["role"] != "system"]
    if len(turns) > max_turns:
        return None, f"too many turns ({len(turns)} > {max_turns})"
    if sum(len(m["content"]) for m in chat) > max_chars:
        return None, f"too long (> {max_chars} characters)"
    code_blocks = "".join(m["content"] for m in turns if m["role"] == "assistant")
    if "```python" not in code_blocks and "```py" not in code_blocks and "import " not in code_blocks:
        return None, "not a Python dialogue"
    return chat, ""


def feedback_rows(batch: pd.DataFrame, id_column: str, messages_column: str, max_turns: int,
                  max_chars: int) -> pd.DataFrame:
    out = normalise(pd.DataFrame({"id": batch[id_column].astype(str).values}), "code_feedback")
    messages = []
    for i, raw in enumerate(batch.get(messages_column, [None] * len(batch))):
        chat, reason = normalise_dialogue(raw, max_turns, max_chars)
        if chat is None:
            reject(out, i, "ingest", reason)
            messages.append("")
        else:
            messages.append(dumps(chat))
    out["messages"] = messages
    out["annotator"] = "source"
    out["libraries"] = [_libraries_of(m) if m else "" for m in messages]
    return out
