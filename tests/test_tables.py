"""The one reader of table paths (viscoder.tables): files, folders, globs; one kind per
source; JSON lines or arrays; a source that matches nothing is an error naming it."""

import json

import pandas as pd
import pytest

from viscoder.tables import TableError, read_frames, resolve, table_files


@pytest.fixture()
def tree(tmp_path):
    (tmp_path / "pq" / "sub").mkdir(parents=True)
    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "pq" / "part-0.parquet")
    pd.DataFrame({"a": [3]}).to_parquet(tmp_path / "pq" / "sub" / "part-1.parquet")
    (tmp_path / "lines.jsonl").write_text('{"a": 4}\n{"a": 5}\n')
    (tmp_path / "array.json").write_text(json.dumps([{"a": 6}, {"a": 7}], indent=2))
    (tmp_path / "notes.txt").write_text("not a table")
    return tmp_path


def rows(sources):
    return sorted(int(v) for _, frame in read_frames(sources) for v in frame["a"])


def test_files_folders_and_globs(tree):
    assert table_files(tree / "pq").kind == "parquet" and len(table_files(tree / "pq").files) == 2
    assert rows([tree / "pq", tree / "lines.jsonl", tree / "array.json"]) == [1, 2, 3, 4, 5, 6, 7]
    assert rows([str(tree / "**" / "*.parquet")]) == [1, 2, 3]
    assert rows([str(tree / "*.json*")]) == [4, 5, 6, 7]


def test_a_folder_mixing_kinds_is_refused_with_both_counts(tree):
    with pytest.raises(TableError, match=r"both Parquet \(2\) and JSON \(2\).*\*\*/\*\.parquet"):
        table_files(tree)


@pytest.mark.parametrize("name, message", [
    ("missing.parquet", "not found"), ("notes.txt", "must be .parquet"),
    ("empty", "holds no .parquet"), ("*.csv", "holds no .parquet"),
])
def test_unreadable_sources_are_named(tree, name, message):
    (tree / "empty").mkdir(exist_ok=True)
    with pytest.raises(TableError, match=message):
        resolve([str(tree / name)])


def test_a_json_file_that_is_not_records_is_a_clear_error(tmp_path):
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    with pytest.raises(TableError, match="not a table of records"):
        list(read_frames([tmp_path / "bad.jsonl"]))
