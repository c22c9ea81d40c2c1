"""Chats -> token ids and labels, with the loss on assistant turns only.

The masking is the libraries': the model's own chat template, patched by TRL with
``{% generation %}`` markers around assistant output (``get_training_chat_template``; Qwen2.5,
Llama 3, Gemma, Phi... are supported), and transformers' ``return_assistant_tokens_mask``.
Every assistant turn of a multi-turn dialogue carries loss; system, user and tool turns and
the ``<|im_start|>assistant`` headers do not. Samples longer than ``max_length`` are dropped
with a reason, never truncated (a truncated sample teaches the model to stop mid-code).
Chats are read with the one schema of ``viscoder.chat``, as the data stage writes them.

Runs as a Ray Data ``map_batches`` stage (:class:`ChatTokenizer`); the pure function
:func:`tokenize_chat` is what tests check token by token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from viscoder.chat import ChatError, normalise_chat

IGNORE_INDEX = -100  # the label value transformers' cross-entropy skips


class TemplateError(ValueError):
    """The model's chat template cannot mark assistant tokens."""


def training_chat_template(tokenizer) -> str:
    """The template to tokenize with: the model's own, with generation markers if missing."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    template = tokenizer.chat_template
    if not template:
        raise TemplateError(f"{tokenizer.name_or_path} has no chat template; give the model "
                            "folder a chat_template (tokenizer_config.json or chat_template.jinja)")
    if has_generation_markers(template):
        return template
    try:
        patched = get_training_chat_template(tokenizer)
    except ValueError as exc:
        raise TemplateError(
            f"the chat template of {tokenizer.name_or_path} has no {{% generation %}} markers and "
            f"TRL has no training variant of it ({exc}). Add the markers around assistant "
            "output in the template to train with loss on assistant turns only.") from None
    return patched or template


@dataclass(frozen=True)
class Tokenized:
    input_ids: list[int]
    labels: list[int]

    @property
    def loss_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


@dataclass(frozen=True)
class Dropped:
    reason: str
    detail: str = ""


def tokenize_chat(messages: Any, tokenizer, template: str, max_length: int) -> Tokenized | Dropped:
    try:
        chat = normalise_chat(messages)  # the data stage's schema, so its output passes as is
    except ChatError as exc:
        return Dropped("bad_messages", str(exc))
    try:
        enc = tokenizer.apply_chat_template(chat, chat_template=template, tokenize=True,
                                            return_dict=True, return_assistant_tokens_mask=True)
    except Exception as exc:  # a template can raise on content it does not accept
        return Dropped("template_error", f"{type(exc).__name__}: {exc}")
    ids = list(enc["input_ids"])
    if len(ids) > max_length:
        return Dropped("too_long", f"{len(ids)} tokens > max_length {max_length}")
    mask = enc["assistant_masks"]
    labels = [tok if keep else IGNORE_INDEX for tok, keep in zip(ids, mask, strict=True)]
    result = Tokenized(ids, labels)
    if result.loss_tokens == 0:
        return Dropped("no_loss_tokens", "the template marked no assistant tokens")
    return result


class ChatTokenizer:
    """Ray Data stage: a batch of chats -> input_ids, labels, n_tokens and drop_reason.

    Dropped rows stay in the output with an empty ``input_ids`` and their reason, so the
    driver can count every input row before filtering them out.
    """

    def __init__(self, model: str, messages_column: str, max_length: int,
                 trust_remote_code: bool = False):
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
        self.template = training_chat_template(self.tokenizer)
        self.column = messages_column
        self.max_length = max_length

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        if self.column not in batch:
            raise KeyError(f"the data has no {self.column!r} column (columns: {sorted(batch)}); "
                           "set messages_column")
        out: dict[str, list] = {"input_ids": [], "labels": [], "n_tokens": [],
                                "n_loss_tokens": [], "drop_reason": []}
        for messages in batch[self.column]:
            result = tokenize_chat(messages, self.tokenizer, self.template, self.max_length)
            if isinstance(result, Dropped):
                out["input_ids"].append([])
                out["labels"].append([])
                out["n_tokens"].append(0)
                out["n_loss_tokens"].append(0)
                out["drop_reason"].append(result.reason)
            else:
                out["input_ids"].append(result.input_ids)
                out["labels"].append(result.labels)
                out["n_tokens"].append(len(result.input_ids))
                out["n_loss_tokens"].append(result.loss_tokens)
                out["drop_reason"].append("")
        return out
