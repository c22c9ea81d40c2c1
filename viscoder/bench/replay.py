"""Scoring saved answers instead of asking a model: ``viscoder bench --answers FILE`` and
``viscoder bench rescore DIR``.

An answers file is JSONL, one answer per line: ``{"id": "12", "round": 0, "answer": "..."}``
(``round`` defaults to 0; ``response`` or ``raw_response`` are accepted for ``answer``). A
finished run's ``results.jsonl`` is an answers file too: every attempt keeps the model's raw
answer with its task id and round, so ``rescore`` re-executes and re-judges it under another
protocol or runtime without a model. Round k of a task gets the answer saved for (id, k);
where none was saved (the original run had passed by then, or stopped) the task stops there
with status ``no_answer``, which counts as a failure of that round.

    viscoder bench --answers answers.jsonl --library seaborn --data DIR --protocol pandasplotbench --out OUT
    viscoder bench rescore runs/bench/seaborn --protocol pandasplotbench [--runtime pandasplotbench]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class AnswersError(ValueError):
    """An answers file that cannot be used; the message names the line."""


def load_answers(path: str | Path) -> dict[tuple[str, int], str]:
    """(task id, round) -> answer text, from an answers file or a results.jsonl."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"answers file not found: {path}")
    answers: dict[tuple[str, int], str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise AnswersError(f"{path}:{n}: not JSON ({exc})") from None
        if not isinstance(row, dict) or "id" not in row:
            raise AnswersError(f"{path}:{n}: expected an object with an 'id'")
        if isinstance(row.get("attempts"), list):  # a results.jsonl record
            for attempt in row["attempts"]:
                if isinstance(attempt, dict) and isinstance(attempt.get("answer"), str):
                    answers[(str(row["id"]), int(attempt.get("round", 0)))] = attempt["answer"]
            continue
        text = next((row[k] for k in ("answer", "response", "raw_response") if k in row), None)
        if isinstance(text, dict):  # upstream's raw_response {"response": ...}
            text = text.get("response")
        if not isinstance(text, str):
            raise AnswersError(f"{path}:{n}: no 'answer' text for task {row['id']}")
        try:
            round_index = int(row.get("round", 0))
        except (TypeError, ValueError):
            raise AnswersError(f"{path}:{n}: 'round' must be an integer") from None
        answers[(str(row["id"]), round_index)] = text
    if not answers:
        raise AnswersError(f"{path}: no answers in it")
    return answers


def _endpoint_failure() -> type:
    from viscoder.bench.engine import EndpointFailure

    return EndpointFailure


NO_ANSWER = "no saved answer"


def settle_missing(record: dict[str, Any]) -> dict[str, Any]:
    """A task whose saved answers ran out after round 0 failed its last round (status
    ``no_answer``); it is not an endpoint failure to retry."""
    error = record.get("endpoint_error") or ""
    attempts = record.get("attempts") or []
    if error.startswith(NO_ANSWER) and len(attempts) > 1:
        attempts[-1].update(status="no_answer", error_type="NoSavedAnswer")
        record["endpoint_error"] = None
    return record


def replay_chat(answers: dict[tuple[str, int], str], task_id: str):
    """A chat function for one task: its k-th call returns the answer saved for round k."""
    calls = {"n": 0}

    async def chat(messages: list[dict[str, Any]]) -> str:
        k = calls["n"]
        calls["n"] += 1
        try:
            return answers[(task_id, k)]
        except KeyError:
            raise _endpoint_failure()(f"{NO_ANSWER} for task {task_id} round {k}") from None

    return chat


def rescore_config(run_dir: str | Path, overrides: dict[str, Any]) -> Any:
    """The config of a finished run, answering from its own results.jsonl, with the given
    overrides (protocol, runtime, out, judge ...)."""
    from viscoder.bench.config import BenchConfig
    from viscoder.config import ConfigError, load_config

    run_dir = Path(run_dir)
    for name in ("config.yaml", "results.jsonl"):
        if not (run_dir / name).exists():
            raise ConfigError(f"{run_dir} is not a finished bench run: no {name}")
    base = load_config(BenchConfig, str(run_dir / "config.yaml"), [])
    data = base.model_dump(mode="json")
    for key in ("upstream",):  # a protocol's own defaults apply anew
        data.pop(key, None)
    for section in ("generator", "judge"):
        for key in ("max_tokens", "model", "temperature"):
            if section == "generator" and key == "model":
                continue
            data[section].pop(key, None)
    data["answers"] = str(run_dir / "results.jsonl")
    protocol = overrides.get("protocol") or data.get("protocol", "viscoder")
    runtime = overrides.pop("runtime", None)
    if runtime:
        data.setdefault("sandbox", {})["runtime"] = runtime
    elif "runtime" in data.get("sandbox", {}) and protocol != base.protocol:
        data["sandbox"].pop("runtime")  # the new protocol's default runtime
    data.update({k: v for k, v in overrides.items() if v is not None and "." not in k})
    for key, value in overrides.items():
        if "." in key and value is not None:
            section, name = key.split(".", 1)
            data.setdefault(section, {})[name] = value
    data["out"] = overrides.get("out") or str(
        run_dir / f"rescore-{protocol}-{data.get('sandbox', {}).get('runtime', 'default')}")
    return BenchConfig.model_validate(data)
