"""Training throughput: tokens/s per worker of `viscoder train` (Ray Train + DeepSpeed ZeRO),
against plain Hugging Face Trainer in one process (no Ray, no DeepSpeed) on the same model,
data and micro-batch, measured in the same run; and, on GPUs, model FLOPs utilisation.

    .venv/bin/python benchmarks/train_throughput.py                       # CPU, tiny model
    python benchmarks/train_throughput.py --config configs/train_qwen2.5-coder-7b.yaml \\
        --steps 30 data=[runs/data/dataset] num_workers=8           # a GPU node

Tokens are non-padding input tokens. The first steps (start-up, ZeRO-3 warm-up) are left out
of the rate. MFU = 6 x parameters x tokens/s per GPU (+ attention) / the GPU's peak bf16
FLOP/s; target for the 7B ZeRO-3 recipe on H100/A100: at least 45% (issue #6).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 125.0}
WARMUP_STEPS = 3


def steady_rate(metrics: Path) -> float:
    """Tokens/s per worker between the end of warm-up and the last step."""
    entries = [json.loads(line) for line in metrics.read_text().splitlines()]
    steps = [e for e in entries if "loss" in e and "num_input_tokens_seen" in e]
    if len(steps) <= WARMUP_STEPS + 1:
        raise SystemExit(f"need more than {WARMUP_STEPS + 1} logged steps, got {len(steps)}")
    a, b = steps[WARMUP_STEPS], steps[-1]
    world = json.loads((metrics.parent / "summary.json").read_text())["world_size"]
    return (b["num_input_tokens_seen"] - a["num_input_tokens_seen"]) / (
        b["train_runtime"] - a["train_runtime"]) / world


def baseline_rate(cfg, steps: int, threads: int) -> float:
    """Plain transformers Trainer, one process, the same micro-batch, no accumulation."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments

    from viscoder.tables import read_frames
    from viscoder.train.chat_tokens import Tokenized, tokenize_chat, training_chat_template
    from viscoder.train.worker import make_collate

    torch.set_num_threads(threads)
    tok = AutoTokenizer.from_pretrained(cfg.model)
    template = training_chat_template(tok)
    rows = []
    for _, frame in read_frames(cfg.data):  # the train stage's reading rules
        for messages in frame[cfg.messages_column]:
            got = tokenize_chat(messages, tok, template, cfg.max_length)
            if isinstance(got, Tokenized):
                rows.append({"input_ids": got.input_ids, "labels": got.labels})
    collate = make_collate(tok.pad_token_id, padding_free=False)
    batch = cfg.per_device_batch_size

    class Rows(torch.utils.data.Dataset):
        def __len__(self):
            return len(rows)

        def __getitem__(self, i):
            return rows[i]

    def collate_rows(items):
        return collate({k: [it[k] for it in items] for k in ("input_ids", "labels")})

    model = AutoModelForCausalLM.from_pretrained(
        cfg.model, dtype=torch.bfloat16 if cfg.bf16 else torch.float32)
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, per_device_train_batch_size=batch,
                                 max_steps=steps, learning_rate=cfg.learning_rate, bf16=cfg.bf16,
                                 use_cpu=not cfg.use_gpu, logging_steps=1, save_strategy="no",
                                 report_to=[], include_num_input_tokens_seen="non_padding",
                                 disable_tqdm=True, dataloader_num_workers=0)
        trainer = Trainer(model=model, args=args, train_dataset=Rows(), data_collator=collate_rows)
        marks = []

        from transformers import TrainerCallback

        class Clock(TrainerCallback):
            def on_step_end(self, args, state, control, **kw):
                marks.append((time.perf_counter(), state.num_input_tokens_seen))

        trainer.add_callback(Clock())
        trainer.train()
    (t0, n0), (t1, n1) = marks[WARMUP_STEPS - 1], marks[-1]
    return (n1 - n0) / (t1 - t0)


def model_flops_per_token(model_dir: str, seq_len: int) -> tuple[float, int]:
    from transformers import AutoConfig

    c = AutoConfig.from_pretrained(model_dir)
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    kv = c.num_key_value_heads * head_dim
    per_layer = (c.hidden_size * (c.hidden_size + 2 * kv + c.hidden_size)
                 + 3 * c.hidden_size * c.intermediate_size)
    params = c.num_hidden_layers * per_layer + c.vocab_size * c.hidden_size
    attention = 12 * c.num_hidden_layers * c.hidden_size * seq_len  # QK^T and AV, fwd + bwd
    return 6 * params + attention, params


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=str(REPO / "configs" / "tiny" / "train.yaml"))
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--gpu-kind", default=None, help="H100, A100...: peak FLOP/s for MFU")
    p.add_argument("overrides", nargs="*")
    args = p.parse_args()
    if "tiny" in args.config:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from viscoder.config import load_config
    from viscoder.train.config import TrainConfig
    from viscoder.train.runner import run_train

    cfg = load_config(TrainConfig, args.config, args.overrides)
    if "tiny" in args.config and not Path(cfg.model).exists():
        from viscoder.serve.tiny import build_tiny_model

        build_tiny_model(cfg.model)
    out = Path(tempfile.mkdtemp(prefix="train-bench-"))
    cfg = cfg.model_copy(update={"output_dir": str(out), "max_steps": args.steps,
                                 "save_steps": 10_000, "max_failures": 0})
    print(f"ours: viscoder train, {cfg.num_workers} workers, ZeRO-{cfg.zero_stage}, "
          f"{'GPU' if cfg.use_gpu else 'CPU'}, {args.steps} steps ...", flush=True)
    run_train(cfg)
    ours = steady_rate(out / "metrics.jsonl")
    stats = json.loads((out / "data_stats.json").read_text())
    mean_len = stats["tokens_kept"] / max(stats["rows_kept"], 1)

    print("baseline: plain transformers Trainer, one process ...", flush=True)
    base = baseline_rate(cfg, args.steps, threads=max(1, int(cfg.cpus_per_worker)))
    print(f"\ntokens/s per worker, viscoder train: {ours:10.1f}")
    print(f"tokens/s, plain Trainer (1 process): {base:10.1f}")
    print(f"ratio (per worker / baseline):      {ours / base:10.2f}")
    if cfg.use_gpu:
        import torch

        kind = args.gpu_kind or next((k for k in PEAK_BF16_TFLOPS
                                      if k in torch.cuda.get_device_name()), None)
        flops, params = model_flops_per_token(cfg.model, int(mean_len))
        if kind:
            mfu = ours * flops / (PEAK_BF16_TFLOPS[kind] * 1e12)
            print(f"MFU on {kind} ({params / 1e9:.1f}B parameters, mean {mean_len:.0f} "
                  f"tokens/sample): {100 * mfu:.1f}%  (target >= 45% for the 7B ZeRO-3 recipe)")
        else:
            print("MFU: unknown GPU kind; pass --gpu-kind")
    print(f"run folder: {out}")


if __name__ == "__main__":
    main()
