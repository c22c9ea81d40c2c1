"""The sandbox as a library: run untrusted plotting code, get a typed result.

    from viscoder.sandbox import Sandbox, SandboxConfig
    with Sandbox(SandboxConfig(timeout_s=10)) as sb:
        res = sb.run(code, files={"data.csv": csv_bytes}, task_id="t1")
        res.status, res.error_type, res.traceback, res.pngs, res.blank

``Sandbox`` owns one warm worker (``worker.py``), restarted if it ever dies; one call at a
time. ``SandboxPool`` runs N of them on threads for one machine; on a cluster, the data and
bench stages put one ``Sandbox`` in each Ray actor instead. ``backend="jupyter"`` runs the
paper's harness (a fresh kernel per script) behind the same interface.
"""

from __future__ import annotations

import base64
import logging
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from viscoder.sandbox.config import SandboxConfig
from viscoder.sandbox.protocol import ChannelClosed, recv_frame, send_frame
from viscoder.sandbox.render import RenderError, render_plotly_png
from viscoder.sandbox.result import ExecResult, ExecStatus, Figure

log = logging.getLogger(__name__)

FileData = bytes | str | Path

# The worker gets this environment and nothing else, so no secret of the caller (API keys,
# tokens) is ever in the memory of a process that scripts are forked from.
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "PYTHONPATH", "VIRTUAL_ENV",
               "MPLCONFIGDIR", "XDG_CACHE_HOME")
_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "NUMEXPR_NUM_THREADS": "1", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass
class ExecTask:
    """One script to run: its code and the files to place in its working folder."""

    id: str
    code: str
    files: dict[str, FileData] = field(default_factory=dict)
    timeout_s: float | None = None


class WorkerUnavailable(RuntimeError):
    """The warm worker could not be started; the message says why."""


