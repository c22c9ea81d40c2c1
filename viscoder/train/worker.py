"""What each Ray Train worker runs: :func:`viscoder.train.fit.fit` on its Ray Data shard.

The training itself (Hugging Face ``Trainer`` with DeepSpeed, TRL's collator) is
``viscoder/train/fit.py``, which runs without Ray too (``benchmarks/train_mfu.py``). What is
Ray's, and lives here:

* the rows come from this worker's Ray Data shard (already split across workers), read with
  Ray Data's local shuffle;
* checkpoints go through Ray's ``RayTrainReportCallback`` (DeepSpeed shards of every rank
  land in one Ray checkpoint), once every rank has finished writing (a barrier: the ranks of
  a node share the folder), and a restarted worker group resumes from the latest one;
* at the end every rank takes part in ``save_model`` (ZeRO-3 gathers the shards) and rank 0
  reports the Hugging Face folder as the run's final checkpoint.

Started by ``viscoder.train.runner.run_train`` as the ``train_loop_per_worker``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from viscoder.train.fit import Fitted, WorkerPlan, fit, make_collate, pick_attention

__all__ = ["FINAL_MARKER", "HF_CHECKPOINT", "RayShardRows", "make_collate", "pick_attention",
           "train_worker"]

FINAL_MARKER = "viscoder_final.json"  # in the last Ray checkpoint of a finished run
HF_CHECKPOINT = "checkpoint"  # RayTrainReportCallback's folder name inside a Ray checkpoint


class RayShardRows:
    """A worker's Ray Data shard as a :class:`viscoder.train.fit.RowSource`: collated
    micro-batches with Ray Data's local shuffle, seeded per epoch."""

    def __init__(self, shard, shuffle_rows: int, seed: int):
        self.shard, self.shuffle_rows, self.seed = shard, shuffle_rows, seed

    def batches(self, micro_batch: int, collate, epoch: int):
        return self.shard.iter_torch_batches(
            batch_size=micro_batch, collate_fn=collate, drop_last=True,
            local_shuffle_buffer_size=self.shuffle_rows or None,
            local_shuffle_seed=(self.seed + epoch) if self.shuffle_rows else None)


def train_worker(params: dict[str, Any]) -> None:
    """The ``train_loop_per_worker`` of the TorchTrainer."""
    import ray.train

    from viscoder.train.config import TrainConfig

    cfg = TrainConfig.model_validate(params["config"])
    rank = ray.train.get_context().get_world_rank()
    latest = ray.train.get_checkpoint()
    if latest is not None:
        with latest.as_directory() as folder:
            if (Path(folder) / FINAL_MARKER).exists():
                # A finished run started again: nothing to train, the driver exports.
                if rank == 0:
                    print("[train] run already finished; reusing its final model", flush=True)
                return
            _fit(cfg, params, resume_dir=Path(folder) / HF_CHECKPOINT)
            return
    _fit(cfg, params, resume_dir=None)


def worker_plan(params: dict[str, Any]) -> WorkerPlan:
    """The driver's batch plan and step counts, for this Ray Train worker."""
    import ray.train

    ctx = ray.train.get_context()
    work = Path(tempfile.gettempdir()) / "viscoder-train" / params["attempt_id"]
    return WorkerPlan(per_device=params["plan"]["per_device"],
                      accumulation=params["plan"]["accumulation"],
                      steps_per_epoch=params["steps_per_epoch"], max_steps=params["max_steps"],
                      deepspeed=params["deepspeed"], work_dir=work,
                      rank=ctx.get_world_rank(), world_size=ctx.get_world_size())


def _fit(cfg, params: dict[str, Any], resume_dir: Path | None) -> None:
    import ray.train
    from ray.train.huggingface.transformers import RayTrainReportCallback

    plan = worker_plan(params)
    rows = RayShardRows(ray.train.get_dataset_shard("train"), cfg.shuffle_buffer_rows, cfg.seed)
    fitted = fit(cfg, plan, rows, resume_dir=resume_dir,
                 callbacks=[_CheckpointWritten(), RayTrainReportCallback(),
                            _Progress(plan.rank, cfg.report_steps)])
    _report_final(fitted, plan)


def _report_final(fitted: Fitted, plan: WorkerPlan) -> None:
    """Every rank saves (ZeRO-3 gathers the shards on rank 0); rank 0 writes the folder the
    driver exports and reports it as the run's final Ray checkpoint."""
    import ray.train

    trainer = fitted.trainer
    export = plan.work_dir / "export"
    trainer.save_model(str(export / "model"))  # collective: ZeRO-3 gathers on rank 0
    summary = {
        "global_step": trainer.state.global_step,
        "max_steps": plan.max_steps,
        "resumed_from_step": fitted.resumed_from_step,
        "num_input_tokens_seen": int(trainer.state.num_input_tokens_seen),
        "train_seconds_this_attempt": round(fitted.train_seconds, 2),
        "attention": fitted.attention,
        "world_size": plan.world_size,
    }
    checkpoint = None
    if plan.rank == 0:
        fitted.tokenizer.save_pretrained(str(export / "model"))
        (export / "model" / "training_args.bin").unlink(missing_ok=True)  # a pickle nobody loads
        with open(export / "metrics.jsonl", "w") as fh:
            for entry in trainer.state.log_history:
                fh.write(json.dumps(entry) + "\n")
        (export / FINAL_MARKER).write_text(json.dumps(summary, indent=2))
        checkpoint = ray.train.Checkpoint.from_directory(str(export))
    ray.train.report({**summary, "final": True}, checkpoint=checkpoint,
                     checkpoint_dir_name="final")


class _CheckpointWritten(TrainerCallback):
    """Every rank waits until all ranks have finished writing the checkpoint before any of them
    hands it to Ray. The workers of one node share the Trainer's checkpoint folder, and the
    Trainer ends its save without a barrier: rank 0 is still writing its optimizer, scheduler
    and trainer state (and rotating old checkpoints) when another rank's
    ``RayTrainReportCallback`` copies the folder. That copy could hold a half-written file,
    which then overwrote the whole one in the Ray checkpoint, and the resume failed on it."""

    def on_save(self, args, state, control, **kwargs):
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.barrier()


class _Progress(TrainerCallback):
    """Per logging step: tokens/s per worker into the log history and one line on rank 0 for
    `ray job logs`; every ``report_steps``, the metrics to Ray Train. A Ray Train report is a
    collective over all workers (about half a second on CPU), hence not on every step."""

    def __init__(self, rank: int, report_steps: int):
        self.rank, self.report_steps = rank, report_steps
        self.started = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = (time.time(), state.global_step, state.num_input_tokens_seen)

    def on_log(self, args, state, control, logs=None, **kwargs):
        import ray.train

        if not logs or "loss" not in logs or self.started is None:
            return
        t0, _, tok0 = self.started
        dt = max(time.time() - t0, 1e-9)
        world = int(os.environ.get("WORLD_SIZE", "1"))
        tps = (state.num_input_tokens_seen - tok0) / dt / max(world, 1)
        if state.log_history:
            state.log_history[-1]["tokens_per_s_per_worker"] = round(tps, 1)
        if state.global_step % self.report_steps == 0:
            ray.train.report({**logs, "step": state.global_step, "tokens_per_s_per_worker": tps})
        if self.rank != 0:
            return
        print(f"[train] step {state.global_step}/{state.max_steps} "
              f"epoch {state.epoch:.2f} loss {logs['loss']:.4f} "
              f"lr {logs.get('learning_rate', math.nan):.3g} "
              f"tokens/s/worker {tps:.0f}", flush=True)
