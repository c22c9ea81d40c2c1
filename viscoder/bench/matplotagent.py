"""``--protocol matplotagent``: MatPlotBench the way MatPlotAgent's direct-decoding baseline
scores it (thunlp/MatPlotAgent at 7ad8ed8418d6ee57470987eb25eac856ebadf8bc: ``one_time_generate.py``,
``agents/plot_agent/agent.py`` PlotAgent.run_one_time, ``agents/utils.py``,
``evaluation/api_eval.py`` gpt_4v_evaluate, ``evaluation/average_score_calc.py``).

- The prompt asks for the plot saved as ``novice.png`` (one user turn, no system turn). Its
  wording is ours unless ``--prompts FILE`` gives a JSON with ``user_prompt`` (and optionally
  ``judge_prompt``), using ``{{query}}`` and ``{{file_name}}`` as upstream's templates do.
- The code is every ```python block joined with newlines (utils.get_code); without one, every
  ``` block, else the lines from the first "import" to the call naming the file
  (PlotAgent.get_code2); else the whole answer.
- The code runs as a plain script (our sandbox, script mode) with the task's data files; it
  succeeds when its output holds neither "Traceback (most recent call last):" nor "Error:"
  (utils.is_run_code_success). There is no self-debug in this baseline.
- The judge gets the generated image first and the reference second, at temperature 0.2; a
  task without an image is judged on the benchmark's ``empty.png`` twice. The score is the
  first "[FINAL SCORE]: N" (1-3 digits) of the reply; the mean is over tasks with a parsed
  score (average_score_calc.py).

Known difference: upstream judges the ``novice.png`` file the script saved; the sandbox hands
back the figures the script drew (shown or open at the end), and the first one stands in for
it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

SAVE_NAME = "novice.png"
_PY_BLOCKS = re.compile(r"```python\s*([\s\S]+?)\s*```", re.MULTILINE)
_ANY_BLOCKS = re.compile(r"```\s*([\s\S]+?)\s*```", re.MULTILINE)
_SCORE = re.compile(r"\[FINAL SCORE\]: (\d{1,3})")

USER_PROMPT = ('The request:\n"""\n{{query}}\n"""\n\n'
               "If the request needs data from a csv file, read and process it and draw the plot "
               "in the same program.\n\n"
               'Save the finished plot as a png file named """{{file_name}}""".\n')
JUDGE_PROMPT = ("You compare a generated plot with the plot a user wanted. The first image is the "
                "generated plot (a blank image means no plot was produced: score 0). The second "
                "image is the reference, worth 100. Rate the first from 0 to 100 by how closely "
                "it matches the reference; where the request draws random data, matching shape "
                "and kind is enough. Rate only the first image. End with the final score after "
                "the [FINAL SCORE] marker, for example [FINAL SCORE]: 40.")


def fill(template: str, values: dict[str, str]) -> str:
    """utils.fill_in_placeholders: every ``{{key}}`` replaced."""
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    return template


def gather_code(answer: str, file_name: str = SAVE_NAME) -> str:
    code = "\n".join(_PY_BLOCKS.findall(answer or ""))
    if code:
        return code
    code = "\n".join(_ANY_BLOCKS.findall(answer or ""))
    if code:
        return code
    lines: list[str] = []
    started = False
    for line in (answer or "").split("\n"):
        if line.find("import") == 0 or started:
            lines.append(line)
            started = True
        if started and "(" in line and ")" in line and file_name in line \
                and line.find("(") < line.find(file_name) < line.find(")"):
            return "\n".join(lines)
    return answer or ""


def run_log(res: Any) -> str:
    """What ``python code.py > log 2>&1`` would have written: output, then the traceback."""
    log = (res.stdout or "") + (res.stderr or "")
    if res.status.value in ("error", "timeout", "memory", "crashed"):
        log += "Traceback (most recent call last):\n" + (res.traceback or "") + \
            f"\n{res.error_type}: {res.error_message}"
    return log


def succeeded(log: str) -> bool:
    return "Traceback (most recent call last):" not in log and "Error:" not in log


def parse_score(reply: str | None) -> int | None:
    m = _SCORE.search(reply or "")
    return int(m.group(1)) if m else None


def texts(prompts: Any) -> dict[str, str]:
    raw = dict(getattr(prompts, "upstream_raw", ()) or ())
    return {"user": raw.get("user_prompt", USER_PROMPT), "judge": raw.get("judge_prompt", JUDGE_PROMPT)}


async def solve_matplotagent(task: Any, cfg: Any, prompts: Any, svc: Any) -> dict[str, Any]:
    from viscoder.bench.engine import EndpointFailure

    query = task.meta.get("instruction", task.task_text)
    prompt = fill(texts(prompts)["user"], {"query": query, "file_name": SAVE_NAME})
    record: dict[str, Any] = {"id": task.id, "prompt": prompt, "attempts": [], "passed_round": None,
                              "endpoint_error": None, "judge": None, "protocol": "matplotagent"}
    try:
        answer = await svc.chat([{"role": "user", "content": prompt}])
    except EndpointFailure as exc:
        record["endpoint_error"] = str(exc)
        record["attempts"].append({"round": 0, "status": "endpoint_error", "error_type": "EndpointError",
                                   "error_message": str(exc), "pngs": []})
        return record
    code = gather_code(answer)
    res = await svc.execute(code, task.files)
    log = run_log(res)
    ok = succeeded(log)
    record["attempts"].append({
        "round": 0, "answer": answer, "code": code, "status": "ok" if ok else "error",
        "error_type": None if ok else (res.error_type or "ErrorInOutput"),
        "error_message": None if ok else (res.error_message or log[-300:]), "traceback": res.traceback,
        "stdout": log[-2000:], "exec_s": res.duration_s, "blank": res.blank,
        "figures": [f.model_dump(mode="json") for f in res.figures], "pngs": res.pngs})
    if ok:
        record["passed_round"] = 0
    if cfg.judge.enabled and svc.judge_chat is not None:
        record["judge"] = await judge_task(task, record["attempts"][0], prompts, svc.judge_chat, cfg)
    return record


async def judge_task(task: Any, attempt: dict[str, Any], prompts: Any, chat: Any, cfg: Any) -> dict[str, Any]:
    from viscoder.bench.engine import EndpointFailure
    from viscoder.bench.judge import image_part

    if not task.reference_pngs:
        return {"round0": {"visual": {"unavailable": True}, "task": {"unavailable": True}},
                "final": {"visual": {"unavailable": True}, "task": {"unavailable": True}}}
    generated = (attempt.get("pngs") or [None])[0]
    reference = task.reference_pngs[0]
    if generated is None:  # api_eval: empty.png against empty.png
        empty = Path(cfg.data or "") / "ground_truth" / "empty.png"
        blank = empty.read_bytes() if empty.exists() else None
        if blank is None:
            entry = {"score": 0, "reason": "no image and no empty.png in the benchmark copy"}
            return {"round0": {"visual": entry, "task": {"unavailable": True}},
                    "final": {"visual": entry, "task": {"unavailable": True}}}
        generated = reference = blank
    messages = [{"role": "user", "content": [{"type": "text", "text": texts(prompts)["judge"]},
                                             image_part(generated), image_part(reference)]}]
    try:
        reply = await chat(messages)
        entry = {"score": parse_score(reply), "reply": reply[-300:]}
    except EndpointFailure as exc:
        entry = {"score": None, "error": str(exc)}
    unavailable = {"unavailable": True, "reason": "MatPlotAgent has no task judge"}
    return {"round0": {"visual": entry, "task": unavailable}, "final": {"visual": entry, "task": unavailable}}