class Sandbox:
    def __init__(self, config: SandboxConfig | None = None, slot: int = 0):
        self.config = config or SandboxConfig()
        self.slot = slot
        self._proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._scratch: str | None = None
        self._log_path: str | None = None
        self._jupyter = None
        self.isolation: dict[str, Any] = {}

    # --- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        if self.config.backend == "jupyter":
            from viscoder.sandbox.jupyter import JupyterBackend

            self._jupyter = self._jupyter or JupyterBackend(self.config)
            return
        if self._proc is not None and self._proc.poll() is None:
            return
        self._spawn()

    def _spawn(self) -> None:
        self._cleanup_worker()
        parent, child = socket.socketpair()
        self._scratch = tempfile.mkdtemp(prefix="viscoder-sandbox-")
        fd, self._log_path = tempfile.mkstemp(prefix="viscoder-worker-", suffix=".log")
        env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
        env.update(_THREAD_ENV)
        cmd = [sys.executable, "-m", "viscoder.sandbox.worker", "--fd", str(child.fileno()),
               "--slot", str(self.slot), "--scratch", self._scratch]
        try:
            self._proc = subprocess.Popen(cmd, pass_fds=[child.fileno()], env=env,
                                          stdin=subprocess.DEVNULL, stdout=fd, stderr=fd,
                                          start_new_session=True)
        finally:
            child.close()
            os.close(fd)
        self._sock = parent
        parent.settimeout(self.config.worker_start_timeout_s)
        try:
            send_frame(parent, self.config.model_dump(mode="json"))
            hello = recv_frame(parent)
        except (OSError, ChannelClosed) as exc:
            tail = self._log_tail()
            self._cleanup_worker()
            raise WorkerUnavailable(f"sandbox worker did not start: {exc}\n{tail}") from None
        if hello.get("op") != "ready":
            self._cleanup_worker()
            raise WorkerUnavailable(f"sandbox worker refused to start: {hello.get('message')}")
        self.isolation = hello.get("isolation", {})
        if self.isolation.get("problems") and self.config.isolation == "auto":
            log.warning("sandbox isolation is partial on this machine: %s",
                        "; ".join(self.isolation["problems"]))

    def close(self) -> None:
        if self._sock is not None:
            try:
                send_frame(self._sock, {"op": "stop"})
            except OSError:
                pass
        self._cleanup_worker()
        if self._jupyter is not None:
            self._jupyter.close()
            self._jupyter = None

    def _cleanup_worker(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        if self._log_path:
            try:
                os.unlink(self._log_path)
            except OSError:
                pass
            self._log_path = None

    def _log_tail(self, limit: int = 2000) -> str:
        try:
            return Path(self._log_path or "").read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    # --- running ------------------------------------------------------------------------
    def run(self, code: str, *, files: dict[str, FileData] | None = None,
            task_id: str = "script", timeout_s: float | None = None,
            memory_mb: int | None = None) -> ExecResult:
        """Run ``code`` with ``files`` in its working folder; never raises for what the script
        does. Raises ``WorkerUnavailable`` only when the sandbox itself cannot start."""
        encoded = {name: base64.b64encode(_as_bytes(data)).decode()
                   for name, data in (files or {}).items()}
        request = {"op": "run", "id": task_id, "code": code, "files": encoded,
                   "timeout_s": timeout_s or self.config.timeout_s,
                   "memory_mb": memory_mb or self.config.memory_mb}
        if self.config.backend == "jupyter":
            self.start()
            reply = self._jupyter.execute(request)
        else:
            reply = self._call_worker(request)
        return self._finish(task_id, reply)

    def run_task(self, task: ExecTask) -> ExecResult:
        return self.run(task.code, files=task.files, task_id=task.id, timeout_s=task.timeout_s)

    def _call_worker(self, request: dict[str, Any]) -> dict[str, Any]:
        self.start()
        assert self._sock is not None
        timeout = float(request["timeout_s"]) + self.config.interrupt_grace_s + 60
        self._sock.settimeout(timeout)
        try:
            send_frame(self._sock, request)
            return recv_frame(self._sock)
        except (OSError, ChannelClosed) as exc:
            tail = self._log_tail(800)
            if self._proc is not None and self._proc.poll() is None:
                self._proc.kill()
            self._cleanup_worker()  # the next call starts a fresh worker
            return {"status": "crashed", "error_type": "WorkerDied",
                    "error_message": f"the sandbox worker stopped responding ({exc}); "
                                     f"it is restarted for the next script. {tail}".strip(),
                    "figures": [], "duration_s": 0.0}

    def _finish(self, task_id: str, reply: dict[str, Any]) -> ExecResult:
        figures: list[Figure] = []
        for rec in reply.get("figures") or []:
            fig = Figure(library=rec["library"], blank=rec.get("blank", False),
                         shown=rec.get("shown", True), via=rec.get("via", ""),
                         render_error=rec.get("render_error"))
            if self.config.count_unshown_plotly:
                fig.shown = True
            if rec.get("png_b64"):
                fig.png = base64.b64decode(rec["png_b64"])
            elif rec.get("json") and fig.shown and self.config.render_plotly:
                try:
                    fig.png = render_plotly_png(rec["json"])
                except RenderError as exc:
                    fig.render_error = str(exc)
            figures.append(fig)
        status = reply.get("status", "crashed")
        if status == "completed":
            status = "ok" if any(f.shown for f in figures) else "no_plot"
        result = ExecResult(
            id=task_id, status=ExecStatus(status), error_type=reply.get("error_type"),
            error_message=reply.get("error_message"), traceback=reply.get("traceback"),
            stdout=reply.get("stdout", ""), stderr=reply.get("stderr", ""), figures=figures,
            duration_s=round(float(reply.get("duration_s", 0.0)), 4), backend=self.config.backend)
        if result.status is ExecStatus.NO_PLOT and result.error_type is None:
            result.error_message = "the script ran but displayed no figure"
        return result


class SandboxPool:
    """N sandboxes on threads: ``imap_unordered`` yields results as scripts finish, reading
    tasks lazily so that a million-script input never sits in memory."""

    def __init__(self, config: SandboxConfig | None = None, workers: int = 1):
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.config = config or SandboxConfig()
        self.workers = workers

    def imap_unordered(self, tasks: Iterable[ExecTask]) -> Iterator[ExecResult]:
        todo: queue.Queue = queue.Queue(maxsize=self.workers * 4)
        done: queue.Queue = queue.Queue()
        stop = threading.Event()
        sandboxes = [Sandbox(self.config, slot=k) for k in range(self.workers)]

        def feed() -> None:
            try:
                for task in tasks:
                    while not stop.is_set():
                        try:
                            todo.put(task, timeout=0.2)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
            except BaseException as exc:
                done.put(exc)
            finally:
                for _ in sandboxes:
                    todo.put(None)

        def serve(sandbox: Sandbox) -> None:
            try:
                while (task := todo.get()) is not None and not stop.is_set():
                    done.put(sandbox.run_task(task))
            except BaseException as exc:
                done.put(exc)
            finally:
                sandbox.close()
                done.put(_WorkerFinished)

        threads = [threading.Thread(target=feed, daemon=True)]
        threads += [threading.Thread(target=serve, args=(sb,), daemon=True) for sb in sandboxes]
        for t in threads:
            t.start()
        finished = 0
        try:
            while finished < len(sandboxes):
                item = done.get()
                if item is _WorkerFinished:
                    finished += 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            stop.set()
            for sb in sandboxes:
                sb.close()


class _WorkerFinished:
    pass


def _as_bytes(data: FileData) -> bytes:
    if isinstance(data, Path):
        return data.read_bytes()
    if isinstance(data, str):
        return data.encode("utf-8")
    return bytes(data)
