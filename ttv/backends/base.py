"""The one interface every backend implements: video backends, keyframe image providers, planners.

A backend module must import its heavy packages (torch, diffusers, an SDK) inside methods, never at
module import time, so that `ttv --help` and `ttv backends list` stay fast and work without extras.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

BackendKind = Literal["video", "image", "planner"]


class Options(BaseModel):
    """Base for per-backend options (`[backends.NAME]` in ttv.toml). Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    # Options that change how the work is done, not what comes out: left out of the inputs hash, so
    # raising concurrency, moving to a proxy or turning on CPU offload never makes finished work stale.
    operational: ClassVar[frozenset[str]] = frozenset({
        "concurrency", "base_url", "poll_interval_s", "poll_timeout_s", "request_timeout_s", "download_attempts",
        "ratio_tolerance", "timeout_s", "gpus", "gpus_per_worker", "gpu_type", "offload", "group_offload_blocks",
        "group_offload_stream", "group_offload_exclude", "vae_tiling", "vae_slicing", "attention", "compile",
        "parallel", "parallel_gpus", "ring_degree", "parallel_timeout_s",
    })


class Availability(BaseModel):
    ok: bool
    reason: str = ""  # why not, and how to fix it, when ok is False


class CostEstimate(BaseModel):
    usd: float = 0.0
    credits: float | None = None  # in the provider's own unit, where it bills in credits
    seconds: float = 0.0  # estimated wall time for this item
    source: str = ""  # which price row / timing table this came from


class VideoCapabilities(BaseModel):
    """What a video backend accepts, as data (shown by `ttv backends info`)."""

    modes: list[Literal["t2v", "i2v", "flf2v"]]
    remote: bool
    durations: list[float] | None = None  # discrete allowed durations (seconds); None = any in range
    min_duration: float = 0.5
    max_duration: float = 600.0
    fps: list[int] | None = None  # None = any
    sizes: list[tuple[int, int]] | None = None  # allowed (width, height); None = any even size
    size_multiple: int = 2  # width and height must be multiples of this
    max_prompt_chars: int | None = None
    supports_seed: bool = True
    supports_negative_prompt: bool = False
    supports_audio: bool = False
    # True when the clip's frame 0 reproduces the conditioning image (typical for I2V models):
    # stitching then drops the duplicated seam frame after checking it really is a duplicate.
    repeats_first_frame: bool = False
    key_env: list[str] = Field(default_factory=list)  # env vars that can hold the API key
    default_concurrency: int = 1


@dataclass
class VideoRequest:
    """Everything that decides one clip. `first_image`/`last_image` are PNG paths when given."""

    segment_id: str
    prompt: str
    duration: float
    width: int
    height: int
    fps: int
    seed: int
    negative_prompt: str = ""
    first_image: Path | None = None
    last_image: Path | None = None
    options: Options | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. {"mode": "chain", "index": 3}

    @property
    def frame_count(self) -> int:
        return max(1, round(self.duration * self.fps))


@dataclass
class GenerateResult:
    cost_usd: float = 0.0
    credits: float | None = None
    model: str | None = None
    info: dict[str, Any] = field(default_factory=dict)  # small, JSON/TOML-safe facts for the record


class JobContext(Protocol):
    """What the runner hands a backend while it works on one item.

    Remote backends MUST call `remember_job` right after a successful submit and before polling:
    the runner writes the id to the record, so a restart polls the same job instead of paying again.
    On restart `job_id` holds the id of the job submitted earlier (None when there is none).
    """

    job_id: str | None

    def remember_job(self, job_id: str, **info: Any) -> None: ...

    def progress(self, fraction: float | None = None, *, step: int | None = None, total: int | None = None,
                 status: str | None = None, message: str | None = None) -> None: ...

    def event(self, type: str, **data: Any) -> None: ...

    def sleep(self, seconds: float) -> None: ...  # injectable for tests; honours cancellation

    def now(self) -> float: ...  # monotonic clock, injectable


