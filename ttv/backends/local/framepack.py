"""FramePack (lllyasviel) through diffusers `HunyuanVideoFramepackPipeline`: image-to-video and
first-last-frame, rendered section by section so memory does not grow with length.

The pipeline is assembled from three repos, as in the diffusers docs: the HunyuanVideo base
(`model`: text encoders, VAE, scheduler), the FramePack transformer (`transformer`, default
lllyasviel/FramePackI2V_HY) and the SigLIP image encoder (`image_encoder`, default
lllyasviel/flux_redux_bfl with subfolders image_encoder/ and feature_extractor/). All three are loaded
from local folders or the HF cache only.

Frame counts: each section adds `4 * latent_window_size` frames (36 with the default 9), plus one, so a
clip has 36k+1 frames at 30 fps; the requested duration is snapped to the nearest such count. Progress
counts steps over all sections (sections x steps).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from ttv.backends.base import Availability, Options, VideoBackend, VideoRequest
from ttv.backends.local.common import (
    LocalOptions,
    LocalVideoBackend,
    Mode,
    RenderPlan,
    diffusers_class,
    dtype_kwarg,
    load_component,
    load_image,
    model_availability,
    transformers_dtype_kwarg,
)
from ttv.backends.local.figures import TimingRow, VramRow
from ttv.core.errors import ConfigError


class FramePackOptions(LocalOptions):
    model: str = Field("hunyuanvideo-community/HunyuanVideo", description="HunyuanVideo base (text encoders, VAE)")
    transformer: str = Field("lllyasviel/FramePackI2V_HY", description="FramePack transformer repo or folder")
    image_encoder: str = Field("lllyasviel/flux_redux_bfl", description="repo/folder with image_encoder/ and "
                               "feature_extractor/ (SigLIP)")
    latent_window_size: int = Field(9, ge=2, le=33, description="latent frames per section (9 -> 36 frames)")
    sampling: Literal["inverted_anti_drifting", "vanilla"] = "inverted_anti_drifting"


class FramePackBackend(LocalVideoBackend):
    name: ClassVar[str] = "framepack"
    summary: ClassVar[str] = "FramePack / HunyuanVideo (diffusers, local GPU): image and first-last-frame to video"
    OptionsModel: ClassVar[type[Options]] = FramePackOptions
    family: ClassVar[str] = "framepack"
    known_models: ClassVar[dict[str, dict[str, Any]]] = {  # download sizes (GB) etc., checked 2026-11
        "hunyuanvideo-community/HunyuanVideo": {"gb": 41, "pipeline": "HunyuanVideoPipeline"},
        "lllyasviel/FramePackI2V_HY": {"gb": 26},
        "lllyasviel/flux_redux_bfl": {"gb": 1, "include": ["image_encoder/*", "feature_extractor/*"]},
    }
    # Seconds per denoising step (estimate), published 2026-11.
    timings: ClassVar[tuple[TimingRow, ...]] = (
        TimingRow("13b", "RTX 4090", (640, 640, 1), 2.5 / 25,
                  "FramePack README: 2.5 s/frame on a 4090 at 25 steps"),
    )
    # Peak VRAM (doctor: does it fit?), checked 2026-11.
    peak_vram: ClassVar[tuple[VramRow, ...]] = (
        VramRow("13b", (640, 640), "none", 6.0, "FramePack README: 6 GB minimum"),
        VramRow("13b", (640, 640), "model", 6.0, "FramePack README: 6 GB minimum"),
    )
    peak_vram_any_variant: ClassVar[bool] = True  # one size class whatever the model id says
    default_model: ClassVar[str] = "hunyuanvideo-community/HunyuanVideo"
    native_fps: int = 30
    trained_frames: int = 1801  # 60 s at 30 fps; FramePack's context does not grow with length
    size_multiple: int = 16
    default_steps: ClassVar[int] = 25
    default_guidance: ClassVar[float] = 9.0  # distilled guidance, as in the diffusers example

    @property
    def fopts(self) -> FramePackOptions:
        assert isinstance(self.options, FramePackOptions)
        return self.options

    @property
    def frame_multiple(self) -> int:  # type: ignore[override]
        return 4 * self.fopts.latent_window_size

    @property
    def frame_rule(self) -> str:
        return f"{self.frame_multiple}k+1 (4 x latent_window_size per section)"

    @property
    def min_frames(self) -> int:  # type: ignore[override]
        return 4 * self.fopts.latent_window_size + 1

    def supported_modes(self) -> list[Mode]:
        return ["i2v", "flf2v"]

    def variant(self) -> str:
        return "13b"

    def is_available(self) -> Availability:
        return model_availability(self.name, [self.model_id(), self.fopts.transformer, self.fopts.image_encoder])

    def worker_backends(self) -> list[VideoBackend]:
        if self.opts.gpus_per_worker > 1:
            # The transformer and image encoder are built here and handed to the pipeline, and diffusers
            # dispatches only the components it loads itself over a device_map: they would stay on the CPU.
            raise ConfigError("framepack: gpus_per_worker > 1 is not supported (one GPU per worker)",
                              hint='set gpus_per_worker = 1; on a small card use offload = "group" or "model"')
        return super().worker_backends()

    def sections(self, plan: RenderPlan) -> int:
        return max(1, (plan.frames - 1) // (4 * self.fopts.latent_window_size))

    def total_steps(self, plan: RenderPlan) -> int:
        return plan.steps * self.sections(plan)

    def _load_pipeline(self, device: str, dtype: Any, device_map: dict[str, Any]) -> Any:
        from transformers import SiglipImageProcessor, SiglipVisionModel

        o = self.fopts
        transformer = load_component(diffusers_class("HunyuanVideoFramepackTransformer3DModel"), self.name,
                                     o.transformer, **dtype_kwarg(dtype))
        feature_extractor = load_component(SiglipImageProcessor, self.name, o.image_encoder,
                                           subfolder="feature_extractor")
        image_encoder = load_component(SiglipVisionModel, self.name, o.image_encoder, subfolder="image_encoder",
                                       **transformers_dtype_kwarg(dtype))
        return load_component(diffusers_class("HunyuanVideoFramepackPipeline"), self.name, self.model_id(),
                              transformer=transformer, feature_extractor=feature_extractor,
                              image_encoder=image_encoder, **dtype_kwarg(dtype), **device_map)

    def pipeline_kwargs(self, pipe: Any, plan: RenderPlan, req: VideoRequest) -> tuple[Any, dict[str, Any]]:
        lws = self.fopts.latent_window_size
        window = (lws - 1) * 4 + 1
        kwargs: dict[str, Any] = {"num_frames": self.sections(plan) * window, "latent_window_size": lws,
                                  "sampling_type": self.fopts.sampling}
        assert req.first_image is not None
        kwargs["image"] = load_image(req.first_image, plan.width, plan.height)
        if plan.mode == "flf2v":
            assert req.last_image is not None
            kwargs["last_image"] = load_image(req.last_image, plan.width, plan.height)
        return pipe, kwargs
