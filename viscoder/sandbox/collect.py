"""Reading back what a script left behind (its report, its output, its figure files) as
hostile input, in the warm worker, after the script's processes are gone.

All of it was written by code that ran in the script's process: the figure records are the
harness's assertions, but a script can overwrite them (write its own report on the result
descriptor, patch ``json.dumps``, plant files in its capture folder). So:

- files are opened relative to the task folder's descriptor with ``O_NOFOLLOW|O_NONBLOCK``
  (a symlink to a host file is refused, a FIFO never blocks), only regular files are read
  (``fstat``/``S_ISREG``), and every read is bounded;
- the report must match the harness's schema exactly (known keys and outcomes, typed values,
  at most ``MAX_FIGURES`` figures, figure files named as the harness names them); anything
  else makes the script ``crashed`` with the reason, and JSON too deep to parse is the same;
- every PNG is decoded and its size checked (``png.check_png``) before it counts;
- text (error, traceback, stdout, stderr) is bounded to ``TEXT_LIMIT`` characters with the cut
  marked, and lone surrogates are replaced, so a row can always be written.

Standard library + Pillow only: the worker runs under an execution runtime's interpreter.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import re
import signal
import stat
from typing import Any

from viscoder.sandbox.errors import clean_text
from viscoder.sandbox.png import BadPNG, check_png

TEXT_LIMIT = 16384  # characters kept of each text field (head and end, the cut marked)
MAX_REPORT_BYTES = 64 * 1024 * 1024
MAX_FIGURES = 32  # the harness records at most this many (capture.MAX_FIGURES)
SHORT_LIMIT = 200  # error_type, via, library
RENDER_ERROR_LIMIT = 1000
OUTCOMES = {"completed": "completed", "exception": "error", "memory": "memory",
            "interrupted": "error", "harness_error": "crashed"}
REPORT_KEYS = {"outcome", "error_type", "error_message", "traceback", "figures"}
FIGURE_KEYS = {"library", "file", "json", "shown", "blank", "via", "render_error"}
LIBRARIES = {"matplotlib", "plotly"}
# capture.py writes fig_N.png, the notebook-cell mode (cell.py) cell_N.png
FIGURE_FILE = re.compile(r"(fig|cell)_[0-9]{1,3}\.png")

_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Rejected(ValueError):
    """A file or report that is not what the harness writes; the message says why."""


def open_folder(name: str, dir_fd: int | None = None) -> int:
    return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)


def _open_regular(dir_fd: int, name: str) -> tuple[int, int]:
    """(descriptor, size) of the regular file ``name`` in ``dir_fd``; never follows a link,
    never blocks. Raises FileNotFoundError when absent, Rejected for anything else."""
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise FileNotFoundError(name) from None
        if exc.errno == errno.ELOOP:
            raise Rejected(f"{name} is a symbolic link") from None
        raise Rejected(f"{name} cannot be opened ({exc.strerror})") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise Rejected(f"{name} is not a regular file")
    return fd, st.st_size


def read_regular(dir_fd: int, name: str, limit: int) -> bytes:
    """All of the regular file ``name`` if it holds at most ``limit`` bytes."""
    fd, size = _open_regular(dir_fd, name)
    try:
        if size > limit:
            raise Rejected(f"{name} is larger than {limit} bytes")
        data = bytearray()
        while len(data) <= limit:  # the size may have changed since fstat
            chunk = os.read(fd, min(1 << 20, limit + 1 - len(data)))
            if not chunk:
                break
            data += chunk
        if len(data) > limit:
            raise Rejected(f"{name} is larger than {limit} bytes")
        return bytes(data)
    finally:
        os.close(fd)


def read_output(dir_fd: int, name: str, limit: int) -> str:
    """What a script printed: all of it, or its head and its end when longer than ``limit``."""
    try:
        fd, size = _open_regular(dir_fd, name)
    except FileNotFoundError:
        return ""
    except Rejected as exc:
        return f"[{exc}]"
    try:
        if size <= limit:
            return os.pread(fd, limit, 0).decode("utf-8", "replace")
        head = os.pread(fd, limit // 2, 0)
        tail = os.pread(fd, limit // 2, size - limit // 2)
    finally:
        os.close(fd)
    omitted = size - len(head) - len(tail)
    return (f"{head.decode('utf-8', 'replace')}\n[... {omitted} bytes omitted ...]\n"
            f"{tail.decode('utf-8', 'replace')}")


# --- the report -----------------------------------------------------------------------------
def parse_report(raw: bytes) -> dict[str, Any]:
    """The report as the harness writes it, or Rejected with the reason."""
    try:
        obj = json.loads(raw)
    except RecursionError:
        raise Rejected("the report is nested too deeply") from None
    except MemoryError:
        raise Rejected("the report is too large to parse") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, int too long
        raise Rejected(f"the report is not valid JSON ({type(exc).__name__})") from None
    return validate_report(obj)


def validate_report(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise Rejected("the report is not a JSON object")
    _only_keys(obj, REPORT_KEYS, "the report")
    outcome = obj.get("outcome")
    if not isinstance(outcome, str) or outcome not in OUTCOMES:
        raise Rejected("the report has no known outcome")
    report: dict[str, Any] = {"outcome": outcome}
    limits = {"error_type": SHORT_LIMIT, "error_message": TEXT_LIMIT, "traceback": TEXT_LIMIT}
    for key, limit in limits.items():
        report[key] = _optional_text(obj.get(key), limit, key)
    figures = obj.get("figures")
    if figures is None:
        figures = []
    if not isinstance(figures, list):
        raise Rejected("the report's figures are not a list")
    if len(figures) > MAX_FIGURES:
        raise Rejected(f"the report lists {len(figures)} figures (at most {MAX_FIGURES})")
    report["figures"] = [_validate_figure(rec, k) for k, rec in enumerate(figures)]
    return report


def _validate_figure(rec: Any, k: int) -> dict[str, Any]:
    where = f"figure {k}"
    if not isinstance(rec, dict):
        raise Rejected(f"{where} is not a JSON object")
    _only_keys(rec, FIGURE_KEYS, where)
    library = rec.get("library")
    if library not in LIBRARIES:
        raise Rejected(f"{where} has an unknown library")
    fig: dict[str, Any] = {"library": library,
                           "via": _optional_text(rec.get("via"), SHORT_LIMIT, "via") or "",
                           "render_error": _optional_text(rec.get("render_error"),
                                                          RENDER_ERROR_LIMIT, "render_error")}
    for key, default in (("shown", True), ("blank", False)):
        value = rec.get(key, default)
        if not isinstance(value, bool):
            raise Rejected(f"{where}: {key} is not true/false")
        fig[key] = value
    name = rec.get("file")
    if name is not None:
        if not isinstance(name, str) or not FIGURE_FILE.fullmatch(name):
            raise Rejected(f"{where} names a file the harness does not write")
        fig["file"] = name
    fig_json = rec.get("json")
    if fig_json is not None:
        if not isinstance(fig_json, str):
            raise Rejected(f"{where}: json is not a string")
        fig["json"] = fig_json
    return fig


def _only_keys(obj: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = [key for key in obj if key not in allowed]
    if extra:
        name = clean_text(str(extra[0]), 40)
        raise Rejected(f"{where} has an unexpected field {name!r}")


def _optional_text(value: Any, limit: int, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected(f"{key} is not a string")
    return clean_text(value, limit)


# --- figures --------------------------------------------------------------------------------
def read_figures(task_fd: int, records: list[dict[str, Any]],
                 max_bytes: int) -> list[dict[str, Any]]:
    """The validated records with each figure file's PNG attached (as base64, with its size)
    when it is a regular, decodable PNG; otherwise the reason goes to ``render_error``.
    ``max_bytes`` bounds one file and all of a script's files together."""
    out: list[dict[str, Any]] = []
    try:
        capture_fd = open_folder("capture", dir_fd=task_fd)
    except OSError:
        capture_fd = -1
    budget = max_bytes
    seen: set[str] = set()
    try:
        for rec in records:
            fig = {key: rec[key] for key in ("library", "via", "shown", "blank", "render_error")}
            name = rec.get("file")
            if name is not None:
                try:
                    if name in seen:
                        raise Rejected(f"{name} is listed twice")
                    seen.add(name)
                    if capture_fd < 0:
                        raise FileNotFoundError(name)
                    data = read_regular(capture_fd, name, budget)
                    width, height = check_png(data)
                    budget -= len(data)
                    fig.update(png_b64=base64.b64encode(data).decode("ascii"),
                               width=width, height=height)
                except FileNotFoundError:
                    fig["render_error"] = fig["render_error"] or "no PNG was produced"
                except (Rejected, BadPNG) as exc:
                    fig["render_error"] = f"figure file rejected: {exc}"
            elif "json" in rec:
                fig["json"] = rec["json"]
            elif fig["render_error"] is None:
                fig["render_error"] = "no image was produced"
            out.append(fig)
    finally:
        if capture_fd >= 0:
            os.close(capture_fd)
    return out


