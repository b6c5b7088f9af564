"""The one interface every backend implements: video backends, keyframe image providers, planners.

A backend module must import its heavy packages (torch, diffusers, an SDK) inside methods, never at
module import time, so that `ttv --help` and `ttv backends list` stay fast and work without extras.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ttv.core import keys, prices
from ttv.core.errors import InputRejected
from ttv.core.keys import KeyProvider
from ttv.core.prices import PriceRow

if TYPE_CHECKING:
    from ttv.backends.keycheck import KeyCheck

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

    # Chaining: condition the next clip on the previous clip's last K frames (1 = its last frame, as always).
    # Not operational: K changes the clip, so it enters the inputs hash.
    continue_frames: int | None = Field(None, ge=1, le=257, description="chaining: continue from the previous "
                                        "clip's last K frames where the backend can (see `ttv backends info`)")

    @classmethod
    def describe(cls, name: str) -> str:
        """What option `name` means: its own description, else the meaning it has for every backend."""
        field = cls.model_fields.get(name)
        own = field.description if field is not None else None
        return own or COMMON_OPTION_HELP.get(name, "")


# Options many backends share, described once (a backend's own Field description wins).
COMMON_OPTION_HELP: dict[str, str] = {
    "model": "the provider's model id (`ttv backends info NAME` lists the models it knows)",
    "concurrency": "items worked on at the same time",
    "poll_interval_s": "seconds between two status checks of a remote job",
    "end_frame": "a segment's end keyframe: auto (sent where the model takes one), require (refuse models that "
                 "cannot), ignore (never sent)",
    "resolution": "output resolution the provider renders at",
    "enhance_prompt": "let the provider rewrite the prompt (unset: the provider's default)",
    "vae_slicing": "decode the batch one sample at a time (less memory, a little slower)",
    "group_offload_type": "group offload granularity: block_level (groups of blocks) or leaf_level (each layer)",
    "sampling": "the sampler settings of the model (see its model card)",
    "show_text": "draw the prompt on the card",
    "segment_duration": "seconds per segment when the plan does not say",
}


class Availability(BaseModel):
    ok: bool
    reason: str = ""  # why not, and how to fix it, when ok is False


class CostEstimate(BaseModel):
    usd: float = 0.0
    credits: float | None = None  # in the provider's own unit, where it bills in credits
    seconds: float = 0.0  # estimated wall time for this item
    source: str = ""  # which price row / timing table this came from


class Continuation(BaseModel):
    """How a backend continues the previous clip in chaining mode with `continue_frames` > 1, as data.

    `frames`: the tail lengths K it accepts (conditioning on the previous clip's last K frames); empty when
    it conditions on one frame only. `extend`: instead of a tail, the provider extends the previous clip's
    whole video (remote video extension). Either way the output's head repeats the conditioning (the tail,
    re-rendered, or the whole input video); the backend reports how many frames in `info["head_repeat"]`
    and the stitch trims exactly those.
    """

    frames: list[int] = Field(default_factory=list)
    frame_rule: str = ""  # the rule behind `frames`, as users read it (e.g. "8k+1")
    size_multiple: int = 1  # width/height rule of the continuation route
    extend: bool = False
    max_input_seconds: float | None = None  # extension: the longest input video the provider takes
    note: str = ""  # anything else a user should know (shown by `ttv backends info`)


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
    continuation: Continuation | None = None  # None: chaining hands over the last frame only


@dataclass
class PreviousClip:
    """Chaining with `continue_frames` > 1: the clip this one continues (its mp4 and what its record says)."""

    path: Path
    frames: int  # K asked for (the backend decides what it can do: see `plan_continuation`)
    seam_offset: int = 0  # the tail ends this many frames before the clip's end
    info: dict[str, Any] = field(default_factory=dict)  # the previous record's info (e.g. a provider's video_uri)
    backend: str = ""  # the backend that made it
    finished_at: str = ""  # when it was made (ISO 8601): a provider keeps its own copy only for so long


@dataclass
class ContinuePlan:
    """What a backend will do with a PreviousClip: "tail" (last `frames` frames), "extend" (the whole video)
    or "frame" (the last frame only, the start image), with a note when that is not what was asked."""

    how: Literal["tail", "extend", "frame"]
    frames: int = 1
    note: str = ""


def plan_continuation(name: str, caps: VideoCapabilities, k: int) -> ContinuePlan:
    """The continuation a backend with these capabilities gives for `continue_frames = k`."""
    cont = caps.continuation
    if k <= 1:
        return ContinuePlan("frame")
    if cont is not None and cont.frames:
        if k in cont.frames:
            return ContinuePlan("tail", k)
        lower = [f for f in cont.frames if f <= k]
        use = max(lower) if lower else min(cont.frames)
        rule = f" ({cont.frame_rule})" if cont.frame_rule else ""
        return ContinuePlan("tail", use, f"{name}: continue_frames = {k} is not a tail length it takes{rule}; "
                                         f"using the last {use} frames")
    if cont is not None and cont.extend:
        return ContinuePlan("extend")
    return ContinuePlan("frame", 1, f"{name} cannot continue from several frames: continue_frames = {k} "
                                    "falls back to its last frame")


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
    previous: PreviousClip | None = None  # chaining with continue_frames > 1 (first_image is still its last frame)

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
    """Common base: name, kind, options model, availability, and the backend's provider facts.

    The class is the one place its provider facts are written; keys, prices, estimate and doctor read
    them from here (built-ins and plugins alike), so adding a video API is one module plus one entry
    point. On class definition `__init_subclass__` registers `key_provider` (the backend's name
    becoming an alias of it) with `ttv.core.keys` and `price_rows` with `ttv.core.prices`.
    """

    name: ClassVar[str]
    kind: ClassVar[BackendKind]
    summary: ClassVar[str] = ""
    OptionsModel: ClassVar[type[Options]] = Options

    # ---- provider facts -----------------------------------------------------------------------
    # The API key: a KeyProvider (name, env variables, where to get one), or the name of one another
    # backend declares (a plugin reusing a built-in's account key); None when no key is needed.
    key_provider: ClassVar[KeyProvider | str | None] = None
    # Rows of the shared dated price table this backend bills by (`ttv estimate`, recorded costs).
    price_rows: ClassVar[tuple[PriceRow, ...]] = ()
    # `ttv doctor --online`: a read-only request telling a good key from a bad or empty one (keycheck.py),
    # and environment variables that may hold the API base URL it should ask (a proxy, a test fake).
    key_check: ClassVar[KeyCheck | None] = None
    base_url_env: ClassVar[tuple[str, ...]] = ()
    # pip extra of ttv this backend needs ("remote", "local"; None: none or a plugin's own dependencies),
    # the distributions it imports (doctor lists their versions), and the version ranges it was tested
    # with ({"some-sdk": ">=5,<6"}: outside them doctor warns).
    extra: ClassVar[str | None] = None
    packages: ClassVar[tuple[str, ...]] = ()
    tested_versions: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")  # only a class that names itself is a backend (not a shared base)
        provider = cls.key_provider
        if isinstance(provider, KeyProvider):
            keys.register_provider(provider, *([name] if isinstance(name, str) else []))
        elif isinstance(provider, str) and isinstance(name, str):
            keys.add_alias(name, provider)
        if "price_rows" in cls.__dict__:
            prices.register_rows(cls.price_rows)

    def __init__(self, options: Options | None = None) -> None:
        self.options = options if options is not None else self.OptionsModel()

    def is_available(self) -> Availability:
        return Availability(ok=True)

    def packages_needed(self) -> tuple[str, ...]:
        """The distributions this configured instance imports (doctor: which extra the project needs); a
        route that speaks plain HTTP may need none of the class's `packages`."""
        return tuple(self.packages)

    def model_name(self) -> str:
        return str(getattr(self.options, "model", "") or self.name)


