"""Runway through the `runwayml` SDK: image_to_video (first, or first+last frame where the model
allows it) and text_to_video when a segment has no start image. Models: Runway's gen4_turbo and
gen4.5, and the partner models the SDK lists with a first and last frame (veo3.1, veo3.1_fast,
kling2.5_turbo_pro, kling3.0_* and klingO3_* in standard/pro/4k, seedance2, seedance2_fast,
seedance2_mini, seedance2_5, gemini_omni_flash(_1.1), hailuo3, h3_max); `MODELS` and `RULES` hold
their durations, ratios and request fields as data. ttv owns the poll loop (the SDK's
`wait_for_task_output` sleeps 6 s per poll and hangs on CANCELLED) and all retries (the client is
built with max_retries=0).

Setup: `pip install 'ttv[remote]'`, then RUNWAYML_API_SECRET or `ttv keys set runway`.
Cost: the task's `cost.credits` (final, $0.01 per credit) when it reports one, else the price table.
Estimates need a price row: the kling, seedance and gemini_omni models have none built in (set
`"runway/MODEL" = USD_PER_SECOND` under [prices]).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from ttv.backends.base import VideoRequest
from ttv.backends.remote.common import (
    DATA_URI_LIMIT,
    Extension,
    ImageInfo,
    JobState,
    ModelSpec,
    RemoteOptions,
    RemoteVideoBackend,
    data_uri,
    data_uri_size,
    inspect_image,
    model_specs,
)
from ttv.backends.remote.runway_common import (
    BASE_URL_ENV,
    PACKAGES,
    PRICE_SOURCE,
    RUNWAY_KEY,
    TASK_STATUS,
    TESTED,
    USD_PER_RUNWAY_CREDIT,
    classify_failure,
    live_runway,
    translate_sdk_error,
)
from ttv.core.errors import BackendError, InputRejected
from ttv.core.keys import KeyProvider
from ttv.core.prices import PriceRow

_GEN4_RATIOS = ("1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672")
_VEO_RATIOS = ("1280:720", "720:1280", "1080:1920", "1920:1080")
_KLING_720 = ("1280:720", "720:1280", "960:960")  # kling3.0_standard, klingO3_standard
_KLING_1080 = ("1920:1080", "1080:1920", "1440:1440")  # kling3.0_pro, klingO3_pro
_KLING_4K = ("3840:2160", "2160:3840", "2880:2880")  # kling3.0_4k, klingO3_4k
_KLING25 = ("1920:1080", "1440:1440", "1080:1920", "1280:720", "720:720", "720:1280")  # text-to-video only
_SEEDANCE_720 = ("992:432", "864:496", "752:560", "640:640", "560:752", "496:864",  # 480p
                 "1470:630", "1280:720", "1112:834", "960:960", "834:1112", "720:1280")  # 720p
_SEEDANCE = _SEEDANCE_720 + ("2206:946", "1920:1080", "1664:1248", "1440:1440", "1248:1664", "1080:1920",  # 1080p
                             "3840:1646", "3840:2160", "3840:2880", "3840:3840", "2880:3840", "2160:3840")  # 4k
_SEEDANCE25 = ("992:432", "854:480", "752:560", "640:640", "560:752", "480:854", "1470:630", "1280:720",
               "1112:834", "960:960", "834:1112", "720:1280", "2206:946", "1920:1080", "1664:1248", "1440:1440",
               "1248:1664", "1080:1920")
_OMNI11 = ("640:360", "360:640", "1280:720", "720:1280", "1920:1080", "1080:1920", "3840:2160", "2160:3840")
_OMNI = ("1280:720", "720:1280")
# hailuo3 (MiniMax H3) takes aspect names; with a start image ttv sends "adaptive" (the output follows it).
_H3_RATIOS = ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
_H3_SIZES = ((1792, 768), (1366, 768), (1024, 768), (768, 768), (768, 1024), (768, 1366))


def _sizes(ratios: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    return tuple((int(r.split(":")[0]), int(r.split(":")[1])) for r in ratios)


def _seconds(lo: int, hi: int) -> tuple[float, ...]:
    return tuple(float(d) for d in range(lo, hi + 1))


def _bounded(spec: ModelSpec) -> ModelSpec:
    """min/max_duration from the allowed durations (planning and validation read both)."""
    assert spec.durations
    return replace(spec, min_duration=min(spec.durations), max_duration=max(spec.durations))


_FLF: tuple[Literal["t2v", "i2v", "flf2v"], ...] = ("t2v", "i2v", "flf2v")
# video_to_video with mode="extend" (the models whose SDK types offer it): `duration` is the footage added.
# Whether the result repeats the input is not documented: judged from its length (extension_info).
_EXTEND: dict[str, Any] = {"extend_seconds": 0.0, "extend_includes_input": None}
VIDEO_DATA_URI_LIMIT = 5 * 1024 * 1024  # the SDK: data URIs up to 5 MB, else an upload
_NO_PRICE = "; no built-in price: set [prices] (Runway reports the final cost)"

# Values from the installed runwayml SDK's own types (image_to_video / text_to_video create params;
# tests/remote/test_runway.py checks this table against them). Durations the SDK types only as `int`
# come from its docstrings or the model's maker: kling3.0/O3 3-15 s (the SDK's multi-shot total),
# gemini_omni_flash(_1.1) 3-10 s (SDK docstring), seedance2* 4-15 s, hailuo3 4-15 s and h3_max 5-15 s
# (MiniMax H3 / H3 Max). Runway's limit on promptText is 1000 characters for gen4/veo; seedance2*
# documents 3500 (seedance2_5: 15000).
MODELS = model_specs(*(_bounded(spec) for spec in (
    ModelSpec("gen4_turbo", ("i2v",), _seconds(2, 10), _GEN4_RATIOS, _sizes(_GEN4_RATIOS),
              max_prompt_chars=1000, default_concurrency=2, notes="image required; first frame only"),
    ModelSpec("gen4.5", ("t2v", "i2v"), _seconds(2, 10), _GEN4_RATIOS, _sizes(_GEN4_RATIOS),
              max_prompt_chars=1000, default_concurrency=2, t2v_ratios=("1280:720", "720:1280"),
              notes="first frame only; text-to-video 1280:720 or 720:1280"),
    ModelSpec("veo3.1", _FLF, (4.0, 6.0, 8.0), _VEO_RATIOS, _sizes(_VEO_RATIOS),
              max_prompt_chars=1000, supports_negative_prompt=True, supports_audio=True, default_concurrency=2,
              notes="first and last frame; audio option"),
    ModelSpec("veo3.1_fast", _FLF, (4.0, 6.0, 8.0), _VEO_RATIOS, _sizes(_VEO_RATIOS),
              max_prompt_chars=1000, supports_negative_prompt=True, supports_audio=True, default_concurrency=2,
              notes="first and last frame; audio option"),
    ModelSpec("kling2.5_turbo_pro", _FLF, (5.0, 10.0), _KLING25, _sizes(_KLING25), supports_seed=False,
              notes="Kling 2.5 Turbo Pro; first and last frame; 5 or 10 s; with an image the output follows "
                    "its aspect (no ratio sent)" + _NO_PRICE),
    *(ModelSpec(mid, _FLF, _seconds(3, 15), ratios, _sizes(ratios), supports_seed=False, supports_audio=True,
                notes=f"{label}; first and last frame; 3-15 s; audio option" + _NO_PRICE)
      for mid, label, ratios in (
          ("kling3.0_standard", "Kling 3.0 Standard (720p)", _KLING_720),
          ("kling3.0_pro", "Kling 3.0 Pro (1080p)", _KLING_1080),
          ("kling3.0_4k", "Kling 3.0 4K", _KLING_4K),
          ("klingO3_standard", "Kling O3 Standard (720p)", _KLING_720),
          ("klingO3_pro", "Kling O3 Pro (1080p)", _KLING_1080),
          ("klingO3_4k", "Kling O3 4K", _KLING_4K))),
    *(ModelSpec(mid, _FLF, _seconds(4, 15), ratios, _sizes(ratios), max_prompt_chars=chars, supports_audio=True,
                notes=f"{label}; first and last frame; 4-15 s; audio option" + _NO_PRICE,
                **(_EXTEND if mid == "seedance2_5" else {}))
      for mid, label, ratios, chars in (
          ("seedance2", "Seedance 2.0 (480p-4k)", _SEEDANCE, 3500),
          ("seedance2_fast", "Seedance 2.0 Fast (480p/720p)", _SEEDANCE_720, 3500),
          ("seedance2_mini", "Seedance 2.0 Mini (480p/720p)", _SEEDANCE_720, 3500),
          ("seedance2_5", "Seedance 2.5 (480p-1080p)", _SEEDANCE25, 15000))),
    ModelSpec("gemini_omni_flash", ("t2v", "i2v"), _seconds(3, 10), _OMNI, _sizes(_OMNI), supports_seed=False,
              notes="Gemini Omni Flash; first frame only; 3-10 s" + _NO_PRICE),
    ModelSpec("gemini_omni_flash_1.1", _FLF, _seconds(3, 10), _OMNI11, _sizes(_OMNI11), supports_seed=False,
              notes="Gemini Omni Flash 1.1; first and last frame; 3-10 s; prompt required" + _NO_PRICE, **_EXTEND),
    ModelSpec("hailuo3", _FLF, _seconds(4, 15), _H3_RATIOS, _H3_SIZES, supports_seed=False,
              notes="Hailuo 3 (MiniMax H3); first and last frame; 4-15 s; resolution 768p ($0.10/s) or 2k; "
                    "prompt required"),
    ModelSpec("h3_max", ("i2v", "flf2v"), _seconds(5, 15), _H3_RATIOS, _H3_SIZES,
              notes="MiniMax H3 Max; image required (the output follows it); first and last frame; 5-15 s; "
                    "resolution 768p or 480p; prompt required" + _NO_PRICE),
)))


@dataclass(frozen=True)
class RequestRules:
    """How a model's request differs, as the SDK types it (checked against them by the tests)."""

    i2v_ratio: Literal["send", "omit", "adaptive"] = "send"  # with a start image: the ratio, none, or "adaptive"
    resolutions: tuple[str, ...] = ()  # values of `resolution` (the first is the default); () = no such field
    prompt_required: bool = False  # promptText is required (an empty prompt is rejected before submit)
    moderation: bool = False  # takes contentModeration.publicFigureThreshold
    first_as_list: bool = False  # a start image alone goes as [{uri, position: "first"}] (a bare URI can be a reference)


