"""Helpers of tests/ray (a uniquely named module: tests/local has its own `conftest` on sys.path)."""

from __future__ import annotations

import time
from typing import Any

FAKE_GPUS = 2  # GPUs the session's Ray declares (see conftest): two actors, both rendering on the CPU


class RecordingCtx:
    """A JobContext that records progress and events; `stop_after` running steps, progress raises."""

    def __init__(self, stop_after: int | None = None, exc: type[BaseException] = KeyboardInterrupt) -> None:
        self.job_id: str | None = None
        self.progress_calls: list[dict[str, Any]] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.stop_after = stop_after
        self.exc = exc

    def remember_job(self, job_id: str, **info: Any) -> None:
        self.job_id = job_id

    def progress(self, fraction: float | None = None, *, step: int | None = None, total: int | None = None,
                 status: str | None = None, message: str | None = None) -> None:
        self.progress_calls.append({"fraction": fraction, "step": step, "total": total, "status": status})
        if self.stop_after is not None and len(self.steps()) >= self.stop_after:
            raise self.exc()

    def event(self, type: str, **data: Any) -> None:
        self.events.append((type, data))

    def sleep(self, seconds: float) -> None:
        pass

    def now(self) -> float:
        return time.monotonic()

    def steps(self) -> list[tuple[int, int]]:
        return [(c["step"], c["total"]) for c in self.progress_calls if c["status"] == "running"]
