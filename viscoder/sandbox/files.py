"""Placing a task's files (e.g. a benchmark's data.csv) in its working folder, for every
backend. Names are relative paths; one that would leave the folder is refused."""

from __future__ import annotations

import base64
import os


def place_files(folder: str, files_b64: dict[str, str]) -> None:
    for name, b64 in files_b64.items():
        rel = os.path.normpath(name)
        if os.path.isabs(rel) or rel == ".." or rel.startswith(".." + os.sep) or rel == ".":
            raise ValueError(f"file name {name!r} leaves the working folder")
        path = os.path.join(folder, rel)
        os.makedirs(os.path.dirname(path) or folder, exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(b64))