RULES: dict[str, RequestRules] = {
    "gen4_turbo": RequestRules(moderation=True),
    "gen4.5": RequestRules(prompt_required=True, moderation=True),
    "kling2.5_turbo_pro": RequestRules(i2v_ratio="omit", prompt_required=True),
    **{m: RequestRules(first_as_list=True) for m in ("seedance2", "seedance2_fast", "seedance2_mini", "seedance2_5")},
    "gemini_omni_flash_1.1": RequestRules(prompt_required=True),
    "hailuo3": RequestRules(i2v_ratio="adaptive", resolutions=("768p", "2k"), prompt_required=True,
                            first_as_list=True),
    "h3_max": RequestRules(i2v_ratio="omit", resolutions=("768p", "480p"), prompt_required=True),
}

# First+last-frame models the SDK lists that ttv does not offer, and why.
NOT_OFFERED: dict[str, str] = {
    "wan3": "keyframe requests need an auto_* ratio and the SDK leaves the frame list untyped",
    "wan3_prime": "keyframe requests need an auto_* ratio and the SDK leaves the frame list untyped",
    "kling_4": "the SDK leaves the frame list (first, middle, last) untyped; auto_* ratios only",
}


def rules(model: str) -> RequestRules:
    return RULES.get(model, RequestRules())


