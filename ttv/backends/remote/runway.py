"""Runway through the `runwayml` SDK: image_to_video (first, or first+last frame where the model
allows it) and text_to_video when a segment has no start image. ttv owns the poll loop (the SDK's
`wait_for_task_output` sleeps 6 s per poll and hangs on CANCELLED) and all retries (the client is
built with max_retries=0).

Setup: `pip install 'ttv[remote]'`, then RUNWAYML_API_SECRET or `ttv keys set runway`.
Cost: the task's `cost.credits` (final, $0.01 per credit) when it reports one, else the price table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from ttv.backends.base import VideoRequest
from ttv.backends.remote.common import (
    DATA_URI_LIMIT,
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


def _sizes(ratios: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    return tuple((int(r.split(":")[0]), int(r.split(":")[1])) for r in ratios)


# Values from runwayml 5.24.0 (providers.md B1). Runway's limit on promptText is 1000 characters.
MODELS = model_specs(
    ModelSpec("gen4_turbo", ("i2v",), tuple(float(d) for d in range(2, 11)), _GEN4_RATIOS, _sizes(_GEN4_RATIOS),
              max_prompt_chars=1000, default_concurrency=2, notes="image required; first frame only"),
    ModelSpec("gen4.5", ("t2v", "i2v"), tuple(float(d) for d in range(2, 11)), _GEN4_RATIOS, _sizes(_GEN4_RATIOS),
              max_prompt_chars=1000, default_concurrency=2, t2v_ratios=("1280:720", "720:1280"),
              notes="first frame only; text-to-video 1280:720 or 720:1280"),
    ModelSpec("veo3.1", ("t2v", "i2v", "flf2v"), (4.0, 6.0, 8.0), _VEO_RATIOS, _sizes(_VEO_RATIOS),
              max_prompt_chars=1000, supports_negative_prompt=True, supports_audio=True, default_concurrency=2,
              notes="first and last frame; audio option"),
    ModelSpec("veo3.1_fast", ("t2v", "i2v", "flf2v"), (4.0, 6.0, 8.0), _VEO_RATIOS, _sizes(_VEO_RATIOS),
              max_prompt_chars=1000, supports_negative_prompt=True, supports_audio=True, default_concurrency=2,
              notes="first and last frame; audio option"),
)


class RunwayOptions(RemoteOptions):
    model: str = "gen4_turbo"
    poll_interval_s: float = Field(5.0, gt=0, le=600)
    audio: bool = Field(False, description="veo3.1 models: generate audio (costs more)")
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
)


class RunwayBackend(RemoteVideoBackend):
    name: ClassVar[str] = "runway"
    summary: ClassVar[str] = "Runway API (gen4_turbo, gen4.5, veo3.1, veo3.1_fast) via runwayml"
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
        for resource in ("image_to_video", "text_to_video", "tasks"):  # lazily imported by the SDK
            getattr(client, resource)

    def translate(self, exc: Exception, what: str) -> BackendError:
        return translate_sdk_error(self.name, exc, what) or super().translate(exc, what)

    def check_image(self, info: ImageInfo, role: str) -> None:
        if info.size > 200 * 1024 * 1024:
            raise InputRejected(f"runway: the {role} {info.path} is {info.size / 1e6:.0f} MB; "
                                "the upload limit is 200 MB")

    def price_variant(self, request: VideoRequest) -> str | None:
        if self.opts.model.startswith("veo3.1") and not self.ropts.audio:
            return "noaudio"
        return None

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

    def submit(self, request: VideoRequest) -> str:
        spec = self.spec()
        ratio, _ = self.resolve_ratio(request)
        client = self.client()
        args: dict[str, Any] = {"model": spec.id, "ratio": ratio, "duration": int(round(request.duration))}
        if request.prompt:
            args["prompt_text"] = request.prompt
        if spec.supports_seed:
            args["seed"] = int(request.seed) % 4294967296
        if spec.supports_negative_prompt and request.negative_prompt:
            args["negative_prompt"] = request.negative_prompt
        if spec.supports_audio:
            args["audio"] = self.ropts.audio
        if self.ropts.public_figure_threshold and not spec.id.startswith("veo"):
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
