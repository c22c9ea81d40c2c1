"""`viscoder exec`: the contract, and bad input handled without a traceback of ours."""

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLES

CLI = [sys.executable, "-m", "viscoder.cli", "exec"]


def run_cli(*args, timeout=300):
    return subprocess.run([*CLI, *map(str, args), "--quiet"], capture_output=True, text=True,
                          timeout=timeout)


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_examples_folder_gets_one_line_each(tmp_path):
    out = tmp_path / "res.jsonl"
    proc = run_cli(EXAMPLES, "--out", out, "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    lines = read(out)
    assert sorted(r["id"] for r in lines) == sorted(p.stem for p in EXAMPLES.glob("*.py"))
    by_id = {r["id"]: r for r in lines}
    assert by_id["broken_column"]["status"] == "error"
    assert by_id["broken_column"]["error_type"] == "KeyError"
    assert by_id["no_figure"]["status"] == "no_plot"
    assert by_id["mpl_line_styles"]["status"] == "ok"
    for path in by_id["seaborn_heatmap"]["images"]:
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "res.config.yaml").exists()


def test_missing_path_is_a_clear_message(tmp_path):
    proc = run_cli(tmp_path / "nope", "--out", tmp_path / "o.jsonl")
    assert proc.returncode == 2
    assert "input not found" in proc.stderr and "Traceback" not in proc.stderr


def test_empty_folder_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run_cli(tmp_path / "empty", "--out", tmp_path / "o.jsonl")
    assert proc.returncode == 0 and "no scripts" in proc.stderr
    assert (tmp_path / "o.jsonl").read_text() == ""


def test_bad_jsonl_lines_get_error_lines_and_valid_ones_run(tmp_path):
    src = tmp_path / "in.jsonl"
    good = "import matplotlib.pyplot as plt\nplt.plot([1])"
    src.write_bytes(b"\n".join([
        json.dumps({"id": "good1", "code": good}).encode(),
        b"{not json",
        json.dumps({"id": "nocode"}).encode(),
        json.dumps([1, 2]).encode(),
        json.dumps({"id": "badfiles", "code": good, "files": {"a": 1}}).encode(),
        b"\xff\xfe garbage",
        json.dumps({"id": "good2", "code": good, "files": {"d.csv": "a\n1\n"}}).encode(),
    ]) + b"\n")
    out = tmp_path / "o.jsonl"
    proc = run_cli(src, "--out", out)
    assert proc.returncode == 0, proc.stderr
    lines = {r["id"]: r for r in read(out)}
    assert len(read(out)) == 7
    assert lines["good1"]["status"] == "ok" and lines["good2"]["status"] == "ok"
    assert lines["line-2"]["error_type"] == "JSONDecodeError"
    assert "no string field 'code'" in lines["nocode"]["error_message"]
    assert lines["line-4"]["status"] == "error"
    assert lines["badfiles"]["status"] == "error"
    assert lines["line-6"]["error_type"] == "UnicodeDecodeError"


def test_non_utf8_file_in_folder(tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "latin.py").write_bytes(b"# caf\xe9\nprint(1)\n")
    (folder / "fine.py").write_text("import matplotlib.pyplot as plt\nplt.plot([1])\n")
    out = tmp_path / "o.jsonl"
    proc = run_cli(folder, "--out", out)
    assert proc.returncode == 0
    lines = {r["id"]: r for r in read(out)}
    assert lines["latin"]["error_type"] == "UnicodeDecodeError"
    assert lines["fine"]["status"] == "ok"


def test_wrong_input_kind_and_bad_override(tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("hi")
    proc = run_cli(f, "--out", tmp_path / "o.jsonl")
    assert proc.returncode == 2 and "neither a folder" in proc.stderr
    proc = run_cli(EXAMPLES, "--out", tmp_path / "o.jsonl", "no_such_key=1")
    assert proc.returncode == 2 and "no_such_key" in proc.stderr and "Traceback" not in proc.stderr
