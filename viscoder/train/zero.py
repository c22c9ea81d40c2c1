"""The DeepSpeed ZeRO config that Hugging Face ``Trainer`` hands to DeepSpeed.

Batch sizes, precision and clipping are written out from our config (so the file a run
saves says exactly what ran); bucket sizes stay ``"auto"`` so transformers sizes them from
the model's hidden size. There is no ``optimizer``/``scheduler`` section on purpose: the
Trainer then builds torch's AdamW and the cosine schedule, which run everywhere, instead of
DeepSpeed's fused CPU/GPU Adam that has to be compiled on first use.
"""

from __future__ import annotations

from typing import Any

from viscoder.config import deep_merge
from viscoder.train.batch import BatchPlan
from viscoder.train.config import TrainConfig


def deepspeed_config(cfg: TrainConfig, plan: BatchPlan) -> dict[str, Any]:
    zero: dict[str, Any] = {
        "stage": cfg.zero_stage,
        "overlap_comm": True,
        "contiguous_gradients": True,
        "reduce_bucket_size": "auto",
    }
    if cfg.zero_stage == 3:
        zero.update({
            "stage3_prefetch_bucket_size": "auto",
            "stage3_param_persistence_threshold": "auto",
            "stage3_max_live_parameters": 1_000_000_000,
            "stage3_max_reuse_distance": 1_000_000_000,
            "sub_group_size": 1_000_000_000,
            # save_model() then gathers the shards into one full bf16 state dict on rank 0:
            # the exported folder loads in transformers and vLLM without zero_to_fp32.
            "stage3_gather_16bit_weights_on_model_save": True,
        })
    if cfg.offload_optimizer and cfg.zero_stage >= 1:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": cfg.use_gpu}
    ds: dict[str, Any] = {
        "train_micro_batch_size_per_gpu": plan.per_device,
        "gradient_accumulation_steps": plan.accumulation,
        "train_batch_size": plan.global_batch,
        "gradient_clipping": cfg.max_grad_norm,
        "bf16": {"enabled": cfg.bf16},
        "fp16": {"enabled": False},
        "zero_optimization": zero,
        # torch's AdamW is not on DeepSpeed's list of ZeRO-tested optimizers, but it is the
        # optimizer ZeRO partitions most often in practice.
        "zero_allow_untested_optimizer": True,
        "steps_per_print": 1_000_000,
        "wall_clock_breakdown": False,
    }
    return deep_merge(ds, cfg.deepspeed_overrides)
