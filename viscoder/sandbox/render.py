"""Plotly figure JSON -> PNG, in a jailed render process with no more rights than the script.

Scripts hand back plotly figures as JSON; drawing them needs a browser. The figure is hostile
input, so it is first cleaned (``render_sanitize.py``: no URL but ``data:``, bounded size) and
then drawn by ``render_server.py``: a process started with the *runtime's* interpreter (its own
plotly.js and kaleido) that jails itself before the browser starts (own PID, network and mount
namespaces, read-only system paths only, a private ``/tmp``, an unprivileged uid when root).
It stays warm: one per runtime per process, restarted if it dies, about 0.05-0.3 s a figure.

Every figure is charged to the script's render budget (seconds and pixels, from
``SandboxConfig``): a figure over it gets ``RenderBudgetExceeded`` without a render, and a
render that overruns is killed, with its whole browser, and restarted for the next one.

    from viscoder.sandbox.render import RenderBudget, render_plotly_png
    budget = RenderBudget.from_config(config)          # one per script
    png = render_plotly_png(fig_json, config=config, budget=budget)   # or RenderError

``benchmarks/render_cost.py`` prints the per-figure cost, jailed and not.
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from viscoder.sandbox import render_topojson
from viscoder.sandbox.png import PNG_MAGIC
from viscoder.sandbox.render_sanitize import FigureRefused, dumps, sanitize_figure
from viscoder.sandbox.render_server import HEADER, write_frame

SERVER = Path(__file__).resolve().with_name("render_server.py")
BUDGET_S = 20.0  # per script, all its figures together
BUDGET_PIXELS = 40_000_000  # per script: e.g. 100 figures of 700x500, or two 4096x4096
MAX_SIDE = 4096
START_TIMEOUT_S = 120.0  # a cold Chromium on a loaded machine; not charged to any script
MAX_PNG_BYTES = 64 * 1024 * 1024
ERROR_CHARS = 500
RETRY_START_S = 60.0  # after a failed start, figures fail fast for this long


class RenderError(RuntimeError):
    """The figure could not be drawn; the message says why (it becomes ``render_error``)."""


class RenderBudgetExceeded(RenderError):
    """The script's render budget (seconds or pixels) is spent."""


@dataclass
class RenderBudget:
    """What one script may still spend on rendering; charged by :func:`render_plotly_png`."""

    seconds: float = BUDGET_S
    pixels: int = BUDGET_PIXELS
    exceeded: str | None = None  # why it ran out, once it has

    @classmethod
    def from_config(cls, config: Any) -> RenderBudget:
        return cls(float(getattr(config, "render_budget_s", BUDGET_S)),
                   int(getattr(config, "render_budget_pixels", BUDGET_PIXELS)))

    def spend_out(self, why: str) -> RenderBudgetExceeded:
        self.exceeded = self.exceeded or why
        self.seconds = 0.0
        return RenderBudgetExceeded(f"render budget exceeded: {why}")


