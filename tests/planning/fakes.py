"""Fake LLM/image servers on 127.0.0.1 for the real google-genai, openai and runwayml clients.

Each fake answers from a queue of scripted replies (`fake.queue(reply, ...)`), falling back to
`fake.default` (a callable building a reply from the request), and records every request.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakeserver import FakeCtx, LoopbackServer

__all__ = ["FakeCtx"]  # re-exported: the planning and keyframe tests import it from here


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict -> JSON, bytes -> raw, str -> text
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


ReplyFn = Callable[[Recorded], Reply]


class FakeServer(LoopbackServer):
    """A threaded HTTP server with a reply queue and a request log."""

    def __init__(self, default: ReplyFn | None = None) -> None:
        self.requests: list[Recorded] = []
        self._queue: list[Reply | ReplyFn] = []
        self.default: ReplyFn = default or (lambda rec: Reply(404, {"error": "no reply scripted"}))
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                rec = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with fake.lock:
                    fake.requests.append(rec)
                reply = fake.route(rec)
                payload = reply.body
                if isinstance(payload, (dict, list)):
                    data = json.dumps(payload).encode()
                elif isinstance(payload, str):
                    data = payload.encode()
                else:
                    data = payload or b""
                self.send_response(reply.status)
                self.send_header("content-type", reply.content_type)
                self.send_header("content-length", str(len(data)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PUT = _handle

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler, poll_interval=0.02)

    def queue(self, *replies: Reply | ReplyFn) -> None:
        with self.lock:
            self._queue.extend(replies)

    def route(self, rec: Recorded) -> Reply:
        with self.lock:
            item = self._queue.pop(0) if self._queue else None
        if item is None:
            return self.default(rec)
        return item(rec) if callable(item) else item

    def posts(self, contains: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and contains in r.path]


# ---- plans -------------------------------------------------------------------------------------


def plan_json(n: int = 3, *, durations: list[float] | None = None, keyframes: int | None = None,
              prompt_len: int | None = None, style: str = "painterly, warm dusk light") -> dict[str, Any]:
    """A valid LLM answer (the LLMPlan schema) with `n` segments and n+1 keyframes."""
    durations = durations or [5.0] * n
    segs = []
    for i in range(n):
        prompt = (f"Shot {i}: the keeper, a grey-bearded man in a yellow oilskin coat, walks along the "
                  f"lighthouse gallery at dusk, waves below, slow push in, {style}.")
        if prompt_len:
            filler = " The wind pulls at his coat as gulls wheel overhead."
            while len(prompt) < prompt_len:
                prompt += filler
        segs.append({"prompt": prompt, "duration": durations[i], "camera": f"medium shot, move {i}",
                     "continuity": "same keeper, same coat, dusk", "negative_prompt": "text, watermark"})
    k = n + 1 if keyframes is None else keyframes
    kfs = [{"prompt": f"Still {i}: the lighthouse gallery at dusk, the keeper in a yellow coat, {style}"}
           for i in range(k)]
    return {"title": "The Bottle", "style": style, "setting": "a rocky island lighthouse at dusk",
            "characters": [{"name": "the keeper", "description": "grey-bearded man, yellow oilskin coat"}],
            "segments": segs, "keyframes": kfs}


# ---- Gemini (google-genai) ---------------------------------------------------------------------


def gemini_text(text: str, finish: str = "STOP") -> Reply:
    return Reply(200, {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                                       "finishReason": finish}],
                       "usageMetadata": {"promptTokenCount": 120, "candidatesTokenCount": 480,
                                         "totalTokenCount": 600},
                       "modelVersion": "gemini-2.5-flash"})


def gemini_plan(data: dict[str, Any]) -> Reply:
    return gemini_text(json.dumps(data))


def gemini_blocked(reason: str = "SAFETY") -> Reply:
    return Reply(200, {"promptFeedback": {"blockReason": reason}, "usageMetadata": {"promptTokenCount": 10}})


def gemini_filtered(finish: str = "SAFETY") -> Reply:
    return Reply(200, {"candidates": [{"finishReason": finish}]})


def gemini_image(png: bytes, text: str | None = None) -> Reply:
    parts: list[dict[str, Any]] = []
    if text:
        parts.append({"text": text})
    parts.append({"inlineData": {"mimeType": "image/png", "data": base64.b64encode(png).decode()}})
    return Reply(200, {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}],
                       "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 1290}})


def google_error(code: int, status: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(code, {"error": {"code": code, "message": message, "status": status}}, headers or {})


class GeminiFake(FakeServer):
    """generateContent for text (plans) and images; checks the x-goog-api-key header."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(self._default)

    def route(self, rec: Recorded) -> Reply:
        if rec.headers.get("x-goog-api-key") != self.key:
            return google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
        return super().route(rec)

    def _default(self, rec: Recorded) -> Reply:
        return gemini_plan(plan_json())

    def bodies(self) -> list[Any]:
        return [r.body for r in self.posts(":generateContent")]


# ---- OpenAI ------------------------------------------------------------------------------------


def openai_message(content: str | None, *, refusal: str | None = None, finish: str = "stop") -> Reply:
    return Reply(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": content,
                                                            "refusal": refusal}, "finish_reason": finish}],
                       "usage": {"prompt_tokens": 100, "completion_tokens": 400, "total_tokens": 500}})


def openai_error(code: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(code, {"error": {"message": message, "type": "error", "code": str(code)}}, headers or {})


class OpenAIFake(FakeServer):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(lambda rec: openai_message(json.dumps(plan_json())))

    def route(self, rec: Recorded) -> Reply:
        if rec.headers.get("authorization") != f"Bearer {self.key}":
            return openai_error(401, "Incorrect API key provided")
        return super().route(rec)
