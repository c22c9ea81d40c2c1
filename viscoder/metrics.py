"""Counters for the Ray dashboard (Ray's metrics API, exported through the dashboard's
Prometheus endpoint and its Grafana panels): what Ray Data and Ray Train do not report
themselves, such as scripts executed by outcome and benchmark passes.

    from viscoder.metrics import count
    count("viscoder_scripts_executed", {"stage": "data", "status": "ok"})

Outside a Ray worker or driver (a plain unit test, `viscoder exec`) counting is a no-op.
"""

from __future__ import annotations

from functools import cache

DESCRIPTIONS = {
    "viscoder_scripts_executed": "scripts run in the sandbox, by stage and outcome",
    "viscoder_bench_tasks": "benchmark tasks finished, by library and result",
    "viscoder_bench_attempts": "generation attempts (first try and self-debug rounds), by outcome",
}


@cache
def _counter(name: str, tag_keys: tuple[str, ...]):
    from ray.util.metrics import Counter

    return Counter(name, description=DESCRIPTIONS.get(name, name), tag_keys=tag_keys)


def count(name: str, tags: dict[str, str], value: float = 1.0) -> None:
    try:
        import ray

        if not ray.is_initialized():
            return
        _counter(name, tuple(sorted(tags))).inc(value, tags={k: str(v) for k, v in tags.items()})
    except Exception:  # metrics must never break the work they count
        return