class RenderProcess:
    """One warm, jailed render server; thread-safe (one figure at a time)."""

    def __init__(self, python: str, *, jailed: bool = True, uid: int = 60999,
                 start_timeout_s: float = START_TIMEOUT_S):
        self.python = os.path.abspath(python)
        self.jailed = jailed
        self.uid = uid
        self.start_timeout_s = start_timeout_s
        self.info: dict[str, Any] = {}
        self.starts = 0
        self._proc: subprocess.Popen | None = None
        self._scratch: str | None = None
        self._stderr: collections.deque[bytes] = collections.deque(maxlen=64)
        self._failed: tuple[float, str] = (0.0, "")  # when and why the last start failed
        self._lock = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------------
    def _ensure(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        failed_at, why = self._failed
        if why and time.monotonic() - failed_at < RETRY_START_S:
            raise RenderError(why)  # no browser launch per figure on a machine that cannot
        try:
            self._launch()
        except RenderError as exc:
            self._failed = (time.monotonic(), str(exc))
            raise
        self._failed = (0.0, "")

    def _launch(self) -> None:
        self._kill()
        self.starts += 1
        self._scratch = tempfile.mkdtemp(prefix="viscoder-render-")
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": self._scratch}
        if os.environ.get("BROWSER_PATH"):  # kaleido's own browser discovery reads it
            env["BROWSER_PATH"] = os.environ["BROWSER_PATH"]
        cmd = [self.python, "-E", "-s", "-B", str(SERVER), "--scratch", self._scratch,
               "--uid", str(self.uid)] + ([] if self.jailed else ["--no-jail"])
        outlines = render_topojson.available()
        if outlines:  # geo figures draw offline (else: render_error naming the topojson)
            cmd += ["--topojson", str(outlines)]
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, env=env, cwd=self._scratch,
                                          start_new_session=True)
        except OSError as exc:
            self._kill()
            raise RenderError(f"could not start the renderer with {self.python}: {exc}") from None
        threading.Thread(target=self._drain, args=(self._proc.stderr,), daemon=True).start()
        try:
            kind, body = self._read(time.monotonic() + self.start_timeout_s, "start")
        except TimeoutError:
            raise RenderError(f"the plotly renderer did not start in {self.start_timeout_s:g} s"
                              ) from None
        ready = _json(body) if kind == b"J" else {}
        if ready.get("op") != "ready":
            why = _text(ready.get("error") or f"unexpected {kind!r} frame")
            self._kill()
            raise RenderError(f"the plotly renderer did not start: {why}")
        self.info = {k: ready.get(k) for k in ("engine", "browser", "isolation")}

    def _drain(self, pipe: Any) -> None:
        try:
            while chunk := pipe.read1(4096):
                self._stderr.append(chunk)
        except (OSError, ValueError):
            pass

    def _kill(self) -> None:
        """SIGKILL the server's process group: its jailed half is PID 1 of its own PID
        namespace, so the kernel ends every browser process with it."""
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                try:
                    pipe.close()
                except OSError:
                    pass
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def start(self) -> None:
        """Start (or restart) the server now, so that a figure's clock excludes it."""
        with self._lock:
            self._ensure()

    def close(self) -> None:
        """Ask the server to close its browser (what ends it without the jail's PID
        namespace), then kill whatever is left."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                try:
                    write_frame(self._proc.stdin, b"J", b'{"op": "stop"}')
                    self._proc.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            self._kill()

    # --- rendering ------------------------------------------------------------------------
    def render(self, payload: bytes, width: int, height: int, timeout_s: float) -> bytes:
        """PNG bytes of one cleaned figure. Raises ``TimeoutError`` (the process is killed)
        or ``RenderError``. Start-up time is not part of ``timeout_s``."""
        with self._lock:
            self._ensure()
            assert self._proc is not None
            head = b'{"op":"render","width":%d,"height":%d,"fig":' % (width, height)
            try:
                write_frame(self._proc.stdin, b"J", head + payload + b"}")
            except OSError:
                self._kill()
                raise RenderError("the plotly renderer died before the figure was sent") from None
            kind, body = self._read(time.monotonic() + timeout_s, "render")
        if kind == b"P":
            if not body.startswith(PNG_MAGIC):
                raise RenderError("the renderer returned no PNG")
            return body
        reply = _json(body) if kind == b"J" else {}
        raise RenderError(_text(reply.get("error") or f"unexpected {kind!r} frame"))

    def _read(self, deadline: float, what: str) -> tuple[bytes, bytes]:
        """One reply frame, bounded in size and time; on overrun the process is killed."""
        assert self._proc is not None
        fd = self._proc.stdout.fileno()
        try:
            kind, size = HEADER.unpack(_read_by(fd, HEADER.size, deadline))
            if size > MAX_PNG_BYTES:
                raise RenderError(f"the renderer sent {size} bytes, over the bound")
            return kind, _read_by(fd, size, deadline)
        except TimeoutError:
            self._kill()
            raise
        except EOFError:
            tail = self._stderr_tail()
            self._kill()
            raise RenderError(f"the plotly renderer died during {what}"
                              + (f": {tail}" if tail else "")) from None
        except RenderError:
            self._kill()
            raise

    def _stderr_tail(self) -> str:
        text = b"".join(self._stderr).decode("utf-8", "replace")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        return _text(" | ".join(lines[-3:]))


def _read_by(fd: int, n: int, deadline: float) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError("the renderer did not answer in time")
        chunk = os.read(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= ERROR_CHARS else text[:ERROR_CHARS] + " [...]"


# --- one render process per runtime per process ---------------------------------------------
_registry: dict[tuple[str, bool, int], RenderProcess] = {}
_registry_lock = threading.Lock()


def get_render_process(python: str, *, jailed: bool = True, uid: int = 60999) -> RenderProcess:
    key = (str(python), jailed, uid)
    with _registry_lock:
        if key not in _registry:
            if not _registry:
                atexit.register(stop)  # close every browser before the interpreter tears down
            _registry[key] = RenderProcess(str(python), jailed=jailed, uid=uid)
        return _registry[key]


def runtime_python(config: Any) -> str:
    """The interpreter of the config's execution runtime (its plotly.js draws the figure)."""
    name = getattr(config, "runtime", None)
    if not name:
        return sys.executable
    from viscoder.sandbox.runtimes import RuntimeUnavailable, get_runtime

    try:
        return str(get_runtime(name).python)
    except RuntimeUnavailable as exc:
        raise RenderError(str(exc)) from None


def render_plotly_png(fig_json: str, *, config: Any = None, budget: RenderBudget | None = None,
                      python: str | None = None, sanitize: bool = True) -> bytes:
    """Render one figure (``fig.to_json()`` of a script) to PNG bytes within ``budget``.

    ``sanitize=False`` sends the figure as it is (only for testing the jail itself)."""
    budget = budget if budget is not None else RenderBudget.from_config(config)
    if budget.exceeded:
        raise RenderBudgetExceeded(f"render budget exceeded: {budget.exceeded}")
    max_side = int(getattr(config, "render_max_side", MAX_SIDE))
    try:
        clean = sanitize_figure(fig_json, max_side=max_side)
    except FigureRefused as exc:
        raise RenderError(f"figure refused: {exc}") from None
    if sanitize:
        payload = dumps(clean)
    else:
        payload = fig_json.encode("utf-8", "surrogatepass") if isinstance(fig_json, str) else fig_json
    if clean.pixels > budget.pixels:
        raise budget.spend_out(f"a {clean.width}x{clean.height} figure with "
                               f"{max(budget.pixels, 0)} pixels left")
    if budget.seconds <= 0:
        raise budget.spend_out("no render time left")
    budget.pixels -= clean.pixels
    isolation = getattr(config, "isolation", "auto")
    uid = int(getattr(config, "sandbox_uid_base", 61000)) - 1  # none of the scripts' uids
    proc = get_render_process(python or runtime_python(config), jailed=isolation != "none",
                              uid=uid)
    proc.start()  # not charged to the script: a browser's start is not its figure's cost
    start = time.monotonic()
    try:
        return proc.render(payload, clean.width, clean.height, budget.seconds)
    except TimeoutError:
        raise budget.spend_out(f"the script's render time ran out ({budget.seconds:.1f} s were "
                               "left for this figure); the renderer was stopped") from None
    finally:
        budget.seconds = max(0.0, budget.seconds - (time.monotonic() - start))


def stop() -> None:
    with _registry_lock:
        procs = list(_registry.values())
    for proc in procs:
        proc.close()
