"""One training worker's code path, without Ray: Trainer + DeepSpeed on token rows.

``viscoder train`` runs :func:`fit` inside every Ray Train worker (``viscoder/train/worker.py``
adds the Ray parts: the data shard, checkpoints to Ray, the final report);
``benchmarks/train_mfu.py`` runs the same function in one plain process. Nothing here imports
Ray, so it runs where Ray is not installed (the GPU check machine).

    from viscoder.train.fit import TokenRows, WorkerPlan, fit, init_world_of_one
    init_world_of_one(cfg.use_gpu)      # what Ray Train does for each of its workers
    plan = WorkerPlan.for_rows(cfg, rows=len(rows), max_steps=10, work_dir=Path("/tmp/w"))
    fitted = fit(cfg, plan, TokenRows(rows))

The Trainer owns the loop, mixed precision, gradient accumulation, clipping, the schedule and
the DeepSpeed engine; TRL's collator pads (or flattens, with packing) the token ids. What is
ours is the glue: the rows arrive already split per worker, so the Trainer gets a plain
``DataLoader`` over them (accelerate must not shard or dispatch them a second time), capped at
the same number of micro-batches on every worker.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from torch.utils.data import IterableDataset

from viscoder.train.batch import plan_batch
from viscoder.train.config import TrainConfig
from viscoder.train.zero import deepspeed_config, prepare_jit_builds, stale_build_locks

Collate = Callable[[dict[str, Any]], dict[str, Any]]


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


def make_collate(pad_token_id: int, padding_free: bool, attention: str = "sdpa") -> Collate:
    """A numpy batch of token rows -> TRL's collator (padding, labels at -100 on padding)."""
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


class RowSource(Protocol):
    """A worker's token rows (``input_ids``, ``labels``, ``seq_lengths`` when packed)."""

    def batches(self, micro_batch: int, collate: Collate, epoch: int) -> Iterable[dict[str, Any]]:
        """One pass over the rows as collated micro-batches (the last partial one dropped)."""
        ...


class TokenRows:
    """Rows held in this process (a list of dicts, or a pyarrow table / datasets.Dataset),
    shuffled per epoch from ``seed`` like Ray Data's local shuffle when ``shuffle`` is set."""

    def __init__(self, rows, shuffle: bool = False, seed: int = 0):
        if hasattr(rows, "to_pylist"):
            rows = rows.to_pylist()
        self.rows = [dict(r) for r in rows]
        self.shuffle, self.seed = shuffle, seed

    def __len__(self) -> int:
        return len(self.rows)

    def batches(self, micro_batch: int, collate: Collate, epoch: int) -> Iterator[dict[str, Any]]:
        order = np.arange(len(self.rows))
        if self.shuffle:
            np.random.default_rng(self.seed + epoch).shuffle(order)
        keys = [k for k in ("input_ids", "labels", "seq_lengths") if k in self.rows[0]]
        for start in range(0, len(order) - micro_batch + 1, micro_batch):
            chunk = [self.rows[i] for i in order[start:start + micro_batch]]
            yield collate({k: [row[k] for row in chunk] for k in keys})


class EpochBatches(IterableDataset):
    """One epoch of a worker's rows as collated micro-batches, a fixed count long.

    Every worker gets the same number of rows; capping at ``micro_batches`` makes every epoch
    end on a full optimizer step on every rank (a collective would hang otherwise).
    """

    def __init__(self, source: RowSource, micro_batch: int, micro_batches: int, collate: Collate):
        self.source, self.micro_batch, self.micro_batches = source, micro_batch, micro_batches
        self.collate = collate
        self.epoch = 0

    def __len__(self) -> int:
        return self.micro_batches

    def __iter__(self):
        self.epoch += 1
        n = 0
        for batch in self.source.batches(self.micro_batch, self.collate, self.epoch):
            if n == self.micro_batches:
                break
            yield batch
            n += 1
        if n < self.micro_batches:
            raise RuntimeError(f"this worker's data ran out after {n} of "
                               f"{self.micro_batches} micro-batches")


@dataclass(frozen=True)
class WorkerPlan:
    """What one worker needs besides the TrainConfig: its batch shape, step counts, the
    DeepSpeed config, where it may write, and its place in the world."""

    per_device: int
    accumulation: int
    steps_per_epoch: int
    max_steps: int
    deepspeed: dict[str, Any]
    work_dir: Path
    rank: int = 0
    world_size: int = 1

    @property
    def micro_batches(self) -> int:
        """Micro-batches per epoch on this worker."""
        return self.steps_per_epoch * self.accumulation

    @classmethod
    def for_rows(cls, cfg: TrainConfig, rows: int, max_steps: int, work_dir: Path,
                 rank: int = 0, world_size: int = 1) -> WorkerPlan:
        """The plan ``viscoder train`` would make for ``rows`` rows on each of ``world_size``
        workers (batch arithmetic and DeepSpeed config from the same functions)."""
        batch = plan_batch(cfg.global_batch_size, cfg.per_device_batch_size, world_size,
                           cfg.gradient_accumulation_steps)
        per_epoch = batch.steps_per_epoch(rows * world_size)
        if per_epoch == 0:
            raise ValueError(f"{rows} rows per worker give less than one step of {batch.describe()}")
        return cls(batch.per_device, batch.accumulation, per_epoch, max_steps,
                   deepspeed_config(cfg, batch), Path(work_dir), rank, world_size)


