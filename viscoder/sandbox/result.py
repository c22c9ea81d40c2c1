"""What an execution returns: one typed record per script, the same for every backend.

``result_from_reply`` turns a backend's reply into the record and is where the row's
guarantees are enforced for every backend: ``ok`` only with a decodable, non-empty PNG for at
least one counted figure; text fields bounded (``TEXT_LIMIT``, the cut marked) and free of
lone surrogates; a JSONL line (``to_json``) never over ``MAX_LINE_BYTES``.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from viscoder.sandbox.errors import clean_optional, clean_text

TEXT_LIMIT = 16384  # characters of error_message, traceback, stdout, stderr (collect.py too)
MAX_LINE_BYTES = 1024 * 1024


class ExecStatus(StrEnum):
    OK = "ok"  # ran to the end, rendered at least one image
    ERROR = "error"  # raised an exception (error_type names its class)
    TIMEOUT = "timeout"  # interrupted at the wall-clock or CPU limit
    NO_PLOT = "no_plot"  # ran to the end but rendered nothing
    MEMORY = "memory"  # ran out of its memory allowance
    CRASHED = "crashed"  # died without reporting: signal, hard exit, broken worker


class Figure(BaseModel):
    library: str  # "matplotlib" (seaborn draws on matplotlib figures) or "plotly"
    blank: bool = False  # nothing was drawn on it (judged from its artists / traces)
    shown: bool = True  # plotly: shown or written by the script; matplotlib: always
    via: str = ""  # how it was captured: show, end, write_image, write_html, unshown
    path: str | None = None  # where its PNG was saved, when the caller asked for files
    render_error: str | None = None
    png: bytes | None = Field(default=None, exclude=True, repr=False)


class ExecResult(BaseModel):
    id: str
    status: ExecStatus
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    stdout: str = ""
    stderr: str = ""
    figures: list[Figure] = Field(default_factory=list)
    duration_s: float = 0.0
    backend: str = "fork"

    @property
    def ok(self) -> bool:
        return self.status is ExecStatus.OK

    @property
    def counted_figures(self) -> list[Figure]:
        """Figures that count as rendered plots (unshown plotly figures do not, by default)."""
        return [f for f in self.figures if f.shown]

    @property
    def images(self) -> list[str]:
        return [f.path for f in self.counted_figures if f.path]

    @property
    def pngs(self) -> list[bytes]:
        return [f.png for f in self.counted_figures if f.png]

    @property
    def blank(self) -> bool:
        """True when the script rendered images and every one of them is empty."""
        counted = self.counted_figures
        return bool(counted) and all(f.blank for f in counted)

    def save_images(self, directory: str | Path, stem: str | None = None) -> list[str]:
        """Write each rendered PNG as ``{stem}_{k}.png`` and record the paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        stem = stem or safe_stem(self.id)
        k = 0
        for fig in self.figures:
            if fig.png is None:
                continue
            path = directory / f"{stem}_{k}.png"
            path.write_bytes(fig.png)
            fig.path = str(path)
            k += 1
        return self.images

    def to_record(self) -> dict[str, Any]:
        """The JSONL line of `viscoder exec` (its contract: the README, `viscoder exec`) and more."""
        record = self.model_dump(mode="json")
        record["images"] = self.images
        record["blank"] = self.blank
        return record

    def to_json(self) -> str:
        """One line of at most ``MAX_LINE_BYTES``, valid UTF-8 whatever the script printed."""
        record = self.to_record()
        line = _utf8(json.dumps(record, ensure_ascii=False))
        if len(line.encode()) > MAX_LINE_BYTES:  # only a crafted id/figure list gets here
            for key in ("stdout", "stderr", "traceback", "error_message"):
                record[key] = clean_text(record[key], 1000) if record[key] else record[key]
            record["figures"] = record["figures"][:4]
            record["id"] = clean_text(record["id"], 1000)
            record["truncated"] = True
            line = _utf8(json.dumps(record, ensure_ascii=False))
        return line


def _utf8(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:  # a lone surrogate in an id or a script's text
        return re.sub("[\ud800-\udfff]", "\ufffd", text)


def _text(value: Any, limit: int = TEXT_LIMIT) -> str | None:
    return clean_optional(value, limit)


def result_from_reply(task_id: str, reply: dict[str, Any], figures: list[Figure],
                      backend: str) -> ExecResult:
    """The row of one script from its backend's reply and its checked figures (a figure
    counts as an image only with ``png`` set, which the caller did after checking it)."""
    status = reply.get("status")
    error_type, message = _text(reply.get("error_type"), 200), _text(reply.get("error_message"))
    if status == "completed":
        counted = [f for f in figures if f.shown]
        if any(f.png for f in counted):
            status = "ok"
        else:
            status = "no_plot"
            if counted and error_type is None:
                reason = next((f.render_error for f in counted if f.render_error), None)
                message = (f"the script showed {len(counted)} figure(s) but none produced an "
                           f"image" + (f": {reason}" if reason else ""))
            elif error_type is None:
                message = "the script ran but displayed no figure"
    elif status not in ExecStatus.__members__.values() or status == "ok":
        status, error_type = "crashed", "SandboxError"
        message = "the sandbox returned no usable status for this script"
    return ExecResult(
        id=task_id, status=ExecStatus(status), error_type=error_type, error_message=message,
        traceback=_text(reply.get("traceback")), stdout=_text(reply.get("stdout")) or "",
        stderr=_text(reply.get("stderr")) or "", figures=figures,
        duration_s=round(float(reply.get("duration_s") or 0.0), 4), backend=backend)


def crashed_result(task_id: str, exc: BaseException, backend: str) -> ExecResult:
    """The row of a script whose result the sandbox itself failed to build: the exception's
    type only (its message or traceback could hold host paths; the log has them)."""
    return ExecResult(id=task_id, status=ExecStatus.CRASHED, error_type="SandboxError",
                      error_message="the sandbox failed while handling this script's result "
                                    f"({type(exc).__name__})", backend=backend)


def safe_stem(task_id: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in task_id)
    return keep.strip(".")[:120] or "script"
