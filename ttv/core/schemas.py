"""Pydantic schemas of the three kinds of TOML file in a project: ttv.toml, plan.toml, records."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION = 1
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class StitchConfig(Strict):
    crossfade: float = Field(0.0, ge=0.0, le=5.0, description="seconds of crossfade between segments (0: hard cuts)")
    # None = automatic: on in chaining mode (drift compounds over hops), off in keyframe mode
    color_match: bool | None = Field(None, description="correct colour drift at seams; unset: on in chain mode, "
                                                       "off in keyframe mode")
    seam_offset: int = Field(0, ge=0, le=30, description="chaining: hand over the frame k frames before the end")
    fit: Literal["letterbox", "crop"] = Field("letterbox", description="clips of another aspect: letterbox or crop")
    soundtrack: str = Field("", description="audio file (path in the project) mixed under the clips")
    drop_duplicate_seams: bool = Field(True, description="drop a clip's first frame when it repeats the previous "
                                                         "clip's last one")


class ProjectConfig(Strict):
    """ttv.toml: written by `ttv init`, edited by the user."""

    schema_: int = Field(SCHEMA_VERSION, alias="schema", description="ttv.toml format version")
    idea: str = Field(min_length=1, description="the idea or whole script the film is planned from")
    mode: Literal["keyframe", "chain"] = Field("keyframe", description="keyframe: clips between keyframes, in "
                                               "parallel; chain: each clip starts from the previous one's last frame")
    duration: float | None = Field(30.0, gt=0, le=3600, allow_inf_nan=False, description="total seconds")
    segments: int | None = Field(None, ge=1, le=1000, description="number of segments (overrides duration/5)")
    width: int = Field(1280, ge=16, le=7680, description="width in pixels (even)")
    height: int = Field(720, ge=16, le=4320, description="height in pixels (even)")
    fps: int = Field(24, ge=1, le=120, description="frames per second of the film")
    seed: int = Field(7, ge=0, description="base seed; every keyframe and clip derives its own from it")
    style: str = Field("", description="visual style carried into every prompt")
    planner: str = Field("heuristic", description="shot planner: heuristic (offline), gemini, openai")
    keyframes: str = Field("card", description="keyframe provider: card (offline), files, diffusers, gemini-image, "
                                               "runway-image")
    backend: str = Field("animatic", description="video backend (`ttv backends list --kind video`)")
    fallback: list[str] = Field(default_factory=list, description="backends tried in order when one fails for good")
    max_cost_usd: float | None = Field(None, ge=0, description="budget: work whose estimate would exceed it is refused")
    retries: int = Field(3, ge=0, le=20, description="retries per backend after a retryable failure (429, 5xx, timeouts): 3 means up to 4 attempts on each backend")
    backends: dict[str, dict[str, Any]] = Field(default_factory=dict, description="per-backend options, "
                                                "[backends.NAME] (`ttv backends info NAME` lists them)")
    stitch: StitchConfig = Field(default_factory=lambda: StitchConfig(), description="how clips are joined")
    prices: dict[str, float] = Field(default_factory=dict, description="USD price overrides, see `ttv estimate`")

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    @field_validator("schema_")
    @classmethod
    def _known_schema(cls, v: int) -> int:
        if v != SCHEMA_VERSION:
            raise ValueError(f"unsupported schema version {v}; this ttv reads schema {SCHEMA_VERSION}")
        return v

    @field_validator("idea")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the idea is only blanks; write at least a sentence")
        return v

    @field_validator("prices")
    @classmethod
    def _price_keys(cls, v: dict[str, float]) -> dict[str, float]:
        from ttv.core.prices import providers as price_providers

        providers = price_providers() if v else []  # every installed backend's provider column
        for key, usd in v.items():
            provider, sep, model = key.partition("/")
            if not sep or not model or provider not in providers:
                raise ValueError(f"key {key!r} must be \"provider/model\" with provider one of "
                                 f"{', '.join(providers)}, e.g. \"{providers[0] if providers else 'provider'}/MODEL\" = 0.05")
            if usd < 0:
                raise ValueError(f"{key!r}: a price cannot be negative ({usd:g})")
        return v

    @field_validator("width", "height")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError(f"{v} is odd; h264 needs even sizes: use {v - 1} or {v + 1}")
        return v

    @model_validator(mode="after")
    def _duration_or_segments(self) -> ProjectConfig:
        if self.duration is None and self.segments is None:
            raise ValueError("set `duration` (total seconds) or `segments` (count)")
        if self.backend in self.fallback:
            raise ValueError(f"fallback lists the main backend {self.backend!r} again; the chain must not loop")
        if len(set(self.fallback)) != len(self.fallback):
            raise ValueError("fallback lists a backend twice; the chain must not loop")
        return self

    def stitch_color_match(self) -> bool:
        return self.stitch.color_match if self.stitch.color_match is not None else self.mode == "chain"


class KeyframeSpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    prompt: str = ""
    image: str = ""  # a user-supplied image (path relative to the project); wins over generation
    seed: int | None = None  # overrides the derived seed (re-roll)
    provider: str = ""  # per-keyframe provider override


class SegmentSpec(Strict):
    id: str = Field(pattern=ID_PATTERN)
    duration: float = Field(gt=0, le=600, allow_inf_nan=False)
    prompt: str = Field(min_length=1)
    negative_prompt: str = ""
    camera: str = ""
    continuity: str = ""
    start_keyframe: str = ""  # keyframe mode: first frame; chain mode: only segment 0 uses it
    end_keyframe: str = ""  # keyframe mode: last frame
    backend: str = ""  # per-segment override of the project backend
    seed: int | None = None
    continue_frames: int | None = Field(None, ge=1, le=257)  # chaining: continue from the previous clip's last K frames
    locked: bool = False  # re-planning keeps locked segments as they are


class Plan(Strict):
    """plan.toml: written by `ttv plan`, editable by hand."""

    schema_: int = Field(SCHEMA_VERSION, alias="schema")
    planner: str = "heuristic"
    style: str = ""
    segments: list[SegmentSpec] = Field(min_length=1)
    keyframes: list[KeyframeSpec] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    @model_validator(mode="after")
    def _references(self) -> Plan:
        seen: set[str] = set()
        for s in self.segments:
            if s.id in seen:
                raise ValueError(f"segment id {s.id!r} appears twice")
            seen.add(s.id)
        kf_ids = [k.id for k in self.keyframes]
        if len(set(kf_ids)) != len(kf_ids):
            raise ValueError("a keyframe id appears twice")
        known = set(kf_ids)
        for s in self.segments:
            for ref in (s.start_keyframe, s.end_keyframe):
                if ref and ref not in known:
                    raise ValueError(f"segment {s.id} refers to keyframe {ref!r}, which [[keyframes]] does not define")
        return self

    def segment(self, seg_id: str) -> SegmentSpec:
        for s in self.segments:
            if s.id == seg_id:
                return s
        raise KeyError(seg_id)

    def keyframe(self, kf_id: str) -> KeyframeSpec:
        for k in self.keyframes:
            if k.id == kf_id:
                return k
        raise KeyError(kf_id)


# "uncertain": a submit's answer was lost (timeout or reset after sending, or a crash in between): a paid job
# may exist with no id on record; the item stops until the user checks and resubmits with --force.
Status = Literal["planned", "submitted", "running", "done", "failed", "cancelled", "uncertain"]


class Attempt(BaseModel):
    model_config = ConfigDict(extra="ignore")

    n: int
    backend: str
    started_at: str
    ended_at: str = ""
    status: Literal["running", "submitted", "done", "failed", "interrupted", "cancelled"] = "running"
    job_id: str = ""
    error: str = ""
    error_kind: str = ""  # retryable | backend | request
    error_code: str = ""
    cost_usd: float = 0.0
    credits: float | None = None


class Record(BaseModel):
    """`<output>.toml` next to each output: how it was made and whether it is done.

    Unknown keys are ignored (forward compatibility), but the schema version is checked.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    schema_: int = Field(SCHEMA_VERSION, alias="schema")
    kind: Literal["keyframe", "clip", "final"]
    id: str
    status: Status = "planned"
    inputs_hash: str = ""
    inputs: dict[str, Any] = Field(default_factory=dict)  # what went into the hash, for `status --why`
    output: str = ""  # file name, relative to the record's folder
    output_digest: str = ""
    output_size: int = 0
    output_mtime_ns: int = 0
    backend: str = ""
    model: str = ""
    job_id: str = ""  # the remote job being worked on (set before the first poll)
    job_provider: str = ""
    submitting: str = ""  # the backend, while a paid submit is in flight (set before it, cleared with the job id)
    uncertain_usd: float = 0.0  # estimate of a job that may exist (status uncertain): counted as spent
    estimated_cost_usd: float = 0.0
    cost_usd: float = 0.0  # actual, summed over attempts
    attempts: list[Attempt] = Field(default_factory=list)
    started_at: str = ""
    finished_at: str = ""
    seconds: float = 0.0
    media: dict[str, Any] = Field(default_factory=dict)  # frames, fps, width, height, duration, dropped...
    info: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)  # metadata only; not part of the hash
    error: str = ""


