"""The data stage's prompts: the fixed template that assembles a training instruction from
its five parts, and the requests sent to an LLM extractor and a vision-language annotator.
The text lives in ``templates/data_*.txt``; this module only fills it in.
"""

from __future__ import annotations

from functools import cache

from viscoder.prompts import TEMPLATES

ANNOTATION_PARTS = ("setup", "data_description", "data_block", "plot_description",
                    "style_description")


@cache
def _template(name: str) -> str:
    return (TEMPLATES / f"{name}.txt").read_text().strip()


def user_turn(parts: dict[str, str]) -> str:
    """The training instruction: the five annotation parts in a fixed order and layout.
    The data block is shown as a fenced Python block."""
    missing = [p for p in ANNOTATION_PARTS if not str(parts.get(p, "")).strip()]
    if missing:
        raise ValueError(f"annotation lacks {', '.join(missing)}")
    block = parts["data_block"].strip()
    if not block.startswith("```"):
        block = f"```python\n{block}\n```"
    values = {**{p: str(parts[p]).strip() for p in ANNOTATION_PARTS}, "data_block": block}
    return _template("data_user_turn").format(**values)


def assistant_turn(code: str) -> str:
    return f"```python\n{code.strip()}\n```"


def extract_request(source: str) -> str:
    return _template("data_extract").replace("{source}", source)


def annotate_request(code: str) -> str:
    return _template("data_annotate").replace("{code}", code)
