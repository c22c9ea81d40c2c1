"""Overhead of the Ray Serve layer: requests/s and tokens/s of `viscoder serve` against vLLM's
own OpenAI server on the same model, with the same load, in the same run.

    .venv/bin/python benchmarks/serve_overhead.py [--model DIR] [--clients 8] [--requests 64] [--tokens 32]

Without --model a tiny random model is built (CPU). Every request generates exactly --tokens
tokens (ignore_eos), so both servers do the same work. Target on a GPU (issue #4): within 5% of
bare vLLM. Both servers bind 127.0.0.1 and are stopped by their own PID.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import openai

from viscoder.serve.server import free_port


def wait_ready(base: str, proc: subprocess.Popen, log: Path, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/models", timeout=5):
                return
        except OSError:
            time.sleep(2)
    proc.kill()
    sys.exit(f"server not ready:\n{log.read_text()[-3000:]}")


def load(base: str, model: str, clients: int, requests: int, tokens: int) -> tuple[float, float]:
    client = openai.OpenAI(base_url=base, api_key="EMPTY", max_retries=0, timeout=600)

    def one(k: int) -> int:
        out = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": f"plot number {k}"}], max_tokens=tokens,
            temperature=0, extra_body={"ignore_eos": True})
        return out.usage.completion_tokens

    one(-1)  # warm-up
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        produced = sum(pool.map(one, range(requests)))
    elapsed = time.perf_counter() - start
    return requests / elapsed, produced / elapsed


def run_server(cmd: list[str], base: str, model: str, args, env: dict) -> tuple[float, float]:
    log = Path(tempfile.mkstemp(suffix=".log")[1])
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        wait_ready(base, proc, log)
        return load(base, model, args.clients, args.requests, args.tokens)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model folder (default: a tiny random model)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    args = parser.parse_args()
    model = args.model
    if model is None:
        from viscoder.serve.tiny import build_tiny_model

        model = str(build_tiny_model(Path(tempfile.mkdtemp()) / "tiny"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "1"}
    dtype = "float32" if args.device == "cpu" else "bfloat16"
    port = free_port()
    bare = run_server([sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model,
                       "--served-model-name", "m", "--host", "127.0.0.1", "--port", str(port),
                       "--dtype", dtype, "--max-model-len", "2048"]
                      + (["--enforce-eager"] if args.device == "cpu" else []),
                      f"http://127.0.0.1:{port}/v1", "m", args, env)
    port = free_port()
    ours = run_server([sys.executable, "-m", "viscoder.cli", "serve", "--model", model, "--model-id", "m",
                       "--port", str(port), f"device={args.device}", "max_model_len=2048",
                       f"max_ongoing_requests={max(64, args.clients * 2)}"],
                      f"http://127.0.0.1:{port}/v1", "m", args, env)
    print(f"\n{args.requests} requests x {args.tokens} tokens, {args.clients} concurrent clients, {args.device}")
    print(f"{'':<22}{'requests/s':>12}{'tokens/s':>12}")
    print(f"{'vLLM OpenAI server':<22}{bare[0]:>12.2f}{bare[1]:>12.1f}")
    print(f"{'viscoder serve':<22}{ours[0]:>12.2f}{ours[1]:>12.1f}")
    ratio = ours[1] / bare[1]
    print(f"viscoder serve / bare vLLM (tokens/s): {ratio:.3f}  "
          f"({'within' if ratio >= 0.95 else 'outside'} the 5% GPU target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
