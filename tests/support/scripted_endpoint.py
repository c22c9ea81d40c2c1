"""A small OpenAI-compatible chat server that answers known code: the stand-in endpoint for
the bench tests and the bench overlap benchmark (a real HTTP server on 127.0.0.1, spoken to by
the official openai client; no model behind it).

A policy maps (task key, round) to an answer; the task key is found in the first user turn,
the round is the number of assistant turns already in the conversation. Requests carrying an
image are judge calls and get a fixed ``[FINAL SCORE]``. Optional latency with a concurrency
cap imitates a GPU server's capacity; ``faults`` makes the first N calls for a key fail with a
status code (429, 500) to exercise retries.

    with ScriptedEndpoint(policy, latency_s=0.2, capacity=8) as ep:
        ep.base_url  # http://127.0.0.1:PORT/v1
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Policy = Callable[[str, int], str | None]  # (first user turn, round) -> answer


class ScriptedEndpoint:
    def __init__(self, policy: Policy, *, latency_s: float = 0.0, capacity: int = 64,
                 judge_reply: str = "[FINAL SCORE]: 80", faults: dict[str, tuple[int, int]] | None = None,
                 model: str = "scripted"):
        self.policy = policy
        self.latency_s = latency_s
        self.slots = threading.Semaphore(capacity)
        self.judge_reply = judge_reply
        self.faults = dict(faults or {})  # key -> (status, how many times)
        self.fault_counts: Counter[str] = Counter()
        self.model = model
        self.conversations: dict[str, list[list[dict[str, Any]]]] = defaultdict(list)
        self.requests = Counter()
        self.lock = threading.Lock()
        self.arrivals: list[float] = []  # time.monotonic() of each generation request
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> ScriptedEndpoint:
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # --- answering ----------------------------------------------------------------------
    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, {"error": {"message": "messages must be a non-empty list"}}
        if any(isinstance(m.get("content"), list) and any(p.get("type") == "image_url" for p in m["content"])
               for m in messages if isinstance(m, dict)) and _is_judge(messages):
            kind = "judge"
            text = self.judge_reply
        else:
            kind = "gen"
            first_user = next((m.get("content") for m in messages if m.get("role") == "user"), "")
            first_user = first_user if isinstance(first_user, str) else json.dumps(first_user)
            rounds = sum(1 for m in messages if m.get("role") == "assistant")
            with self.lock:
                key = _key(first_user, self.faults)
                status, times = self.faults.get(key, (0, 0)) if key else (0, 0)
                if key and self.fault_counts[key] < times:
                    self.fault_counts[key] += 1
                    return status, {"error": {"message": f"injected fault {status}"}}
                self.conversations[first_user].append(messages)
                self.arrivals.append(time.monotonic())
            text = self.policy(first_user, rounds)
            if text is None:
                return 500, {"error": {"message": "the policy has no answer"}}
        with self.slots:  # capacity: at most N requests are being 'generated' at once
            time.sleep(self.latency_s)
            with self.lock:
                self.requests[kind] += 1
        return 200, {
            "id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def _is_judge(messages: list[dict[str, Any]]) -> bool:
    text = json.dumps(messages)
    return "[FINAL SCORE]" in text


def _key(first_user: str, faults: dict[str, Any]) -> str | None:
    return next((k for k in faults if k in first_user), None)


def _make_handler(endpoint: ScriptedEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": endpoint.model, "object": "model"}]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._send(400, {"error": {"message": "invalid JSON"}})
                return
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": "not found"}})
                return
            self._send(*endpoint.answer(body))

    return Handler
