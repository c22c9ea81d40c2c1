"""The other pure steps: CoSyn rebuild, Code-Feedback dialogues, template annotation and the
instruction template, reading LLM answers, duplicates and benchmark overlap."""

import json

import pandas as pd
import pytest

from viscoder.data.annotate import annotate_template, template_parts
from viscoder.data.llm import (
    annotate_postprocess,
    extract_postprocess,
    parse_annotation,
    parse_extraction,
)
from viscoder.data.mix import add_dedup_keys, mark_duplicates, ngrams, overlap_share
from viscoder.data.rows import COLUMNS, normalise, primary_library
from viscoder.data.sources import feedback_rows, normalise_dialogue, rebuild_cosyn
from viscoder.prompts.data import user_turn


def test_cosyn_script_reads_its_table_like_a_user_and_shows():
    code = "fig, ax = plt.subplots()\nax.bar(data['country'], data['gdp'])"
    script = rebuild_cosyn(code, "country,gdp\nFrance,2.9\nItaly,2.1\n", "data.csv")
    lines = script.splitlines()
    assert "import pandas as pd" in lines and "import matplotlib.pyplot as plt" in lines
    assert "# data.csv: country,gdp" in lines and "# first row: France,2.9" in lines
    assert "data = pd.read_csv('data.csv')" in lines
    assert lines[-1] == "plt.show()"
    assert rebuild_cosyn("plt.plot([1])\nplt.show()", "a\n1\n", "t.csv").count("plt.show()") == 1


def test_cosyn_script_runs_with_its_table(sandbox):
    script = rebuild_cosyn("import matplotlib.pyplot as plt\nplt.plot(data['x'], data['y'])",
                           "x,y\n1,2\n2,4\n3,3\n", "data.csv")
    result = sandbox.run(script, files={"data.csv": b"x,y\n1,2\n2,4\n3,3\n"})
    assert result.ok and not result.blank


@pytest.mark.parametrize("raw, reason", [
    ([{"role": "user", "content": "hi"}], "no assistant turn"),
    ([{"role": "user", "content": "java?"}, {"role": "assistant", "content": "```java\n```"}],
     "not a Python dialogue"),
    ([{"role": "narrator", "content": "x"}], "unknown role"),
    ("{not json", "messages is not JSON"),
])
def test_dialogues_are_rejected_with_reasons(raw, reason):
    chat, why = normalise_dialogue(raw, max_turns=8, max_chars=10000)
    assert chat is None and why.startswith(reason)


def test_dialogue_limits_and_roles():
    turns = [{"role": "human" if i % 2 == 0 else "gpt", "content": "```python\nimport x\n```"}
             for i in range(6)]
    chat, _ = normalise_dialogue(turns, max_turns=8, max_chars=10000)
    assert [m["role"] for m in chat] == ["user", "assistant"] * 3
    assert normalise_dialogue(turns, max_turns=4, max_chars=10000)[1].startswith("too many turns")
    assert normalise_dialogue(turns, max_turns=8, max_chars=50)[1].startswith("too long")
    frame = feedback_rows(pd.DataFrame({"id": [1, 2], "messages": [turns, "[]"]}), "id",
                          "messages", 8, 10000)
    assert list(frame["stage"]) == ["", "ingest"] and list(frame.columns) == list(COLUMNS)


def test_instruction_has_the_five_parts_in_order():
    parts = template_parts("import numpy as np\nimport matplotlib.pyplot as plt\nx = np.arange(5)\n"
                           "plt.bar(x, x, color='red')\nplt.title('T')\nplt.grid()\n",
                           {"plot_calls": ["bar", "title", "grid"], "texts": {"title": ["T"]},
                            "colors": ["red"], "columns": []}, ["matplotlib"])
    text = user_turn(parts)
    order = [text.index(p) for p in ("Write Python code that uses matplotlib.", "Data:",
                                     "```python\nx = np.arange(5)\n```", "Plot: Draw a bar chart",
                                     "Style: Use colours red, a grid")]
    assert order == sorted(order)
    assert "plt." not in parts["plot_description"]  # no function names in the description
    with pytest.raises(ValueError, match="style_description"):
        user_turn({**parts, "style_description": " "})


