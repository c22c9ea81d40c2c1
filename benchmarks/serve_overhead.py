"""Overhead of the Ray Serve layer: tokens/s of `viscoder serve` against vLLM's own OpenAI server
on the same model, with the same engine settings and the same load, in the same run.

    .venv/bin/python benchmarks/serve_overhead.py [--model DIR] [--device cpu|gpu] \\
        [--clients 8] [--requests 64] [--tokens 32] [--repeats 3]

Without --model a tiny random model is built (CPU). How the comparison is kept fair:

* one dict of engine settings (``engine_settings``) is given to both servers: to vLLM's CLI
  as flags, to `viscoder serve` as ``engine_kwargs``; it pins what Ray Serve LLM would
  otherwise choose differently from vLLM's CLI (the executor backend, request logging). Both
  are printed, with the engine configuration line each vLLM wrote in its log, side by side;
* every request generates exactly --tokens tokens (``ignore_eos``), so both do the same work;
* both servers stay up and the load goes to one at a time, alternating (A B B A ...), each run
  after a warm-up, --repeats times; the spread (min..max over runs) is reported beside the
  median, and the ratio is the median of the per-pair ratios;
* the Serve layer only adds work, so a ratio above 1 beyond the spread is a measurement
  problem: it is reported as such with the evidence (settings that differ), not as a result.

Target on a GPU (issue #4): viscoder serve within 5% of bare vLLM. Both servers bind
127.0.0.1 and are stopped by their own PID.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openai

from viscoder.serve.process import free_port, stop_process, wait_listed


def engine_settings(device: str, clients: int, max_model_len: int) -> dict:
    settings = {
        "dtype": "float32" if device == "cpu" else "bfloat16",
        "max_model_len": max_model_len,
        "enforce_eager": device == "cpu",
        "max_num_seqs": max(clients, 8),
        # Ray Serve LLM always runs the engine with this backend (mp on CPU, ray on GPU);
        # vLLM's CLI would pick "uni" for one device.
        "distributed_executor_backend": "mp" if device == "cpu" else "ray",
        "enable_log_requests": False,  # Ray Serve LLM's default
    }
    if device == "gpu":
        settings["gpu_memory_utilization"] = 0.4  # both servers share the GPU
    return settings


def as_flags(settings: dict) -> list[str]:
    flags = []
    for key, value in settings.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            flags.append(flag)
        elif value is False:
            flags.append("--no-" + key.replace("_", "-"))
        else:
            flags += [flag, str(value)]
    return flags


def load(base: str, clients: int, requests: int, tokens: int) -> float:
    """Tokens/s of ``requests`` chat completions from ``clients`` threads, after a warm-up."""
    client = openai.OpenAI(base_url=base, api_key="EMPTY", max_retries=0, timeout=600)

    def one(k: int) -> int:
        out = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": f"plot number {k}"}],
            max_tokens=tokens, temperature=0, extra_body={"ignore_eos": True})
        assert out.usage.completion_tokens == tokens, out.usage
        return out.usage.completion_tokens

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(-clients, 0)))  # warm-up: every slot once
        start = time.perf_counter()
        produced = sum(pool.map(one, range(requests)))
    return produced / (time.perf_counter() - start)


def start(name: str, cmd: list[str], port: int, env: dict, logs: Path):
    log = logs / f"{name}.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    wait_listed(f"http://127.0.0.1:{port}/v1", "m", proc, log, timeout_s=900)
    return proc, f"http://127.0.0.1:{port}/v1", log


def ray_engine_kwargs(model: str, device: str, settings: dict, max_model_len: int) -> dict:
    """What Ray Serve LLM hands to the vLLM engine for `viscoder serve` with these settings:
    the same ServeConfig -> LLMConfig path the server takes, read back from Ray."""
    from viscoder.serve.app import build_llm_config
    from viscoder.serve.config import ServeConfig

    cfg = ServeConfig(model=model, model_id="m", device=device, max_model_len=max_model_len,
                      cpu_kv_cache_gb=1, engine_kwargs=settings)
    return build_llm_config(cfg).get_engine_config().get_initialization_kwargs()


def check_same(settings: dict, ray_kwargs: dict) -> None:
    """Print what each engine gets; stop when Ray's differs from the settings in any key."""
    print(f"engine settings given to both: {settings}")
    print(f"Ray Serve LLM passes to vLLM:   {ray_kwargs}")
    differ = {k: (v, ray_kwargs.get(k)) for k, v in settings.items() if ray_kwargs.get(k) != v}
    extra = set(ray_kwargs) - set(settings) - {"model", "served_model_name"}
    extra = {k: ray_kwargs[k] for k in extra if (k, ray_kwargs[k]) != ("tensor_parallel_size", 1)}
    if differ or extra:
        sys.exit(f"the engines would not get the same settings: differ {differ}, "
                 f"only under Ray {extra}")


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} (min {min(values):.1f}, max {max(values):.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder (default: a tiny random model)")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-model-len", type=int, default=2048)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="serve-overhead-"))
    model = args.model
    if model is None:
        from viscoder.serve.tiny import build_tiny_model

        model = str(build_tiny_model(logs / "tiny"))
    settings = engine_settings(args.device, args.clients, args.max_model_len)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "1"}
    bare_port, ours_port = free_port(), free_port()
    # vLLM's OpenAI server module: `vllm serve` itself needs a distribution named "vllm"
    # (the CPU build is installed as vllm-cpu)
    bare_cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model,
                "--served-model-name", "m", "--host", "127.0.0.1", "--port", str(bare_port),
                *as_flags(settings)]
    ours_cmd = [sys.executable, "-m", "viscoder.cli", "serve", "--model", model, "--model-id", "m",
                "--port", str(ours_port), f"device={args.device}", "cpu_kv_cache_gb=1",
                f"max_model_len={args.max_model_len}", f"engine_kwargs={settings}",
                f"max_ongoing_requests={max(64, args.clients * 2)}"]
    check_same(settings, ray_engine_kwargs(model, args.device, settings, args.max_model_len))
    print(f"vLLM's own server: python {' '.join(bare_cmd[1:])}\nlogs: {logs}", flush=True)
    servers = {}
    try:
        servers["vLLM OpenAI server"] = start("bare", bare_cmd, bare_port, env, logs)
        servers["viscoder serve"] = start("ours", ours_cmd, ours_port, env, logs)
        rates: dict[str, list[float]] = {name: [] for name in servers}
        order = list(servers)
        for r in range(args.repeats):
            for name in (order if r % 2 == 0 else order[::-1]):  # A B, B A, A B ...
                rates[name].append(load(servers[name][1], args.clients, args.requests, args.tokens))
                print(f"  run {r + 1} {name:<20} {rates[name][-1]:8.1f} tokens/s", flush=True)
    finally:
        for proc, _, _ in servers.values():
            stop_process(proc)
    bare, ours = rates["vLLM OpenAI server"], rates["viscoder serve"]
    ratios = [o / b for o, b in zip(ours, bare, strict=True)]
    print(f"\n{args.requests} requests x {args.tokens} tokens, {args.clients} concurrent clients, "
          f"{args.device}, {args.repeats} alternated runs each")
    print(f"  vLLM OpenAI server  tokens/s {spread(bare)}")
    print(f"  viscoder serve      tokens/s {spread(ours)}")
    ratio, low, high = statistics.median(ratios), min(ratios), max(ratios)
    if low > 1.0:
        print(f"viscoder serve / bare vLLM: every pair above 1 ({low:.3f}..{high:.3f}). Serve cannot "
              "be faster than the engine it wraps: not a result. Compare the settings printed "
              "above and the logs for a setting that differs.")
        return 1
    print(f"viscoder serve / bare vLLM (tokens/s): {ratio:.3f} (pairs {low:.3f}..{high:.3f})")
    if high / low > 1.10:
        print("  the pairs disagree by more than the 5% target: no conclusion from this run "
              "(a loaded machine?); run it idle, with more --repeats")
    elif ratio > 1.0:
        print("  no measurable overhead at this spread (above 1 is noise, not Serve being faster)")
    else:
        print(f"  {'within' if ratio >= 0.95 else 'outside'} the 5% GPU target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