# --- the reply ------------------------------------------------------------------------------
def collect(task_fd: int, wait_status: int, interrupted: bool, duration: float,
            timeout: float, output_limit: int, max_file_bytes: int) -> dict[str, Any]:
    """The worker's reply for one script: status, error, bounded output, checked figures."""
    limit = min(output_limit, TEXT_LIMIT)
    reply: dict[str, Any] = {
        "duration_s": duration, "figures": [], "error_type": None, "error_message": None,
        "traceback": None, "stdout": read_output(task_fd, "stdout", limit),
        "stderr": read_output(task_fd, "stderr", limit),
    }
    report: dict[str, Any] | None = None
    problem = None
    try:
        raw = read_regular(task_fd, "result.json", MAX_REPORT_BYTES)
        if raw.strip():
            report = parse_report(raw)
    except FileNotFoundError:
        pass
    except Rejected as exc:
        problem = str(exc)
    if report is not None:
        reply.update({k: report[k] for k in ("error_type", "error_message", "traceback")})
    outcome = report["outcome"] if report else None

    signum = -os.waitstatus_to_exitcode(wait_status) if os.WIFSIGNALED(wait_status) else 0
    if interrupted:
        reply["status"] = "timeout"
        if outcome != "interrupted":
            reply.update(error_type="TimeoutError", traceback=None,
                         error_message=f"did not finish in {timeout:g} s and "
                                       "did not stop when interrupted")
        else:
            reply["error_message"] = f"interrupted at the {timeout:g} s limit"
    elif signum == signal.SIGXCPU:
        reply.update(status="timeout", error_type="TimeoutError",
                     error_message="CPU time limit exceeded", traceback=None)
    elif report is not None:
        reply["status"] = OUTCOMES[report["outcome"]]
        if reply["status"] != "crashed":
            reply["figures"] = read_figures(task_fd, report["figures"], max_file_bytes)
    elif problem is not None:
        reply.update(status="crashed", error_type="MalformedReport", traceback=None,
                     error_message=f"the script's report was rejected: {problem}")
    elif signum:
        known = signum in signal.Signals._value2member_map_
        name = signal.Signals(signum).name if known else str(signum)
        reply.update(status="crashed", error_type=name, traceback=None,
                     error_message=f"killed by signal {name}"
                     + (" (possibly out of memory)" if signum == signal.SIGKILL else ""))
    else:
        code = os.waitstatus_to_exitcode(wait_status)
        reply.update(status="crashed", error_type="SystemExit", traceback=None,
                     error_message=f"process exited with code {code} before finishing")
    return reply


def internal_error(exc: BaseException, duration: float = 0.0) -> dict[str, Any]:
    """A reply for a script whose leftovers the worker itself failed on: the exception's type
    only (its message and traceback may hold host paths; the worker's log has them)."""
    return {"status": "crashed", "error_type": "SandboxError", "traceback": None,
            "error_message": "the sandbox failed while handling this script's output "
                             f"({type(exc).__name__}); the script was not trusted further",
            "figures": [], "duration_s": duration, "stdout": "", "stderr": ""}
