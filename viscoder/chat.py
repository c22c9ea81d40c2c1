"""The one chat schema of viscoder: roles, normalisation, validation with reasons.

Every stage that reads or writes a chat goes through here: the data stage when it ingests
dialogues (``data/sources.py``), the train stage when it tokenizes them
(``train/chat_tokens.py``), the bench when it builds its conversations (``bench/engine.py``).
So a dialogue the data stage accepts is one the train stage accepts, unchanged.

    from viscoder.chat import ChatError, normalise_chat, turn
    chat = normalise_chat('[{"role": "human", "content": "plot x"}, {"role": "gpt", ...}]')
    turn("user", "The code failed: ...")

The rule: a chat is OpenAI's format restricted to text, a non-empty list of
``{"role", "content"}`` with role one of ``system``, ``user``, ``assistant``, ``tool`` and
content a string, with at least one assistant turn (the turns a model learns from).
Speaker names of other formats are mapped by one table (:data:`ROLE_ALIASES`):

* ShareGPT's ``human``/``gpt``, ``model``/``bot`` -> ``user``/``assistant``;
* ``function`` (OpenAI's older name for a tool result) and ``observation`` (the name
  ChatGLM and agent datasets give to a tool's output) -> ``tool``.

``tool`` is kept, not folded into ``user``: a tool's output is not something the user said,
every chat template we train with renders it in its own way (Qwen2.5 wraps it in
``<tool_response>``), and the loss ignores it either way. A stage must not relabel speakers;
the model's template decides how each role is shown. Anything else (an unknown role, content
that is not text, a chat without an assistant turn) is rejected with the reason.
"""

from __future__ import annotations

import json
from typing import Any

ROLES = ("system", "user", "assistant", "tool")
ROLE_ALIASES = {
    "human": "user", "gpt": "assistant", "model": "assistant", "bot": "assistant",
    "function": "tool", "observation": "tool",
}


class ChatError(ValueError):
    """A chat that does not follow the schema; the message is the reason (recorded on the
    rejected row by the data stage, counted as the drop reason by the train stage)."""


def normalise_role(role: Any) -> str:
    """The schema's name for ``role``; ChatError when it has none."""
    name = ROLE_ALIASES.get(role, role) if isinstance(role, str) else role
    if name not in ROLES:
        raise ChatError(f"unknown role {role!r}")
    return name


def turn(role: str, content: str | list[dict[str, Any]]) -> dict[str, Any]:
    """One message in the schema, e.g. ``turn("user", feedback)``. A request to a vision
    model may carry OpenAI content parts (text and images) instead of text; stored chats
    (:func:`normalise_chat`) are text only."""
    if not isinstance(content, str | list):
        raise ChatError(f"a {role} turn must have text content, not {type(content).__name__}")
    return {"role": normalise_role(role), "content": content}


def normalise_chat(raw: Any) -> list[dict[str, str]]:
    """``raw`` (a list of messages, its JSON text, or a numpy array of them as Parquet
    readers return) -> a list of ``{"role", "content"}`` in the schema. Raises ChatError with
    the reason when it cannot be one."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise ChatError("messages is not JSON") from None
    if hasattr(raw, "tolist") and not isinstance(raw, list):  # numpy array from Parquet
        raw = raw.tolist()
    if not isinstance(raw, list) or not raw:
        raise ChatError("no messages")
    chat = []
    for i, message in enumerate(raw):
        if not isinstance(message, dict):
            raise ChatError(f"message {i} is not a mapping")
        role, content = message.get("role"), message.get("content")
        try:
            if not isinstance(content, str):
                raise ChatError(f"a {role} turn must have text content, not {type(content).__name__}")
            chat.append(turn(role, content))
        except ChatError as exc:
            raise ChatError(f"{exc} (message {i})") from None
    if not any(m["role"] == "assistant" for m in chat):
        raise ChatError("no assistant turn")
    return chat


def dumps(chat: list[dict[str, str]]) -> str:
    """The JSON text of a chat as the data stage stores it in its ``messages`` column."""
    return json.dumps(chat, ensure_ascii=False)
