"""``serve_forever(config)``: run the application on Ray Serve, wait until the model answers,
block until interrupted, shut down cleanly.

Readiness is what a client sees: ``/v1/models`` listing the model. While waiting, a failed
deployment (missing model, unknown architecture, not enough memory) ends the wait at once with
the error Serve recorded, instead of a time-out.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from viscoder.ray_init import ensure_ray
from viscoder.serve.app import build_app, model_id_of
from viscoder.serve.config import ServeConfig

log = logging.getLogger(__name__)
APP_NAME = "viscoder"


class ServeFailed(RuntimeError):
    pass


def start(cfg: ServeConfig, stopping: threading.Event | None = None) -> str:
    """Start Ray (local unless ``ray_address``), Serve's HTTP proxy on host:port, and the app.
    Returns the base URL once the model answers."""
    from ray import serve

    ensure_ray(cfg.ray_address)
    app = build_app(cfg)  # after ray.init: device=auto looks at the cluster's resources
    serve.start(http_options={"host": cfg.host, "port": cfg.port})
    try:
        serve.run(app, name=APP_NAME, route_prefix="/", blocking=False)
    except RuntimeError as exc:  # Serve gave up on the deployment (bad model, no memory, ...)
        raise ServeFailed(f"the model could not be deployed: {_deployment_errors() or exc}") from None
    base_url = f"http://{cfg.host}:{cfg.port}/v1"
    wait_ready(base_url, model_id_of(cfg), cfg.ready_timeout_s, stopping)
    return base_url


def wait_ready(base_url: str, model_id: str, timeout_s: float,
               stopping: threading.Event | None = None) -> None:
    from ray import serve

    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        if stopping is not None and stopping.is_set():
            raise ServeFailed("interrupted while the model was loading")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=5) as resp:
                ids = [m.get("id") for m in json.load(resp).get("data", [])]
            if model_id in ids:
                return
            last = f"/v1/models lists {ids}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = str(exc)
        status = serve.status().applications.get(APP_NAME)
        if status is not None and str(status.status).endswith("DEPLOY_FAILED"):
            raise ServeFailed(f"the model could not be deployed: {_deployment_errors()}")
        time.sleep(2)
    raise ServeFailed(f"the model was not ready after {timeout_s:g} s (last: {last})")


def _deployment_errors() -> str:
    """The last lines of what Serve recorded for the failed deployments (the engine's error)."""
    from ray import serve

    status = serve.status().applications.get(APP_NAME)
    if status is None:
        return ""
    messages = [status.message] + [d.message for d in status.deployments.values() if d.message]
    text = "\n".join(m for m in messages if m)
    noise = ("Traceback (most recent call last)", "raise ", "File \"", "^^^")
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not any(n in ln for n in noise)]
    errors = [ln for ln in lines if "rror" in ln]
    return "\n".join((errors or lines)[-6:])[-3000:]


def stop() -> None:
    import ray
    from ray import serve

    try:
        serve.shutdown()
    finally:
        ray.shutdown()


def serve_forever(cfg: ServeConfig, on_ready: Any = None) -> None:
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        base_url = start(cfg, stopping)
        print(f"serving {model_id_of(cfg)} at {base_url} (OpenAI-compatible); Ctrl-C to stop", flush=True)
        if on_ready:
            on_ready(base_url)
        while not stopping.wait(1.0):
            pass
        print("shutting down", flush=True)
    finally:
        stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a server started next)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_process(model: str, model_id: str, port: int, log_path, *extra: str,
                  timeout_s: float = 900.0):
    """`viscoder serve` in its own process (and its own local Ray), as a user runs it in a
    second terminal; returns (process, base_url) once /v1/models lists the model. Stop it
    with :func:`stop_process` (by its PID, never by name)."""
    import subprocess
    import sys

    base_url = f"http://127.0.0.1:{port}/v1"
    with open(log_path, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "viscoder.cli", "serve", "--model", str(model),
             "--model-id", model_id, "--port", str(port), *extra],
            stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServeFailed(f"viscoder serve exited early; its log ({log_path}) ends:\n"
                              f"{Path(log_path).read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=5) as resp:
                if f'"{model_id}"'.encode() in resp.read():
                    return proc, base_url
        except OSError:
            pass
        time.sleep(3)
    stop_process(proc)
    raise ServeFailed(f"viscoder serve was not ready after {timeout_s:g} s; see {log_path}")


def stop_process(proc) -> None:
    """SIGINT to a server from :func:`start_process`: it shuts Serve and its Ray down."""
    import subprocess

    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
