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
from typing import Any

from viscoder.ray_init import ensure_ray
from viscoder.serve.app import build_app, model_id_of
from viscoder.serve.config import ServeConfig

log = logging.getLogger(__name__)
APP_NAME = "viscoder"


class ServeFailed(RuntimeError):
    pass


def start(cfg: ServeConfig, stopping: threading.Event | None = None) -> str | None:
    """Start Ray (local unless ``ray_address``), Serve's HTTP proxy on host:port, and the app.
    Returns the base URL once the model answers, None when ``stopping`` was set first."""
    from ray import serve

    ensure_ray(cfg.ray_address)
    app = build_app(cfg)  # after ray.init: device=auto looks at the cluster's resources
    serve.start(http_options={"host": cfg.host, "port": cfg.port})
    try:
        serve.run(app, name=APP_NAME, route_prefix="/", blocking=False)
    except RuntimeError as exc:  # Serve gave up on the deployment (bad model, no memory, ...)
        raise ServeFailed(f"the model could not be deployed: {_deployment_errors() or exc}") from None
    base_url = f"http://{cfg.host}:{cfg.port}/v1"
    ready = wait_ready(base_url, model_id_of(cfg), cfg.ready_timeout_s, stopping)
    return base_url if ready else None


def wait_ready(base_url: str, model_id: str, timeout_s: float,
               stopping: threading.Event | None = None) -> bool:
    """True once /v1/models lists the model; False when ``stopping`` is set before that (a
    Ctrl-C while loading is a stop, not a failure); ServeFailed when the deployment failed
    or ``timeout_s`` passed."""
    from ray import serve

    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        try:  # answering first: clients may already use it when the stop arrives
            with urllib.request.urlopen(f"{base_url}/models", timeout=5) as resp:
                ids = [m.get("id") for m in json.load(resp).get("data", [])]
            if model_id in ids:
                return True
            last = f"/v1/models lists {ids}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last = str(exc)
        if stopping is not None and stopping.is_set():
            return False
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
        if base_url is None:
            print("interrupted while the model was loading; shutting down", flush=True)
            return
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

