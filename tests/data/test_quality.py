"""Quality gates, instructions from what the code draws, near-duplicates, the dataset card
and the raw source's text column: pure functions, no Ray."""

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw

from viscoder.data.annotate import template_parts
from viscoder.data.card import write_card
from viscoder.data.gates import image_gate, instruction_gate, mock_gate, named_columns
from viscoder.data.neardup import (
    add_signatures,
    band_keys,
    bucket_pairs,
    lsh_split,
    mark_near_duplicates,
    signature,
    verified_clusters,
)
from viscoder.data.pipeline import pick_text_column
from viscoder.data.rows import normalise
from viscoder.data.static_extract import extract_static

HERE = Path(__file__).parent
CORPUS, DUPS = HERE / "corpus", HERE / "dups"


def parts_of(name: str) -> tuple[dict, str, list[str]]:
    result = extract_static((CORPUS / f"{name}.py").read_text())
    facts = {"figure": result.figure, "mocked": result.mocked}
    return template_parts(result.code, facts, result.libraries), result.code, result.mocked


def png(draw=None, size=(400, 300)) -> bytes:
    image = Image.new("RGB", size, "white")
    if draw:
        draw(ImageDraw.Draw(image))
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


# -- instructions from what the code draws -------------------------------------------------

def test_instruction_counts_and_names_what_is_drawn():
    plot = parts_of("plotly_tables")[0]["plot_description"]
    assert "2 x 2 grid" in plot and "four tables" in plot
    assert "League tables per season" in plot
    zplane = parts_of("pole_zero")[0]["plot_description"]
    assert "a circle" in zplane and "'x' markers" in zplane and "'o' markers" in zplane
    assert "horizontal reference line" in zplane and '"Pole/zero plot"' in zplane
    assert "line plot" not in zplane


def test_instruction_names_columns_with_kinds_and_shows_the_data_code():
    parts, code, _ = parts_of("abs_windows_paths")
    assert "'Adj Close' (numbers)" in parts["data_description"]
    assert "'Date' (date strings)" in parts["data_description"]
    assert "prices = pd.DataFrame(" in parts["data_block"]
    assert "close = prices[['Date', 'Adj Close']]" in parts["data_block"]
    assert "plt." not in parts["data_block"] and ".bar(" not in parts["data_block"]
    for library in ("matplotlib", "seaborn", "plotly", "plt.", "ax."):
        assert library not in parts["plot_description"]
    inline = parts_of("module_arrays")[0]
    assert inline["data_block"].startswith("t = np.linspace")  # built inline, shown


def test_instruction_scatter_with_colour_bar_and_legend_entries():
    parts = parts_of("loadtxt_columns")[0]
    assert '"measured"' in parts["plot_description"] and "scatter plot" in parts["plot_description"]


# -- gates ---------------------------------------------------------------------------------

def test_every_sample_of_the_corpus_passes_the_instruction_gates():
    for path in sorted(CORPUS.glob("*.py")):
        result = extract_static(path.read_text())
        if result.code:
            parts, code, mocked = parts_of(path.stem)
            assert instruction_gate(parts, code, mocked=mocked) is None, path.stem


def test_gate_rejects_a_column_missing_from_the_data_block():
    parts, code, mocked = parts_of("read_csv_module")
    broken = {**parts, "data_description": parts["data_description"] + " Also the columns 'ghost'."}
    assert instruction_gate(broken, code) == "gate: column 'ghost' is not in the data block"
    assert named_columns("A table with the columns 'a' (numbers), 'b c' (dates).") == ["a", "b c"]


def test_gate_rejects_a_chart_the_code_does_not_draw():
    parts, code, _ = parts_of("read_csv_module")
    lying = {**parts, "plot_description": "Draw a pie chart titled \"a bar chart\"."}
    assert "pie chart" in instruction_gate(lying, code)
    # other words for what is drawn pass (an LLM annotator's wording)
    assert instruction_gate({**parts, "plot_description": "Draw a bar plot."}, code) is None
    titled = {**parts, "plot_description": 'Draw a bar chart titled "not a pie chart".'}
    assert instruction_gate(titled, code) is None


def test_gate_rejects_empty_mock_data():
    code = "import numpy as np\nimport pandas as pd\nx = np.array([])\ndf = pd.DataFrame()\n"
    assert mock_gate(code, ["x"]) == "gate: empty mock data for x"
    assert mock_gate(code, ["df"]) == "gate: empty mock data for df"
    assert mock_gate("x = np.random.rand(30)\n", ["x"]) is None


