"""From a model's answer to the script that runs: the first fenced python block (the whole text
when there is none), with the model's own ``read_csv("data.csv")`` line replaced by the
dataset's loading prelude."""

from __future__ import annotations

import re

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_PY_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)[ \t]*\r?\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)
_STOP_TOKENS = ("<|eot_id|>", "<|endoftext|>", "<|im_end|>", "<EOS>", "</s>",
                "<|start_header_id|>", "<|end_header_id|>")
_LOAD_LINE = re.compile(
    r"""^[ \t]*df[ \t]*=[ \t]*(?:pd|pandas)\.read_csv\([ \t]*(['"])data\.csv\1[ \t]*\)[ \t]*;?[ \t]*(?:#.*)?$""",
    re.MULTILINE)


def extract_code(answer: str) -> str:
    text = _THINK.sub("", answer or "")
    match = _PY_FENCE.search(text)
    if match:
        return match.group(1).strip("\n")
    for token in _STOP_TOKENS:
        text = text.replace(token, "")
    return text.strip()


def with_prelude(code: str, prelude: str) -> str:
    """Drop the model's loading line(s) and put the dataset's prelude first, as the published
    harness does, so that every answer reads the data the same way."""
    body = _LOAD_LINE.sub("# df is loaded by the benchmark (see the lines above)", code)
    if not prelude:
        return body
    return f"{prelude.rstrip()}\n{body}"
