"""The DeepSpeed ZeRO config that Hugging Face ``Trainer`` hands to DeepSpeed.

Batch sizes, precision and clipping are written out from our config (so the file a run
saves says exactly what ran); bucket sizes stay ``"auto"`` so transformers sizes them from
the model's hidden size. There is no ``optimizer``/``scheduler`` section on purpose: the
Trainer then builds torch's AdamW and the cosine schedule, which run everywhere, instead of
DeepSpeed's fused CPU/GPU Adam that has to be compiled on first use.

It also chooses where DeepSpeed's one remaining JIT-compiled op (CPU collectives) is built:
``python -m viscoder.train.zero`` builds it ahead of time (``scripts/setup.sh`` does).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
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


# DeepSpeed compiles its CPU communication op on first use, through torch's JIT extension
# builder. torch's default place for it is ~/.cache/torch_extensions, shared by every
# virtualenv of the user: each venv's torch headers differ, so they rebuild over one another,
# and the build lock that one killed build leaves there makes every later run, in any venv,
# wait on it forever without a word. A build folder per virtualenv avoids both.
STALE_LOCK_S = 600


def prepare_jit_builds() -> Path | None:
    """Point torch's JIT builds at ``<venv>/torch_extensions`` (unless the user chose a place)
    and have them run the venv's own ninja; return the folder, or None outside a writable
    virtualenv. Call before DeepSpeed starts.

    The ninja matters: torch runs whichever ``ninja`` is first on PATH, and two ninja versions
    (the venv's and the system's) do not read each other's build log, so a process with the
    venv activated and one without would rebuild the op over each other every time."""
    venv_bin = Path(sys.executable).parent
    if (venv_bin / "ninja").exists() and os.environ.get("PATH", "").split(os.pathsep)[0] != str(venv_bin):
        os.environ["PATH"] = os.pathsep.join([str(venv_bin), os.environ.get("PATH", "")])
    if "TORCH_EXTENSIONS_DIR" in os.environ:
        return Path(os.environ["TORCH_EXTENSIONS_DIR"])
    if sys.prefix == sys.base_prefix or not os.access(sys.prefix, os.W_OK):
        return None
    folder = Path(sys.prefix) / "torch_extensions"
    os.environ["TORCH_EXTENSIONS_DIR"] = str(folder)
    return folder


def stale_build_locks(folder: Path | None, older_than_s: float = STALE_LOCK_S) -> list[Path]:
    """Build locks older than any real build: what a killed build left behind."""
    if folder is None or not folder.is_dir():
        return []
    now = time.time()
    return [lock for lock in folder.glob("**/lock") if now - lock.stat().st_mtime > older_than_s]


def build_cpu_comm_op() -> None:
    """Build DeepSpeed's CPU communication op now, in this one process (``scripts/setup.sh``
    runs it), so that the workers of a first CPU training do not race to compile it."""
    os.environ.setdefault("DS_ACCELERATOR", "cpu")
    prepare_jit_builds()
    from deepspeed.comm.torch import build_shm_op

    build_shm_op()


if __name__ == "__main__":
    build_cpu_comm_op()
