"""End to end on this CPU machine: Ray Data -> Ray Train (2 workers) -> HF Trainer +
DeepSpeed ZeRO-3 bf16 on gloo -> a Hugging Face folder that transformers loads and
`viscoder serve` answers from; and a run that loses a worker mid-way and resumes."""

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, descendant_pids, viscoder_serve
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


def test_a_killed_worker_resumes_from_the_last_checkpoint(ray_session, tiny_model, tmp_path):
    from viscoder.train.runner import run_train

    out = tmp_path / "run"
    cfg = tiny_config(tiny_model, out, max_steps=12, save_steps=4, max_failures=2)
    killed: list[int] = []

    def kill_after_first_checkpoint():
        # Ray Train lists a checkpoint in its snapshot once every rank has reported it.
        snapshot = out / "ray" / cfg.name / "checkpoint_manager_snapshot.json"
        deadline = time.monotonic() + 500
        while time.monotonic() < deadline and not killed:
            if snapshot.exists() and '"checkpoint_dir_name"' in snapshot.read_text():
                pids = descendant_pids("RayTrainWorker")
                if pids:
                    os.kill(pids[-1], signal.SIGKILL)
                    killed.append(pids[-1])
                    return
            time.sleep(0.5)

    killer = threading.Thread(target=kill_after_first_checkpoint, daemon=True)
    killer.start()
    summary = run_train(cfg).summary
    killer.join(timeout=5)
    assert killed, "no worker was killed: the test did not exercise a failure"
    assert summary["global_step"] == 12
    assert summary["resumed_from_step"] in (4, 8)
    assert sorted(losses(out)) == list(range(1, 13))  # each step once, across both attempts

    # Started again, a finished run is not trained twice.
    started = time.monotonic()
    again = run_train(cfg).summary
    assert again["global_step"] == 12
    assert again["train_seconds_this_attempt"] == summary["train_seconds_this_attempt"]
    assert time.monotonic() - started < 120
