"""The one chat schema (viscoder.chat): the data stage and the train stage accept and reject
the same dialogues, with the same roles, for the same reasons."""

import json

import pytest

from viscoder.chat import ROLES, ChatError, normalise_chat, turn
from viscoder.data.sources import normalise_dialogue

CODE = "```python\nimport matplotlib.pyplot as plt\nplt.plot([1])\n```"


@pytest.mark.parametrize("alias, role", [
    ("human", "user"), ("gpt", "assistant"), ("model", "assistant"), ("bot", "assistant"),
    ("function", "tool"), ("observation", "tool"), ("tool", "tool"), ("system", "system"),
])
def test_one_alias_table_for_every_stage(alias, role):
    raw = [{"role": "user", "content": "plot"}, {"role": "assistant", "content": CODE},
           {"role": alias, "content": "output"}, {"role": "assistant", "content": CODE}]
    chat = normalise_chat(raw)
    assert chat[2]["role"] == role and role in ROLES
    data_chat, reason = normalise_dialogue(raw, max_turns=8, max_chars=10_000)
    assert reason == "" and data_chat == chat  # the data stage keeps what train will read


@pytest.mark.parametrize("raw, reason", [
    ("{not json", "messages is not JSON"),
    ([], "no messages"),
    ("[1]", "message 0 is not a mapping"),
    ([{"role": "narrator", "content": "x"}], "unknown role 'narrator' (message 0)"),
    ([{"role": "user", "content": None}, {"role": "assistant", "content": "x"}],
     "a user turn must have text content, not NoneType (message 0)"),
    ([{"role": "user", "content": "hi"}], "no assistant turn"),
])
def test_bad_chats_are_rejected_with_the_same_reason_in_both_stages(raw, reason):
    with pytest.raises(ChatError) as err:
        normalise_chat(raw)
    assert str(err.value) == reason
    assert normalise_dialogue(raw, max_turns=8, max_chars=10_000) == (None, reason)


def test_json_text_and_arrays_are_read_like_lists():
    import numpy as np

    raw = [{"role": "human", "content": "a"}, {"role": "gpt", "content": "b"}]
    expected = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    assert normalise_chat(json.dumps(raw)) == normalise_chat(np.array(raw)) == expected


def test_turn_builds_schema_messages():
    assert turn("user", "fix it") == {"role": "user", "content": "fix it"}
    with pytest.raises(ChatError, match="unknown role"):
        turn("narrator", "x")
