"""One benchmark task from prompt to scores: generate, execute, self-debug, judge.

Pure async logic over three injected services (the generator endpoint, the sandbox, the judge
endpoint), so it runs the same inside a Ray actor and in a unit test. The conversation of
round k is the prompt, then one assistant/user pair per earlier failed attempt: the code that
ran as the assistant turn, the failure as the user turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from viscoder import chat as schema
from viscoder.bench import judge as judging
from viscoder.bench.config import BenchConfig
from viscoder.bench.extract import extract_code, with_prelude
from viscoder.bench.tasks import BenchTask
from viscoder.prompts import PromptSet
from viscoder.sandbox.result import ExecResult

Chat = Callable[[list[dict[str, Any]]], Awaitable[str]]


@dataclass
class Services:
    chat: Chat  # the model under test
    execute: Callable[..., Awaitable[ExecResult]]  # (code, files, **sandbox run options)
    judge_chat: Chat | None = None


class EndpointFailure(RuntimeError):
    """The endpoint kept failing after its retries; the task is recorded, the run goes on."""


async def solve_task(task: BenchTask, cfg: BenchConfig, prompts: PromptSet, svc: Services) -> dict[str, Any]:
    if cfg.protocol == "pandasplotbench":  # the published harness, step for step
        from viscoder.bench.upstream_engine import solve_upstream

        return await solve_upstream(task, cfg, prompts, svc)
    if cfg.protocol == "matplotagent":
        from viscoder.bench.matplotagent import solve_matplotagent

        return await solve_matplotagent(task, cfg, prompts, svc)
    messages: list[dict[str, Any]] = [schema.turn("system", prompts.system),
                                      schema.turn("user", task.prompt)]
    record: dict[str, Any] = {"id": task.id, "prompt": task.prompt, "attempts": [],
                              "passed_round": None, "endpoint_error": None, "judge": None}
    for k in range(cfg.self_debug_rounds + 1):
        started = time.monotonic()
        try:
            answer = await svc.chat(messages)
        except EndpointFailure as exc:
            record["endpoint_error"] = str(exc)
            record["attempts"].append({"round": k, "status": "endpoint_error", "error_type": "EndpointError",
                                       "error_message": str(exc), "pngs": []})
            break
        gen_s = time.monotonic() - started
        code = with_prelude(extract_code(answer), task.prelude)
        result = await svc.execute(code, task.files)
        attempt = _attempt(k, answer, code, result, gen_s)
        if result.ok and cfg.blank_is_failure and result.blank:
            attempt["blank_failure"] = True
        record["attempts"].append(attempt)
        if result.ok and not attempt.get("blank_failure"):
            record["passed_round"] = k
            break
        if k == cfg.self_debug_rounds:
            break
        messages.append(schema.turn("assistant", f"```python\n{code}\n```"))
        messages.append(schema.turn("user", _feedback(attempt, result, cfg, prompts, k + 1)))
    if cfg.judge.enabled and svc.judge_chat is not None:
        record["judge"] = await _judge(task, record, prompts, svc.judge_chat)
    return record


def _attempt(k: int, answer: str, code: str, res: ExecResult, gen_s: float) -> dict[str, Any]:
    return {"round": k, "answer": answer, "code": code, "status": res.status.value,
            "error_type": res.error_type, "error_message": res.error_message,
            "traceback": res.traceback, "blank": res.blank, "exec_s": res.duration_s,
            "gen_s": round(gen_s, 3), "stdout": res.stdout[-2000:],
            "figures": [f.model_dump(mode="json") for f in res.figures], "pngs": res.pngs}


def _feedback(attempt: dict[str, Any], res: ExecResult, cfg: BenchConfig, prompts: PromptSet,
              round_index: int) -> str | list[dict[str, Any]]:
    if attempt.get("blank_failure"):
        text = prompts.feedback_blank if cfg.visual_feedback else prompts.generic_failure
    elif res.status.value == "no_plot":
        text = prompts.feedback_no_plot if cfg.visual_feedback else prompts.generic_failure
    else:
        text = res.traceback or f"{res.error_type}: {res.error_message}"
    turn = prompts.self_debug_turn(text, round_index)
    if cfg.feedback_images and res.pngs:
        return [{"type": "text", "text": turn}, *(judging.image_part(p) for p in res.pngs[:2])]
    return turn


async def _judge(task: BenchTask, record: dict[str, Any], prompts: PromptSet, chat: Chat) -> dict[str, Any]:
    attempts = record["attempts"]
    out: dict[str, Any] = {"round0": await _judge_attempt(task, attempts[0], prompts, chat)}
    out["final"] = out["round0"] if len(attempts) == 1 else await _judge_attempt(
        task, attempts[-1], prompts, chat)
    return out


async def _judge_attempt(task: BenchTask, attempt: dict[str, Any], prompts: PromptSet,
                         chat: Chat) -> dict[str, Any]:
    pngs = attempt.get("pngs") or []
    if not pngs:  # no plot: 0 without asking the judge
        zero = {"score": 0.0, "reason": "no plot"}
        return {"visual": zero if task.reference_pngs else _unavailable(), "task": dict(zero)}

    async def ask(messages: list[dict[str, Any]]) -> dict[str, Any]:
        try:
            reply = await chat(messages)
        except EndpointFailure as exc:
            return {"score": None, "error": str(exc)}
        return {"score": judging.parse_score(reply), "reply": reply[-300:]}

    visual_call = (ask(judging.visual_messages(prompts, pngs[0], task.reference_pngs[0]))
                   if task.reference_pngs else _done(_unavailable()))
    visual, task_score = await asyncio.gather(
        visual_call, ask(judging.task_messages(prompts, pngs[0], task.task_text)))
    return {"visual": visual, "task": task_score}


def _unavailable() -> dict[str, Any]:
    return {"unavailable": True, "reason": "no reference image in this copy of the benchmark"}


async def _done(value: dict[str, Any]) -> dict[str, Any]:
    return value
