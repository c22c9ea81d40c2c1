"""Plotly figure JSON -> PNG, outside the jail, with one Chromium kept alive per process.

Scripts hand back plotly figures as JSON; rendering needs a browser, which has no place in
the jail. kaleido's persistent sync server makes it ~0.15 s a figure instead of ~2-3 s with a
fresh browser each time. The server is a process-wide singleton, shared by every sandbox in
the process (e.g. the threads of a ``SandboxPool``).
"""

from __future__ import annotations

import atexit
import json
import logging
import shutil
import threading

log = logging.getLogger(__name__)
# kaleido and choreographer narrate every browser step at INFO, also from their thread while
# the interpreter exits; only their warnings are worth a user's attention.
for _name in ("kaleido", "choreographer", "logistro"):
    logging.getLogger(_name).setLevel(logging.WARNING)

_lock = threading.Lock()
_state: dict[str, object] = {"started": False, "error": None}

_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


class RenderError(RuntimeError):
    pass


def find_browser() -> str | None:
    for name in _BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def _ensure_server() -> None:
    with _lock:
        if _state["started"]:
            return
        if _state["error"]:
            raise RenderError(str(_state["error"]))
        if find_browser() is None:
            _state["error"] = ("plotly PNG export needs Chromium or Chrome on PATH "
                               "(Debian/Ubuntu: apt-get install chromium; scripts/setup.sh does it)")
            raise RenderError(str(_state["error"]))
        import kaleido

        kaleido.start_sync_server(n=1, timeout=60, silence_warnings=True)
        _state["started"] = True
        atexit.register(stop)  # close Chromium before the interpreter tears down


def render_plotly_png(fig_json: str) -> bytes:
    """Render one figure (as produced by ``fig.to_json()``) to PNG bytes."""
    _ensure_server()
    import kaleido

    try:
        fig = json.loads(fig_json)
        layout = fig.get("layout") or {}
        opts = {"format": "png", "width": layout.get("width") or 700,
                "height": layout.get("height") or 500}
        data = kaleido.calc_fig_sync(fig, opts=opts)
    except Exception as exc:  # a figure plotly.js cannot draw is the script's problem
        raise RenderError(f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(data, bytes) or not data.startswith(b"\x89PNG"):
        raise RenderError("the renderer returned no PNG")
    return data


def stop() -> None:
    with _lock:
        if _state["started"]:
            import kaleido

            kaleido.stop_sync_server(silence_warnings=True)
            _state["started"] = False