class RunwayOptions(RemoteOptions):
    model: str = "gen4_turbo"
    poll_interval_s: float = Field(5.0, gt=0, le=600)
    audio: bool = Field(False, description="models with an audio switch (veo3.1, kling3.0/O3, seedance2*): "
                                           "generate audio (costs more)")
    resolution: str | None = Field(None, description='hailuo3: "768p" (default) or "2k"; h3_max: "768p" (default) '
                                                     'or "480p"; not sent to other models')
    public_figure_threshold: str | None = Field(
        None, description='contentModeration.publicFigureThreshold ("auto"/"low")')


# Runway bills prepaid credits ($0.01 each) per output second.
PRICE_ROWS = (
    PriceRow("runway", "gen4_turbo", "second", 0.05, 5, PRICE_SOURCE),
    PriceRow("runway", "gen4.5", "second", 0.12, 12, PRICE_SOURCE),
    PriceRow("runway", "gen3a_turbo", "second", 0.05, 5, PRICE_SOURCE),
    PriceRow("runway", "veo3", "second", 0.40, 40, PRICE_SOURCE),
    PriceRow("runway", "veo3.1", "second", 0.40, 40, PRICE_SOURCE, note="20-40 credits/s; 40 assumed (with audio)"),
    PriceRow("runway", "veo3.1@noaudio", "second", 0.20, 20, PRICE_SOURCE),
    PriceRow("runway", "veo3.1_fast", "second", 0.15, 15, PRICE_SOURCE,
             note="10-15 credits/s; 15 assumed (with audio)"),
    PriceRow("runway", "veo3.1_fast@noaudio", "second", 0.10, 10, PRICE_SOURCE),
    PriceRow("runway", "hailuo3", "second", 0.10, 10, "litellm price table", note="768p"),
    PriceRow("runway", "hailuo3@2k", "second", 0.15, 15, "litellm price table",
             note="litellm names the higher tier 1080p; the SDK offers 768p and 2k"),
    # No built-in row (no price found in a dated source; Runway reports each task's final cost):
    # kling2.5_turbo_pro, kling3.0_*/klingO3_*, seedance2*, gemini_omni_flash(_1.1), h3_max.
)


