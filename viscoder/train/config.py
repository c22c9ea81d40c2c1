"""Settings of ``viscoder train``: the model, the data, the cluster shape and the recipe.

The defaults are the published VisCoder recipe (full-parameter bf16 SFT, ZeRO-3, 3 epochs,
lr 5e-6, cosine, warm-up ratio 0.05, weight decay 0.05, global batch 128); the YAML files in
``configs/`` only name the model, the data and the cluster shape.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from viscoder.config import StrictConfig


class TrainConfig(StrictConfig):
    # what to train, on what
    model: str = Field(..., description="a local Hugging Face folder or a hub id "
                       "(e.g. Qwen/Qwen2.5-Coder-7B-Instruct)")
    data: list[str] = Field(..., min_length=1, description="Parquet/JSONL files or folders "
                            "with a `messages` column (the data stage's output), or hub "
                            "datasets written hf://owner/name[:split]")
    messages_column: str = "messages"
    output_dir: str = Field(..., description="the run folder: model/, metrics.jsonl, config")
    run_name: str | None = Field(None, description="Ray Train run name; default: output_dir's name")
    storage_path: str | None = Field(None, description="where Ray Train keeps checkpoints "
                                     "(shared FS or s3://, gs://); default: output_dir/ray")
    trust_remote_code: bool = False

    # cluster shape
    num_workers: int = Field(8, ge=1, description="training processes (one per GPU)")
    use_gpu: bool = True
    cpus_per_worker: float = Field(1, gt=0)
    accelerator_type: str | None = Field(None, description="e.g. H100, A100")

    # the recipe
    epochs: float = Field(3, gt=0)
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps "
                                  "(smoke runs); default: epochs over the data")
    learning_rate: float = Field(5e-6, gt=0)
    lr_scheduler: str = "cosine"
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    weight_decay: float = Field(0.05, ge=0)
    max_grad_norm: float = Field(1.0, ge=0)
    global_batch_size: int = Field(128, ge=1)
    per_device_batch_size: int = Field(1, ge=1)
    gradient_accumulation_steps: int | None = Field(
        None, ge=1, description="default: global_batch_size / (per_device_batch_size * num_workers)")
    max_length: int = Field(8192, ge=16, description="longer samples are dropped (and counted), "
                            "never truncated")
    packing: bool = Field(False, description="pack samples into max_length rows (best-fit "
                          "decreasing, padding-free, no cross-sample attention)")
    bf16: bool = True
    zero_stage: Literal[0, 1, 2, 3] = 3
    offload_optimizer: bool = Field(False, description="ZeRO-Offload of optimizer states to CPU")
    gradient_checkpointing: bool = True
    attn_implementation: str = Field("auto", description="auto: flash_attention_2 when "
                                     "installed and on GPU, else sdpa")
    seed: int = 42
    shuffle_buffer_rows: int = Field(1000, ge=0, description="rows in Ray Data's local "
                                     "shuffle buffer per worker; 0 disables shuffling")

    # checkpoints, failures, progress
    save_steps: int = Field(200, ge=1, description="a Ray Train checkpoint every N steps")
    keep_checkpoints: int = Field(2, ge=1)
    max_failures: int = Field(3, ge=0, description="worker-group restarts from the last "
                              "checkpoint before the run fails")
    logging_steps: int = Field(1, ge=1, description="a line in metrics.jsonl and the job log")
    report_steps: int = Field(10, ge=1, description="metrics to Ray Train (dashboard) every N "
                              "steps; each report syncs all workers, so not every step")
    ray_address: str | None = Field(None, description="None: the cluster this runs in, or a "
                                    "local Ray")
    deepspeed_overrides: dict[str, Any] = Field(default_factory=dict, description="merged "
                                                "into the generated DeepSpeed config")
    trainer_overrides: dict[str, Any] = Field(default_factory=dict, description="extra "
                                              "transformers TrainingArguments")

    @model_validator(mode="after")
    def _batch_shape(self) -> TrainConfig:
        """The batch settings must give the global batch exactly (checked here, so a library
        caller and the command line get the same error before any work)."""
        from viscoder.train.batch import plan_batch

        plan_batch(self.global_batch_size, self.per_device_batch_size, self.num_workers,
                   self.gradient_accumulation_steps)  # raises BatchError with the fix
        return self

    @property
    def name(self) -> str:
        from pathlib import PurePath

        return self.run_name or PurePath(self.output_dir.rstrip("/")).name or "viscoder-train"
