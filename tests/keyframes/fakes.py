"""A fake Runway API on 127.0.0.1 for `text_to_image` tasks (the real runwayml SDK talks to it)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.planning.fakes import FakeServer, Recorded, Reply


@dataclass
class Task:
    id: str
    body: dict
    script: list[str]
    step: int = 0
    serial: int = 0


class RunwayImageFake(FakeServer):
    """POST /v1/text_to_image -> task; GET /v1/tasks/{id} follows `script` (one step per poll):
    "PENDING", "THROTTLED", "RUNNING:0.4", "SUCCEEDED", "FAILED:<code>", "CANCELLED".
    Result images are served at /files/<task>-<serial>.png; `expire` makes the first N fetches 403.
    `image_size` is the size of the returned images; `credits` the reported cost."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.tasks: dict[str, Task] = {}
        self.script = ["PENDING", "RUNNING:0.5", "SUCCEEDED"]
        self.expire = 0
        self.image_size = (1280, 720)
        self.credits: float | None = 5
        self.downloads = 0
        super().__init__(self._default)

    def route(self, rec: Recorded) -> Reply:
        if rec.path.startswith("/v1/") and rec.headers.get("authorization") != f"Bearer {self.key}":
            return Reply(401, {"error": "Invalid API key"})
        return super().route(rec)

    def add_task(self, task_id: str, script: list[str] | None = None) -> Task:
        task = Task(task_id, {}, list(script or self.script))
        self.tasks[task_id] = task
        return task

    def _default(self, rec: Recorded) -> Reply:
        from .conftest import png_bytes

        if rec.method == "POST" and rec.path == "/v1/text_to_image":
            task_id = f"task-{len(self.tasks) + 1}"
            task = self.add_task(task_id)
            task.body = rec.body
            return Reply(200, {"id": task_id})
        m = re.fullmatch(r"/v1/tasks/([\w-]+)", rec.path)
        if m and rec.method == "DELETE":
            return Reply(204, b"")
        if m and rec.method == "GET":
            task = self.tasks.get(m.group(1))
            if task is None:
                return Reply(404, {"error": "Task not found"})
            status = task.script[min(task.step, len(task.script) - 1)]
            task.step += 1
            base = {"id": task.id, "createdAt": "2026-11-27T10:00:00Z"}
            name, _, arg = status.partition(":")
            if name in ("PENDING", "THROTTLED"):
                return Reply(200, {**base, "status": name, "estimatedCost": {"credits": 5}})
            if name == "RUNNING":
                return Reply(200, {**base, "status": "RUNNING", "progress": float(arg or 0.5),
                                   "estimatedCost": {"credits": 5}})
            if name == "SUCCEEDED":
                task.serial += 1
                body = {**base, "status": "SUCCEEDED", "output": [f"{self.url}/files/{task.id}-{task.serial}.png"]}
                if self.credits is not None:
                    body["cost"] = {"credits": self.credits}
                return Reply(200, body)
            if name == "FAILED":
                return Reply(200, {**base, "status": "FAILED", "cost": {"credits": 0}, "failure": "refused",
                                   "failureCode": arg or "INTERNAL"})
            return Reply(200, {**base, "status": "CANCELLED", "cost": {"credits": 0}})
        if rec.method == "GET" and rec.path.startswith("/files/"):
            self.downloads += 1
            if self.expire > 0:
                self.expire -= 1
                return Reply(403, b"expired", content_type="text/plain")
            return Reply(200, png_bytes(*self.image_size), content_type="image/png")
        return Reply(404, {"error": f"no route {rec.method} {rec.path}"})

    def submissions(self) -> list[Recorded]:
        return self.posts("/v1/text_to_image")

    def polls(self, task_id: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if r.method == "GET" and r.path.startswith("/v1/tasks/")
                and (task_id is None or r.path.endswith(task_id))]