def test_image_gate_blank_nearly_blank_and_drawn():
    assert image_gate(png()).startswith("gate: nearly blank")
    assert image_gate(png(lambda d: d.point((5, 5), "black"))).startswith("gate: nearly blank")
    frame_only = png(lambda d: d.rectangle((40, 30, 360, 270), outline="black"))
    drawn = png(lambda d: [d.rectangle((60 + 50 * i, 270 - 40 * i, 90 + 50 * i, 270), fill="navy")
                           for i in range(6)])
    assert image_gate(drawn) is None and image_gate(frame_only) is None
    assert image_gate(b"not a png").startswith("gate: image does not decode")


# -- near-duplicates -----------------------------------------------------------------------

def test_minhash_sees_renamed_and_reordered_copies_and_not_other_scripts():
    a, b, c = (signature((DUPS / f).read_text(), 128, 5) for f in
               ("damped_a.py", "damped_b_renamed_reordered.py", "bars_other.py"))
    assert np.mean(a == b) >= 0.8 > 0.3 > np.mean(a == c)


def test_lsh_banding_and_clusters_keep_the_smallest_id():
    frame = normalise(pd.DataFrame({"id": ["3", "1", "2", "4"]}), "stack")
    texts = [(DUPS / f).read_text() for f in ("damped_b_renamed_reordered.py", "damped_a.py",
                                               "bars_other.py", "damped_a.py")]
    frame["code"] = texts
    frame.loc[3, "stage"] = "execute"  # rejected rows take no part
    signed = add_signatures(frame, 128, 5)
    assert list(signed["minhash"].map(len)) == [128, 128, 128, 0]
    bands, rows = lsh_split(0.8, 128)
    keys = band_keys(signed, bands, rows)
    assert len(keys) == 3 * bands
    pairs = pd.concat([bucket_pairs(g) for _, g in keys.groupby("band_key")])
    sigs = {i: np.asarray(s, dtype=np.uint64) for i, s in zip(signed["id"], signed["minhash"],
                                                              strict=True) if len(s)}
    dups = verified_clusters(pairs, sigs, 0.8)
    assert set(dups) == {"stack/3"} and dups["stack/3"][0] == "stack/1"
    marked = mark_near_duplicates(signed, dups)
    assert marked.set_index("id").at["stack/3", "reason"].startswith("near-duplicate of stack/1")
    assert "minhash" not in marked.columns


# -- dataset card, text column -------------------------------------------------------------

def test_dataset_card_has_hub_metadata_funnel_grid_and_an_example_pair(tmp_path):
    from huggingface_hub import DatasetCard

    stats = {"rows_in": 10, "accepted": 2, "rejected": 8,
             "rows_in_by_source": {"stack": 10},
             "accepted_by_source_library": {"stack/matplotlib": 2},
             "rejected_by_stage_reason": {"extract: syntax_error": 8},
             "per_step": {"extract": {"in": 10, "rejected": 8, "out": 2}},
             "per_source_step": {"stack": {"extract": {"in": 10, "rejected": 8, "out": 2}}}}
    parts = {"plot_description": "Draw a bar chart."}
    examples = [{"id": f"stack/{i}", "source": "stack", "library": "matplotlib",
                 "png": png(lambda d: d.line((0, 0, 300, 200), fill="red")),
                 "instruction": json.dumps(parts),
                 "messages": [{"role": "user", "content": "u"},
                              {"role": "assistant", "content": "a"}]} for i in range(4)]
    near = {"threshold": 0.8, "num_perm": 128, "shingle": 5, "bands": 9, "rows_per_band": 13,
            "candidate_pairs": 3, "clusters": 1, "removed": 1,
            "example": {"kept": "stack/1", "removed": "stack/3", "jaccard": 0.95,
                        "kept_code": "plt.plot(x)", "removed_code": "plt.plot(t)"}}
    path = write_card(tmp_path, stats, examples, near)
    card = DatasetCard.load(path)
    assert card.data.task_categories == ["text-generation"] and "matplotlib" in card.data.tags
    assert card.data.configs[0]["data_files"][0]["path"] == "dataset/*.parquet"
    text = card.text
    assert "| stack | 10 | 2 | 20% |" in text  # per source: in, after extract, yield
    assert text.count("<img ") == 4 and "Draw a bar chart." in text
    assert "1 clusters, 1 samples removed" in text and "plt.plot(t)" in text
    assert (tmp_path / "card_images" / "stack__0.png").exists()


def test_raw_text_column_text_or_content_or_a_clear_error():
    assert pick_text_column(["id", "text"], None, ["x"]) == "text"
    assert pick_text_column(["id", "content", "repo"], None, ["x"]) == "content"
    assert pick_text_column(["id", "src"], "src", ["x"]) == "src"
    with pytest.raises(ValueError, match="no text column 'text' or 'content'; its columns are id, repo"):
        pick_text_column(["id", "repo"], None, ["raw.parquet"])
