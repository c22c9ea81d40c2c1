"""From a model's answer to the script that runs: the first fenced python block (the whole text
when there is none; the rule and why: ``viscoder.fences.BENCH``), with the model's own
``read_csv("data.csv")`` line replaced by the dataset's loading prelude."""

from __future__ import annotations

import re

from viscoder.fences import BENCH, fenced_code

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_STOP_TOKENS = ("<|eot_id|>", "<|endoftext|>", "<|im_end|>", "<EOS>", "</s>",
                "<|start_header_id|>", "<|end_header_id|>")
_LOAD_LINE = re.compile(
    r"""^[ \t]*df[ \t]*=[ \t]*(?:pd|pandas)\.read_csv\([ \t]*(['"])data\.csv\1[ \t]*\)[ \t]*;?[ \t]*(?:#.*)?$""",
    re.MULTILINE)


def extract_code(answer: str) -> str:
    text = _THINK.sub("", answer or "")
    code = fenced_code(text, BENCH)
    if code is not None:
        return code
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
