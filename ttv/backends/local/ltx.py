"""LTX-Video through diffusers: `LTXPipeline` (T2V), `LTXImageToVideoPipeline` (I2V) and, for 0.9.5+
checkpoints whose model_index names `LTXConditionPipeline`, first-last-frame through
`LTXConditionPipeline(conditions=[first at frame 0, last at the final frame])`.

One pipeline is loaded per worker; the other modes are `from_pipe` views sharing its weights (no
second load). Rules: frame counts 8k+1, width and height multiples of 32, 25 fps by default
(`frame_rate` is passed to the model).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from ttv.backends.base import Continuation, Options, VideoRequest
from ttv.backends.local.common import (
    LocalOptions,
    LocalVideoBackend,
    Mode,
    RenderPlan,
    attach_view,
    diffusers_class,
    dtype_kwarg,
    guess_variant,
    load_component,
    load_image,
    pipeline_class_name,
)
from ttv.backends.local.figures import Footprint, TimingRow, VramRow

LTX_CONDITION = "LTXConditionPipeline"


class LTXOptions(LocalOptions):
    model: str = Field("Lightricks/LTX-Video", description="LTX-Video diffusers repo or local folder")
    flf: Literal["auto", "on", "off"] = Field("auto", description="first-last-frame via LTXConditionPipeline "
                                              "(auto: when the model is a 0.9.5+ condition model)")
    decode_timestep: float = Field(0.0, ge=0.0, le=1.0, description="0.05 for 0.9.1+ VAEs")
    decode_noise_scale: float | None = Field(None, ge=0.0, le=1.0, description="0.025 for 0.9.1+ VAEs")


class LTXBackend(LocalVideoBackend):
    name: ClassVar[str] = "ltx"
    summary: ClassVar[str] = "LTX-Video (diffusers, local GPU): text/image to video, fast"
    OptionsModel: ClassVar[type[Options]] = LTXOptions
    family: ClassVar[str] = "ltx"
    known_models: ClassVar[dict[str, dict[str, Any]]] = {  # download sizes (GB) etc., checked 2026-11
        "Lightricks/LTX-Video": {"gb": 28, "pipeline": "LTXPipeline",
                                 "include": ["model_index.json", "scheduler/*", "text_encoder/*", "tokenizer/*",
                                             "transformer/*", "vae/*"]},
        "Lightricks/LTX-Video-0.9.7-dev": {"gb": 46, "pipeline": "LTXConditionPipeline"},
        "Lightricks/LTX-Video-0.9.7-distilled": {"gb": 46, "pipeline": "LTXConditionPipeline"},
    }
    # Seconds per denoising step (estimate), published 2026-11.
    timings: ClassVar[tuple[TimingRow, ...]] = (
        TimingRow("13b", "H100", (704, 512, 161), 1.60,
                  "diffusers benchmark: LTX-Video 0.9.7 13B 1.60 s/step"),
        TimingRow("2b", "H100", (704, 512, 161), 1.60 * 2 / 13,
                  "LTX 13B 1.60 s/step scaled by parameters 2/13 (estimate)"),
    )
    # Peak VRAM (doctor: does it fit?), checked 2026-11.
    peak_vram: ClassVar[tuple[VramRow, ...]] = (
        VramRow("13b", (704, 512), "none", 25.2, "diffusers benchmark: LTX-Video 0.9.7 13B, 25.2 GB", frames=161),
        VramRow("13b", (704, 512), "group", 1.04, "diffusers benchmark: LTX 13B group offload (leaf), 1.04 GB",
                frames=161),
    )
    # Weights as loaded (GB, bf16): transformer 2B (0.9.x) or 13B (0.9.7+), T5-XXL encoder 4.7B, VAE ~0.4B.
    footprints: ClassVar[tuple[Footprint, ...]] = (
        Footprint("2b", 4.0, 9.5, 0.8, "LTX-Video model card: 2B transformer; T5-XXL encoder 4.7B; VAE"),
        Footprint("13b", 26.0, 9.5, 0.8, "LTX-Video 0.9.7 model card: 13B transformer; T5-XXL encoder 4.7B; VAE"),
    )
    # LTX VAE: 32x32 spatial, 8x temporal, patch 1 (the VAE does the patching)
    latent_geometry: ClassVar[tuple[int, int, int]] = (32, 8, 1)
    default_model: ClassVar[str] = "Lightricks/LTX-Video"
    # Keyframe mode: a 0.9.7 condition model takes first and last frames; the default one only a first.
    mode_models: ClassVar[dict[str, str]] = {"keyframe": "Lightricks/LTX-Video-0.9.7-dev"}
    native_fps: int = 25
    frame_multiple: ClassVar[int] = 8
    min_frames: ClassVar[int] = 9
    trained_frames: int = 257
    size_multiple: int = 32
    default_steps: ClassVar[int] = 50
    default_guidance: ClassVar[float] = 3.0

    def __init__(self, options: Options | None = None, *, device: str | None = None,
                 gpu_group: list[int] | None = None) -> None:
        super().__init__(options, device=device, gpu_group=gpu_group)
        self._views: dict[str, Any] = {}

    @property
    def lopts(self) -> LTXOptions:
        assert isinstance(self.options, LTXOptions)
        return self.options

    def base_class(self) -> str:
        return pipeline_class_name(self.model_id(), self.opts.pipeline) or "LTXPipeline"

    def flf_capable(self) -> bool:
        if self.lopts.flf != "auto":
            return self.lopts.flf == "on"
        return self.base_class() == LTX_CONDITION

    def supported_modes(self) -> list[Mode]:
        return ["t2v", "i2v", "flf2v"] if self.flf_capable() else ["t2v", "i2v"]

    def continuation(self) -> Continuation | None:
        # LTXConditionPipeline keeps the first 8k+1 frames of a video condition and silently drops the rest
        # (trim_conditioning_sequence), so only 8k+1 tails are offered: a 7-frame tail would condition on 1.
        if not self.flf_capable():
            return None
        return Continuation(frames=[8 * k + 1 for k in range(1, 9)], frame_rule="8k+1 (9-65)", size_multiple=32,
                            note="LTXConditionPipeline(conditions=[LTXVideoCondition(video=tail, frame_index=0)]); "
                                 "the output re-renders the tail at its head")

    def variant(self) -> str:
        return guess_variant(self.model_id(), [("13B", "13b"), ("0.9.7", "13b"), ("0.9.8", "13b")], "2b")

    def _load_pipeline(self, device: str, dtype: Any, device_map: dict[str, Any]) -> Any:
        self._views = {}
        return load_component(diffusers_class(self.base_class()), self.name, self.model_id(), **dtype_kwarg(dtype),
                              **device_map)

    def view(self, pipe: Any, class_name: str) -> Any:
        if type(pipe).__name__ == class_name:
            return pipe
        if class_name not in self._views:
            cls = diffusers_class(class_name)
            # from_pipe casts every module it can reach to its dtype argument (float32 when not given),
            # in place, so the base pipeline too: pass the dtype the weights were loaded in.
            dtype = self.load_dtype if self.load_dtype is not None else pipe.dtype
            self._views[class_name] = attach_view(cls.from_pipe(pipe, **dtype_kwarg(dtype)), self.opts,
                                                  self.device or "cpu", self.gpu_group)
        return self._views[class_name]

    def pipeline_kwargs(self, pipe: Any, plan: RenderPlan, req: VideoRequest) -> tuple[Any, dict[str, Any]]:
        kwargs: dict[str, Any] = {"num_frames": plan.frames, "frame_rate": plan.fps,
                                  "decode_timestep": self.lopts.decode_timestep}
        if self.lopts.decode_noise_scale is not None:
            kwargs["decode_noise_scale"] = self.lopts.decode_noise_scale
        if plan.mode == "t2v":
            call = self.view(pipe, "LTXPipeline" if self.base_class() != LTX_CONDITION else LTX_CONDITION)
            return call, kwargs
        assert req.first_image is not None
        first = load_image(req.first_image, plan.width, plan.height)
        if self.flf_capable():
            from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

            tail = self.tail_images(plan, req)
            conditions = [LTXVideoCondition(video=tail, frame_index=0) if tail
                          else LTXVideoCondition(image=first, frame_index=0)]
            if plan.mode == "flf2v":
                assert req.last_image is not None
                last = load_image(req.last_image, plan.width, plan.height)
                conditions.append(LTXVideoCondition(image=last, frame_index=plan.frames - 1))
            kwargs["conditions"] = conditions
            return self.view(pipe, LTX_CONDITION), kwargs
        kwargs["image"] = first
        return self.view(pipe, "LTXImageToVideoPipeline"), kwargs

    def generator_device(self, call: Any) -> str:
        # LTXImageToVideoPipeline draws its decode noise with torch.randn(generator=, device=execution device)
        # when the VAE is timestep-conditioned (0.9.1+), which rejects a CPU generator on a GPU.
        if type(call).__name__ == "LTXImageToVideoPipeline" and getattr(
                getattr(getattr(call, "vae", None), "config", None), "timestep_conditioning", False):
            return str(call._execution_device)
        return super().generator_device(call)

    def close(self) -> None:
        self._views = {}
        super().close()
