"""The LLM steps on ``ray.data.llm``: extraction (text in, a script out) and annotation (a
script and its image in, the five-part instruction out). Two engines, both Ray's processors:
an OpenAI-compatible endpoint through the HTTP request processor (rate limit, retries and
concurrency are Ray's), or a vLLM engine inside the plan on GPU nodes
(``vLLMEngineProcessorConfig``). What is ours is the request and reading the answer: an
answer that is not usable (no code block, "NONE", not JSON, an API or engine error) rejects
the row with the reason.
"""

from __future__ import annotations

import base64
import json
import os
import re
from typing import Any

from viscoder.data.annotate import messages_for
from viscoder.data.config import LLMEndpoint
from viscoder.data.rows import COLUMNS
from viscoder.fences import EXTRACTION, fenced_code
from viscoder.prompts.data import ANNOTATION_PARTS, annotate_request, extract_request

_JSON = re.compile(r"\{.*\}", re.DOTALL)


def parse_extraction(text: str) -> tuple[str | None, str]:
    """(code, "") or (None, reason)."""
    if not text or not text.strip():
        return None, "empty answer"
    if text.strip().strip(".").upper() == "NONE":
        return None, "nothing usable"
    code = fenced_code(text, EXTRACTION)  # the longest block; the rule and why: viscoder.fences
    if not code or not code.strip():
        return None, "no code block in the answer"
    code = code.strip()
    try:
        compile(code, "<llm>", "exec")
    except SyntaxError as exc:
        return None, f"answer does not parse: {exc.msg}"
    return code + "\n", ""


def parse_annotation(text: str) -> tuple[dict | None, str]:
    match = _JSON.search(text or "")
    if not match:
        return None, "no JSON object in the answer"
    try:
        parts = json.loads(match.group(0))
    except json.JSONDecodeError as exc:
        return None, f"answer is not JSON: {exc.msg}"
    if not isinstance(parts, dict):
        return None, "answer is not a JSON object"
    missing = [p for p in ANNOTATION_PARTS if not str(parts.get(p, "")).strip()]
    if missing:
        return None, f"answer lacks {', '.join(missing)}"
    return {p: str(parts[p]) for p in ANNOTATION_PARTS}, ""


def _answer(row: dict) -> tuple[str | None, str]:
    if row.get("__inference_error__"):
        return None, f"engine error: {row['__inference_error__']}"[:300]
    if "generated_text" in row:  # the in-plan vLLM engine
        return row["generated_text"] or "", ""
    response = row.get("http_response") or {}
    if "error" in response:
        err = response["error"]
        return None, f"endpoint error: {err.get('message', err) if isinstance(err, dict) else err}"
    try:
        return response["choices"][0]["message"]["content"] or "", ""
    except (KeyError, IndexError, TypeError):
        return None, "unexpected response shape"


def _payload(endpoint: LLMEndpoint, messages: list[dict]) -> dict[str, Any]:
    return {"model": endpoint.model, "messages": messages, "max_tokens": endpoint.max_tokens,
            "temperature": endpoint.temperature}


def _strip(row: dict) -> dict:
    """Back to the row shape: the processors' own columns go, and `messages` (which the vLLM
    engine used for the prompt) is ours again, empty until annotation fills it."""
    out = {k: row.get(k, default) for k, default in COLUMNS.items()}
    out["messages"] = ""
    return out


def extract_postprocess(row: dict) -> dict:
    text, error = _answer(row)
    row = _strip(row)
    code, reason = (None, error) if text is None else parse_extraction(text)
    if code is None:
        row["stage"], row["reason"] = "extract", f"llm: {reason}"
    else:
        row["stage"], row["reason"] = "", ""
        row["code"], row["extractor"] = code, "llm"
    return row


def annotate_postprocess(row: dict) -> dict:
    text, error = _answer(row)
    row = _strip(row)
    parts, reason = (None, error) if text is None else parse_annotation(text)
    if parts is None:
        row["stage"], row["reason"] = "annotate", f"llm: {reason}"
    else:
        row["instruction"] = json.dumps(parts)
        row["messages"] = messages_for(parts, row["code"])
        row["annotator"] = "llm"
    return row


def _processor(endpoint: LLMEndpoint, make_messages, postprocess, images: bool = False):
    if endpoint.engine == "vllm":
        return _vllm_processor(endpoint, make_messages, postprocess, images)
    from ray.data.llm import HttpRequestProcessorConfig, build_processor

    def preprocess(row: dict) -> dict:
        return {**row, "payload": _payload(endpoint, make_messages(row))}

    headers = {"Content-Type": "application/json"}
    if endpoint.api_key_env:
        key = os.environ.get(endpoint.api_key_env)
        if not key:
            raise ValueError(f"environment variable {endpoint.api_key_env} (the LLM API key) "
                             "is not set")
        headers["Authorization"] = f"Bearer {key}"
    config = HttpRequestProcessorConfig(
        url=endpoint.base_url.rstrip("/") + "/chat/completions", headers=headers,
        qps=int(endpoint.qps) if endpoint.qps else None, concurrency=endpoint.concurrency,
        batch_size=16, max_retries=3)
    return build_processor(config, preprocess=preprocess, postprocess=postprocess)


def _vllm_processor(endpoint: LLMEndpoint, make_messages, postprocess, images: bool):
    from ray.data.llm import build_processor, vLLMEngineProcessorConfig

    config = vLLMEngineProcessorConfig(
        model_source=endpoint.model, engine_kwargs=endpoint.engine_kwargs,
        concurrency=endpoint.concurrency, batch_size=16,
        accelerator_type=endpoint.accelerator_type, should_continue_on_error=True,
        prepare_multimodal_stage={"enabled": images})

    def preprocess(row: dict) -> dict:
        return {**row, "messages": make_messages(row),
                "sampling_params": {"max_tokens": endpoint.max_tokens,
                                    "temperature": endpoint.temperature}}

    return build_processor(config, preprocess=preprocess, postprocess=postprocess)


def extraction_messages(row: dict) -> list[dict]:
    return [{"role": "user", "content": extract_request(row["text"][:20000])}]


def annotation_messages(row: dict) -> list[dict]:
    image = base64.b64encode(row["image"]).decode()
    return [{"role": "user", "content": [
        {"type": "text", "text": annotate_request(row["code"])},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}}]}]


def extraction_processor(endpoint: LLMEndpoint):
    return _processor(endpoint, extraction_messages, extract_postprocess)


def annotation_processor(endpoint: LLMEndpoint):
    return _processor(endpoint, annotation_messages, annotate_postprocess, images=True)
