"""The data stage's output is the train stage's input, unchanged: `run_data` on the bundled
tiny inputs (plus dialogues with tool turns under their other names) writes dataset/ and
dataset.jsonl, and the train loader reads both with every row kept, none dropped."""

import json

import pytest

from tests.support.paths import REPO
from viscoder.data.config import DataConfig
from viscoder.data.pipeline import run_data
from viscoder.train.config import TrainConfig
from viscoder.train.data import prepare_data

pytestmark = pytest.mark.slow
EXAMPLES = REPO / "viscoder" / "examples" / "data"
CODE = "```python\nimport matplotlib.pyplot as plt\nplt.plot([{k}, 2])\nplt.show()\n```"


@pytest.fixture(scope="module")
def ray_session():
    import ray

    yield
    ray.shutdown()


def dialogues(path):
    rows = []
    for k, name in enumerate(("tool", "function", "observation")):
        rows.append({"id": f"tools-{name}", "messages": [
            {"role": "system", "content": "You write plotting code."},
            {"role": "human", "content": f"plot {k}"},
            {"role": "gpt", "content": CODE.format(k=k)},
            {"role": name, "content": f"Traceback: error {k}"},
            {"role": "gpt", "content": CODE.format(k=k + 10)}]})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_data_stage_output_passes_the_train_loader_unchanged(ray_session, tiny_model,
                                                                  tmp_path):
    extra = dialogues(tmp_path / "tools.jsonl")
    data_cfg = DataConfig.model_validate({
        "output_dir": str(tmp_path / "data"), "raw": {"paths": [str(EXAMPLES / "raw.jsonl")]},
        "cosyn": {"paths": [str(EXAMPLES / "cosyn.jsonl")]},
        "feedback": {"paths": [str(EXAMPLES / "feedback.jsonl"), str(extra)]},
        "exec_actors": 1, "jsonl": True})
    stats = run_data(data_cfg)
    accepted = stats["accepted"]
    assert accepted > 3 and stats["accepted_by_source_library"]
    out = tmp_path / "data"
    for source in (out / "dataset", out / "dataset.jsonl"):
        train_cfg = TrainConfig(model=str(tiny_model), data=[str(source)],
                                output_dir=str(tmp_path / "train"), num_workers=1,
                                use_gpu=False, max_length=1_000_000)  # no length drops here
        data = prepare_data(train_cfg, tokenizer_cpus=1)
        assert (data.rows_in, data.rows_kept, data.dropped) == (accepted, accepted, {}), source
