"""The bench against our own `viscoder serve` with the tiny random model: its answers are
noise, so what is checked is that every task is recorded with its failures, that self-debug
rounds really run against the endpoint, and that nothing is lost."""

import json
import subprocess
import sys


def test_bench_against_viscoder_serve(tiny_server, tmp_path):
    data = tmp_path / "tasks.jsonl"
    data.write_text("\n".join(json.dumps({
        "id": k, "task__plot_description": f" Plot Description: bars of b per a ({k}).",
        "task__plot_style": " Plot Style Description: plain.", "data_csv": "a,b\n1,2\n2,3\n"})
        for k in range(3)) + "\n")
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "viscoder.cli", "bench", "--data", str(data), "--library", "matplotlib",
         "--base-url", tiny_server["base_url"], "--model", "tiny", "--self-debug-rounds", "2",
         "--workers", "1", "--no-judge", "--out", str(out), "--quiet", "generator.max_tokens=24"],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_tasks"] == 3 and summary["endpoint_errors"] == 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 3
    for record in records:
        if record["passed_round"] is None:
            assert len(record["attempts"]) == 3  # rounds 0, 1, 2 all ran against the server
            assert all(a["status"] != "ok" and (a["error_type"] or a["status"]) for a in record["attempts"])
    assert sum(summary["error_types"][0].values()) + summary["exec_pass_rate"][0] * 3 / 100 == 3
