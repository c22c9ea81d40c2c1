"""What people look at after a run: ``report.html`` (the paper's table-1 layout, the pass rate
per self-debug round, the error types per round, each task's plots beside the reference with
its code and errors) and ``pass_rate.png``. ``compare`` puts several runs side by side."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import matplotlib

from viscoder.sandbox.result import safe_stem

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_pass_rates(runs: list[tuple[str, list[float]]], path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for label, rates in runs:
        ax.plot(range(len(rates)), rates, marker="o", lw=2, label=label)
        for k, rate in enumerate(rates):
            ax.annotate(f"{rate:.1f}", (k, rate), textcoords="offset points", xytext=(0, 7),
                        ha="center", fontsize=8)
    ax.set_xlabel("self-debug round")
    ax.set_ylabel("execution pass rate (%)")
    ax.set_xticks(range(max((len(r) for _, r in runs), default=1)))
    ax.set_ylim(0, 105)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _fmt(value: Any) -> str:
    return "–" if value is None else (f"{value:.1f}" if isinstance(value, float) else str(value))


def _table1_row(summary: dict[str, Any]) -> str:
    rates = summary["exec_pass_rate"]
    judge = summary.get("judge") or {}
    cells = [summary.get("model") or "?", summary["library"], _fmt(rates[0]), _fmt(rates[-1])]
    for kind in ("visual", "task"):
        for stage in ("round0", "final"):
            entry = judge.get(f"{kind}_{stage}") or {}
            cells += [_fmt(entry.get("mean")), _fmt(entry.get("good"))]
    return "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"


_TABLE1_HEAD = """<table><thead>
<tr><th rowspan=2>model</th><th rowspan=2>library</th><th colspan=2>exec pass (%)</th>
<th colspan=4>visual score</th><th colspan=4>task score</th></tr>
<tr><th>no debug</th><th>self-debug</th><th>mean</th><th>good</th><th>mean, debugged</th><th>good, debugged</th>
<th>mean</th><th>good</th><th>mean, debugged</th><th>good, debugged</th></tr></thead><tbody>"""

_STYLE = """body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1300px}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}
th{background:#f3f3f3}.task{border:1px solid #ddd;border-radius:6px;padding:10px;margin:14px 0}
.pass{color:#157a2e;font-weight:600}.fail{color:#b3261e;font-weight:600}
.imgs{display:flex;gap:12px;flex-wrap:wrap;align-items:flex-start}.imgs figure{margin:0}
.imgs img{max-width:380px;max-height:300px;border:1px solid #eee}figcaption{font-size:12px;color:#555}
pre{background:#f7f7f7;padding:8px;overflow-x:auto;font-size:12px;max-height:320px}
details{margin:4px 0}"""


def write_report(out: Path, records: list[dict[str, Any]], summary: dict[str, Any],
                 tasks: dict[str, Any]) -> Path:
    label = f"{summary.get('model') or '?'} / {summary['library']}"
    plot_pass_rates([(label, summary["exec_pass_rate"])], out / "pass_rate.png",
                    f"{summary['benchmark']}: pass rate per self-debug round")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>viscoder bench: "
             f"{html.escape(label)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{html.escape(summary['benchmark'])}: {html.escape(label)}</h1>",
             f"<p>{summary['n_tasks']} tasks, {summary['self_debug_rounds']} self-debug rounds, "
             f"prompts: {html.escape(str(summary.get('prompts')))}, "
             f"endpoint failures: {summary.get('endpoint_errors', 0)}, "
             f"skipped inputs: {len(summary.get('skipped', []))}.</p>",
             "<h2>Summary</h2>", _TABLE1_HEAD, _table1_row(summary), "</tbody></table>",
             "<img src='pass_rate.png' alt='pass rate per round' width='560'>",
             "<h2>Pass rate and failures per round</h2>", _rounds_table(summary)]
    if not summary.get("judge"):
        parts.append("<p>Judge scores: not computed (run without a judge).</p>")
    parts.append("<h2>Tasks</h2>")
    parts += [_task_html(r, tasks.get(r["id"]), out) for r in records]
    if summary.get("skipped"):
        parts.append("<h2>Inputs that could not run</h2><ul>" + "".join(
            f"<li>{html.escape(s['id'])}: {html.escape(s['reason'])}</li>" for s in summary["skipped"]) + "</ul>")
    parts.append("</body></html>")
    path = out / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _rounds_table(summary: dict[str, Any]) -> str:
    kinds = sorted({k for per_round in summary["error_types"] for k in per_round})
    head = "".join(f"<th>{html.escape(k)}</th>" for k in kinds)
    rows = []
    for k, rate in enumerate(summary["exec_pass_rate"]):
        counts = summary["error_types"][k]
        rows.append(f"<tr><td>{k}</td><td>{rate:.1f}</td><td>{summary['no_plot_rate'][k]:.1f}</td>"
                    f"<td>{summary['error_rate'][k]:.1f}</td>"
                    + "".join(f"<td>{counts.get(kind, '')}</td>" for kind in kinds) + "</tr>")
    return (f"<table><thead><tr><th>round</th><th>pass %</th><th>no plot %</th><th>error %</th>"
            f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _task_html(record: dict[str, Any], task: Any, out: Path) -> str:
    passed = record.get("passed_round")
    verdict = (f"<span class='pass'>passed at round {passed}</span>" if passed is not None
               else "<span class='fail'>failed</span>")
    final = record["attempts"][-1]
    figures = [f"<figure><img src='{html.escape(p)}' loading='lazy'><figcaption>round {final['round']}"
               f"</figcaption></figure>" for p in final.get("images", [])]
    ref_dir = out / "reference"
    refs = sorted(ref_dir.glob(f"{safe_stem(record['id'])}_*.png")) if ref_dir.exists() else []
    figures += [f"<figure><img src='reference/{html.escape(p.name)}' loading='lazy'>"
                f"<figcaption>reference</figcaption></figure>" for p in refs]
    if not figures:
        figures = ["<p>no image</p>"]
    judge = record.get("judge") or {}
    scores = ""
    if judge:
        fin = judge.get("final") or {}
        scores = " · ".join(f"{kind} {_fmt((fin.get(kind) or {}).get('score'))}" for kind in ("visual", "task"))
    attempts = []
    for a in record["attempts"]:
        err = a.get("traceback") or (f"{a.get('error_type')}: {a.get('error_message')}"
                                     if a.get("error_type") else a.get("error_message") or "")
        attempts.append(
            f"<details><summary>round {a['round']}: {html.escape(a['status'])}"
            f"{' (' + html.escape(str(a.get('error_type'))) + ')' if a.get('error_type') else ''}</summary>"
            f"<pre>{html.escape(a.get('code') or '')}</pre>"
            + (f"<pre>{html.escape(err)}</pre>" if err else "") + "</details>")
    return (f"<div class='task' id='task-{html.escape(record['id'])}'><h3>task {html.escape(record['id'])}: "
            f"{verdict} {html.escape(scores)}</h3><div class='imgs'>{''.join(figures)}</div>"
            f"{''.join(attempts)}</div>")


def compare(dirs: list[Path], out_png: Path | None = None) -> str:
    """A text table of several runs and one plot of their pass-rate curves."""
    rows, curves = [], []
    for d in dirs:
        summary = json.loads((Path(d) / "summary.json").read_text())
        label = f"{summary.get('model')}/{summary['library']} ({Path(d).name})"
        curves.append((label, summary["exec_pass_rate"]))
        judge = summary.get("judge") or {}
        vis = (judge.get("visual_final") or {}).get("mean")
        task = (judge.get("task_final") or {}).get("mean")
        rows.append(f"{label:<48} {summary['n_tasks']:>5} "
                    + " ".join(f"{r:>6.1f}" for r in summary["exec_pass_rate"])
                    + f"   visual {_fmt(vis)}  task {_fmt(task)}")
    if out_png is not None:
        plot_pass_rates(curves, out_png, "execution pass rate per self-debug round")
    header = f"{'run':<48} {'tasks':>5} pass rate after round 0..K"
    return "\n".join([header, *rows])
