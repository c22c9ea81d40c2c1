"""What people look at after a run: ``report.html`` (the paper's table-1 layout, the pass rate
per self-debug round, the error types per round, each task's plots beside the reference with
its code and errors) and ``pass_rate.png``. ``compare`` puts several runs side by side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

from viscoder.sandbox.result import safe_stem

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TEMPLATES = Path(__file__).parent / "templates"


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


def _table1_cells(summary: dict[str, Any]) -> list[str]:
    rates = summary["exec_pass_rate"]
    judge = summary.get("judge") or {}
    cells = [summary.get("model") or "?", summary["library"], _fmt(rates[0]), _fmt(rates[-1])]
    for kind in ("visual", "task"):
        for stage in ("round0", "final"):
            entry = judge.get(f"{kind}_{stage}") or {}
            cells += [_fmt(entry.get("mean")), _fmt(entry.get("good"))]
    return cells


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=False, lstrip_blocks=False)


def write_report(out: Path, records: list[dict[str, Any]], summary: dict[str, Any],
                 tasks: dict[str, Any]) -> Path:
    """report.html from templates/report.html.j2; every value from a run (model output,
    tracebacks, task texts) is escaped by jinja2's autoescape."""
    label = f"{summary.get('model') or '?'} / {summary['library']}"
    plot_pass_rates([(label, summary["exec_pass_rate"])], out / "pass_rate.png",
                    f"{summary['benchmark']}: pass rate per self-debug round")
    summary_view = {"protocol": None, "runtime": None, "runtime_versions": None, "answers": None,
                    "upstream_switches_changed": None, "judge_upstream": None, "judge": None,
                    "skipped": [], "endpoint_errors": 0, "prompts": None, **summary}
    kinds = sorted({k for per_round in summary["error_types"] for k in per_round})
    rounds = [{"k": k, "rate": rate, "no_plot": summary["no_plot_rate"][k],
               "error": summary["error_rate"][k], "counts": summary["error_types"][k]}
              for k, rate in enumerate(summary["exec_pass_rate"])]
    html = _environment().get_template("report.html.j2").render(
        s=summary_view, label=label, table1=_table1_cells(summary), kinds=kinds, rounds=rounds,
        task_views=[_task_view(r, out) for r in records])
    path = out / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


def _task_view(record: dict[str, Any], out: Path) -> dict[str, Any]:
    final = record["attempts"][-1]
    figures = [{"src": p, "caption": f"round {final['round']}"} for p in final.get("images", [])]
    ref_dir = out / "reference"
    refs = sorted(ref_dir.glob(f"{safe_stem(record['id'])}_*.png")) if ref_dir.exists() else []
    figures += [{"src": f"reference/{p.name}", "caption": "reference"} for p in refs]
    scores = ""
    judge = record.get("judge") or {}
    if judge:
        fin = judge.get("final") or {}
        scores = " · ".join(f"{kind} {_fmt((fin.get(kind) or {}).get('score'))}"
                            for kind in ("visual", "task"))
    attempts = []
    for a in record["attempts"]:
        err = a.get("traceback") or (f"{a.get('error_type')}: {a.get('error_message')}"
                                     if a.get("error_type") else a.get("error_message") or "")
        attempts.append({"round": a["round"], "status": a["status"],
                         "error_type": a.get("error_type"), "code": a.get("code") or "", "err": err})
    return {"id": str(record["id"]), "passed": record.get("passed_round"), "scores": scores,
            "figures": figures, "attempts": attempts}


class ProtocolMismatch(ValueError):
    """Runs of different protocols asked for in one table."""


def compare(dirs: list[Path], out_png: Path | None = None, mix_protocols: bool = False) -> str:
    """A text table of several runs and one plot of their pass-rate curves. Runs of different
    protocols (or runtimes) are not comparable: refused unless ``mix_protocols``."""
    summaries = [json.loads((Path(d) / "summary.json").read_text()) for d in dirs]
    kinds = {(s.get("protocol") or "viscoder", s.get("runtime") or "default") for s in summaries}
    if len(kinds) > 1 and not mix_protocols:
        listing = ", ".join(f"{Path(d).name}: protocol {s.get('protocol') or 'viscoder'}, "
                            f"runtime {s.get('runtime') or 'default'}" for d, s in zip(dirs, summaries, strict=True))
        raise ProtocolMismatch(
            "these runs were scored under different protocols or runtimes, whose pass rates "
            "differ by construction (prompt, answer post-processing, execution, judge): "
            f"{listing}. Re-score them under one protocol (viscoder bench rescore DIR "
            "--protocol P) or pass --mix-protocols to tabulate them anyway.")
    rows, curves = [], []
    for d, summary in zip(dirs, summaries, strict=True):
        proto = summary.get("protocol") or "viscoder"
        label = f"{summary.get('model')}/{summary['library']} ({Path(d).name}, {proto})"
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
