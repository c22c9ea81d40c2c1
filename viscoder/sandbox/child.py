"""The forked child: jails itself, runs one script, reports, exits.

Everything before ``run_script`` is trusted code running in a fresh fork of the warm worker;
from ``install_seccomp`` on, the process belongs to the script. The report is plain JSON in a
file the worker reads back with a size bound; images are PNG files in the capture folder.
"""

from __future__ import annotations

import builtins
import json
import linecache
import os
import resource
import signal
import sys
from dataclasses import dataclass
from typing import Any, NoReturn

from viscoder.sandbox import jail
from viscoder.sandbox.capture import FigureCapture, run_code
from viscoder.sandbox.cell import child_cell  # imported before the jail hides the repo
from viscoder.sandbox.errors import exception_message, format_exception


@dataclass
class ChildPlan:
    """Where the child's pieces live on the worker's side and which layers to apply."""

    code: str
    task_dir: str  # holds work/, tmp/, capture/, root/ and the io files
    isolation: jail.Isolation
    limits: jail.Limits
    uid: int | None
    worker_pid: int
    ro_paths: list[str]
    dpi: int
    traceback_limit: int
    script_name: str = "script.py"
    mode: str = "script"  # "cell": a notebook cell (viscoder/sandbox/cell.py, owned by bench)
    cell_number: int = 1


def child_main(plan: ChildPlan) -> NoReturn:
    """Never returns: the child ends with ``os._exit`` whatever happens."""
    result_fd = -1
    try:
        os.setsid()  # own session and process group: killable as a group, no terminal
        result_fd = _redirect_io(plan.task_dir)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        workdir, capture_dir = _enter_jail(plan)
        os.environ.clear()
        os.environ.update(HOME=workdir, TMPDIR="/tmp" if plan.isolation.namespaces else workdir,
                          PATH="/usr/local/bin:/usr/bin:/bin", MPLBACKEND="Agg",
                          LANG="C.UTF-8", PYTHONIOENCODING="utf-8")
        if plan.mode == "cell":
            report = child_cell(plan, capture_dir, jail.install_seccomp)
        else:
            capture = FigureCapture(capture_dir, dpi=plan.dpi)
            capture.install()
            if plan.isolation.seccomp:
                jail.install_seccomp()
            report = run_script(plan.code, os.path.join(workdir, plan.script_name), capture,
                                plan.traceback_limit)
    except BaseException as exc:  # a failure of the jail itself, not of the script
        report = {"outcome": "harness_error", "error_type": type(exc).__name__,
                  "error_message": f"sandbox set-up failed: {_setup_failure(exc)}"}
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    if result_fd >= 0:
        try:
            os.write(result_fd, json.dumps(report).encode())
        except BaseException:
            os._exit(71)
    os._exit(0)


def run_script(code: str, filename: str, capture: FigureCapture, tb_limit: int) -> dict[str, Any]:
    """Run ``code`` as ``__main__`` and collect what it drew. Also used in-process by the
    benchmark's baseline, so it must not depend on being in a jail."""
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": filename,
                                 "__builtins__": builtins}
    sys.argv = [os.path.basename(filename)]
    report: dict[str, Any] = {"outcome": "completed"}
    try:
        run_code(code, filename, namespace, capture)
    except KeyboardInterrupt as exc:
        report = _failure("interrupted", exc, filename, tb_limit)
        return report  # out of time: no figure capture, the worker is about to SIGKILL
    except MemoryError as exc:
        report = _failure("memory", exc, filename, tb_limit)
    except BaseException as exc:  # SystemExit included: a notebook reports it as an error
        report = _failure("exception", exc, filename, tb_limit)
    try:
        report["figures"] = capture.finish(namespace)
    except MemoryError as exc:
        report = _failure("memory", exc, filename, tb_limit)
    except BaseException as exc:
        report = _failure("exception", exc, filename, tb_limit)
    if report["outcome"] == "completed" and capture.render_errors:
        report.update(_failure("exception", capture.render_errors[0], filename, tb_limit))
        report["figures"] = capture.records
    return report


def _failure(outcome: str, exc: BaseException, filename: str, tb_limit: int) -> dict[str, Any]:
    return {"outcome": outcome, "error_type": type(exc).__name__,
            "error_message": exception_message(exc),
            "traceback": format_exception(exc, filename, tb_limit)}


def _setup_failure(exc: BaseException) -> str:
    """The reason without the host paths an OSError carries (they would end up in a row)."""
    if isinstance(exc, OSError) and exc.errno:
        call = (exc.strerror or "").partition(":")[0].partition(" ")[0]  # jail._check's "mount"
        reason = os.strerror(exc.errno)
        return f"{call}: {reason}" if call and call != reason.partition(" ")[0] else reason
    return str(exc)


def _redirect_io(task_dir: str) -> int:
    """stdin from /dev/null, stdout/stderr to files (bounded by RLIMIT_FSIZE), every other
    descriptor of the worker closed. Returns the descriptor of the report file."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    out = os.open(os.path.join(task_dir, "stdout"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.open(os.path.join(task_dir, "stderr"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    res = os.open(os.path.join(task_dir, "result.json"),
                  os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(devnull, 0)
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.dup2(res, 3)
    os.closerange(4, resource.getrlimit(resource.RLIMIT_NOFILE)[0])  # close_range(2) on Linux
    return 3


def _enter_jail(plan: ChildPlan) -> tuple[str, str]:
    iso = plan.isolation
    work = os.path.join(plan.task_dir, "work")
    capture = os.path.join(plan.task_dir, "capture")
    if iso.namespaces:
        jail.unshare(jail.CLONE_NEWNS | jail.CLONE_NEWNET | jail.CLONE_NEWIPC | jail.CLONE_NEWUTS)
        jail.mount(None, "/", None, jail.MS_REC | jail.MS_PRIVATE)
        jail.build_root(os.path.join(plan.task_dir, "root"), plan.ro_paths, work,
                        os.path.join(plan.task_dir, "tmp"), capture, iso.proc)
        work, capture = jail.JAIL_WORKDIR, jail.JAIL_CAPTURE
    else:
        os.chdir(work)
    if iso.separate_uid and plan.uid is not None:
        jail.drop_privileges(plan.uid)
    if sys.platform == "linux":
        jail.set_parent_death_signal()  # after the uid change, which clears it
        if os.getppid() != plan.worker_pid:
            os._exit(72)  # the worker is already gone
    jail.apply_limits(plan.limits)
    return work, capture
