"""The warm worker: imports the plotting stack once, then forks a jailed child per script.

Started by :class:`viscoder.sandbox.executor.Sandbox` as ``python -m viscoder.sandbox.worker
--fd N`` with a socket on descriptor N. It never runs script code itself, so it stays clean:
every child starts from the same freshly imported state and can only damage its own copy.

Per script: a folder on a size-capped tmpfs of its own (work/ tmp/ capture/ root/), the fork,
a wall-clock watch (SIGINT at the timeout, the simulated KeyboardInterrupt of the published
harness, then SIGKILL after a grace period), what the script left read back as hostile input
(``collect.py``), the tmpfs unmounted (or, without namespaces, the folder deleted without
recursion). Any failure while handling one script becomes that script's ``crashed`` reply; the
worker goes on with the next. If the executor goes away, the worker kills its child and exits.

On Linux the worker refuses to start when the full jail cannot be built, unless the
configuration says ``isolation=none``: code from strangers is not run half-isolated.
"""

from __future__ import annotations

import argparse
import gc
import os
import select
import signal
import socket
import sys
import time
import traceback
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from viscoder.sandbox import jail
from viscoder.sandbox.child import ChildPlan, child_main
from viscoder.sandbox.collect import collect, internal_error, open_folder
from viscoder.sandbox.files import place_files, remove_tree
from viscoder.sandbox.preload import Preloader
from viscoder.sandbox.probe import probe_finish, probe_start
from viscoder.sandbox.protocol import ChannelClosed, recv_frame, send_frame

