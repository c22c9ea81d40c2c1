"""What each Ray Train worker runs: Hugging Face ``Trainer`` with DeepSpeed on its data shard.

The Trainer owns the loop, mixed precision, gradient accumulation, clipping, the schedule and
the DeepSpeed engine; TRL's collator pads (or flattens, with packing) the token ids that the
Ray Data plan produced. What is ours is only the glue no library has:

* the shard arrives from Ray Data already split across workers, so the Trainer gets a plain
  ``DataLoader`` over it (accelerate must not shard or dispatch it a second time), capped at
  the same number of micro-batches on every worker;
* checkpoints go through Ray's ``RayTrainReportCallback`` (DeepSpeed shards of every rank
  land in one Ray checkpoint), once every rank has finished writing (a barrier: the ranks of
  a node share the folder), and a restarted worker group resumes from the latest one;
* at the end every rank takes part in ``save_model`` (ZeRO-3 gathers the shards) and rank 0
  reports the Hugging Face folder as the run's final checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import IterableDataset
from transformers import TrainerCallback

from viscoder.train.zero import prepare_jit_builds, stale_build_locks

FINAL_MARKER = "viscoder_final.json"  # in the last Ray checkpoint of a finished run
HF_CHECKPOINT = "checkpoint"  # RayTrainReportCallback's folder name inside a Ray checkpoint


def pick_attention(requested: str, use_gpu: bool) -> str:
    if requested != "auto":
        return requested
    if use_gpu:
        try:
            import flash_attn  # noqa: F401

            return "flash_attention_2"
        except ImportError:
            pass
    return "sdpa"


def make_collate(pad_token_id: int, padding_free: bool, attention: str = "sdpa"):
    """Ray Data numpy batch -> TRL's collator (padding, labels at -100 on padding)."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    collator = DataCollatorForLanguageModeling(pad_token_id=pad_token_id, padding_free=padding_free)

    def collate(batch: dict[str, Any]) -> dict[str, Any]:
        keys = [k for k in ("input_ids", "labels", "seq_lengths") if k in batch]
        rows = len(batch["input_ids"])
        examples = [{k: np.asarray(batch[k][i]).tolist() for k in keys} for i in range(rows)]
        out = collator(examples)
        # Only the keys the model's forward takes; TRL adds flash-attention varlen metadata
        # in padding-free mode, which sdpa/eager would reject.
        allowed = {"input_ids", "labels", "attention_mask", "position_ids"}
        if padding_free and "flash" in attention:
            allowed |= {"cu_seq_lens_q", "cu_seq_lens_k", "max_length_q", "max_length_k"}
        return {k: v for k, v in out.items() if k in allowed}

    return collate


class ShardBatches(IterableDataset):
    """One epoch of a worker's Ray Data shard as collated micro-batches, a fixed count long.

    Every worker gets the same number of rows (``streaming_split(equal=True)``); capping at
    ``micro_batches`` makes every epoch end on a full optimizer step on every rank.
    """

    def __init__(self, shard, micro_batch: int, micro_batches: int, collate, shuffle_rows: int,
                 seed: int):
        self.shard, self.micro_batch, self.micro_batches = shard, micro_batch, micro_batches
        self.collate, self.shuffle_rows, self.seed = collate, shuffle_rows, seed
        self.epoch = 0

    def __len__(self) -> int:
        return self.micro_batches

    def __iter__(self):
        self.epoch += 1
        batches = self.shard.iter_torch_batches(
            batch_size=self.micro_batch, collate_fn=self.collate, drop_last=True,
            local_shuffle_buffer_size=self.shuffle_rows or None,
            local_shuffle_seed=(self.seed + self.epoch) if self.shuffle_rows else None)
        n = 0
        for batch in batches:
            if n == self.micro_batches:
                break
            yield batch
            n += 1
        if n < self.micro_batches:
            raise RuntimeError(f"this worker's data shard ran out after {n} of "
                               f"{self.micro_batches} micro-batches")


def train_worker(params: dict[str, Any]) -> None:
    """The ``train_loop_per_worker`` of the TorchTrainer."""
    import ray.train

    from viscoder.train.config import TrainConfig

    cfg = TrainConfig.model_validate(params["config"])
    ctx = ray.train.get_context()
    rank = ctx.get_world_rank()
    latest = ray.train.get_checkpoint()
    if latest is not None:
        with latest.as_directory() as folder:
            if (Path(folder) / FINAL_MARKER).exists():
                # A finished run started again: nothing to train, the driver exports.
                if rank == 0:
                    print("[train] run already finished; reusing its final model", flush=True)
                return
            _fit(cfg, params, rank, resume_dir=Path(folder) / HF_CHECKPOINT)
            return
    _fit(cfg, params, rank, resume_dir=None)