def test_template_annotator_marks_its_rows():
    frame = normalise(pd.DataFrame({"id": ["a"]}), "stack")
    frame.loc[0, ["code", "libraries", "facts"]] = ["import matplotlib.pyplot as plt\nplt.plot([1, 2])\n",
                                                    "matplotlib", json.dumps({"plot_calls": ["plot"]})]
    out = annotate_template(frame)
    chat = json.loads(out.at[0, "messages"])
    assert out.at[0, "annotator"] == "template" and [m["role"] for m in chat] == ["user", "assistant"]
    assert chat[1]["content"].startswith("```python\nimport matplotlib")


def test_reading_llm_answers():
    assert parse_extraction("Sure!\n```python\nimport matplotlib.pyplot as plt\nplt.plot([1])\n```")[0]
    assert parse_extraction("NONE") == (None, "nothing usable")
    assert parse_extraction("garbage tokens")[1] == "no code block in the answer"
    assert parse_extraction("```python\ndef (\n```")[1].startswith("answer does not parse")
    good = {p: "x" for p in ("setup", "data_description", "data_block", "plot_description",
                             "style_description")}
    assert parse_annotation("```json\n" + json.dumps(good) + "\n```")[0] == good
    assert parse_annotation("no json")[1] == "no JSON object in the answer"
    assert parse_annotation(json.dumps({"setup": "x"}))[1].startswith("answer lacks")
    row = {"id": "stack/1", "code": "", "stage": "", "reason": "", "payload": {},
           "http_response": {"error": {"message": "model not found"}}}
    assert extract_postprocess(dict(row))["reason"] == "llm: endpoint error: model not found"
    row["http_response"] = {"choices": [{"message": {"content": "```python\nx = 1\n```"}}]}
    out = extract_postprocess(dict(row))
    assert out["code"] == "x = 1\n" and out["stage"] == "" and "payload" not in out
    row["http_response"] = {"choices": [{"message": {"content": "a picture of a cat"}}]}
    assert annotate_postprocess(dict(row))["stage"] == "annotate"


def test_near_duplicates_keep_one_and_name_it():
    frame = normalise(pd.DataFrame({"id": ["b", "a", "c"]}), "stack")
    frame["code"] = ["plt.plot([1, 2])  # first\n", "plt.plot([3, 4])\n", "plt.bar([1])\n"]
    keyed = add_dedup_keys(frame, "near")
    assert keyed.at[0, "dedup_key"] == keyed.at[1, "dedup_key"] != keyed.at[2, "dedup_key"]
    group = mark_duplicates(keyed[keyed["dedup_key"] == keyed.at[0, "dedup_key"]])
    assert list(group["stage"]) == ["", "dedup"] and group.at[1, "reason"] == "duplicate of stack/a"
    exact = add_dedup_keys(frame, "exact")
    assert exact.at[0, "dedup_key"] != exact.at[1, "dedup_key"]


def test_benchmark_overlap_share():
    task = "Plot a bar chart of the number of passengers per class with a title and grey bars"
    grams = ngrams(task, 5)
    copied = json.dumps([{"role": "user", "content": task}, {"role": "assistant", "content": "x"}])
    other = json.dumps([{"role": "user", "content": "Draw a sine wave in red with a dashed grid"},
                        {"role": "assistant", "content": "y"}])
    assert overlap_share(copied, grams, 5) > 0.9
    assert overlap_share(other, grams, 5) == 0.0


def test_primary_library_is_the_most_specific():
    assert primary_library("matplotlib,seaborn") == "seaborn"
    assert primary_library("matplotlib") == "matplotlib" and primary_library("") == ""


def test_config_needs_an_input_and_an_endpoint_for_llm_steps():
    from viscoder.config import ConfigError, load_config
    from viscoder.data.config import DataConfig

    with pytest.raises(ConfigError, match="at least one input"):
        load_config(DataConfig, None, ["output_dir=o"])
    with pytest.raises(ConfigError, match="need an `llm` endpoint"):
        load_config(DataConfig, None, ["output_dir=o", "raw.paths=[x]", "annotator=llm"])
    with pytest.raises(ConfigError, match="base_url"):
        load_config(DataConfig, None, ["output_dir=o", "raw.paths=[x]", "extractor=llm",
                                       "llm.model=m"])
    cfg = load_config(DataConfig, None, ["output_dir=o", "raw.paths=[x]", "extractor=llm",
                                         "llm.model=m", "llm.engine=vllm"])
    assert cfg.llm.engine == "vllm"
