"""``viscoder demo``: the whole loop on a laptop, with local Ray, no network, bundled inputs.

    viscoder demo [--out runs/demo]      # exit 0 done, 1 a stage failed, 2 bad configuration

1. a tiny random model, built here (no download);
2. ``viscoder data`` on the bundled small inputs (static extractor, template annotator);
3. ``viscoder train`` on that dataset: Ray Train + DeepSpeed ZeRO-3 on 2 CPU workers;
4. ``viscoder serve``: the trained model behind Ray Serve + vLLM (the CPU build);
5. ``viscoder bench`` with self-debug against that endpoint, on four bundled tasks written
   in PandasPlotBench's format; the report page is written, not opened.

A tiny random model writes no useful code: the demo shows the machinery, not a result. The
same commands run a real model: see the printed hints, or the README.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path

# Both ship inside the package (package data), so the demo runs from an installed viscoder;
# configs/tiny in a checkout is a link to the same folder.
EXAMPLES = Path(__file__).resolve().parent / "examples"
CONFIGS = Path(__file__).resolve().parent / "configs" / "tiny"


@contextmanager
def _step(name: str, timings: dict[str, float]):
    import ray

    started = time.perf_counter()
    print(f"\n=== {name} ===", flush=True)
    try:
        yield
    finally:
        ray.shutdown()  # each stage starts its own local Ray, as its command would
        timings[name] = time.perf_counter() - started
    print(f"=== {name}: {timings[name]:.0f} s ===", flush=True)


def run_demo(out: Path) -> dict[str, float]:
    from viscoder.bench.config import BenchConfig
    from viscoder.bench.runner import run_bench
    from viscoder.config import load_config
    from viscoder.data.config import DataConfig
    from viscoder.data.pipeline import run_data
    from viscoder.ray_init import ensure_ray
    from viscoder.serve import process
    from viscoder.serve.tiny import build_tiny_model
    from viscoder.train.config import TrainConfig
    from viscoder.train.runner import run_train

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out = out.resolve()
    timings: dict[str, float] = {}
    with _step("1/5 tiny model", timings):
        model = build_tiny_model(out / "tiny-model")
        print(f"built {model}")
    with _step("2/5 data: filter, extract, execute, annotate, mix, export", timings):
        data_cfg = load_config(DataConfig, CONFIGS / "data.yaml", values={
            "output_dir": str(out / "data"),
            "raw.paths": [str(EXAMPLES / "data" / "raw.jsonl")],
            "cosyn.paths": [str(EXAMPLES / "data" / "cosyn.jsonl")],
            "feedback.paths": [str(EXAMPLES / "data" / "feedback.jsonl")]})
        run_data(data_cfg)
    with _step("3/5 train: Ray Train + DeepSpeed ZeRO-3, 2 CPU workers", timings):
        train_cfg = load_config(TrainConfig, CONFIGS / "train.yaml", values={
            "model": str(model), "data": [str(out / "data" / "dataset")],
            "output_dir": str(out / "train")})
        trained = run_train(train_cfg).model_dir
    with _step("4/5 serve: Ray Serve + vLLM", timings):
        # `viscoder serve` in its own process and its own local Ray, as a user runs it in a
        # second terminal: the bench's sandbox actors then do not compete with the replica
        # for the same two logical CPUs.
        proc, base_url = process.start_process(
            trained, "viscoder-demo", process.free_port(), out / "serve.log",
            "--config", str(CONFIGS / "serve.yaml"))
        print(f"serving {trained} at {base_url} (log: {out / 'serve.log'})")
    try:
        with _step("5/5 bench: generate, execute, self-debug, report", timings):
            ensure_ray(None, log_to_driver=False)  # the bench's Ray, started here so that ...
            _exit_on_sigterm()  # ... its SIGTERM handler (ray.init replaces ours) is ours again
            bench_cfg = BenchConfig.model_validate({
                "data": str(EXAMPLES / "bench_tasks.jsonl"), "library": "matplotlib",
                "out": str(out / "bench"), "workers": 1, "self_debug_rounds": 2,
                "generator": {"base_url": base_url, "model": "viscoder-demo", "max_tokens": 256},
                "judge": {"enabled": False}})
            summary = run_bench(bench_cfg)
    finally:
        process.stop_process(proc)
    print("\n=== done ===")
    for name, seconds in timings.items():
        print(f"  {name:<60} {seconds:6.0f} s")
    print(f"  {'total':<60} {sum(timings.values()):6.0f} s")
    print(f"\nexecution pass rate per round: {summary['exec_pass_rate']}")
    print(f"report: {out / 'bench' / 'report.html'}")
    print("\nThe tiny model is random: it writes no useful code, so its pass rate says nothing.\n"
          "With a real model, change one setting:\n"
          "  serve a Hugging Face model on a networked GPU machine:\n"
          "    viscoder serve --model Qwen/Qwen2.5-Coder-7B-Instruct\n"
          "  or bench any OpenAI-compatible endpoint directly:\n"
          "    viscoder bench --benchmark pandasplotbench --library matplotlib "
          "--base-url https://api.example.com/v1 --model NAME --out runs/bench")
    return timings


def _exit_on_sigterm() -> None:
    """`kill PID` (or a job runner's timeout) must still stop the server and Ray the demo
    started: SIGTERM becomes an exit that runs the cleanup blocks, as Ctrl+C already does."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="viscoder demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/demo", help="where every step writes")
    args = p.parse_args(argv)
    _exit_on_sigterm()
    from viscoder.config import ConfigError

    try:
        run_demo(Path(args.out))
    except ConfigError as exc:  # a bundled config no longer matches its schema
        print(f"viscoder demo: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:  # a stage failed (ServeFailed, TrainFailed, ...): its reason
        print(f"viscoder demo: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