if TYPE_CHECKING:  # the worker runs under an execution runtime, which has no pydantic
    from viscoder.sandbox.config import SandboxConfig


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
        self.preloader = Preloader(list(config.preload))

    # --- start-up -----------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        cfg = self.config
        mode = "none" if cfg.isolation == "none" else jail.worker_mode()
        probing = None
        if mode != "none":
            try:
                jail.prepare_worker(self.scratch, cfg.scratch_mb, mode)
                self.ro_paths = jail.readonly_paths(cfg.extra_readonly_paths)
                probing = probe_start(self.scratch, mode, self.ro_paths)  # while we import
            except OSError as exc:
                self.isolation = jail.Isolation(problems=[f"worker namespace: {exc}"])
        else:
            self.isolation.problems.append("isolation disabled by configuration")
        self.preloader.start()  # the core; the rest when a script first names it
        if probing is not None:
            self.isolation = probe_finish(probing)
        refusal = jail_refusal(cfg.isolation, self.isolation)
        if refusal:
            raise RuntimeError(refusal)
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
            try:
                reply = self.run_task(request)
            except Exception as exc:  # this script's row, never the worker or the next script
                traceback.print_exc()  # to the worker's log only: it holds host paths
                reply = internal_error(exc)
            try:
                send_frame(self.sock, reply)
            except OSError:
                return

    def run_task(self, req: dict[str, Any]) -> dict[str, Any]:
        self.counter += 1
        task_dir = os.path.join(self.scratch, f"t{self.counter}")
        own_tmpfs = self.isolation.namespaces
        try:
            return self._run_in(task_dir, req, own_tmpfs)
        finally:
            self._remove_task_dir(task_dir, own_tmpfs)

    def _run_in(self, task_dir: str, req: dict[str, Any], own_tmpfs: bool) -> dict[str, Any]:
        cfg = self.config
        timeout = float(req.get("timeout_s") or cfg.timeout_s)
        memory_mb = int(req.get("memory_mb") or cfg.memory_mb)
        try:
            self._make_task_dir(task_dir, req, own_tmpfs)
        except (OSError, ValueError) as exc:
            reason = str(exc)  # a ValueError names the task's own file
            if isinstance(exc, OSError):
                reason = exc.strerror or type(exc).__name__  # no host path in a row
            return {"status": "error", "error_type": type(exc).__name__,
                    "error_message": f"could not prepare the working folder: {reason}",
                    "figures": [], "duration_s": 0.0}
        # e.g. the first seaborn script: seaborn is imported here once, for every later child
        if self.preloader.for_code(str(req["code"]), str(req.get("mode") or "script")):
            gc.freeze()
            self.base_address_space = _address_space()
        plan = ChildPlan(
            code=req["code"], task_dir=task_dir, isolation=self.isolation,
            limits=jail.Limits(
                address_space=self.base_address_space + memory_mb * 1024 * 1024,
                cpu_s=int(timeout + cfg.interrupt_grace_s) + 2,
                file_bytes=cfg.max_file_mb * 1024 * 1024,
                open_files=cfg.max_open_files, threads=cfg.max_threads),
            uid=cfg.sandbox_uid_base + self.slot, worker_pid=os.getpid(),
            ro_paths=self.ro_paths, dpi=cfg.dpi, traceback_limit=cfg.traceback_limit_chars,
            mode=str(req.get("mode") or "script"), cell_number=int(req.get("cell_number") or 1))
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            child_main(plan)  # never returns
        interrupted, wait_status = self._watch(pid, timeout)
        duration = time.monotonic() - start
        task_fd = open_folder(task_dir)
        try:
            return collect(task_fd, wait_status, interrupted, duration, timeout,
                           cfg.output_limit_bytes, cfg.max_file_mb * 1024 * 1024)
        finally:
            os.close(task_fd)

    def _make_task_dir(self, task_dir: str, req: dict[str, Any], own_tmpfs: bool) -> None:
        if own_tmpfs:
            jail.mount_task_folder(task_dir, self.config.scratch_mb)
        for sub in ("work", "tmp", "capture", "root"):
            os.makedirs(os.path.join(task_dir, sub), mode=0o755)
        work = os.path.join(task_dir, "work")
        place_files(work, req.get("files") or {})
        script = os.path.join(work, "script.py")
        if not os.path.exists(script):
            # "replace": code with a lone surrogate still gets a file (and its own error row)
            with open(script, "w", encoding="utf-8", errors="replace") as fh:
                fh.write(req["code"])
        if self.isolation.separate_uid:
            uid = self.config.sandbox_uid_base + self.slot
            for sub in ("work", "tmp", "capture"):
                for root, dirs, files in os.walk(os.path.join(task_dir, sub)):
                    for name in [root, *(os.path.join(root, f) for f in dirs + files)]:
                        os.chown(name, uid, uid)
            os.chmod(os.path.join(task_dir, "tmp"), 0o1777)

    def _remove_task_dir(self, task_dir: str, own_tmpfs: bool) -> None:
        """Unmount the script's tmpfs (frees everything at once), or delete the folder without
        recursion; a failure is logged, not the script's row."""
        try:
            if own_tmpfs and os.path.ismount(task_dir):
                jail.unmount_task_folder(task_dir)
            else:
                remove_tree(task_dir)
        except OSError:
            traceback.print_exc()

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

def _kill_group(pid: int, sig: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, sig)
            return
        except (ProcessLookupError, PermissionError):
            continue


def jail_refusal(setting: str, isolation: jail.Isolation) -> str | None:
    """Why the worker must not run untrusted code here, or None. On Linux the full jail is
    required unless the user opted out with ``isolation=none``; elsewhere (no namespaces at
    all) only ``isolation=strict`` refuses, and the executor warns."""
    if setting == "none" or isolation.complete:
        return None
    if setting != "strict" and sys.platform != "linux":
        return None
    problems = "; ".join(isolation.problems) or "some layers are missing"
    return (f"the sandbox's jail cannot be built on this machine ({problems}), and untrusted "
            "code is not run without it. Run as root or where user namespaces are allowed, or "
            "opt out explicitly with isolation=none (scripts then run with the limits only: "
            "they can read the user's files and reach the network)")


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
    # The executor validated the config; it arrives as plain data (with the runtime's preload
    # list resolved), since this interpreter is the runtime's and has no pydantic.
    config = SimpleNamespace(**recv_frame(sock))
    worker = Worker(config, args.slot, sock, args.scratch)
    try:
        send_frame(sock, worker.start())
    except Exception as exc:
        send_frame(sock, {"op": "error", "message": f"{type(exc).__name__}: {exc}"})
        sys.exit(1)
    worker.serve()


if __name__ == "__main__":
    main()
