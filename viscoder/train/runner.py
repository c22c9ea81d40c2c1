"""``run_train``: the training stage on Ray (Ray Data for the data, Ray Train for the workers).

    from viscoder.config import load_config
    from viscoder.train.config import TrainConfig
    from viscoder.train.runner import run_train
    result = run_train(load_config(TrainConfig, "configs/tiny/train.yaml"))

Writes under ``output_dir``: ``config.yaml`` (resolved), ``deepspeed.json``,
``data_stats.json`` (rows in / kept / dropped by reason, tokens), ``metrics.jsonl`` (one line
per logged step: loss, learning rate, grad norm, tokens/s per worker), ``summary.json`` and
``model/`` (a Hugging Face folder that transformers, vLLM and ``viscoder serve`` load).
Ray Train keeps its checkpoints under ``storage_path``; running the same command again
resumes from the latest one, and a finished run is not trained twice.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from viscoder.model_source import CLOUD_PREFIXES, resolve_model
from viscoder.ray_init import ensure_ray
from viscoder.train.batch import BatchPlan, plan_batch
from viscoder.train.config import TrainConfig
from viscoder.train.data import HUB_PREFIX
from viscoder.train.zero import deepspeed_config

log = logging.getLogger(__name__)


class TrainFailed(RuntimeError):
    """The Ray Train run ended in an error after its allowed restarts."""


@dataclass
class TrainResult:
    output_dir: Path
    model_dir: Path
    summary: dict[str, Any]


def steps_for(cfg: TrainConfig, plan: BatchPlan, rows: int) -> tuple[int, int]:
    """(steps per epoch, total steps) for ``rows`` training rows."""
    per_epoch = plan.steps_per_epoch(rows)
    if per_epoch == 0:
        raise TrainFailed(
            f"{rows} training rows over {plan.workers} workers give less than one optimizer "
            f"step of {plan.describe()}; lower global_batch_size or add data")
    total = cfg.max_steps or math.ceil(cfg.epochs * per_epoch)
    return per_epoch, total


def _resolve_paths(cfg: TrainConfig) -> TrainConfig:
    """Absolute local paths (Ray workers do not run in the driver's folder), checked now."""
    data = [src if src.startswith(HUB_PREFIX) or src.startswith(CLOUD_PREFIXES)
            else str(Path(src).expanduser().resolve()) for src in cfg.data]
    return cfg.model_copy(update={"model": resolve_model(cfg.model), "data": data,
                                  "output_dir": str(Path(cfg.output_dir).expanduser().resolve())})


def run_train(cfg: TrainConfig, callbacks: Sequence[Any] = ()) -> TrainResult:
    """Train; ``callbacks`` are Ray Train ``UserCallback`` objects (e.g. to watch reports)."""
    from ray.train import CheckpointConfig, DataConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from viscoder.train.data import prepare_data
    from viscoder.train.worker import train_worker

    cfg = _resolve_paths(cfg)
    plan = plan_batch(cfg.global_batch_size, cfg.per_device_batch_size, cfg.num_workers,
                      cfg.gradient_accumulation_steps)
    out = Path(cfg.output_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    cfg.write(out / "config.yaml")
    ds_config = deepspeed_config(cfg, plan)
    (out / "deepspeed.json").write_text(json.dumps(ds_config, indent=2))
    print(f"[train] {plan.describe()}", flush=True)

    ensure_ray(cfg.ray_address, dashboard=True)  # Ray prints the dashboard's address
    data = prepare_data(cfg)
    steps_per_epoch, max_steps = steps_for(cfg, plan, data.rows_for_training)
    stats = {**data.stats(), "steps_per_epoch": steps_per_epoch, "max_steps": max_steps}
    (out / "data_stats.json").write_text(json.dumps(stats, indent=2))
    print(f"[train] data: {data.rows_in} rows in, {data.rows_kept} kept, dropped "
          f"{data.dropped or 'none'}; {data.tokens_kept} tokens; {steps_per_epoch} steps/epoch, "
          f"{max_steps} steps", flush=True)

    resources = {"CPU": cfg.cpus_per_worker}
    if cfg.use_gpu:
        resources["GPU"] = 1
    storage = cfg.storage_path or str(out / "ray")
    trainer = TorchTrainer(
        train_worker,
        train_loop_config={
            "config": cfg.model_dump(mode="json"),
            "plan": {"per_device": plan.per_device, "accumulation": plan.accumulation},
            "deepspeed": ds_config,
            "steps_per_epoch": steps_per_epoch,
            "max_steps": max_steps,
            "attempt_id": f"{cfg.name}-{uuid.uuid4().hex[:8]}",
        },
        scaling_config=ScalingConfig(num_workers=cfg.num_workers, use_gpu=cfg.use_gpu,
                                     resources_per_worker=resources,
                                     accelerator_type=cfg.accelerator_type),
        run_config=RunConfig(
            name=cfg.name, storage_path=storage,
            # +1: the final model is reported as a checkpoint too, after the last resumable one.
            checkpoint_config=CheckpointConfig(num_to_keep=cfg.keep_checkpoints + 1),
            failure_config=FailureConfig(max_failures=cfg.max_failures),
            callbacks=list(callbacks)),
        datasets={"train": data.dataset},
        dataset_config=DataConfig(datasets_to_split=["train"]),
    )
    result = trainer.fit()
    if result.error is not None:
        raise TrainFailed(f"training failed: {result.error}") from result.error
    if result.checkpoint is None:
        raise TrainFailed("training ended without a final checkpoint")
    return _export(result.checkpoint, out, stats)


def _export(checkpoint, out: Path, stats: dict[str, Any]) -> TrainResult:
    from viscoder.train.worker import FINAL_MARKER

    with tempfile.TemporaryDirectory(dir=out) as tmp:
        checkpoint.to_directory(tmp)
        final = Path(tmp)
        if not (final / FINAL_MARKER).exists():
            raise TrainFailed(f"the last checkpoint ({checkpoint.path}) is not a finished model")
        summary = {**json.loads((final / FINAL_MARKER).read_text()), "data": stats}
        model_dir = out / "model"
        if model_dir.exists():
            shutil.rmtree(model_dir)
        shutil.move(str(final / "model"), model_dir)
        shutil.copy(final / "metrics.jsonl", out / "metrics.jsonl")
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"[train] done: {summary['global_step']} steps; model in {model_dir}", flush=True)
    return TrainResult(out, model_dir, summary)
