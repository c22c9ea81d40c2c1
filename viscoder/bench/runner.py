"""``run_bench(config)``: the benchmark on Ray.

Tasks go to a pool of async Ray actors (``workers``), each owning one sandbox. Inside an actor
many tasks are in flight at once: while one script runs in the sandbox (on a thread), other
tasks wait on the endpoint or the judge, so generation, execution and judging overlap instead
of running in lock-step. Requests to the endpoint are bounded (``max_concurrent_requests``
over all actors). Each finished task is appended to ``results.jsonl`` at once; running again
with the same ``--out`` skips the tasks already there (tasks that hit endpoint failures are
retried). ``summary.json``, ``report.html`` and ``pass_rate.png`` are written at the end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import math
import os
import threading
import time
from pathlib import Path
from typing import Any

from viscoder.bench.config import BenchConfig, EndpointConfig
from viscoder.bench.engine import Chat, EndpointFailure, Services, solve_task
from viscoder.bench.metrics import summarize
from viscoder.bench.tasks import BenchTask, load_tasks
from viscoder.config import ConfigError
from viscoder.metrics import count
from viscoder.prompts import PromptSet
from viscoder.ray_init import ensure_ray
from viscoder.sandbox import Sandbox
from viscoder.sandbox.result import safe_stem

log = logging.getLogger(__name__)


def make_chat(endpoint: EndpointConfig, max_in_flight: int, llama3: bool = False) -> Chat:
    """An async chat call with the openai client's own retries (429, 5xx, timeouts, refused
    connections, with exponential backoff) and a bound on requests in flight. ``llama3``:
    the conversation goes to /v1/completions inside upstream vLLM's hand-written Llama-3
    headers (``--protocol pandasplotbench`` with ``upstream.llama3_template``)."""
    import openai

    client = openai.AsyncOpenAI(base_url=endpoint.base_url,
                                api_key=os.environ.get(endpoint.api_key_env) or "EMPTY",
                                max_retries=endpoint.max_retries, timeout=endpoint.timeout_s)
    semaphore = asyncio.Semaphore(max_in_flight)

    async def chat(messages: list[dict[str, Any]]) -> str:
        if llama3:
            return await complete(messages)
        async with semaphore:
            try:
                response = await client.chat.completions.create(
                    model=endpoint.model, messages=messages, temperature=endpoint.temperature,
                    max_tokens=endpoint.max_tokens)
            except openai.APIError as exc:
                raise EndpointFailure(f"{type(exc).__name__}: {exc}") from None
        if not response.choices:
            raise EndpointFailure("the endpoint returned no choices")
        return response.choices[0].message.content or ""

    async def complete(messages: list[dict[str, Any]]) -> str:
        from viscoder.bench.upstream import llama3_prompt

        async with semaphore:
            try:
                response = await client.completions.create(
                    model=endpoint.model, prompt=llama3_prompt(messages),
                    temperature=endpoint.temperature, max_tokens=endpoint.max_tokens)
            except openai.APIError as exc:
                raise EndpointFailure(f"{type(exc).__name__}: {exc}") from None
        if not response.choices:
            raise EndpointFailure("the endpoint returned no choices")
        return response.choices[0].text or ""

    return chat


class BenchWorker:
    """The body of one Ray actor: a sandbox plus async clients for the model and the judge."""

    def __init__(self, config: dict[str, Any], prompts: PromptSet, slot: int, in_flight: int):
        self.cfg = BenchConfig.model_validate(config)
        self.prompts = prompts
        self.sandbox = Sandbox(self.cfg.sandbox, slot=slot)
        self.lock = threading.Lock()  # one script at a time in this actor's sandbox
        self.in_flight = in_flight
        self.services: Services | None = None
        self.answers: dict[tuple[str, int], str] | None = None
        # the warm worker starts while the first answers are being generated
        threading.Thread(target=self._start_sandbox, daemon=True).start()

    def _start_sandbox(self) -> None:
        with self.lock:
            try:
                self.sandbox.start()
            except Exception as exc:  # reported again, per task, by the first run
                log.warning("sandbox did not start: %s", exc)

    def _execute(self, code: str, files: dict[str, bytes], **options: Any):
        with self.lock:
            result = self.sandbox.run(code, files=files, **options)
        count("viscoder_scripts_executed", {"stage": "bench", "status": result.status.value})
        return result

    async def solve(self, task: BenchTask) -> dict[str, Any]:
        if self.services is None:  # created here: the semaphores belong to the actor's loop
            judge = (make_chat(self.cfg.judge, self.in_flight) if self.cfg.judge.enabled else None)
            if self.cfg.protocol == "pandasplotbench":
                judge = None  # judged afterwards, in benchmark order (upstream_engine.judge_run)
            llama3 = self.cfg.protocol == "pandasplotbench" and self.cfg.upstream.llama3_template
            self.services = Services(
                chat=make_chat(self.cfg.generator, self.in_flight, llama3),
                execute=lambda code, files, **kw: asyncio.to_thread(self._execute, code, files, **kw),
                judge_chat=judge)
        services = self.services
        if self.cfg.answers:
            from viscoder.bench.replay import load_answers, replay_chat

            if self.answers is None:
                self.answers = load_answers(self.cfg.answers)
            services = dataclasses.replace(services, chat=replay_chat(self.answers, task.id))
        record = await solve_task(task, self.cfg, self.prompts, services)
        if self.cfg.answers:
            from viscoder.bench.replay import settle_missing

            settle_missing(record)
        result = ("passed" if record["passed_round"] is not None
                  else "endpoint_error" if record.get("endpoint_error") else "failed")
        count("viscoder_bench_tasks", {"library": self.cfg.library, "result": result})
        for attempt in record.get("attempts", []):
            count("viscoder_bench_attempts", {"library": self.cfg.library,
                                              "round": str(attempt.get("round")),
                                              "status": str(attempt.get("status"))})
        return record


def run_bench(cfg: BenchConfig, progress: bool = True) -> dict[str, Any]:
    cfg.check_runnable()  # a model name, the judge's key: ConfigError naming the key
    prompts = PromptSet.from_upstream(cfg.prompts) if cfg.prompts else PromptSet.default()
    if cfg.answers:  # a bad answers file is the user's error, before anything starts
        from viscoder.bench.replay import load_answers

        load_answers(cfg.answers)
    tasks, skipped = load_tasks(cfg, prompts)
    if not tasks:
        raise ConfigError("no runnable task in the benchmark data")
    out = Path(cfg.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    # records the runtime's library versions in config.yaml; an unbuilt runtime fails here
    cfg.sandbox = cfg.sandbox.resolve_runtime()
    cfg.write(out / "config.yaml")
    results_path = out / "results.jsonl"
    run_key = {"benchmark": cfg.benchmark, "library": cfg.library, "model": cfg.generator.model,
               "protocol": cfg.protocol}
    done = _load_finished(results_path, run_key)
    todo = [t for t in tasks if t.id not in done]
    _write_references(out, tasks)
    started = time.monotonic()
    if todo:
        log.info("%d tasks to run (%d already done in %s)", len(todo), len(done), out)
        for record in _run_on_ray(cfg, prompts, todo, progress):
            record.update(run_key)
            _save_images(out, record)
            done[record["id"]] = record
            with results_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    records = [done[t.id] for t in tasks if t.id in done]
    extra = {}
    if cfg.protocol == "pandasplotbench" and cfg.judge.enabled:
        from viscoder.bench.upstream_engine import judge_run

        chat = make_chat(cfg.judge, cfg.judge.max_concurrent_requests)
        extra["judge_upstream"] = asyncio.run(
            judge_run(records, {t.id: t for t in tasks}, out, chat, prompts, cfg))
        _rewrite(results_path, records)
    summary = {**run_key, **summarize(records, cfg.self_debug_rounds, cfg.judge.good_threshold),
               "self_debug_rounds": cfg.self_debug_rounds,
               "skipped": [{"id": s.id, "reason": s.reason} for s in skipped],
               "prompts": prompts.source, **provenance(cfg, tasks), **extra,
               "wall_s": round(time.monotonic() - started, 2)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    from viscoder.bench.report import write_report

    write_report(out, records, summary, {t.id: t for t in tasks})
    return summary


def _run_on_ray(cfg: BenchConfig, prompts: PromptSet, todo: list[BenchTask], progress: bool):
    import ray
    from tqdm import tqdm

    started_ray = ensure_ray(cfg.ray_address, log_to_driver=False)
    per_actor = max(1, math.ceil(cfg.generator.max_concurrent_requests / cfg.workers))
    # More tasks than request slots per actor: while some wait for the sandbox or the judge,
    # others keep the endpoint busy. The semaphore in make_chat bounds the requests.
    tasks_per_actor = 4 * per_actor
    actor_cls = ray.remote(num_cpus=1, max_restarts=1)(BenchWorker)
    actors = [actor_cls.options(max_concurrency=tasks_per_actor + 2).remote(
        cfg.model_dump(mode="json"), prompts, k, per_actor) for k in range(cfg.workers)]
    bar = tqdm(total=len(todo), desc=f"bench {cfg.library}", unit="task", disable=not progress)
    passed = [0] * (cfg.self_debug_rounds + 1)
    pending: dict[Any, tuple[BenchTask, int]] = {}
    load = [0] * len(actors)  # tasks in flight per actor
    queue = list(todo)
    try:
        while queue or pending:
            while queue and min(load) < tasks_per_actor:
                k = load.index(min(load))  # the least busy actor
                task = queue.pop(0)
                pending[actors[k].solve.remote(task)] = (task, k)
                load[k] += 1
            ready, _ = ray.wait(list(pending), num_returns=1)
            task, k = pending.pop(ready[0])
            load[k] -= 1
            try:
                record = ray.get(ready[0])
            except ray.exceptions.RayError as exc:  # an actor died: record, keep going
                record = {"id": task.id, "prompt": task.prompt, "passed_round": None, "judge": None,
                          "endpoint_error": f"worker failed: {type(exc).__name__}",
                          "attempts": [{"round": 0, "status": "crashed", "error_type": type(exc).__name__,
                                        "error_message": str(exc)[:500], "pngs": []}]}
            if record["passed_round"] is not None:
                for k in range(record["passed_round"], len(passed)):
                    passed[k] += 1
            bar.update(1)
            bar.set_postfix_str(f"pass@round0={passed[0]} pass={passed[-1]}")
            yield record
    finally:
        bar.close()
        for actor in actors:
            ray.kill(actor)
        if started_ray:
            ray.shutdown()


def _load_finished(path: Path, run_key: dict[str, Any]) -> dict[str, dict[str, Any]]:
    finished: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return finished
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut short by an interrupted run: that task runs again
        other = {k: record.get(k, "viscoder" if k == "protocol" else None) for k in run_key}
        if other != run_key:
            raise ConfigError(f"{path} holds results of another run ({other}); "
                              f"use another --out for {run_key}")
        if not record.get("endpoint_error"):
            finished[str(record["id"])] = record
    return finished


def provenance(cfg: BenchConfig, tasks: list[BenchTask]) -> dict[str, Any]:
    """What makes runs comparable or not: protocol, runtime (and its library versions),
    upstream switches turned off, answers replayed instead of a model."""
    info: dict[str, Any] = {"protocol": cfg.protocol, "runtime": cfg.sandbox.runtime_label,
                            "answers": cfg.answers, "generator_max_tokens": cfg.generator.max_tokens}
    if cfg.sandbox.runtime_versions:  # filled by resolve_runtime() when the run started
        info["runtime_versions"] = dict(cfg.sandbox.runtime_versions)
    if cfg.protocol == "pandasplotbench":
        defaults = type(cfg.upstream)()
        info["upstream_switches_changed"] = {
            k: v for k, v in cfg.upstream.model_dump().items() if getattr(defaults, k) != v}
        info["code_data"] = sorted({t.meta.get("code_data_source", "?") for t in tasks})
    return info


def _rewrite(path: Path, records: list[dict[str, Any]]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    tmp.replace(path)


def _save_images(out: Path, record: dict[str, Any]) -> None:
    stem = safe_stem(record["id"])
    for attempt in record["attempts"]:
        paths = []
        for i, png in enumerate(attempt.pop("pngs", None) or []):
            rel = f"images/{stem}_r{attempt['round']}_{i}.png"
            (out / rel).write_bytes(png)
            paths.append(rel)
        attempt["images"] = paths


def _write_references(out: Path, tasks: list[BenchTask]) -> None:
    ref_dir = out / "reference"
    for task in tasks:
        for i, png in enumerate(task.reference_pngs):
            path = ref_dir / f"{safe_stem(task.id)}_{i}.png"
            if not path.exists():
                ref_dir.mkdir(exist_ok=True)
                path.write_bytes(png)
