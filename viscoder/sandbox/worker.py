"""The warm worker: imports the plotting stack once, then forks a jailed child per script.

Started by :class:`viscoder.sandbox.executor.Sandbox` as ``python -m viscoder.sandbox.worker
--fd N`` with a socket on descriptor N. It never runs script code itself, so it stays clean:
every child starts from the same freshly imported state and can only damage its own copy.

Per script: a folder on the worker's size-capped tmpfs (work/ tmp/ capture/ root/), the fork,
a wall-clock watch (SIGINT at the timeout, the simulated KeyboardInterrupt of the published
harness, then SIGKILL after a grace period), the report read back with a size bound, the
folder removed. If the executor goes away, the worker kills its child and exits.
"""

from __future__ import annotations

import argparse
import base64
import gc
import importlib
import os
import select
import shutil
import signal
import socket
import sys
import time
import warnings
from typing import Any

from viscoder.sandbox import jail
from viscoder.sandbox.child import ChildPlan, child_main
from viscoder.sandbox.config import SandboxConfig
from viscoder.sandbox.files import place_files
from viscoder.sandbox.protocol import ChannelClosed, recv_frame, send_frame

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_REPORT_BYTES = 256 * 1024 * 1024


class Worker:
    def __init__(self, config: SandboxConfig, slot: int, sock: socket.socket, scratch: str):
        self.config = config
        self.slot = slot
        self.sock = sock
        self.scratch = scratch  # created and removed by the executor
        self.counter = 0
        self.isolation = jail.Isolation()
        self.ro_paths: list[str] = []
        self.base_address_space = 0

    # --- start-up -----------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        preload(self.config.preload)
        mode = "none" if self.config.isolation == "none" else jail.worker_mode()
        if mode != "none":
            try:
                jail.prepare_worker(self.scratch, self.config.scratch_mb, mode)
                self.ro_paths = jail.readonly_paths(self.config.extra_readonly_paths)
                self.isolation = jail.probe(self.scratch)
            except OSError as exc:
                self.isolation = jail.Isolation(problems=[f"worker namespace: {exc}"])
        else:
            self.isolation.problems.append("isolation disabled by configuration")
        if self.config.isolation == "strict" and not self.isolation.complete:
            raise RuntimeError("isolation=strict but this machine allows only "
                               f"{self.isolation.as_dict()}")
        gc.collect()
        gc.freeze()  # keeps the children's copy-on-write pages shared
        self.base_address_space = _address_space()
        return {"op": "ready", "pid": os.getpid(), "isolation": self.isolation.as_dict()}

    # --- serving ------------------------------------------------------------------------
    def serve(self) -> None:
        while True:
            try:
                request = recv_frame(self.sock)
            except ChannelClosed:
                return
            if request.get("op") == "stop":
                return
            reply = self.run_task(request)
            try:
                send_frame(self.sock, reply)
            except OSError:
                return

    def run_task(self, req: dict[str, Any]) -> dict[str, Any]:
        self.counter += 1
        task_dir = os.path.join(self.scratch, f"t{self.counter}")
        timeout = float(req.get("timeout_s") or self.config.timeout_s)
        memory_mb = int(req.get("memory_mb") or self.config.memory_mb)
        try:
            self._make_task_dir(task_dir, req)
        except (OSError, ValueError) as exc:
            shutil.rmtree(task_dir, ignore_errors=True)
            return {"status": "error", "error_type": type(exc).__name__,
                    "error_message": f"could not prepare the working folder: {exc}",
                    "figures": [], "duration_s": 0.0}
        cfg = self.config
        plan = ChildPlan(
            code=req["code"], task_dir=task_dir, isolation=self.isolation,
            limits=jail.Limits(
                address_space=self.base_address_space + memory_mb * 1024 * 1024,
                cpu_s=int(timeout + cfg.interrupt_grace_s) + 2,
                file_bytes=cfg.max_file_mb * 1024 * 1024,
                open_files=cfg.max_open_files, threads=cfg.max_threads),
            uid=cfg.sandbox_uid_base + self.slot, worker_pid=os.getpid(),
            ro_paths=self.ro_paths, dpi=cfg.dpi, traceback_limit=cfg.traceback_limit_chars)
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            child_main(plan)  # never returns
        interrupted, wait_status = self._watch(pid, timeout)
        duration = time.monotonic() - start
        try:
            return self._collect(task_dir, wait_status, interrupted, duration, timeout)
        finally:
            shutil.rmtree(task_dir, ignore_errors=True)

    def _make_task_dir(self, task_dir: str, req: dict[str, Any]) -> None:
        for sub in ("work", "tmp", "capture", "root"):
            os.makedirs(os.path.join(task_dir, sub), mode=0o755)
        work = os.path.join(task_dir, "work")
        place_files(work, req.get("files") or {})
        script = os.path.join(work, "script.py")
        if not os.path.exists(script):
            with open(script, "w", encoding="utf-8") as fh:
                fh.write(req["code"])
        if self.isolation.separate_uid:
            uid = self.config.sandbox_uid_base + self.slot
            for sub in ("work", "tmp", "capture"):
                for root, dirs, files in os.walk(os.path.join(task_dir, sub)):
                    for name in [root, *(os.path.join(root, f) for f in dirs + files)]:
                        os.chown(name, uid, uid)
            os.chmod(os.path.join(task_dir, "tmp"), 0o1777)

    def _watch(self, pid: int, timeout: float) -> tuple[bool, int]:
        """Wait for the child; SIGINT at the timeout, SIGKILL after the grace period. Returns
        (interrupted, wait status). Also watches the executor's socket: if it hangs up, the
        child is killed and the worker exits."""
        pidfd = os.pidfd_open(pid)
        interrupted = False
        deadline = time.monotonic() + timeout
        phase = "run"
        try:
            while True:
                left = max(0.0, deadline - time.monotonic())
                ready, _, _ = select.select([pidfd, self.sock], [], [], left)
                if pidfd in ready:
                    break
                if self.sock in ready and not self.sock.recv(1, socket.MSG_PEEK):
                    _kill_group(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    os._exit(0)
                if time.monotonic() < deadline:
                    continue
                if phase == "run":
                    interrupted = True
                    _kill_group(pid, signal.SIGINT)
                    phase = "grace"
                    deadline = time.monotonic() + self.config.interrupt_grace_s
                else:
                    _kill_group(pid, signal.SIGKILL)
                    deadline = time.monotonic() + 3600
        finally:
            os.close(pidfd)
        _kill_group(pid, signal.SIGKILL)  # anything the script left in its group
        _, status = os.waitpid(pid, 0)
        return interrupted, status

    def _collect(self, task_dir: str, wait_status: int, interrupted: bool,
                 duration: float, timeout: float) -> dict[str, Any]:
        import json

        limit = self.config.output_limit_bytes
        reply: dict[str, Any] = {
            "duration_s": duration,
            "stdout": _read_bounded(os.path.join(task_dir, "stdout"), limit),
            "stderr": _read_bounded(os.path.join(task_dir, "stderr"), limit),
            "figures": [],
        }
        report: dict[str, Any] = {}
        path = os.path.join(task_dir, "result.json")
        try:
            if os.path.getsize(path) <= MAX_REPORT_BYTES:
                with open(path, "rb") as fh:
                    report = json.loads(fh.read() or b"{}")
        except (OSError, ValueError):
            report = {}
        if not isinstance(report, dict):
            report = {}
        outcome = report.get("outcome")
        for key in ("error_type", "error_message", "traceback"):
            value = report.get(key)
            reply[key] = str(value) if value is not None else None

        signum = -os.waitstatus_to_exitcode(wait_status) if os.WIFSIGNALED(wait_status) else 0
        if interrupted:
            reply["status"] = "timeout"
            if outcome != "interrupted":
                reply["error_type"] = "TimeoutError"
                reply["error_message"] = (f"did not finish in {timeout:g} s and "
                                          "did not stop when interrupted")
                reply["traceback"] = None
            else:
                reply["error_message"] = f"interrupted at the {timeout:g} s limit"
        elif signum == signal.SIGXCPU:
            reply.update(status="timeout", error_type="TimeoutError",
                         error_message="CPU time limit exceeded", traceback=None)
        elif outcome in ("completed", "exception", "memory", "interrupted"):
            reply["status"] = {"completed": "completed", "exception": "error",
                               "memory": "memory", "interrupted": "error"}[outcome]
            reply["figures"] = self._figures(task_dir, report.get("figures"))
        elif outcome == "harness_error":
            reply["status"] = "crashed"
        elif signum:
            name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else str(signum)
            reply.update(status="crashed", error_type=name, traceback=None,
                         error_message=f"killed by signal {name}"
                         + (" (possibly out of memory)" if signum == signal.SIGKILL else ""))
        else:
            code = os.waitstatus_to_exitcode(wait_status)
            reply.update(status="crashed", error_type="SystemExit", traceback=None,
                         error_message=f"process exited with code {code} before finishing")
        return reply

    def _figures(self, task_dir: str, records: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if not isinstance(records, list):
            return out
        capture = os.path.join(task_dir, "capture")
        for rec in records[:64]:
            if not isinstance(rec, dict):
                continue
            fig = {"library": str(rec.get("library", "")), "blank": bool(rec.get("blank")),
                   "shown": bool(rec.get("shown", True)), "via": str(rec.get("via", "")),
                   "render_error": rec.get("render_error")}
            if fig["library"] == "matplotlib" and isinstance(rec.get("file"), str):
                path = os.path.join(capture, os.path.basename(rec["file"]))
                try:
                    with open(path, "rb") as fh:
                        data = fh.read(self.config.max_file_mb * 1024 * 1024)
                except OSError:
                    data = b""
                if data.startswith(PNG_MAGIC):
                    fig["png_b64"] = base64.b64encode(data).decode()
                else:
                    fig["render_error"] = fig["render_error"] or "no PNG was produced"
            elif fig["library"] == "plotly" and isinstance(rec.get("json"), str):
                fig["json"] = rec["json"]
            out.append(fig)
        return out


def preload(modules: list[str]) -> None:
    """Import the plotting stack and pay the first-use costs (fonts, templates) once."""
    warnings.filterwarnings("ignore")
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:
            pass  # a missing optional library fails in the script that needs it
    try:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        ax.set_title("warm-up $x^2$")
        fig.savefig(os.devnull, format="png")
        plt.close("all")
    except Exception:
        pass
    try:
        import plotly.express as px

        px.scatter(x=[0, 1], y=[0, 1]).to_json()
    except Exception:
        pass
    warnings.resetwarnings()


def _kill_group(pid: int, sig: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, sig)
            return
        except (ProcessLookupError, PermissionError):
            continue


def _read_bounded(path: str, limit: int) -> str:
    """The output a script printed, its head and its end when it printed more than ``limit``."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            if size <= limit:
                return fh.read().decode("utf-8", "replace")
            head = fh.read(limit // 2)
            fh.seek(size - limit // 2)
            tail = fh.read()
    except OSError:
        return ""
    omitted = size - len(head) - len(tail)
    return (f"{head.decode('utf-8', 'replace')}\n[... {omitted} bytes omitted ...]\n"
            f"{tail.decode('utf-8', 'replace')}")


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--slot", type=int, default=0)
    parser.add_argument("--scratch", required=True)
    args = parser.parse_args(argv)
    sock = socket.socket(fileno=args.fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the executor's to handle
    config = SandboxConfig.model_validate(recv_frame(sock))
    worker = Worker(config, args.slot, sock, args.scratch)
    try:
        send_frame(sock, worker.start())
    except Exception as exc:
        send_frame(sock, {"op": "error", "message": f"{type(exc).__name__}: {exc}"})
        sys.exit(1)
    worker.serve()


if __name__ == "__main__":
    main()
