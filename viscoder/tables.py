"""The one reader of "a list of Parquet / JSON Lines paths": files, folders and globs.

Used by the data stage (its sources, ``data/pipeline.py``; benchmark copies, ``data/mix.py``)
and the train stage (``train/data.py``), so a path that one stage reads, the other reads the
same way.

    from viscoder.tables import read_dataset, read_frames
    ds = read_dataset(["runs/data/dataset", "extra/*.jsonl"])     # a Ray Dataset
    for path, frame in read_frames(["../shared/benchmarks"]): ...  # pandas, file by file

The rules, in one place:

* a source is a file, a folder (read recursively) or a glob (``**`` allowed);
* ``.parquet`` is Parquet; ``.jsonl`` and ``.json`` are JSON: one object per line, or one
  array of objects (benchmark copies ship ``tasks.json`` arrays);
* one source yields one kind: a folder or glob that holds both Parquet and JSON files is
  refused, naming both counts. A stage's output folder can hold its table next to stages,
  rejects or an export in the other format; guessing which one was meant would silently
  train on, or de-duplicate against, the wrong rows. Name one kind with a glob
  (``DIR/**/*.parquet``) or list the files;
* several sources may be of different kinds; their rows are put together (a union);
* a source that matches nothing is an error naming it, never an empty table.
"""

from __future__ import annotations

import glob
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KINDS = {".parquet": "parquet", ".jsonl": "json", ".json": "json"}


class TableError(ValueError):
    """Paths that cannot be read as tables; the message names the path and why."""


@dataclass(frozen=True)
class TableFiles:
    source: str
    kind: str  # "parquet" | "json"
    files: list[str]


def _kind(path: Path) -> str | None:
    return KINDS.get(path.suffix.lower())


def table_files(source: str | Path) -> TableFiles:
    """The files of one source (file, folder or glob), all of one kind."""
    text = str(source)
    if glob.has_magic(text):
        matched = [Path(p) for p in sorted(glob.glob(str(Path(text).expanduser()), recursive=True))]
        files = [p for p in matched if p.is_file() and _kind(p)]
        where = f"the pattern {text}"
    else:
        path = Path(text).expanduser()
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _kind(p))
            where = f"the folder {text}"
        elif path.is_file():
            if not _kind(path):
                raise TableError(f"{text}: tables must be .parquet, .jsonl or .json files")
            files = [path]
            where = text
        else:
            raise TableError(f"not found: {text}")
    if not files:
        raise TableError(f"{where} holds no .parquet, .jsonl or .json files")
    kinds = {_kind(p) for p in files}
    if len(kinds) > 1:
        n_parquet = sum(1 for p in files if _kind(p) == "parquet")
        raise TableError(
            f"{where} holds both Parquet ({n_parquet}) and JSON ({len(files) - n_parquet}) files; "
            f"name one kind, e.g. {text.rstrip('/')}/**/*.parquet")
    return TableFiles(text, kinds.pop(), [str(p.resolve()) for p in files])


def resolve(sources: str | Path | Iterable[str | Path]) -> list[TableFiles]:
    """Every source's files; a TableError names the first one that cannot be read."""
    if isinstance(sources, str | Path):
        sources = [sources]
    found = [table_files(s) for s in sources]
    if not found:
        raise TableError("no input paths given")
    return found


def read_dataset(sources: str | Path | Iterable[str | Path], columns: list[str] | None = None):
    """One Ray Dataset with the rows of every source. With ``columns``, each source must
    have them (a TableError names the source and its columns) and only they are kept."""
    import ray.data

    parts = []
    for table in resolve(sources):
        ds = (ray.data.read_parquet(table.files) if table.kind == "parquet"
              else ray.data.read_json(table.files))
        if columns is not None:
            missing = [c for c in columns if c not in ds.columns()]
            if missing:
                raise TableError(f"{table.source} has no {', '.join(map(repr, missing))} column "
                                 f"(it has {ds.columns()})")
            ds = ds.select_columns(columns)
        parts.append(ds)
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def read_frame(path: str | Path):
    """One table file as a pandas DataFrame, by the rules above (for small tables on the
    driver, e.g. benchmark tasks)."""
    import pandas as pd

    path = Path(path)
    try:
        if _kind(path) == "parquet":
            return pd.read_parquet(path)
        if path.suffix.lower() == ".jsonl":
            return pd.read_json(path, lines=True)
        try:
            return pd.read_json(path)  # one document: an array of records
        except ValueError:
            return pd.read_json(path, lines=True)
    except (ValueError, OSError) as exc:
        raise TableError(f"{path} is not a table of records: {exc}") from None


def read_frames(sources: str | Path | Iterable[str | Path]) -> Iterator[tuple[str, Any]]:
    """(file, DataFrame) for every file of every source, one file at a time."""
    for table in resolve(sources):
        for file in table.files:
            yield file, read_frame(file)
