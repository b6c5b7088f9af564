"""Test-only video backends that fail in controlled ways (real mp4 output through the animatic)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import ClassVar

from ttv.backends.base import (
    Continuation,
    CostEstimate,
    GenerateResult,
    JobContext,
    VideoCapabilities,
    VideoRequest,
    plan_continuation,
)
from ttv.backends.offline.animatic import AnimaticBackend, AnimaticOptions
from ttv.core.errors import BackendError

CALLS: dict[str, list[str]] = {}
_lock = threading.Lock()


def calls(name: str) -> list[str]:
    return CALLS.setdefault(name, [])


class _Base(AnimaticBackend):
    OptionsModel = AnimaticOptions

    def _note(self, what: str) -> None:
        with _lock:
            calls(self.name).append(what)


class FlakyBackend(_Base):
    """Fails twice with a retryable 503 per segment, then succeeds."""

    name: ClassVar[str] = "flaky"

    def generate(self, request: VideoRequest, output: Path, ctx: JobContext) -> GenerateResult:
        self._note(request.segment_id)
        if calls(self.name).count(request.segment_id) <= 2:
            raise BackendError("503 service unavailable", kind="retryable", code="503", retry_after=7)
        return super().generate(request, output, ctx)


class BrokenBackend(_Base):
    """Always fails permanently for this backend (like an auth error)."""

    name: ClassVar[str] = "broken"

    def generate(self, request: VideoRequest, output: Path, ctx: JobContext) -> GenerateResult:
        self._note(request.segment_id)
        raise BackendError("401 invalid key", kind="backend", code="auth")


class PickyBackend(_Base):
    """Rejects segment s001 for safety (permanent for the request); renders the others."""

    name: ClassVar[str] = "picky"

    def generate(self, request: VideoRequest, output: Path, ctx: JobContext) -> GenerateResult:
        self._note(request.segment_id)
        if request.segment_id == "s001":
            raise BackendError("SAFETY.INPUT.TEXT: prompt rejected", kind="request", code="SAFETY.INPUT.TEXT")
        return super().generate(request, output, ctx)


class PaidRemoteBackend(_Base):
    """A 'remote' backend: $1 per segment, submits a job and remembers it before 'polling'."""

    name: ClassVar[str] = "paid"

    def capabilities(self) -> VideoCapabilities:
        return super().capabilities().model_copy(update={"remote": True, "default_concurrency": 4})

    def estimate_cost(self, request: VideoRequest) -> CostEstimate:
        return CostEstimate(usd=1.0, seconds=30.0, source="test")

    def generate(self, request: VideoRequest, output: Path, ctx: JobContext) -> GenerateResult:
        if ctx.job_id is None:
            self._note(f"submit {request.segment_id}")
            ctx.remember_job(f"job-{request.segment_id}", provider="paid")
        else:
            self._note(f"poll {ctx.job_id}")
        super().generate(request, output, ctx)
        return GenerateResult(cost_usd=1.0, model="paid-1")


class PriceyBackend(PaidRemoteBackend):
    """Estimates $0.50 a clip but bills $2.00: the budget must be re-checked as actual costs arrive."""

    name: ClassVar[str] = "pricey"

    def estimate_cost(self, request: VideoRequest) -> CostEstimate:
        return CostEstimate(usd=0.5, seconds=30.0, source="test")

    def generate(self, request: VideoRequest, output: Path, ctx: JobContext) -> GenerateResult:
        result = super().generate(request, output, ctx)
        result.cost_usd = 2.0
        return result


class SlowRemoteBackend(PaidRemoteBackend):
    """A job that takes a minute at the 'provider' (polling waits through ctx.sleep)."""

    name: ClassVar[str] = "slowpaid"

    def generate(self, request: VideoRequest, output: Path, ctx: JobContext) -> GenerateResult:
        if ctx.job_id is None:
            self._note(f"submit {request.segment_id}")
            ctx.remember_job(f"job-{request.segment_id}", provider="slowpaid")
        ctx.sleep(60)
        return super().generate(request, output, ctx)

    def cancel(self, job_id: str) -> None:
        self._note(f"cancel {job_id}")


def counter_level(c: int) -> int:
    return 20 + 7 * c


def counter_of(frame) -> int:  # type: ignore[no-untyped-def]
    return round((float(frame.mean()) - 20) / 7)


class ContinuerBackend(_Base):
    """Continues from the previous clip's last K frames (any K up to 9): its output starts with those K frames
    (as a real continuation model re-renders them), then `duration x fps` new frames. Every frame is a flat
    grey whose level counts frames over the whole film, so a stitched film must count 0, 1, 2, ... exactly."""

    name: ClassVar[str] = "continuer"

    def capabilities(self) -> VideoCapabilities:
        return super().capabilities().model_copy(update={"continuation": Continuation(frames=list(range(2, 10)))})

    def generate(self, request: VideoRequest, output: Path, ctx: JobContext) -> GenerateResult:
        import numpy as np

        from ttv.core.media import FrameWriter, last_frames_arrays

        self._note(request.segment_id)
        cont = plan_continuation(self.name, self.capabilities(), request.previous.frames) if request.previous else None
        head: list = []
        if request.previous is not None and cont is not None and cont.how == "tail":
            head = last_frames_arrays(request.previous.path, cont.frames, request.previous.seam_offset)
        start = counter_of(head[-1]) + 1 if head else 0
        new = [np.full((request.height, request.width, 3), counter_level(start + i), np.uint8)
               for i in range(request.frame_count)]
        with FrameWriter(output, request.width, request.height, request.fps, crf=0) as writer:
            for frame in [*head, *new]:
                writer.write(frame)
        info = {"frames": len(head) + len(new)}
        if head:
            info.update(continued="tail", continue_frames=len(head), head_repeat=len(head),
                        tail_offset=request.previous.seam_offset if request.previous else 0)
        return GenerateResult(model="continuer", info=info)


FAKES = {"continuer": ContinuerBackend, "pricey": PriceyBackend, "slowpaid": SlowRemoteBackend, "flaky": FlakyBackend, "broken": BrokenBackend, "picky": PickyBackend, "paid": PaidRemoteBackend}
