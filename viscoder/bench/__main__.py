"""``viscoder bench``: evaluate a model behind an OpenAI-compatible endpoint.

    viscoder bench --benchmark pandasplotbench --data ../shared/benchmarks/pandasplotbench_partial \\
        --library seaborn --base-url http://127.0.0.1:8000/v1 --model my-model \\
        --self-debug-rounds 3 --workers 2 --no-judge --out runs/bench/seaborn
    viscoder bench compare runs/bench/matplotlib runs/bench/seaborn [--plot compare.png]
    viscoder bench --protocol pandasplotbench --prompts instructs.json ...   # the published harness
    viscoder bench --answers answers.jsonl --model NAME ...   # saved answers, no model called
    viscoder bench rescore runs/bench/seaborn --protocol pandasplotbench   # re-execute, re-judge

Writes DIR/results.jsonl (every attempt of every task, as tasks finish; re-running with the
same --out resumes), DIR/summary.json, DIR/report.html and DIR/pass_rate.png.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from viscoder.config import ConfigError, load_config


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="viscoder bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="a YAML BenchConfig (flags and key=value override it)")
    p.add_argument("--benchmark", choices=["pandasplotbench", "matplotbench"])
    p.add_argument("--protocol", choices=["viscoder", "pandasplotbench", "matplotagent"],
                   help="viscoder (ours, default) or a published harness, behaviour for behaviour")
    p.add_argument("--answers", help="JSONL of saved answers (id, round, answer): no model is called")
    p.add_argument("--llama3-template", action="store_true",
                   help="pandasplotbench: upstream vLLM's Llama-3 headers via /v1/completions")
    p.add_argument("--upstream-engine", choices=["vllm", "api"],
                   help="pandasplotbench: max tokens of upstream's vLLM (5000) or API (3000) engine")
    p.add_argument("--data", help="local copy (parquet/JSONL or folder); default: the HF hub")
    p.add_argument("--library", choices=["matplotlib", "seaborn", "plotly"])
    p.add_argument("--instruction", choices=["simple", "expert"], help="MatPlotBench prompt")
    p.add_argument("--base-url", help="the model's endpoint, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--model", help="model name at that endpoint")
    p.add_argument("--api-key-env", help="environment variable with the endpoint's key")
    p.add_argument("--self-debug-rounds", type=int)
    p.add_argument("--workers", type=int, help="Ray actors, each with a sandbox")
    p.add_argument("--max-concurrent-requests", type=int)
    p.add_argument("--limit", type=int, help="first N tasks")
    p.add_argument("--timeout", type=float, help="seconds per script (10)")
    p.add_argument("--no-judge", action="store_true", help="skip the VLM judges")
    p.add_argument("--judge-model", help="default gpt-4o")
    p.add_argument("--judge-base-url", help="default OpenAI; or a self-hosted VLM endpoint")
    p.add_argument("--prompts", help="upstream instructs.json, to reproduce published numbers")
    p.add_argument("--visual-feedback", action="store_true", help="precise no-plot/blank feedback")
    p.add_argument("--feedback-images", action="store_true", help="attach images to feedback")
    p.add_argument("--blank-is-failure", action="store_true", help="empty plots fail")
    p.add_argument("--count-unshown-plotly", action="store_true")
    p.add_argument("--runtime", help="execution runtime the answers run under (default: the "
                   "protocol's); see `python -m viscoder.sandbox.runtimes list`")
    p.add_argument("--ray-address", help="an existing Ray cluster (default: local Ray)")
    p.add_argument("--out", help="output folder")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("overrides", nargs="*", default=[], help="key=value, e.g. generator.max_tokens=1024")
    return p


def _values(a: argparse.Namespace) -> dict[str, object]:
    """Flags as data under their dotted keys (never turned into text and parsed back), so a
    YAML config, flags and key=value overrides combine in one place: load_config."""
    pairs = {
        "benchmark": a.benchmark, "data": a.data, "library": a.library, "instruction": a.instruction,
        "generator.base_url": a.base_url, "generator.model": a.model,
        "generator.api_key_env": a.api_key_env, "self_debug_rounds": a.self_debug_rounds,
        "workers": a.workers, "generator.max_concurrent_requests": a.max_concurrent_requests,
        "limit": a.limit, "sandbox.timeout_s": a.timeout, "judge.model": a.judge_model,
        "judge.base_url": a.judge_base_url, "prompts": a.prompts, "ray_address": a.ray_address,
        "out": a.out, "protocol": a.protocol, "answers": a.answers,
        "upstream.llama3_template": True if a.llama3_template else None,
        "upstream.engine": a.upstream_engine,
        "judge.enabled": False if a.no_judge else None,
        "visual_feedback": True if a.visual_feedback else None,
        "feedback_images": True if a.feedback_images else None,
        "blank_is_failure": True if a.blank_is_failure else None,
        "sandbox.count_unshown_plotly": True if a.count_unshown_plotly else None,
        "sandbox.runtime": a.runtime,
    }
    return {k: v for k, v in pairs.items() if v is not None}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if argv[:1] == ["compare"]:
        return compare_main(argv[1:])
    if argv[:1] == ["rescore"]:
        return rescore_main(argv[1:])
    args = build_parser().parse_args(argv)
    from viscoder.bench.config import BenchConfig

    try:
        cfg = load_config(BenchConfig, args.config, args.overrides, _values(args))
        cfg.check_runnable()  # run_bench checks again: the same checks for library callers
        from viscoder.bench.runner import run_bench

        summary = run_bench(cfg, progress=not args.quiet)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"viscoder bench: {exc}", file=sys.stderr)
        return 2
    return _print_summary(summary, cfg)


def _print_summary(summary: dict, cfg) -> int:
    rates = " -> ".join(f"{r:.1f}" for r in summary["exec_pass_rate"])
    print(f"{summary['benchmark']} / {summary['library']} / {summary['model']} "
          f"[protocol {summary.get('protocol', 'viscoder')}, runtime {summary.get('runtime', 'default')}]: "
          f"{summary['n_tasks']} tasks, exec pass rate by round {rates} %")
    print(f"report: {Path(cfg.out) / 'report.html'}")
    return 0


def rescore_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="viscoder bench rescore",
                                description="re-execute and re-judge a finished run's answers")
    p.add_argument("dir", type=Path, help="a finished run (config.yaml + results.jsonl)")
    p.add_argument("--protocol", choices=["viscoder", "pandasplotbench", "matplotagent"])
    p.add_argument("--runtime", help="execution runtime (default: the protocol's)")
    p.add_argument("--out", help="default DIR/rescore-PROTOCOL-RUNTIME")
    p.add_argument("--no-judge", action="store_true")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    from viscoder.bench.replay import rescore_config
    from viscoder.bench.runner import run_bench

    try:
        cfg = rescore_config(args.dir, {"protocol": args.protocol, "runtime": args.runtime,
                                        "out": args.out,
                                        "judge.enabled": False if args.no_judge else None})
        summary = run_bench(cfg, progress=not args.quiet)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"viscoder bench rescore: {exc}", file=sys.stderr)
        return 2
    return _print_summary(summary, cfg)


def compare_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="viscoder bench compare",
                                description="several bench runs side by side")
    p.add_argument("dirs", nargs="+", type=Path)
    p.add_argument("--plot", type=Path, default=Path("bench_compare.png"))
    p.add_argument("--mix-protocols", action="store_true",
                   help="put runs of different protocols in one table anyway")
    args = p.parse_args(argv)
    from viscoder.bench.report import ProtocolMismatch, compare

    missing = [d for d in args.dirs if not (d / "summary.json").exists()]
    if missing:
        print(f"viscoder bench compare: no summary.json in {', '.join(map(str, missing))}",
              file=sys.stderr)
        return 2
    try:
        print(compare(args.dirs, args.plot, mix_protocols=args.mix_protocols))
    except ProtocolMismatch as exc:
        print(f"viscoder bench compare: {exc}", file=sys.stderr)
        return 2
    print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
