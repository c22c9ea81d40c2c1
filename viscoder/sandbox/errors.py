"""Turning a script's failure into text a person (or a model in self-debug) can act on.

The traceback keeps the script's own frames with their source lines, collapses long runs of
library frames, drops the harness's frames, shortens install paths, strips terminal colours
(Jupyter tracebacks carry ANSI codes) and is bounded in size, keeping its head and its end,
where the exception is.
"""

from __future__ import annotations

import os
import re
import sys
import traceback

_HARNESS_DIR = os.path.dirname(os.path.abspath(__file__))
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LIBRARY_RUN_KEEP = (1, 2)  # library frames kept at the start and end of a long run


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def bound_text(text: str, limit: int) -> str:
    """Keep the first and last parts of ``text`` so that it is at most about ``limit`` chars."""
    if len(text) <= limit:
        return text
    head = limit // 3
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n[... {omitted} characters omitted ...]\n{text[-tail:]}"


def clean_text(text: str, limit: int) -> str:
    """``text`` safe to write anywhere: bounded like :func:`bound_text` (the cut marked) and
    with lone surrogates, which no UTF-8 writer accepts, replaced by U+FFFD."""
    return _no_surrogates(bound_text(text, limit))


def clean_optional(value: object, limit: int) -> str | None:
    """:func:`clean_text` of ``str(value)``, or None for None (an optional field of a reply
    that came out of the jail)."""
    return None if value is None else clean_text(str(value), limit)


def _no_surrogates(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)  # one U+FFFD each: the bound still holds


def _short_path(path: str) -> str:
    marker = "site-packages" + os.sep
    if marker in path:
        return path[path.index(marker):]
    for prefix in {sys.base_prefix, sys.prefix}:
        if path.startswith(prefix + os.sep):
            return os.path.join("python", os.path.relpath(path, prefix))
    return path


def format_exception(exc: BaseException, script_filename: str, limit: int) -> str:
    """A cleaned, bounded traceback of ``exc`` raised by a script compiled as ``script_filename``."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not os.path.abspath(f.filename).startswith(_HARNESS_DIR)]
    lines = ["Traceback (most recent call last):"]
    run: list[traceback.FrameSummary] = []

    def flush_run() -> None:
        keep_head, keep_tail = _LIBRARY_RUN_KEEP
        if len(run) > keep_head + keep_tail + 1:
            shown = run[:keep_head] + [None] + run[-keep_tail:]
        else:
            shown = list(run)
        for frame in shown:
            if frame is None:
                lines.append(f"  [... {len(run) - keep_head - keep_tail} library frames ...]")
            else:
                lines.append(_frame_text(frame))
        run.clear()

    for frame in frames:
        if frame.filename == script_filename:
            flush_run()
            lines.append(_frame_text(frame))
        else:
            run.append(frame)
    flush_run()
    lines.extend(s.rstrip("\n") for s in traceback.format_exception_only(type(exc), exc))
    if len(frames) == 0 and isinstance(exc, SyntaxError):
        lines = [s.rstrip("\n") for s in traceback.format_exception_only(type(exc), exc)]
    return bound_text("\n".join(lines), limit)


def _frame_text(frame: traceback.FrameSummary) -> str:
    text = f'  File "{_short_path(frame.filename)}", line {frame.lineno}, in {frame.name}'
    if frame.line:
        text += f"\n    {frame.line.strip()}"
    return text


def exception_message(exc: BaseException, limit: int = 2000) -> str:
    return bound_text(str(exc), limit)
