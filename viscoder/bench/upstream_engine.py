"""``--protocol pandasplotbench``: one task the way the published harness treats it, and its
judge pass. The pieces are in ``upstream.py``; this module puts them in upstream's order.

Per task: upstream's prompt (built by the loader), the answer through ``gather_code``, the
code run as upstream's notebook cell (``mode="cell"`` of the sandbox, the ``pandasplotbench``
runtime), the verdict from the cell's error output and display_data PNGs; then up to K
self-debug rounds with upstream's conversation. Tasks stay isolated (one sandboxed process
each) where upstream ran all cells of a library in one kernel.

Judging is a second, sequential pass over all tasks in benchmark order (``judge_run``),
because two upstream behaviours depend on that order: the task-judge prompt grows from item to
item, and a failed call keeps the previous item's score.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

from viscoder.bench import upstream
from viscoder.sandbox.result import ExecResult

DATA_NAME = "dataset/data-{id}.csv"  # not "data.csv": upstream's working folder has none


def cell_files(task: Any) -> tuple[str, dict[str, bytes]]:
    name = DATA_NAME.format(id=task.id)
    return name, {name: task.files["data.csv"]}


def exec_error(res: ExecResult, switches: Any) -> str:
    """What upstream's notebook would hold as the cell's error text."""
    if res.traceback and res.status.value in ("error", "timeout", "memory"):
        return upstream.clean_error([res.traceback], switches)
    if res.status.value in ("ok", "no_plot"):
        broken = [f.render_error for f in res.figures if f.shown and f.render_error]
        return f"ValueError: {broken[0]}" if broken else ""  # kaleido raises in show()
    return f"{res.error_type or res.status.value}: {res.error_message or ''}".strip()


async def solve_upstream(task: Any, cfg: Any, prompts: Any, svc: Any) -> dict[str, Any]:
    from viscoder.bench.engine import EndpointFailure

    sw = cfg.upstream
    system = prompts.upstream_instructs()["system_prompt"]
    data_name, files = cell_files(task)
    record: dict[str, Any] = {"id": task.id, "prompt": task.prompt, "attempts": [],
                              "passed_round": None, "endpoint_error": None, "judge": None,
                              "protocol": "pandasplotbench"}
    first: dict[str, Any] | None = None
    history: list[dict[str, Any]] = []
    for k in range(cfg.self_debug_rounds + 1):
        if k == 0:
            messages = [{"role": "system", "content": system}, {"role": "user", "content": task.prompt}]
        else:
            assert first is not None
            messages = upstream.chat_messages(system, upstream.debug_conversation(
                task.prompt, first["code"], first["upstream_error"], history, sw))
        started = time.monotonic()
        try:
            answer = await svc.chat(messages)
        except EndpointFailure as exc:
            if k == 0 or str(exc).startswith("no saved answer"):  # upstream skips the task ("Skipping dp"); we record and retry later
                record["endpoint_error"] = str(exc)
                record["attempts"].append({"round": k, "status": "endpoint_error",
                                           "error_type": "EndpointError",
                                           "error_message": str(exc), "pngs": []})
                break
            answer = ""  # BE make_self_debug_request: a failed call is an empty response
        gen_s = time.monotonic() - started
        code = upstream.gather_code(answer, sw)
        source = upstream.cell_source(task.id, task.prelude, code, cfg.library, data_name)
        res = await svc.execute(source, files, mode="cell", cell_number=task.index + 1)
        error = exec_error(res, sw)
        if k > 0 and answer == "":
            error = upstream.UNEXPECTED_ERROR  # B run_self_debug
        passed, error = upstream.verdict(error, len(res.pngs))
        attempt = {"round": k, "answer": answer, "code": code, "cell": source,
                   "status": res.status.value if passed or res.status.value != "ok" else "error",
                   "error_type": upstream.error_type(error) or res.error_type,
                   "error_message": error.strip().splitlines()[-1][:500] if error else res.error_message,
                   "upstream_error": error, "traceback": error or res.traceback,
                   "blank": res.blank, "exec_s": res.duration_s, "gen_s": round(gen_s, 3),
                   "stdout": res.stdout[-2000:],
                   "figures": [f.model_dump(mode="json") for f in res.figures], "pngs": res.pngs,
                   "messages": len(messages)}
        if not passed and attempt["status"] in ("ok", "no_plot"):
            attempt["status"] = "no_plot" if error == upstream.UNEXPECTED_ERROR else "error"
        record["attempts"].append(attempt)
        if passed:
            record["passed_round"] = k
            break
        if k == 0:
            first = attempt
        else:
            history.append({"code": code, "error": error})
    return record


# --- the judge pass ---------------------------------------------------------------------------
def _image(png: bytes) -> dict[str, Any]:
    # BE add_images: every image is labelled JPEG, detail "auto"
    return {"type": "image_url", "image_url": {
        "url": "data:image/jpeg;base64," + base64.b64encode(png).decode(), "detail": "auto"}}


class UpstreamJudge:
    """VJ score_by_type over a list of items, in order, with its state between items."""

    def __init__(self, chat: Any, instructs: dict[str, str], library: str, switches: Any):
        self.chat, self.instructs, self.library, self.sw = chat, instructs, library, switches
        self.calls = 0

    async def score_items(self, items: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
        from viscoder.bench.engine import EndpointFailure

        base = self.instructs["judge_instruct_vis" if kind == "vis" else "judge_instruct_task"]
        request = base
        score: int | None = None
        out = []
        for item in items:
            plots, reply = item["pngs"], ""
            wrong_lib = self.library not in item["code"]
            if kind == "vis" and plots and not item.get("reference"):
                out.append({"score": None, "unavailable": True, "reason": "no reference image"})
                continue
            if not plots or (wrong_lib and self.sw.judge_wrong_library_zero):
                score = 0
            else:
                if kind == "vis":
                    images = [plots[0], item["reference"][0]]
                else:
                    grown = request if self.sw.judge_prompt_grows else base
                    request = upstream.task_judge_text(grown, item["description"], item["style"])
                    images = plots
                text = base if kind == "vis" else request
                messages = [{"role": "system", "content": self.instructs["system_prompt"]},
                            {"role": "user", "content": [{"type": "text", "text": text},
                                                         *(_image(p) for p in images)]}]
                self.calls += 1
                try:
                    reply = await self.chat(messages)
                    score = upstream.parse_score(reply)
                except EndpointFailure:
                    if not self.sw.judge_reuses_previous_score:
                        score = None
            out.append({"score": score, "reply": reply[-300:], "wrong_lib": wrong_lib})
        return out


def _load_pngs(out: Path, attempt: dict[str, Any]) -> list[bytes]:
    if attempt.get("pngs"):
        return attempt["pngs"]
    return [(out / rel).read_bytes() for rel in attempt.get("images", []) if (out / rel).exists()]


async def judge_run(records: list[dict[str, Any]], tasks: dict[str, Any], out: Path,
                    chat: Any, prompts: Any, cfg: Any) -> dict[str, Any]:
    """VJ score (round 0 of every task) and score_self_debug (every debug attempt with a plot),
    then calculate_self_debug_stats: after debug round k a task has the score of its latest
    attempt <= k, or its round-0 score. Writes each record's ``judge`` (round0/final) too."""
    judge = UpstreamJudge(chat, prompts.upstream_instructs(), cfg.library, cfg.upstream)

    def item(record: dict[str, Any], attempt: dict[str, Any]) -> dict[str, Any]:
        task = tasks.get(record["id"])
        return {"pngs": _load_pngs(out, attempt), "code": attempt.get("code") or "",
                "reference": list(task.reference_pngs) if task else [],
                "description": task.meta.get("plot_description", "") if task else "",
                "style": task.meta.get("plot_style", "") if task else ""}

    firsts = [(r, r["attempts"][0]) for r in records if r.get("attempts")]
    debug = [(r, a) for r in records for a in r.get("attempts", [])[1:] if _load_pngs(out, a)]
    scores: dict[str, dict[tuple[str, int], dict[str, Any]]] = {"vis": {}, "task": {}}
    for kind in ("vis", "task"):
        for batch in (firsts, debug):
            results = await judge.score_items([item(r, a) for r, a in batch], kind)
            for (r, a), res in zip(batch, results, strict=True):
                scores[kind][(r["id"], a["round"])] = res
    stats: dict[str, Any] = {}
    rounds = cfg.self_debug_rounds
    for k in range(rounds + 1):
        per_kind = {}
        for kind in ("vis", "task"):
            values = []
            for r in records:
                chosen = _standing(scores[kind], r, k)
                if not chosen.get("unavailable"):
                    values.append(chosen.get("score"))
            per_kind[kind] = upstream.judge_stats(values, cfg.upstream) if values else None
        stats["normal" if k == 0 else f"attempt_{k - 1}"] = per_kind
    for r in records:
        last = r["attempts"][-1]["round"] if r.get("attempts") else 0
        r["judge"] = {stage: {"visual": _standing(scores["vis"], r, k),
                              "task": _standing(scores["task"], r, k)}
                      for stage, k in (("round0", 0), ("final", last))}
    return {"stats": stats, "judge_calls": judge.calls}


def _standing(scores: dict[tuple[str, int], dict[str, Any]], record: dict[str, Any],
              k: int) -> dict[str, Any]:
    """VJ calculate_self_debug_stats: after round k, the latest debug attempt <= k
    (0 when it had no plot to score), else the round-0 score."""
    debug_rounds = [a["round"] for a in record.get("attempts", []) if 1 <= a["round"] <= k]
    if debug_rounds:
        return scores.get((record["id"], max(debug_rounds)), {"score": 0, "reason": "no plot"})
    return scores.get((record["id"], 0), {"score": None})
