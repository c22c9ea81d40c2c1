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
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from viscoder.sandbox.config import SandboxConfig
from viscoder.sandbox.errors import clean_optional
from viscoder.sandbox.png import BadPNG, check_png
from viscoder.sandbox.protocol import ChannelClosed, recv_frame, send_frame
from viscoder.sandbox.render import RenderBudget, RenderError, render_plotly_png
from viscoder.sandbox.result import ExecResult, Figure, crashed_result, result_from_reply
from viscoder.sandbox.runtimes import RuntimeUnavailable, get_runtime, worker_pythonpath

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

    @property
    def worker_pid(self) -> int | None:
        """The PID of the warm worker while it runs (None before start and after close): the
        process scripts are forked from, for callers that watch or account for processes."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

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
        try:  # the worker runs under the runtime's interpreter, not the project's .venv
            runtime = get_runtime(self.config.runtime)
        except RuntimeUnavailable as exc:
            raise WorkerUnavailable(str(exc)) from None
        parent, child = socket.socketpair()
        self._scratch = tempfile.mkdtemp(prefix="viscoder-sandbox-")
        fd, self._log_path = tempfile.mkstemp(prefix="viscoder-worker-", suffix=".log")
        env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
        env.update(_THREAD_ENV, PYTHONPATH=worker_pythonpath(), VIRTUAL_ENV=str(runtime.path))
        cmd = [str(runtime.python), "-s", "-m", "viscoder.sandbox.worker", "--fd",
               str(child.fileno()), "--slot", str(self.slot), "--scratch", self._scratch]
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
            # plain data: the worker side has no pydantic (see worker.main)
            send_frame(parent, {**self.config.model_dump(mode="json"),
                                "preload": [*runtime.preload, *self.config.preload]})
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
            mode: str | None = None, cell_number: int | None = None) -> ExecResult:
        """Run ``code`` with ``files`` in its working folder; never raises for what the script
        does. Raises ``WorkerUnavailable`` only when the sandbox itself cannot start; any
        other failure is this script's ``crashed`` row."""
        try:
            return self._run(code, files, task_id, timeout_s, mode, cell_number)
        except WorkerUnavailable:
            raise
        except Exception as exc:
            log.exception("sandbox: could not run or read back script %r", task_id[:200])
            return crashed_result(task_id, exc, self.config.backend)

    def _run(self, code: str, files: dict[str, FileData] | None, task_id: str,
             timeout_s: float | None, mode: str | None,
             cell_number: int | None) -> ExecResult:
        encoded = {name: base64.b64encode(_as_bytes(data)).decode()
                   for name, data in (files or {}).items()}
        request = {"op": "run", "id": task_id, "code": code, "files": encoded,
                   "timeout_s": timeout_s or self.config.timeout_s,
                   "memory_mb": self.config.memory_mb,
                   # "cell": run as a notebook cell (viscoder/sandbox/cell.py; bench protocols)
                   "mode": mode or getattr(self.config, "mode", "script"),
                   "cell_number": cell_number or 1}
        if self.config.backend == "jupyter":
            self.start()
            reply = self._jupyter.execute(request)
        else:
            reply = self._call_worker(request)
        return self._finish(task_id, reply)

    def run_task(self, task: ExecTask) -> ExecResult:
        return self.run(task.code, files=task.files, task_id=task.id)

    def _call_worker(self, request: dict[str, Any]) -> dict[str, Any]:
        self.start()
        assert self._sock is not None
        timeout = float(request["timeout_s"]) + self.config.interrupt_grace_s + 60
        self._sock.settimeout(timeout)
        try:
            send_frame(self._sock, request)
            return recv_frame(self._sock)
        except (OSError, ChannelClosed) as exc:
            # The worker's log goes to ours, not into the row: it holds host paths.
            log.warning("sandbox worker died (%s); its log ends with:\n%s", exc, self._log_tail(800))
            if self._proc is not None and self._proc.poll() is None:
                self._proc.kill()
            self._cleanup_worker()  # the next call starts a fresh worker
            return {"status": "crashed", "error_type": "WorkerDied",
                    "error_message": f"the sandbox worker stopped responding "
                                     f"({type(exc).__name__}); it is restarted for the next "
                                     "script", "figures": [], "duration_s": 0.0}

    def _finish(self, task_id: str, reply: dict[str, Any]) -> ExecResult:
        figures: list[Figure] = []
        budget = RenderBudget.from_config(self.config)  # the script's render time and pixels
        for rec in reply.get("figures") or []:
            fig = Figure(library=str(rec["library"])[:40], blank=bool(rec.get("blank", False)),
                         shown=bool(rec.get("shown", True)), via=str(rec.get("via", ""))[:40],
                         render_error=_short(rec.get("render_error")))
            if self.config.count_unshown_plotly:
                fig.shown = True
            if rec.get("png_b64"):
                fig.png = base64.b64decode(rec["png_b64"], validate=True)
            elif rec.get("json") and fig.shown and self.config.render_plotly:
                try:
                    fig.png = render_plotly_png(rec["json"], config=self.config, budget=budget)
                except RenderError as exc:
                    fig.render_error = _short(str(exc))
            if fig.png is not None and "width" not in rec:  # the worker checked its own
                try:
                    check_png(fig.png)
                except BadPNG as exc:
                    fig.png, fig.render_error = None, f"image rejected: {exc}"
            figures.append(fig)
        return result_from_reply(task_id, reply, figures, self.config.backend)


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


def _short(text: Any) -> str | None:
    return clean_optional(text, 1000)


def _as_bytes(data: FileData) -> bytes:
    if isinstance(data, Path):
        return data.read_bytes()
    if isinstance(data, str):
        return data.encode("utf-8")
    return bytes(data)
