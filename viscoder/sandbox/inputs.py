"""Reading the scripts for ``viscoder exec``: a folder of ``.py`` files or a JSONL file.

Yields one item per input, lazily. An input that cannot be run (not UTF-8, not JSON, no
``code``) is yielded as a :class:`BadInput` with the reason, so the output still gets its
line; nothing is dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from viscoder.sandbox.executor import ExecTask

MAX_SCRIPT_BYTES = 1024 * 1024
MAX_ID_CHARS = 1000  # an id is echoed in its output line, which stays under 1 MiB


class InputError(ValueError):
    """The input as a whole cannot be read (missing, wrong kind)."""


@dataclass
class BadInput:
    id: str
    reason: str
    error_type: str = "InvalidInput"


def iter_inputs(path: str | Path) -> Iterator[ExecTask | BadInput]:
    path = Path(path)
    if not path.exists():
        raise InputError(f"input not found: {path}")
    if path.is_dir():
        yield from _iter_folder(path)
    elif path.suffix in (".jsonl", ".json", ".ndjson"):
        yield from _iter_jsonl(path)
    else:
        raise InputError(f"{path} is neither a folder of .py files nor a .jsonl file")


def count_inputs(path: str | Path) -> int | None:
    """How many items ``iter_inputs`` will yield (for a progress bar), without parsing them."""
    path = Path(path)
    if path.is_dir():
        return sum(1 for _ in path.glob("*.py"))
    try:
        with path.open("rb") as fh:
            return sum(1 for line in fh if line.strip())
    except OSError:
        return None


def _iter_folder(folder: Path) -> Iterator[ExecTask | BadInput]:
    for file in sorted(folder.glob("*.py")):
        task_id = file.stem
        try:
            if file.stat().st_size > MAX_SCRIPT_BYTES:
                yield BadInput(task_id, f"file larger than {MAX_SCRIPT_BYTES} bytes")
                continue
            code = file.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            yield BadInput(task_id, f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                           "UnicodeDecodeError")
            continue
        except OSError as exc:
            yield BadInput(task_id, f"cannot read {file.name}: {exc.strerror}", "OSError")
            continue
        yield ExecTask(id=task_id, code=code)


def _iter_jsonl(path: Path) -> Iterator[ExecTask | BadInput]:
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            fallback_id = f"line-{lineno}"
            if not raw.strip():
                continue
            try:
                item = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                yield BadInput(fallback_id, f"line {lineno} is not UTF-8", "UnicodeDecodeError")
                continue
            except json.JSONDecodeError as exc:
                yield BadInput(fallback_id, f"line {lineno} is not JSON: {exc.msg}",
                               "JSONDecodeError")
                continue
            if not isinstance(item, dict):
                yield BadInput(fallback_id, f"line {lineno} is not a JSON object")
                continue
            task_id = str(item.get("id") if item.get("id") is not None else fallback_id)
            if len(task_id) > MAX_ID_CHARS:
                yield BadInput(fallback_id, f"line {lineno}: 'id' is longer than "
                                            f"{MAX_ID_CHARS} characters")
                continue
            code = item.get("code")
            if not isinstance(code, str):
                yield BadInput(task_id, f"line {lineno} has no string field 'code'")
                continue
            files = item.get("files") or {}
            if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
                yield BadInput(task_id, f"line {lineno}: 'files' must map names to text")
                continue
            yield ExecTask(id=task_id, code=code, files=dict(files))
