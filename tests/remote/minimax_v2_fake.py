"""A loopback fake of MiniMax API v2 (the MiniMax-H3 family), on the shared FakeProvider job model:

    POST   /v2/video_generation                 {model, content, duration, resolution, ratio} -> {task_id}
    GET    /v2/query/video_generation/{id}      {task: {id, status, model, content: {url}, duration, ...}}
    GET    /v2/query/video_generation           {items: [...], total}      (list; ttv does not use it)
    DELETE /v2/video_generation/{id}            queued: cancelled; finished: deleted; running: HTTP 400

Script steps (one per status poll, as in tests/remote/fakes.py): "queued", "throttled" (also queued),
"running", "succeeded", "failed:CODE" (task.error.code is a string, as MiniMax sends it),
"cancelled", "expired", and "raw:TEXT" to answer a status string verbatim (case and unknown values).

Errors follow the v2 shape: real HTTP statuses with
`{"type": "error", "error": {"type", "message", "http_code"}, "request_id"}`, the MiniMax code in
brackets at the end of the message.
"""

from __future__ import annotations

import re
from typing import Any

from .fakes import FakeJob, FakeProvider, Recorded, Reply

STATUS = {"queued": "queued", "throttled": "queued", "running": "running", "succeeded": "succeeded",
          "failed": "failed", "cancelled": "cancelled", "expired": "expired"}


def error_reply(status: int, kind: str, message: str) -> Reply:
    return Reply(status, {"type": "error", "error": {"type": kind, "message": message, "http_code": str(status)},
                          "request_id": "req-fake"})


class MiniMaxV2Fake(FakeProvider):
    """MiniMax API v2 (MiniMax-H3): see the module docstring. Records `deletes` (DELETE calls that
    deleted a finished task) besides the shared counters; `cancels` counts queued tasks cancelled."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deletes = 0

    def unauthorized(self) -> Reply:  # v2 answers a real 401 (v1 sends HTTP 200 with base_resp 1004)
        return error_reply(401, "authorized_error", "login fail: Please carry the API secret key in the "
                                                    "'Authorization' field of the request header (1004)")

    def task_status(self, job: FakeJob, step: str) -> str:
        if step.startswith("raw:"):
            return step[4:]
        return STATUS[step.split(":", 1)[0]]

    def task(self, job: FakeJob, step: str) -> dict[str, Any]:
        status = self.task_status(job, step)
        body = job.args
        task: dict[str, Any] = {"id": job.id, "model": body.get("model", "MiniMax-H3"), "status": status,
                                "created_at": 1785225940, "updated_at": 1785226100,
                                "resolution": body.get("resolution", "768P"), "duration": int(job.duration),
                                "ratio": body.get("ratio", "adaptive"), "task_type": "generation", "usage": {}}
        if status.lower() == "succeeded":
            task["content"] = {"url": self.result_url(job)}
            task["usage"] = {"total_seconds": int(job.duration), "input_seconds": 0,
                             "output_seconds": int(job.duration), "input_image_count": sum(
                                 1 for c in body.get("content", []) if c.get("type") == "image_url")}
        elif status.lower() == "failed":
            code = step.split(":", 1)[1] if ":" in step else "1000"
            task["error"] = {"code": code, "message": f"failed {code}"}
        return task

    def route(self, rec: Recorded) -> Reply:
        if rec.method == "POST" and rec.path == "/v2/video_generation":
            body = rec.body if isinstance(rec.body, dict) else {}
            texts = [c for c in body.get("content", []) if isinstance(c, dict) and c.get("type") == "text"]
            if not texts or not str(texts[0].get("text", "")).strip():
                return error_reply(400, "bad_request_error", "content must have a non-empty text item (2013)")
            new = self.new_job(body, float(body.get("duration", 5)), prefix="4246356019325")
            return Reply(200, {"task_id": new.id})
        if rec.method == "GET" and rec.path == "/v2/query/video_generation":
            items = [self.task(job, job.peek()) for job in self.jobs.values()]
            return Reply(200, {"items": items, "total": len(items)})
        m = re.fullmatch(r"/v2/query/video_generation/([^/]+)", rec.path)
        if m and rec.method == "GET":
            job = self.jobs.get(m.group(1))
            if job is None:
                return error_reply(400, "bad_request_error", "invalid task_id (2013)")
            self.polls += 1
            return Reply(200, {"task": self.task(job, job.advance(self.latency))})
        m = re.fullmatch(r"/v2/video_generation/([^/]+)", rec.path)
        if m and rec.method == "DELETE":
            job = self.jobs.get(m.group(1))
            if job is None:
                return error_reply(400, "bad_request_error", "invalid task_id (2013)")
            status = self.task_status(job, job.peek())
            if status == "queued":
                self.cancels += 1
                job.cancelled = True
                return Reply(200, {"task_id": job.id, "action": "cancelled", "status": "cancelled"})
            if status in ("succeeded", "failed", "expired"):
                self.deletes += 1
                del self.jobs[job.id]
                return Reply(200, {"task_id": job.id, "action": "deleted", "status": "deleted"})
            return error_reply(400, "bad_request_error", f"task is {status}, cannot cancel (2013)")
        return error_reply(404, "not_found_error", f"no route {rec.method} {rec.path}")