@dataclass
class Fitted:
    trainer: Any  # transformers.Trainer, trained
    tokenizer: Any
    attention: str
    train_seconds: float
    resumed_from_step: int | None


def init_world_of_one(use_gpu: bool) -> None:
    """torch.distributed for a single process, as Ray Train sets it up for each worker
    (gloo on CPU, nccl on GPU), so that :func:`fit` runs the same way outside Ray."""
    import torch.distributed as dist

    if dist.is_initialized():
        return
    if "MASTER_PORT" not in os.environ:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            os.environ["MASTER_PORT"] = str(s.getsockname()[1])
    for key, value in {"MASTER_ADDR": "127.0.0.1", "RANK": "0", "LOCAL_RANK": "0",
                       "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1"}.items():
        os.environ.setdefault(key, value)
    if use_gpu:
        import torch

        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group("nccl" if use_gpu else "gloo", rank=int(os.environ["RANK"]),
                            world_size=int(os.environ["WORLD_SIZE"]))


def _cpu_deepspeed() -> None:
    """DeepSpeed on CPU: its CPU accelerator, and JIT builds in the venv's own folder. Must
    run before deepspeed is first imported."""
    os.environ.setdefault("DS_ACCELERATOR", "cpu")
    for lock in stale_build_locks(prepare_jit_builds()):
        print(f"[train] WARNING: {lock} is older than any build: a killed build left it, "
              "and DeepSpeed will wait on it forever. Delete it if no other build runs.",
              flush=True)


def training_arguments(cfg: TrainConfig, plan: WorkerPlan):
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(plan.work_dir / "hf"),
        per_device_train_batch_size=plan.per_device,
        gradient_accumulation_steps=plan.accumulation,
        max_steps=plan.max_steps,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        bf16=cfg.bf16,
        deepspeed=plan.deepspeed,
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
        disable_tqdm=plan.rank != 0,
        **cfg.trainer_overrides,
    )


def load_tokenizer(cfg: TrainConfig):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(cfg.model, trust_remote_code=cfg.trust_remote_code)


def load_model(cfg: TrainConfig, attention: str, random_init: bool = False):
    """The model in ``cfg.model``; with ``random_init``, only its config.json is read and the
    weights are drawn at random (a published shape with no download). Call after the
    TrainingArguments exist: with ZeRO-3 they make loading go straight into partitions."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    dtype = torch.bfloat16 if cfg.bf16 else torch.float32
    if random_init:
        config = AutoConfig.from_pretrained(cfg.model, trust_remote_code=cfg.trust_remote_code)
        model = AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation=attention,
                                                 trust_remote_code=cfg.trust_remote_code)
    else:
        model = AutoModelForCausalLM.from_pretrained(
            cfg.model, dtype=dtype, attn_implementation=attention,
            trust_remote_code=cfg.trust_remote_code)
    if cfg.gradient_checkpointing:
        model.config.use_cache = False
    return model


def build_trainer(model, args, tokenizer, batches: EpochBatches, callbacks: Iterable = ()):
    from torch.utils.data import DataLoader
    from transformers import Trainer

    class RowsTrainer(Trainer):
        # The rows are already split per worker and collated: a plain DataLoader, not the
        # accelerate-prepared one that would split or broadcast them again.
        def get_train_dataloader(self):
            return DataLoader(batches, batch_size=None)

    return RowsTrainer(model=model, args=args, train_dataset=batches, processing_class=tokenizer,
                       callbacks=list(callbacks))


def fit(cfg: TrainConfig, plan: WorkerPlan, rows: RowSource, *, callbacks: Iterable = (),
        resume_dir: Path | None = None, random_init: bool = False) -> Fitted:
    """Train on this worker's ``rows``. torch.distributed must be up: Ray Train sets it up in
    its workers, :func:`init_world_of_one` in a plain process.
    Returns the trained Trainer; saving and reporting are the caller's."""
    if not cfg.use_gpu:
        _cpu_deepspeed()
    attention = pick_attention(cfg.attn_implementation, cfg.use_gpu)
    plan.work_dir.mkdir(parents=True, exist_ok=True)
    args = training_arguments(cfg, plan)  # first: ZeRO-3 then loads straight into partitions
    # torch.distributed is up; DeepSpeed's own comm layer must wrap it before the model
    # loads, or ZeRO-3's partitioned init sizes everything for a world of one.
    import deepspeed

    deepspeed.init_distributed(dist_backend="nccl" if cfg.use_gpu else "gloo")
    tokenizer = load_tokenizer(cfg)
    model = load_model(cfg, attention, random_init=random_init)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    batches = EpochBatches(rows, plan.per_device, plan.micro_batches,
                           make_collate(pad_id, cfg.packing, attention))
    trainer = build_trainer(model, args, tokenizer, batches, callbacks)
    start_step = None
    if resume_dir is not None:
        start_step = json.loads((resume_dir / "trainer_state.json").read_text())["global_step"]
        if plan.rank == 0:
            print(f"[train] resuming from the checkpoint at step {start_step}", flush=True)
    started = time.time()
    trainer.train(resume_from_checkpoint=str(resume_dir) if resume_dir else None)
    return Fitted(trainer, tokenizer, attention, time.time() - started, start_step)
