"""The numbers of a run, from its task records (pure functions, no I/O).

- ``exec_pass_rate[k]``: share of all tasks passing after round k (k = 0: no self-debug).
- ``incorrect_code_rate`` = 100 - pass rate, split into no-plot and error shares.
- ``error_types[k]``: what the tasks still failing after round k failed with.
- judge: mean score and share >= threshold over all judged tasks, without (round 0) and with
  self-debug (final attempt); tasks without a plot score 0; unparseable replies counted apart.
"""

from __future__ import annotations

from collections import Counter
from typing import Any


def failure_kind(attempt: dict[str, Any]) -> str:
    """error_type for exceptions, else the status (no_plot, timeout, blank, ...)."""
    if attempt.get("blank_failure"):
        return "BlankPlot"
    if attempt["status"] in ("error", "memory", "crashed") and attempt.get("error_type"):
        return attempt["error_type"]
    return {"no_plot": "NoPlot", "timeout": "Timeout", "endpoint_error": "EndpointError"}.get(
        attempt["status"], attempt["status"])


def attempt_after_round(record: dict[str, Any], k: int) -> dict[str, Any]:
    """The attempt that stands after round k (a task stops retrying once it passes)."""
    attempts = record["attempts"]
    return attempts[min(k, len(attempts) - 1)]


def _pct(n: int, total: int) -> float:
    return round(100.0 * n / total, 2) if total else 0.0


def summarize(records: list[dict[str, Any]], rounds: int, good_threshold: float = 75.0) -> dict[str, Any]:
    n = len(records)
    pass_rates, error_types, no_plot_rates, error_rates = [], [], [], []
    for k in range(rounds + 1):
        passed = sum(1 for r in records if r.get("passed_round") is not None and r["passed_round"] <= k)
        pass_rates.append(_pct(passed, n))
        failing = [attempt_after_round(r, k) for r in records
                   if not (r.get("passed_round") is not None and r["passed_round"] <= k)]
        kinds = Counter(failure_kind(a) for a in failing)
        error_types.append(dict(kinds.most_common()))
        no_plot = sum(v for key, v in kinds.items() if key in ("NoPlot", "BlankPlot"))
        no_plot_rates.append(_pct(no_plot, n))
        error_rates.append(_pct(len(failing) - no_plot, n))
    return {
        "n_tasks": n,
        "exec_pass_rate": pass_rates,
        "incorrect_code_rate": [round(100.0 - p, 2) for p in pass_rates],
        "no_plot_rate": no_plot_rates,
        "error_rate": error_rates,
        "error_types": error_types,
        "endpoint_errors": sum(1 for r in records if r.get("endpoint_error")),
        "judge": summarize_judge(records, good_threshold),
    }


def summarize_judge(records: list[dict[str, Any]], good: float) -> dict[str, Any] | None:
    if not any(r.get("judge") for r in records):
        return None
    out: dict[str, Any] = {}
    for stage in ("round0", "final"):
        for kind in ("visual", "task"):
            scores, unparseable, unavailable = [], 0, 0
            for r in records:
                entry = ((r.get("judge") or {}).get(stage) or {}).get(kind)
                if entry is None or entry.get("unavailable"):
                    unavailable += 1
                elif entry.get("score") is None:
                    unparseable += 1
                else:
                    scores.append(entry["score"])
            out[f"{kind}_{stage}"] = {
                "mean": round(sum(scores) / len(scores), 2) if scores else None,
                "good": _pct(sum(1 for s in scores if s >= good), len(scores)) if scores else None,
                "n_scored": len(scores), "n_unparseable": unparseable, "n_unavailable": unavailable,
            }
    return out
