"""Code in a model's answer: the one parser of Markdown code fences, with the choice of block
as a parameter. Used by the bench (``bench/extract.py``) and the data stage's LLM extractor
(``data/llm.py``); the two rules they use are defined here, side by side, with the reason.

    from viscoder.fences import BENCH, EXTRACTION, fenced_code
    fenced_code(answer, BENCH)        # the first python block, or None

A fence is three backticks, an optional language tag, a newline, the code, and three closing
backticks; a last fence left open (an answer cut off by the token limit) runs to the end of
the text. Blocks tagged with another language (```java, ```bash) are never code to run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_FENCE = re.compile(r"```[ \t]*(?P<tag>[\w+.-]*)[ \t]*\r?\n(?P<body>.*?)(?:```|\Z)", re.DOTALL)
PYTHON_TAGS = ("python", "py", "python3")


@dataclass(frozen=True)
class FenceRule:
    pick: Literal["first", "longest"]
    untagged: bool  # does a block with no language tag count as python?


# The bench measures a model the way the published PandasPlotBench harness does: the first
# block marked python is the answer, an unmarked block is not taken (the whole answer is then
# run and fails, as upstream), so pass rates stay comparable with published numbers.
BENCH = FenceRule(pick="first", untagged=False)
# The data stage asks a model to rewrite a file as one runnable script; answers often put a
# short usage line or a `pip install` block before or after it, and some models leave the
# fence unmarked. The longest python (or unmarked) block is the script; execution then checks it.
EXTRACTION = FenceRule(pick="longest", untagged=True)


def code_blocks(text: str, untagged: bool) -> list[str]:
    """The bodies of the python blocks of ``text``, in order (newlines at either end kept)."""
    blocks = []
    for match in _FENCE.finditer(text or ""):
        tag = match.group("tag").lower()
        if tag in PYTHON_TAGS or (untagged and not tag):
            blocks.append(match.group("body"))
    return blocks


def fenced_code(text: str, rule: FenceRule) -> str | None:
    """The block ``rule`` picks, without the newlines around it; None when there is none."""
    blocks = code_blocks(text, rule.untagged)
    if not blocks:
        return None
    block = blocks[0] if rule.pick == "first" else max(blocks, key=len)
    return block.strip("\n")