def _fit(cfg, params: dict[str, Any], rank: int, resume_dir: Path | None) -> None:
    import ray.train
    import torch
    from ray.train.huggingface.transformers import RayTrainReportCallback
    from torch.utils.data import DataLoader
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments

    if not cfg.use_gpu:
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
        for lock in stale_build_locks(prepare_jit_builds()):
            print(f"[train] WARNING: {lock} is older than any build: a killed build left it, "
                  "and DeepSpeed will wait on it forever. Delete it if no other build runs.",
                  flush=True)
    attention = pick_attention(cfg.attn_implementation, cfg.use_gpu)
    work = Path(tempfile.gettempdir()) / "viscoder-train" / params["attempt_id"]
    work.mkdir(parents=True, exist_ok=True)
    plan = params["plan"]
    args = TrainingArguments(
        output_dir=str(work / "hf"),
        per_device_train_batch_size=plan["per_device"],
        gradient_accumulation_steps=plan["accumulation"],
        max_steps=params["max_steps"],
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        bf16=cfg.bf16,
        deepspeed=params["deepspeed"],
        gradient_checkpointing=cfg.gradient_checkpointing,
        optim="adamw_torch",
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.keep_checkpoints,
        seed=cfg.seed,
        report_to=[],
        use_cpu=not cfg.use_gpu,
        remove_unused_columns=False,
        include_num_input_tokens_seen="non_padding",
        disable_tqdm=rank != 0,
        **cfg.trainer_overrides,
    )
    # Ray Train has set up torch.distributed; DeepSpeed's own comm layer must wrap it before
    # the model loads, or ZeRO-3's partitioned init sizes everything for a world of one.
    import deepspeed

    deepspeed.init_distributed(dist_backend="nccl" if cfg.use_gpu else "gloo")
    # TrainingArguments first: with ZeRO-3 it makes from_pretrained load straight into
    # partitions instead of a full copy per worker.
    tokenizer = AutoTokenizer.from_pretrained(cfg.model, trust_remote_code=cfg.trust_remote_code)
    model = AutoModelForCausalLM.from_pretrained(
        cfg.model, dtype=torch.bfloat16 if cfg.bf16 else torch.float32,
        attn_implementation=attention, trust_remote_code=cfg.trust_remote_code)
    if cfg.gradient_checkpointing:
        model.config.use_cache = False

    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    micro_batches = params["steps_per_epoch"] * plan["accumulation"]
    batches = ShardBatches(ray.train.get_dataset_shard("train"), plan["per_device"], micro_batches,
                           make_collate(pad_id, cfg.packing, attention), cfg.shuffle_buffer_rows, cfg.seed)

    class RayDataTrainer(Trainer):
        # The shard is already split per worker and collated: a plain DataLoader, not the
        # accelerate-prepared one that would split or broadcast it again.
        def get_train_dataloader(self):
            return DataLoader(batches, batch_size=None)

    trainer = RayDataTrainer(model=model, args=args, train_dataset=batches,
                             processing_class=tokenizer,
                             callbacks=[_CheckpointWritten(), RayTrainReportCallback(),
                                        _Progress(rank, cfg.report_steps)])
    start_step = 0
    if resume_dir is not None:
        start_step = json.loads((resume_dir / "trainer_state.json").read_text())["global_step"]
        if rank == 0:
            print(f"[train] resuming from the checkpoint at step {start_step}", flush=True)
    started = time.time()
    trainer.train(resume_from_checkpoint=str(resume_dir) if resume_dir else None)
    elapsed = time.time() - started

    export = work / "export"
    trainer.save_model(str(export / "model"))  # collective: ZeRO-3 gathers on rank 0
    summary = {
        "global_step": trainer.state.global_step,
        "max_steps": params["max_steps"],
        "resumed_from_step": start_step if resume_dir is not None else None,
        "num_input_tokens_seen": int(trainer.state.num_input_tokens_seen),
        "train_seconds_this_attempt": round(elapsed, 2),
        "attention": attention,
        "world_size": ray.train.get_context().get_world_size(),
    }
    checkpoint = None
    if rank == 0:
        tokenizer.save_pretrained(str(export / "model"))
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