class Backend(ABC):
    """Common base: name, kind, options model, availability."""

    name: ClassVar[str]
    kind: ClassVar[BackendKind]
    summary: ClassVar[str] = ""
    extra: ClassVar[str | None] = None  # pip extra needed, e.g. "remote" or "local"
    OptionsModel: ClassVar[type[Options]] = Options

    def __init__(self, options: Options | None = None) -> None:
        self.options = options if options is not None else self.OptionsModel()

    def is_available(self) -> Availability:
        return Availability(ok=True)

    def model_name(self) -> str:
        return str(getattr(self.options, "model", "") or self.name)


class VideoBackend(Backend):
    kind: ClassVar[BackendKind] = "video"

    @abstractmethod
    def capabilities(self) -> VideoCapabilities: ...

    def validate_inputs(self, request: VideoRequest) -> None:
        """Raise InputRejected (naming the allowed values) for what the provider would reject."""
        from ttv.backends.validation import validate_against_capabilities

        validate_against_capabilities(self.name, self.capabilities(), request)

    @abstractmethod
    def estimate_cost(self, request: VideoRequest) -> CostEstimate: ...

    @abstractmethod
    def generate(self, request: VideoRequest, output: Path, ctx: JobContext) -> GenerateResult:
        """Write an mp4 to `output` (a `.partial` path the runner renames on success)."""

    def concurrency(self) -> int:
        """How many items this instance may work on at once (remote: concurrent jobs)."""
        value = getattr(self.options, "concurrency", None)
        return int(value) if value else self.capabilities().default_concurrency

    def worker_backends(self) -> list[VideoBackend]:
        """Instances the runner may use in parallel. Remote backends return [self] and set
        concurrency(); a local backend returns one instance per GPU (or GPU group), each loading its
        pipeline once and then generating many segments."""
        return [self]

    def set_schedule(self, mode: str, segments: int | None) -> None:
        """Told before `worker_backends()`: the project's mode (chain/keyframe) and how many clips this run
        renders, so a backend that can put several GPUs on one clip groups them to suit (local Wan)."""

    def cancel(self, job_id: str) -> None:  # remote backends override
        raise NotImplementedError(f"{self.name} has no remote jobs to cancel")

    def close(self) -> None:
        """Free resources (a loaded pipeline, an HTTP client). Called once per run."""


@dataclass
class ImageRequest:
    keyframe_id: str
    prompt: str
    width: int
    height: int
    seed: int
    style: str = ""
    reference_images: list[Path] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class ImageProvider(Backend):
    kind: ClassVar[BackendKind] = "image"
    remote: ClassVar[bool] = False

    def estimate_cost(self, request: ImageRequest) -> CostEstimate:
        return CostEstimate()

    def concurrency(self) -> int:
        """Keyframes made at once: remote providers default to 4 jobs, local ones to 1."""
        value = getattr(self.options, "concurrency", None)
        return int(value) if value else (4 if self.remote else 1)

    @abstractmethod
    def generate(self, request: ImageRequest, output: Path, ctx: JobContext) -> GenerateResult:
        """Write a PNG of exactly request.width x request.height to `output`."""

    def close(self) -> None:
        pass


@dataclass
class PlanRequest:
    idea: str
    mode: Literal["keyframe", "chain"]
    segments: int | None  # wanted count, or None to derive from total duration
    total_duration: float | None
    style: str
    seed: int
    # allowed segment durations of the chosen video backend (planner snaps to these)
    capabilities: VideoCapabilities | None = None
    default_segment_duration: float = 5.0


class PlannedKeyframe(BaseModel):
    id: str
    prompt: str


class PlannedSegment(BaseModel):
    id: str
    duration: float
    prompt: str
    negative_prompt: str = ""
    camera: str = ""
    continuity: str = ""


class PlanDraft(BaseModel):
    segments: list[PlannedSegment]
    keyframes: list[PlannedKeyframe]
    style: str = ""


class Planner(Backend):
    kind: ClassVar[BackendKind] = "planner"
    remote: ClassVar[bool] = False

    def estimate_cost(self, request: PlanRequest) -> CostEstimate:
        return CostEstimate()

    @abstractmethod
    def plan(self, request: PlanRequest, ctx: JobContext) -> PlanDraft: ...


ProgressFn = Callable[[float], None]
