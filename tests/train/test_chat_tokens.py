"""Which tokens carry loss: checked token by token against character spans of the rendered
chat, on the tiny model's tokenizer (Qwen2.5's chat template, patched by TRL)."""

import pytest

from viscoder.chat import normalise_chat
from viscoder.train.chat_tokens import (
    IGNORE_INDEX,
    Dropped,
    TemplateError,
    Tokenized,
    tokenize_chat,
    training_chat_template,
)


@pytest.fixture(scope="module")
def tok(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


@pytest.fixture(scope="module")
def template(tok):
    return training_chat_template(tok)


def expected_loss_positions(tok, chat):
    """Tokens whose characters lie inside an assistant turn's output: the text after
    '<|im_start|>assistant' up to and including '<|im_end|>\\n', found in the text the
    model's original template renders, mapped to tokens through the offsets."""
    text = tok.apply_chat_template(chat, tokenize=False)
    spans, start = [], 0
    header = "<|im_start|>assistant"
    for message in chat:
        if message["role"] != "assistant":
            continue
        begin = text.index(header, start) + len(header)
        end = text.index("<|im_end|>\n", begin) + len("<|im_end|>\n")
        assert text[begin:end] == "\n" + message["content"] + "<|im_end|>\n"
        spans.append((begin, end))
        start = end
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    positions = [i for i, (a, b) in enumerate(enc["offset_mapping"])
                 if any(a >= s and b <= e for s, e in spans)]
    return enc["input_ids"], positions


@pytest.mark.parametrize("chat", [
    [{"role": "user", "content": "Plot a sine wave."},
     {"role": "assistant", "content": "import numpy as np\nplt.plot(np.sin(x))"}],
    [{"role": "system", "content": "You write plotting code."},
     {"role": "user", "content": "Bar chart of df."},
     {"role": "assistant", "content": "df.plot.bar(x='date')"},
     {"role": "user", "content": "KeyError: 'date'\nFix it."},
     {"role": "assistant", "content": "df.plot.bar()"},
     {"role": "user", "content": "Add a title."},
     {"role": "assistant", "content": "ax = df.plot.bar(title='Sales')"}],
], ids=["single-turn", "multi-turn"])
def test_loss_on_every_assistant_turn_and_nothing_else(tok, template, chat):
    result = tokenize_chat(chat, tok, template, max_length=4096)
    assert isinstance(result, Tokenized)
    ids, positions = expected_loss_positions(tok, chat)
    assert result.input_ids == ids  # the training template renders the same tokens
    for i, (token, label) in enumerate(zip(result.input_ids, result.labels, strict=True)):
        if i in positions:
            assert label == token, f"token {i} {tok.decode([token])!r} should carry loss"
        else:
            assert label == IGNORE_INDEX, f"token {i} {tok.decode([token])!r} should not"
    learned = tok.decode([t for t, lab in zip(ids, result.labels, strict=True) if lab != IGNORE_INDEX])
    assistant = [m["content"] for m in chat if m["role"] == "assistant"]
    assert learned == "".join(f"\n{c}<|im_end|>\n" for c in assistant)
    assert "Qwen" not in learned and "user" not in learned


def test_too_long_is_dropped_not_truncated(tok, template):
    chat = [{"role": "user", "content": "x " * 300}, {"role": "assistant", "content": "ok"}]
    full = tokenize_chat(chat, tok, template, max_length=4096)
    assert isinstance(full, Tokenized)
    dropped = tokenize_chat(chat, tok, template, max_length=len(full.input_ids) - 1)
    assert isinstance(dropped, Dropped) and dropped.reason == "too_long"
    exact = tokenize_chat(chat, tok, template, max_length=len(full.input_ids))
    assert isinstance(exact, Tokenized)


@pytest.mark.parametrize("raw, reason", [
    ("not json", "bad_messages"),
    ([], "bad_messages"),
    ([{"role": "user", "content": "hi"}], "bad_messages"),  # nothing to learn
    ([{"role": "pirate", "content": "arr"}, {"role": "assistant", "content": "x"}], "bad_messages"),
    ([{"role": "user", "content": None}, {"role": "assistant", "content": "x"}], "bad_messages"),
])
def test_bad_chats_get_a_reason(tok, template, raw, reason):
    result = tokenize_chat(raw, tok, template, max_length=4096)
    assert isinstance(result, Dropped) and result.reason == reason and result.detail


def test_chats_are_normalised():
    chat = normalise_chat('[{"role": "human", "content": "a"}, {"role": "gpt", "content": "b"}]')
    assert chat == [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]


def test_template_with_markers_is_used_as_is(tok):
    marked = "{% for m in messages %}{% generation %}{{ m['content'] }}{% endgeneration %}{% endfor %}"
    tok2 = tok.__class__.from_pretrained(tok.name_or_path)
    tok2.chat_template = marked
    assert training_chat_template(tok2) == marked


def test_unknown_template_without_markers_is_a_clear_error(tok):
    tok2 = tok.__class__.from_pretrained(tok.name_or_path)
    tok2.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    with pytest.raises(TemplateError, match="generation"):
        training_chat_template(tok2)
