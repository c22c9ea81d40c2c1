"""The same training path on CUDA: NCCL, ZeRO-3 bf16, one worker per GPU. Skipped without
CUDA; exercised on GPU nodes (`pytest -m gpu tests/train`)."""

import json

import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu, pytest.mark.slow,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


def test_zero3_on_gpus(tiny_model, tmp_path):
    import ray

    from tests.train.test_train_e2e import tiny_config
    from viscoder.train.runner import run_train

    gpus = torch.cuda.device_count()
    cfg = tiny_config(tiny_model, tmp_path / "run", use_gpu=True, num_workers=min(gpus, 2),
                      global_batch_size=2 * 2 * min(gpus, 2), max_steps=8, save_steps=4)
    try:
        result = run_train(cfg)
    finally:
        ray.shutdown()
    assert result.summary["global_step"] == 8
    assert json.loads((tmp_path / "run" / "deepspeed.json").read_text())["bf16"]["enabled"]
    from transformers import AutoModelForCausalLM

    AutoModelForCausalLM.from_pretrained(result.model_dir)
