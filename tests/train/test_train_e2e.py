"""End to end on this CPU machine: Ray Data -> Ray Train (2 workers) -> HF Trainer +
DeepSpeed ZeRO-3 bf16 on gloo -> a Hugging Face folder that transformers loads and
`viscoder serve` answers from; and a run that loses a worker mid-way and resumes."""

import json
import os
import signal
import sys
import threading
from pathlib import Path

import cloudpickle
import pytest
from ray.train import UserCallback

from tests.support.paths import REPO
from tests.support.processes import descendant_pids, viscoder_serve, wait_for
from viscoder.config import load_config
from viscoder.train.config import TrainConfig

pytestmark = pytest.mark.slow


def tiny_config(tiny_model, out: Path, **overrides) -> TrainConfig:
    cfg = load_config(TrainConfig, REPO / "configs" / "tiny" / "train.yaml",
                      model=str(tiny_model), output_dir=str(out),
                      data=[str(REPO / "viscoder" / "examples" / "chats.jsonl")])
    return cfg.model_copy(update=overrides)


def losses(out: Path) -> dict[int, float]:
    steps = {}
    for line in (out / "metrics.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if "loss" in entry:
            assert entry["step"] not in steps, f"step {entry['step']} logged twice"
            steps[entry["step"]] = entry["loss"]
    return steps


@pytest.fixture(scope="module")
def ray_session():
    import ray

    yield
    ray.shutdown()


def test_train_export_load_and_serve(ray_session, tiny_model, tmp_path):
    from viscoder.train.runner import run_train

    out = tmp_path / "run"
    result = run_train(tiny_config(tiny_model, out))
    summary = result.summary
    assert summary["global_step"] == summary["max_steps"] == 32
    assert summary["world_size"] == 2 and summary["resumed_from_step"] is None
    loss = losses(out)
    assert sorted(loss) == list(range(1, 33))
    first, last = sum(loss[s] for s in (1, 2, 3)) / 3, sum(loss[s] for s in (30, 31, 32)) / 3
    assert last < first - 1.0, f"loss did not go down: {first:.3f} -> {last:.3f}"
    for name in ("config.yaml", "deepspeed.json", "data_stats.json", "summary.json"):
        assert (out / name).exists(), name
    assert json.loads((out / "deepspeed.json").read_text())["zero_optimization"]["stage"] == 3

    # The folder loads in transformers as is, with the model's original chat template.
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = result.model_dir
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in model_dir.iterdir()}
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tok = AutoTokenizer.from_pretrained(model_dir)
    assert tok.chat_template == AutoTokenizer.from_pretrained(tiny_model).chat_template
    ids = tok.apply_chat_template([{"role": "user", "content": "Plot a histogram."}],
                                  add_generation_prompt=True, return_tensors="pt", return_dict=True)
    assert model.generate(**ids, max_new_tokens=5).shape[1] > ids["input_ids"].shape[1]

    # ... and `viscoder serve` answers from it without conversion.
    import openai

    with viscoder_serve(model_dir, "trained", tmp_path, "max_model_len=1024", "dtype=float32") as srv:
        client = openai.OpenAI(base_url=srv["base_url"], api_key="none")
        reply = client.chat.completions.create(
            model="trained", max_tokens=8,
            messages=[{"role": "user", "content": "Plot a histogram."}])
        assert reply.choices[0].message.content is not None
        assert reply.usage.completion_tokens > 0


class CheckpointSignal(UserCallback):
    """Ray Train's public callback: after every rank has reported a checkpoint and Ray has
    persisted it, touch a file this test waits on (the callback runs in Ray's controller)."""

    def __init__(self, marker: str):
        self.marker = marker

    def after_report(self, run_context, metrics, checkpoint):
        if checkpoint is not None:
            Path(self.marker).touch()


cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the controller cannot import tests


def test_a_killed_worker_resumes_from_the_last_checkpoint(ray_session, tiny_model, tmp_path):
    from viscoder.train.runner import run_train

    out = tmp_path / "run"
    cfg = tiny_config(tiny_model, out, max_steps=12, save_steps=4, max_failures=2)
    marker = tmp_path / "checkpoint-reported"
    killed: list[int] = []

    def kill_after_first_checkpoint():
        wait_for(marker.exists, 600, "Ray Train to report the first checkpoint")
        pids = wait_for(lambda: descendant_pids("RayTrainWorker"), 60, "a training worker")
        os.kill(pids[-1], signal.SIGKILL)
        killed.append(pids[-1])

    killer = threading.Thread(target=kill_after_first_checkpoint, daemon=True)
    killer.start()
    summary = run_train(cfg, callbacks=[CheckpointSignal(str(marker))]).summary
    killer.join(timeout=60)
    assert killed, "no worker was killed: the test did not exercise a failure"
    assert summary["global_step"] == 12
    assert summary["resumed_from_step"] in (4, 8)
    assert sorted(losses(out)) == list(range(1, 13))  # each step once, across both attempts

    # Started again, a finished run is not trained twice.
    again = run_train(cfg).summary
    assert again["global_step"] == 12
    assert again["train_seconds_this_attempt"] == summary["train_seconds_this_attempt"]
