"""What an execution returns: one typed record per script, the same for every backend."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field


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
        """The JSONL line of `viscoder exec` (the contract in DESIGN.md) and more."""
        record = self.model_dump(mode="json")
        record["images"] = self.images
        record["blank"] = self.blank
        return record

    def to_json(self) -> str:
        return json.dumps(self.to_record(), ensure_ascii=False)


def safe_stem(task_id: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in task_id)
    return keep.strip(".")[:120] or "script"
