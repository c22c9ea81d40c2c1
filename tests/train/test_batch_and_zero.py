"""Batch arithmetic and the DeepSpeed config our TrainConfig produces."""

import pytest

from viscoder.train.batch import BatchError, BatchPlan, plan_batch
from viscoder.train.config import TrainConfig
from viscoder.train.zero import deepspeed_config


def test_accumulation_is_derived_from_the_global_batch():
    plan = plan_batch(128, per_device=1, workers=8)
    assert (plan.accumulation, plan.global_batch) == (16, 128)
    assert plan_batch(128, per_device=2, workers=8).accumulation == 8
    assert plan_batch(128, per_device=4, workers=32).accumulation == 1


def test_a_global_batch_that_does_not_divide_is_explained():
    with pytest.raises(BatchError) as err:
        plan_batch(128, per_device=1, workers=6)
    msg = str(err.value)
    assert "not a multiple" in msg and "1 x 6 = 6" in msg
    assert "num_workers=4" in msg and "global_batch_size=126" in msg and "global_batch_size=132" in msg


def test_an_explicit_accumulation_must_match():
    assert plan_batch(64, 2, 4, accumulation=8).global_batch == 64
    with pytest.raises(BatchError, match="global batch 32"):
        plan_batch(64, 2, 4, accumulation=4)


def test_steps_per_epoch_drop_the_trailing_partial_step():
    plan = BatchPlan(per_device=2, accumulation=2, workers=2)
    assert plan.steps_per_epoch(36) == 4   # 18 rows per worker, 4 per step -> 4 steps, 2 rows unused
    assert plan.steps_per_epoch(7) == 0


def recipe(**kw):
    return TrainConfig(model="Qwen/Qwen2.5-Coder-7B-Instruct", data=["d"], output_dir="o", **kw)


def test_defaults_are_the_published_recipe():
    cfg = recipe()
    assert (cfg.epochs, cfg.learning_rate, cfg.lr_scheduler, cfg.warmup_ratio, cfg.weight_decay,
            cfg.global_batch_size, cfg.bf16, cfg.zero_stage) == (3, 5e-6, "cosine", 0.05, 0.05,
                                                                 128, True, 3)


def test_zero3_config_from_our_config():
    cfg = recipe(max_grad_norm=0.5)
    ds = deepspeed_config(cfg, plan_batch(128, 1, 8))
    assert ds["train_batch_size"] == 128
    assert ds["train_micro_batch_size_per_gpu"] == 1
    assert ds["gradient_accumulation_steps"] == 16
    assert ds["gradient_clipping"] == 0.5
    assert ds["bf16"] == {"enabled": True}
    zero = ds["zero_optimization"]
    assert zero["stage"] == 3 and zero["stage3_gather_16bit_weights_on_model_save"] is True
    assert "offload_optimizer" not in zero
    assert "optimizer" not in ds and "scheduler" not in ds  # the Trainer's torch AdamW + cosine


def test_zero2_offload_and_overrides():
    cfg = recipe(zero_stage=2, offload_optimizer=True, use_gpu=False,
                 deepspeed_overrides={"zero_optimization": {"overlap_comm": False}})
    zero = deepspeed_config(cfg, plan_batch(128, 1, 8))["zero_optimization"]
    assert zero["stage"] == 2 and "stage3_prefetch_bucket_size" not in zero
    assert zero["offload_optimizer"] == {"device": "cpu", "pin_memory": False}
    assert zero["overlap_comm"] is False and zero["contiguous_gradients"] is True


def test_transformers_accepts_the_config(tiny_model):
    """HF's DeepSpeed integration fills the "auto" values and checks ours against the
    TrainingArguments: a mismatch (batch, clipping, precision) would raise here."""
    from transformers import AutoConfig, TrainingArguments
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    cfg = recipe(bf16=True)
    plan = plan_batch(4, 2, 1)  # this test process is a world of one
    ds = deepspeed_config(cfg, plan)
    args = TrainingArguments(output_dir="/tmp/x", per_device_train_batch_size=2,
                             gradient_accumulation_steps=plan.accumulation, bf16=True,
                             max_grad_norm=cfg.max_grad_norm, use_cpu=True, report_to=[])
    hf = HfTrainerDeepSpeedConfig(ds)
    hf.trainer_config_process(args)

    class Model:
        config = AutoConfig.from_pretrained(tiny_model)

    hf.trainer_config_finalize(args, Model(), num_training_steps=10)
    assert hf.config["zero_optimization"]["reduce_bucket_size"] == 64 * 64
    assert hf.config["train_batch_size"] == 4


def test_unknown_keys_are_rejected():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        recipe(learning_rat=1e-5)


def test_jit_builds_go_to_the_virtualenv_and_stale_locks_are_found(tmp_path, monkeypatch):
    import os
    import sys
    import time

    from viscoder.train.zero import prepare_jit_builds, stale_build_locks

    monkeypatch.delenv("TORCH_EXTENSIONS_DIR", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    (tmp_path / "venv").mkdir()
    folder = prepare_jit_builds()
    assert folder == tmp_path / "venv" / "torch_extensions"
    assert os.environ["TORCH_EXTENSIONS_DIR"] == str(folder)
    venv_bin = os.path.dirname(sys.executable)
    if os.path.exists(os.path.join(venv_bin, "ninja")):  # the venv's ninja goes first
        assert os.environ["PATH"].split(os.pathsep)[0] == venv_bin
    # A choice the user made is kept.
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "mine"))
    assert prepare_jit_builds() == tmp_path / "mine"

    fresh, stale = folder / "op_a" / "lock", folder / "op_b" / "lock"
    for lock in (fresh, stale):
        lock.parent.mkdir(parents=True)
        lock.touch()
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    assert stale_build_locks(folder) == [stale]
    assert stale_build_locks(tmp_path / "absent") == [] and stale_build_locks(None) == []
