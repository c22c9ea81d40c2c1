"""Model FLOPs utilisation of the training recipe on one GPU, without Ray.

Runs the per-worker code path of ``viscoder train`` (``viscoder.train.fit.fit``: Trainer
set-up, the DeepSpeed config from ``viscoder/train/zero.py``, the chat tokenisation, packing
and collator of ``viscoder/train/``) in this one process, on a randomly initialised model of a
published shape (``configs/model_shapes/``, no download): bf16, ZeRO-3, packed rows of
``--seq-len`` tokens, gradient checkpointing on and/or off, ``--warmup-steps`` optimizer steps
then ``--steps`` timed ones (and with ``--profile`` one more, under torch.profiler).

    python benchmarks/train_mfu.py --shape qwen2.5-coder-1.5b --gradient-checkpointing both \\
        --out mfu-1.5b.json                                           # a GPU (scripts/gpu_mfu.sh)
    .venv/bin/python benchmarks/train_mfu.py --shape tiny --device cpu --accumulation 2 \\
        --warmup-steps 1 --steps 2 --seq-len 1024                     # CPU, for shape only

Prints and writes (JSON): tokens/s (non-padding input tokens), model TFLOP/s =
tokens/s x (6 N + 12 L h s) / 1e12 (``viscoder/train/mfu.py`` defines N, L, h, s), MFU against
``--peak-tflops`` (default: 989 on H100/H200, the dense bf16 datasheet peak), and peak GPU
memory (on CPU: the process's peak RSS). One optimizer step is ``--micro-batch`` x
``--accumulation`` packed rows; the default 1 x 16 is one GPU's share of the recipe's global
batch of 128 on 8 GPUs. Target (issue 16): at least 45% MFU for the 1.5B/7B recipe.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", default="qwen2.5-coder-1.5b", help="configs/model_shapes/<name> or a config.json")
    p.add_argument("--device", choices=["cuda", "cpu"], default=None, help="default: cuda if available")
    p.add_argument("--gradient-checkpointing", choices=["on", "off", "both"], default="both")
    p.add_argument("--seq-len", type=int, default=2048)
    p.add_argument("--micro-batch", type=int, default=1)
    p.add_argument("--accumulation", type=int, default=16)
    p.add_argument("--warmup-steps", type=int, default=3)
    p.add_argument("--steps", type=int, default=5, help="timed optimizer steps")
    p.add_argument("--attn", default="auto", help="attn_implementation (auto: flash_attention_2 if installed, else sdpa)")
    p.add_argument("--peak-tflops", type=float, default=None, help="bf16 peak of the chip (default: by GPU name)")
    p.add_argument("--profile", action="store_true", help="profile one extra step (torch.profiler)")
    p.add_argument("--run-timeout", type=int, default=600, help="seconds per setting with 'both'")
    p.add_argument("--out", default=None, help="results JSON (default: train-mfu-<shape>.json in a temp folder)")
    p.add_argument("--report", nargs="+", metavar="JSON", help="only print the table of earlier results")
    return p.parse_args(argv)


def run_one(args: argparse.Namespace, checkpointing: bool) -> dict:
    """One setting in this process: the fit() that every Ray Train worker runs."""
    import torch
    from transformers import AutoConfig, TrainerCallback

    from viscoder.train.config import TrainConfig
    from viscoder.train.fit import TokenRows, WorkerPlan, fit, init_world_of_one
    from viscoder.train.mfu import (
        count_parameters,
        flops_per_token,
        model_folder,
        packed_rows,
        profile_summary,
        shape_path,
    )

    on_gpu = args.device == "cuda"
    work = Path(tempfile.mkdtemp(prefix="train-mfu-"))
    shape = shape_path(args.shape)
    model_dir = model_folder(shape, work / "model")
    profiled = 1 if args.profile else 0
    max_steps = args.warmup_steps + args.steps + profiled
    rows = packed_rows(model_dir, args.seq_len, max_steps * args.micro_batch * args.accumulation)
    cfg = TrainConfig(
        model=str(model_dir), data=[str(REPO / "viscoder" / "examples" / "chats.jsonl")],
        output_dir=str(work / "run"), num_workers=1, use_gpu=on_gpu,
        global_batch_size=args.micro_batch * args.accumulation,
        per_device_batch_size=args.micro_batch, max_length=args.seq_len, packing=True,
        bf16=True, zero_stage=3, gradient_checkpointing=checkpointing,
        attn_implementation=args.attn, max_steps=max_steps, save_steps=10**9,
        report_steps=10**9, shuffle_buffer_rows=0)
    plan = WorkerPlan.for_rows(cfg, len(rows.rows), max_steps, work / "worker")

    sync = torch.cuda.synchronize if on_gpu else (lambda: None)
    marks: list[tuple[float, int]] = []
    profile: dict = {}

    class Clock(TrainerCallback):
        """Wall time and tokens seen at the end of every optimizer step; the profiler
        around the last step when asked."""

        def __init__(self):
            self.prof = None

        def on_train_begin(self, args_, state, control, **kw):
            sync()
            marks.append((time.perf_counter(), state.num_input_tokens_seen))

        def on_step_begin(self, args_, state, control, **kw):
            if profiled and state.global_step == max_steps - 1:
                activities = [torch.profiler.ProfilerActivity.CPU]
                if on_gpu:
                    activities.append(torch.profiler.ProfilerActivity.CUDA)
                self.prof = torch.profiler.profile(activities=activities)
                self.prof.__enter__()

        def on_step_end(self, args_, state, control, **kw):
            # No checkpoint at the last step (the Trainer's default with save_strategy
            # "steps"): a 7B ZeRO-3 state is about 100 GB and not what is measured.
            control.should_save = False
            sync()
            marks.append((time.perf_counter(), state.num_input_tokens_seen))
            if self.prof is not None:
                self.prof.__exit__(None, None, None)
                profile.update(profile_summary(self.prof, marks[-1][0] - marks[-2][0], on_gpu))
                self.prof = None

    init_world_of_one(on_gpu)
    if on_gpu:
        torch.cuda.reset_peak_memory_stats()
    fitted = fit(cfg, plan, TokenRows(rows.rows), callbacks=[Clock()], random_init=True)
    total_params, matmul_params = count_parameters(fitted.trainer.model)
    (t0, n0), (t1, n1) = marks[args.warmup_steps], marks[args.warmup_steps + args.steps]
    tokens_per_s = (n1 - n0) / (t1 - t0)
    shape_cfg = AutoConfig.from_pretrained(model_dir)
    flops = flops_per_token(matmul_params, shape_cfg.num_hidden_layers, shape_cfg.hidden_size,
                            args.seq_len, rows)
    model_tflops = tokens_per_s * (flops["dense"] + flops["attention_row"]) / 1e12
    packed_tflops = tokens_per_s * (flops["dense"] + flops["attention_packed"]) / 1e12
    peak = args.peak_tflops
    losses = [e["loss"] for e in fitted.trainer.state.log_history if "loss" in e]
    result = {
        "shape": shape.stem, "device": torch.cuda.get_device_name() if on_gpu else "cpu",
        "gradient_checkpointing": checkpointing, "attention": fitted.attention,
        "seq_len": args.seq_len, "micro_batch": args.micro_batch,
        "accumulation": args.accumulation, "warmup_steps": args.warmup_steps,
        "timed_steps": args.steps, "parameters": total_params, "matmul_parameters": matmul_params,
        "tokenizer_vocab": len(fitted.tokenizer), "model_vocab": shape_cfg.vocab_size,
        "packed_rows_used": max_steps * args.micro_batch * args.accumulation,
        "mean_sample_tokens": round(rows.mean_sample_len, 1),
        "tokens_timed": int(n1 - n0), "seconds_timed": round(t1 - t0, 3),
        "seconds_per_step": round((t1 - t0) / args.steps, 3),
        "tokens_per_s": round(tokens_per_s, 1),
        "flops_per_token": {k: round(v) for k, v in flops.items()},
        "flops_formula": "6*N + 12*L*h*s per token (N: matmul parameters, s: packed row length)",
        "model_tflops": round(model_tflops, 4), "model_tflops_packed_attention": round(packed_tflops, 4),
        "peak_tflops": peak,
        "mfu": round(model_tflops / peak, 4) if peak else None,
        "mfu_packed_attention": round(packed_tflops / peak, 4) if peak else None,
        "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if on_gpu else None,
        "peak_reserved_gib": round(torch.cuda.max_memory_reserved() / 2**30, 2) if on_gpu else None,
        "peak_host_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "loss_first_last": [round(losses[0], 4), round(losses[-1], 4)] if losses else None,
        "versions": versions(),
    }
    if profile:
        result["profile"] = profile
    return result


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": sys.version.split()[0]}
    for name in ("torch", "transformers", "accelerate", "deepspeed", "trl", "datasets"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "missing"
    import torch

    out["cuda"] = str(torch.version.cuda)
    return out


def run_both(args: argparse.Namespace, out: Path) -> list[dict]:
    """Each setting in a fresh process (its own torch.distributed, DeepSpeed and memory
    peak); a setting that fails (out of memory, timeout) is recorded with its error."""
    results = []
    for setting in ("on", "off"):
        part = out.with_name(f"{out.stem}.gc-{setting}.json")
        cmd = [sys.executable, __file__, *sys.argv[1:], "--gradient-checkpointing", setting, "--out", str(part)]
        print(f"[mfu] gradient checkpointing {setting}: {' '.join(cmd[1:])}", flush=True)
        try:
            proc = subprocess.run(cmd, timeout=args.run_timeout, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
            log, rc = proc.stdout, proc.returncode
        except subprocess.TimeoutExpired as exc:
            log, rc = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) \
                else (exc.stdout or ""), "timeout"
        if rc == 0 and part.exists():
            results.append(json.loads(part.read_text()))
            part.unlink()
        else:
            sys.stdout.write(log[-4000:])
            results.append({"shape": args.shape, "gradient_checkpointing": setting == "on",
                            "error": f"exit {rc}", "log_tail": log[-3000:]})
    return results


def report(results: list[dict]) -> None:
    print("\nshape                gc   tokens/s   TFLOP/s  (packed attn)  MFU     peak GPU GiB  s/step")
    for r in results:
        if "error" in r:
            print(f"{r['shape']:<20} {'on' if r['gradient_checkpointing'] else 'off':<4} "
                  f"FAILED ({r['error']})")
            continue
        mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "n/a"
        mem = r["peak_memory_gib"] if r["peak_memory_gib"] is not None else f"(host {r['peak_host_rss_gib']})"
        print(f"{r['shape']:<20} {'on' if r['gradient_checkpointing'] else 'off':<4} "
              f"{r['tokens_per_s']:>9.0f} {r['model_tflops']:>9.4g}  ({r['model_tflops_packed_attention']:.4g})"
              f"  {mfu:<7} {mem!s:<13} {r['seconds_per_step']}")
    print("TFLOP/s = tokens/s x (6 N + 12 L h s) / 1e12; MFU = TFLOP/s / peak bf16 TFLOP/s")


def main() -> None:
    args = parse_args()
    if args.report:
        results = []
        for path in args.report:
            got = json.loads(Path(path).read_text())
            results += got if isinstance(got, list) else [got]
        report(results)
        return
    import torch

    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if args.device == "cuda" and args.peak_tflops is None:
        name = torch.cuda.get_device_name()
        args.peak_tflops = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
        if args.peak_tflops is None:
            print(f"[mfu] unknown GPU {name!r}: pass --peak-tflops for MFU", flush=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out = Path(args.out or Path(tempfile.gettempdir()) / f"train-mfu-{Path(args.shape).stem}.json")
    if args.gradient_checkpointing == "both":
        results = run_both(args, out)
        out.write_text(json.dumps(results, indent=2))
        report(results)
        print(f"results: {out}")
        sys.exit(0 if any("error" not in r for r in results) else 1)
    result = run_one(args, args.gradient_checkpointing == "on")
    out.write_text(json.dumps(result, indent=2))
    if "profile" in result:
        print(result["profile"]["top"])
        print({k: v for k, v in result["profile"].items() if k != "top"})
    report([result])
    print(f"results: {out}")


if __name__ == "__main__":
    main()