VideoMode = Literal["t2v", "i2v", "flf2v"]
RunMode = Literal["keyframe", "chain"]
# What a backend does with the end keyframe in keyframe mode (`end_frame` option): "auto"/"require" use it
# and refuse a model that cannot; "ignore" is the explicit opt-in to first-frame-only (pipeline/verdict.py).
EndFrame = Literal["auto", "require", "ignore"]


class VideoBackend(Backend):
    kind: ClassVar[BackendKind] = "video"
    # True when generate() reads the plan's camera (request.extra["camera"]) beyond the prompt: the
    # camera then decides the clip and is part of its inputs hash.
    reads_camera: ClassVar[bool] = False

    # The model used when `[backends.NAME]` sets no `model`, per run mode: keyframe mode wants one taking
    # first and last frames, chaining one taking a start image (read by ttv/pipeline/verdict.py).
    mode_models: ClassVar[dict[str, str]] = {}

    def offered_models(self) -> list[str]:
        """The model ids this backend offers (the mode table); [] when it has no choice of model."""
        return []

    def end_frame(self) -> EndFrame:
        value = getattr(self.options, "end_frame", "auto")
        return "ignore" if value == "ignore" else "require" if value == "require" else "auto"

    @abstractmethod
    def capabilities(self) -> VideoCapabilities: ...

    def validate_inputs(self, request: VideoRequest) -> None:
        """Raise InputRejected (naming the allowed values) for what the provider would reject."""
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
        renders, so a backend that can put several GPUs on one clip groups them to suit (sequence parallelism)."""

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


# -- generic request checks against declared capabilities ------------------------------------------
def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def validate_against_capabilities(name: str, caps: VideoCapabilities, req: VideoRequest) -> None:
    where = f"{name}: segment {req.segment_id}"
    if caps.durations is not None and not any(abs(req.duration - d) < 1e-6 for d in caps.durations):
        raise InputRejected(f"{where}: duration {req.duration:g} s is not allowed; allowed: {_fmt(caps.durations)} s",
                            hint="change `duration` in plan.toml or re-plan with `ttv plan --force`")
    if not caps.min_duration - 1e-9 <= req.duration <= caps.max_duration + 1e-9:
        raise InputRejected(f"{where}: duration {req.duration:g} s is outside {caps.min_duration:g}-{caps.max_duration:g} s",
                            hint="change `duration` in plan.toml")
    if caps.fps is not None and req.fps not in caps.fps:
        raise InputRejected(f"{where}: fps {req.fps} is not allowed; allowed: {_fmt([float(f) for f in caps.fps])}",
                            hint="change `fps` in ttv.toml (stitch converts mixed fps)")
    if caps.sizes is not None and (req.width, req.height) not in caps.sizes:
        allowed = ", ".join(f"{w}x{h}" for w, h in caps.sizes)
        raise InputRejected(f"{where}: size {req.width}x{req.height} is not allowed; allowed: {allowed}",
                            hint="set `width`/`height` in ttv.toml, or the backend's size option")
    m = caps.size_multiple
    if req.width % m or req.height % m:
        raise InputRejected(f"{where}: size {req.width}x{req.height} must be a multiple of {m}",
                            hint=f"e.g. {req.width // m * m}x{req.height // m * m}")
    if caps.max_prompt_chars is not None and len(req.prompt) > caps.max_prompt_chars:
        raise InputRejected(f"{where}: prompt has {len(req.prompt)} characters; the limit is {caps.max_prompt_chars}",
                            hint="shorten the segment's prompt in plan.toml")
    needs_image = "t2v" not in caps.modes
    if needs_image and req.first_image is None:
        raise InputRejected(f"{where}: this backend needs a start image (modes: {', '.join(caps.modes)})",
                            hint="run `ttv keyframes` first")