class RunwayBackend(RemoteVideoBackend):
    name: ClassVar[str] = "runway"
    summary: ClassVar[str] = ("Runway API via runwayml: gen4_turbo, gen4.5, veo3.1(_fast), kling, seedance, "
                              "gemini_omni_flash, hailuo3, h3_max")
    key_provider: ClassVar[KeyProvider] = RUNWAY_KEY
    price_provider: ClassVar[str] = "runway"
    price_rows = PRICE_ROWS
    key_check = staticmethod(live_runway)
    base_url_env = BASE_URL_ENV
    packages = PACKAGES
    tested_versions = TESTED
    sdk_module: ClassVar[str | None] = "runwayml"
    MODELS = MODELS
    # gen4_turbo takes a first frame only: keyframe mode defaults to a model that takes the last one too.
    mode_models: ClassVar[dict[str, str]] = {"keyframe": "veo3.1_fast"}
    OptionsModel = RunwayOptions

    @property
    def ropts(self) -> RunwayOptions:
        assert isinstance(self.options, RunwayOptions)
        return self.options

    def client(self) -> Any:
        def build() -> Any:
            try:
                import runwayml
            except ImportError:
                raise BackendError("runway: the runwayml package is missing", hint="pip install 'ttv[remote]'",
                                   kind="backend", code="missing-extra") from None
            return runwayml.RunwayML(api_key=self.api_key(), base_url=self.opts.base_url,
                                     max_retries=0, timeout=self.opts.request_timeout_s)

        return self.lazy("_client", build)

    def warm_up(self) -> None:
        super().warm_up()
        client = self.client()
        for resource in ("image_to_video", "text_to_video", "video_to_video", "tasks"):  # lazily imported by the SDK
            getattr(client, resource)

    def translate(self, exc: Exception, what: str) -> BackendError:
        return translate_sdk_error(self.name, exc, what) or super().translate(exc, what)

    def check_image(self, info: ImageInfo, role: str) -> None:
        if info.size > 200 * 1024 * 1024:
            raise InputRejected(f"runway: the {role} {info.path} is {info.size / 1e6:.0f} MB; "
                                "the upload limit is 200 MB")
        if self.opts.model == "h3_max" and min(info.width, info.height) < 256:
            raise InputRejected(f"runway h3_max: the {role} {info.path} is {info.width}x{info.height}; "
                                "each side must be at least 256 px", hint="raise width/height in ttv.toml")

    def resolution(self) -> str | None:
        """The `resolution` to send: the option, or the model's default; None for models without one."""
        allowed = rules(self.opts.model).resolutions
        if not allowed:
            return None
        return (self.ropts.resolution or allowed[0]).lower()

    def validate_inputs(self, request: VideoRequest) -> None:
        super().validate_inputs(request)
        rule = rules(self.opts.model)
        if rule.prompt_required and not request.prompt.strip():
            raise InputRejected(f"runway {self.opts.model}: segment {request.segment_id} has an empty prompt; "
                                "this model needs text", hint="write a prompt in plan.toml")
        res = self.ropts.resolution
        if res is not None and rule.resolutions and res.lower() not in rule.resolutions:
            raise InputRejected(f"runway {self.opts.model}: resolution {res} is not offered; allowed: "
                                f"{', '.join(rule.resolutions)}", code="resolution")

    def price_variant(self, request: VideoRequest) -> str | None:
        if self.opts.model.startswith("veo3.1") and not self.ropts.audio:
            return "noaudio"
        res = self.resolution()
        if res is not None and res != rules(self.opts.model).resolutions[0]:
            return res  # e.g. "hailuo3@2k"
        return None

    def actual_cost(self, request: VideoRequest, state: JobState) -> tuple[float, float | None]:
        try:
            return super().actual_cost(request, state)
        except InputRejected:
            # A finished job of a model without a price row whose task reported no cost: keep the clip
            # and count Runway's estimate (the maximum charge) if it gave one.
            credits = state.info.get("estimated_credits")
            if isinstance(credits, (int, float)):
                return round(float(credits) * USD_PER_RUNWAY_CREDIT, 6), float(credits)
            return 0.0, None

    def estimated_seconds(self, request: VideoRequest) -> float:
        return 45.0 + 3.0 * request.duration  # vendors quote 30-60 s per gen4_turbo clip

    def _image_uri(self, path: Path) -> str:
        info = inspect_image(path, provider=self.name)
        if data_uri_size(info) <= DATA_URI_LIMIT:
            return data_uri(path, info.mime)
        client = self.client()
        with self.calling("upload"):
            upload = client.uploads.create_ephemeral(file=path)
        return str(upload.uri)

    def _video_uri(self, path: Path) -> str:
        import base64

        if path.stat().st_size * 4 // 3 + 64 <= VIDEO_DATA_URI_LIMIT:
            return "data:video/mp4;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
        client = self.client()
        with self.calling("upload"):
            upload = client.uploads.create_ephemeral(file=path)
        return str(upload.uri)

    def _extension_submit(self, request: VideoRequest, ext: Extension) -> str:
        """video_to_video, mode "extend": the previous clip and the prompt; `duration` seconds are added
        (seedance2_5 takes the video as prompt_video and follows its aspect ratio)."""
        spec = self.spec()
        video = self._video_uri(ext.source)
        args: dict[str, Any] = {"model": spec.id, "prompt_text": request.prompt, "mode": "extend",
                                "duration": int(round(ext.new_seconds))}
        args["prompt_video" if spec.id == "seedance2_5" else "video_uri"] = video
        if spec.supports_audio:
            args["audio"] = self.ropts.audio
        with self.calling("submit"):
            task = self.client().video_to_video.create(**args)
        return str(task.id)

    def submit(self, request: VideoRequest) -> str:
        ext = self.extending(request)
        if ext is not None:
            return self._extension_submit(request, ext)
        spec = self.spec()
        rule = rules(spec.id)
        ratio, _ = self.resolve_ratio(request)
        client = self.client()
        args: dict[str, Any] = {"model": spec.id, "duration": int(round(request.duration))}
        if request.first_image is None:
            args["ratio"] = ratio
        elif rule.i2v_ratio != "omit":  # "omit": the output follows the start image
            args["ratio"] = "adaptive" if rule.i2v_ratio == "adaptive" else ratio
        if request.prompt:
            args["prompt_text"] = request.prompt
        if spec.supports_seed:
            args["seed"] = int(request.seed) % 4294967296
        if spec.supports_negative_prompt and request.negative_prompt:
            args["negative_prompt"] = request.negative_prompt
        if spec.supports_audio:
            args["audio"] = self.ropts.audio
        if self.resolution() is not None:
            args["resolution"] = self.resolution()
        if self.ropts.public_figure_threshold and rule.moderation:
            args["content_moderation"] = {"public_figure_threshold": self.ropts.public_figure_threshold}
        with self.calling("submit"):
            if request.first_image is None:
                task = client.text_to_video.create(**args)
            else:
                first = self._image_uri(request.first_image)
                if self.use_end_frame(request):
                    assert request.last_image is not None
                    args["prompt_image"] = [{"uri": first, "position": "first"},
                                            {"uri": self._image_uri(request.last_image), "position": "last"}]
                elif rule.first_as_list:
                    args["prompt_image"] = [{"uri": first, "position": "first"}]
                else:
                    args["prompt_image"] = first
                task = client.image_to_video.create(**args)
        return str(task.id)

    def poll_once(self, job_id: str) -> JobState:
        with self.calling("poll"):
            task = self.client().tasks.retrieve(job_id)
        raw = str(getattr(task, "status", "") or "")
        status = TASK_STATUS.get(raw)
        if status is None:
            return JobState(job_id, "running", provider_status=raw)
        cost = getattr(task, "cost", None)
        estimated = getattr(task, "estimated_cost", None)
        credits = getattr(cost, "credits", None) if cost is not None else None
        state = JobState(job_id, status, provider_status=raw)  # type: ignore[arg-type]
        if estimated is not None and getattr(estimated, "credits", None) is not None:
            state.info["estimated_credits"] = estimated.credits
        if status == "running":
            progress = getattr(task, "progress", None)
            state.progress = float(progress) if progress is not None else None
        elif status == "succeeded":
            state.urls = [str(u) for u in (getattr(task, "output", None) or [])]
            if credits is not None:
                state.credits = float(credits)
                state.cost_usd = round(float(credits) * USD_PER_RUNWAY_CREDIT, 6)
        elif status in ("failed", "cancelled") and credits is not None:
            state.credits = float(credits)
            state.cost_usd = round(float(credits) * USD_PER_RUNWAY_CREDIT, 6)
        if status == "failed":
            state.error = classify_failure(str(getattr(task, "failure_code", "") or ""),
                                           str(getattr(task, "failure", "") or ""), job_id)
        elif status == "cancelled":
            state.error = BackendError(f"runway: task {job_id} was cancelled", kind="request", code="CANCELLED")
        return state

    def cancel(self, job_id: str) -> None:
        with self.calling("cancel"):
            self.client().tasks.delete(job_id)


__all__ = ["MODELS", "TASK_STATUS", "RunwayBackend", "RunwayOptions", "classify_failure", "translate_sdk_error"]
