"""Vision-language judges over an OpenAI-compatible API: a visual score (generated image
against the reference) and a task score (generated image against the task text), each 0-100,
read from the ``[FINAL SCORE]`` marker. Every call is independent: the prompt never grows with
earlier items (the published code let it). A reply without a readable score is ``None`` and is
counted separately, never silently scored 0."""

from __future__ import annotations

import base64
import re
from typing import Any

_SCORE = re.compile(r"\[\s*FINAL\s+SCORE\s*\]\s*:?\s*\**\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)


def parse_score(reply: str | None) -> float | None:
    """The last number after a [FINAL SCORE] marker, clamped to 0-100; None when absent."""
    matches = _SCORE.findall(reply or "")
    if not matches:
        return None
    return max(0.0, min(100.0, float(matches[-1])))


def image_part(png: bytes) -> dict[str, Any]:
    return {"type": "image_url",
            "image_url": {"url": "data:image/png;base64," + base64.b64encode(png).decode()}}


def visual_messages(prompts: Any, generated: bytes, reference: bytes) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "text", "text": prompts.judge_visual},
                                         image_part(generated), image_part(reference)]}]


def task_messages(prompts: Any, generated: bytes, task_text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "text", "text": prompts.judge_task_text(task_text)},
                                         image_part(generated)]}]
