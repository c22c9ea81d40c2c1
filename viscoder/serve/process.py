"""`viscoder serve` as a child process, as a user runs it in a second terminal.

The demo uses this to put the server in its own process (and its own local Ray), so the
bench's sandbox actors do not compete with the replica for the same logical CPUs; the tests
and the serve benchmark start servers the same way. Product code, not a test double: the
demo is a shipped command.

    proc, base_url = start_process("runs/tiny-model", "tiny", free_port(), "serve.log")
    ...
    stop_process(proc)   # by its PID, never by name
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from viscoder.serve.server import ServeFailed


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a server started next)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listed(base_url: str, model_id: str, proc: subprocess.Popen, log_path: str | Path,
                timeout_s: float) -> None:
    """Return once ``base_url``/models lists ``model_id``; raise ServeFailed with the log's
    tail when the process exits first or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServeFailed(f"the server exited early; its log ({log_path}) ends:\n"
                              f"{Path(log_path).read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=5) as resp:
                if f'"{model_id}"'.encode() in resp.read():
                    return
        except OSError:
            pass
        # the condition is polled: the server offers no readiness event to block on
        time.sleep(2)
    raise ServeFailed(f"the server was not ready after {timeout_s:g} s; see {log_path}")


def start_process(model: str | Path, model_id: str, port: int, log_path: str | Path,
                  *extra: str, timeout_s: float = 900.0) -> tuple[subprocess.Popen, str]:
    """`viscoder serve` in its own process group; returns (process, base_url) once
    /v1/models lists the model. Stop it with :func:`stop_process`."""
    base_url = f"http://127.0.0.1:{port}/v1"
    with open(log_path, "w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "viscoder.cli", "serve", "--model", str(model),
             "--model-id", model_id, "--port", str(port), *extra],
            stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_listed(base_url, model_id, proc, log_path, timeout_s)
    except ServeFailed:
        stop_process(proc)
        raise
    return proc, base_url


def stop_process(proc: subprocess.Popen, timeout_s: float = 120.0) -> int:
    """SIGINT to a server started by :func:`start_process` (it shuts Serve and its Ray down);
    SIGKILL to its process group if it has not exited after ``timeout_s``. Returns its exit
    status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    return proc.returncode
