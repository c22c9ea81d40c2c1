"""The report page is rendered by jinja2 with autoescaping: whatever a model or a script wrote
(code, tracebacks, task ids) reaches the page as text, never as markup."""

import json

from viscoder.bench.metrics import summarize
from viscoder.bench.report import ProtocolMismatch, compare, write_report

HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def _record(task_id: str, passed: bool):
    attempt = {"round": 0, "status": "ok" if passed else "error", "error_type": None if passed else "ValueError",
               "error_message": HOSTILE, "traceback": f"Traceback\nValueError: {HOSTILE}",
               "code": f"print('{HOSTILE}')", "images": []}
    return {"id": task_id, "passed_round": 0 if passed else None, "attempts": [attempt], "judge": None}


def test_report_escapes_everything_from_a_run(tmp_path):
    records = [_record("1", True), _record(f"2{HOSTILE}", False)]
    summary = {"benchmark": "pandasplotbench", "library": "plotly", "model": HOSTILE,
               "self_debug_rounds": 0, "protocol": "pandasplotbench", "runtime": "pandasplotbench",
               "runtime_versions": {"pandas": "2.2.3"}, "prompts": HOSTILE, "skipped": [{"id": HOSTILE, "reason": HOSTILE}],
               **summarize(records, 0)}
    page = write_report(tmp_path, records, summary, {}).read_text()
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page and "protocol <b>pandasplotbench</b>" in page and "pandas 2.2.3" in page
    assert (tmp_path / "pass_rate.png").read_bytes().startswith(b"\x89PNG")


def test_compare_refuses_mixed_protocols(tmp_path):
    dirs = []
    for name, protocol in (("a", "viscoder"), ("b", "pandasplotbench"), ("c", None)):
        d = tmp_path / name
        d.mkdir()
        summary = {"model": "m", "library": "seaborn", "n_tasks": 1, "exec_pass_rate": [50.0], "judge": None}
        if protocol:
            summary["protocol"] = protocol
        (d / "summary.json").write_text(json.dumps(summary))
        dirs.append(d)
    try:
        compare(dirs[:2], None)
        raise AssertionError("mixed protocols were tabulated")
    except ProtocolMismatch as exc:
        assert "a: protocol viscoder" in str(exc) and "b: protocol pandasplotbench" in str(exc)
    assert "pandasplotbench" in compare(dirs[:2], None, mix_protocols=True)
    assert compare([dirs[0], dirs[2]], None).count("viscoder") == 2  # runs from before protocols
