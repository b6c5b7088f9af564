"""HunyuanVideo through diffusers: `HunyuanVideoPipeline` (T2V) or, for an I2V checkpoint
(model_index `HunyuanVideoImageToVideoPipeline`, e.g. hunyuanvideo-community/HunyuanVideo-I2V), I2V
from the first keyframe. No first-last-frame mode (use `framepack` for that).

Rules: frame counts 4k+1 (129 trained), width/height multiples of 16, 24 fps native. The latent_concat
I2V checkpoint drops the first 4 frames it decodes, so it is asked for 4 more than planned. HunyuanVideo is
guidance-distilled: `guidance` is the embedded guidance (default 6.0).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from ttv.backends.base import Options, VideoRequest
from ttv.backends.local.common import (
    LocalOptions,
    LocalVideoBackend,
    Mode,
    RenderPlan,
    diffusers_class,
    dtype_kwarg,
    load_component,
    load_image,
    pipeline_class_name,
)
from ttv.backends.local.figures import Footprint, TimingRow, VramRow

HUNYUAN_I2V = "HunyuanVideoImageToVideoPipeline"


class HunyuanOptions(LocalOptions):
    model: str = Field("hunyuanvideo-community/HunyuanVideo", description="HunyuanVideo diffusers repo or folder")
    true_cfg: float = Field(1.0, ge=1.0, le=20.0, description=">1 enables true CFG with the negative prompt (2x cost)")


class HunyuanBackend(LocalVideoBackend):
    name: ClassVar[str] = "hunyuan"
    summary: ClassVar[str] = "HunyuanVideo (diffusers, local GPU): text to video (I2V with the I2V checkpoint)"
    OptionsModel: ClassVar[type[Options]] = HunyuanOptions
    family: ClassVar[str] = "hunyuan"
    known_models: ClassVar[dict[str, dict[str, Any]]] = {  # download sizes (GB) etc., checked 2026-11
        "hunyuanvideo-community/HunyuanVideo": {"gb": 41, "pipeline": "HunyuanVideoPipeline"},
        "hunyuanvideo-community/HunyuanVideo-I2V": {"gb": 52, "pipeline": "HunyuanVideoImageToVideoPipeline"},
    }
    # Seconds per denoising step (estimate), published 2026-11.
    timings: ClassVar[tuple[TimingRow, ...]] = (
        TimingRow("13b", "A100", (1280, 720, 129), 3234 / 50,
                  "AccVideo README: HunyuanVideo 720p 129f A100 3234 s"),
        TimingRow("13b", "A100", (960, 544, 93), 704 / 50,
                  "AccVideo README: HunyuanVideo 544x960x93 A100 704 s"),
    )
    # Peak VRAM (doctor: does it fit?), checked 2026-11.
    peak_vram: ClassVar[tuple[VramRow, ...]] = (
        VramRow("13b", (1280, 720), "none", 60.0, "HunyuanVideo README: 720x1280x129 needs 60 GB"),
        VramRow("13b", (960, 544), "none", 45.0, "HunyuanVideo README: 544x960x129 needs 45 GB"),
    )
    # Weights as loaded (GB, bf16): transformer 13B, LLaVA-LLaMA-3-8B text encoder, CLIP-L, VAE.
    footprints: ClassVar[tuple[Footprint, ...]] = (
        Footprint("13b", 26.0, 16.0, 1.0, "HunyuanVideo README: 13B transformer; llava-llama-3-8b text encoder; "
                  "CLIP-L and VAE ~1 GB"),
    )
    latent_geometry: ClassVar[tuple[int, int, int]] = (8, 4, 2)  # 3D VAE 8x8x4, patch 1x2x2
    default_model: ClassVar[str] = "hunyuanvideo-community/HunyuanVideo"
    # No HunyuanVideo model takes a last frame: keyframe mode runs only with end_frame = "ignore" (I2V).
    mode_models: ClassVar[dict[str, str]] = {"keyframe": "hunyuanvideo-community/HunyuanVideo-I2V",
                                             "chain": "hunyuanvideo-community/HunyuanVideo-I2V"}
    native_fps: int = 24
    frame_multiple: ClassVar[int] = 4
    min_frames: ClassVar[int] = 5
    trained_frames: int = 129
    size_multiple: int = 16
    default_steps: ClassVar[int] = 50
    default_guidance: ClassVar[float] = 6.0

    def pipeline_name(self) -> str:
        name = pipeline_class_name(self.model_id(), self.opts.pipeline)
        if name:
            return name
        return HUNYUAN_I2V if "I2V" in self.model_id().upper() else "HunyuanVideoPipeline"

    def supported_modes(self) -> list[Mode]:
        return ["i2v"] if self.pipeline_name() == HUNYUAN_I2V else ["t2v"]

    def variant(self) -> str:
        return "13b"

    def _load_pipeline(self, device: str, dtype: Any, device_map: dict[str, Any]) -> Any:
        return load_component(diffusers_class(self.pipeline_name()), self.name, self.model_id(),
                              **dtype_kwarg(dtype), **device_map)

    def pipeline_kwargs(self, pipe: Any, plan: RenderPlan, req: VideoRequest) -> tuple[Any, dict[str, Any]]:
        assert isinstance(self.options, HunyuanOptions)
        kwargs: dict[str, Any] = {"num_frames": plan.frames, "true_cfg_scale": self.options.true_cfg}
        if plan.mode == "i2v":
            assert req.first_image is not None
            kwargs["image"] = load_image(req.first_image, plan.width, plan.height)
            transformer = getattr(pipe, "transformer", None)
            if getattr(getattr(transformer, "config", None), "image_condition_type", None) == "latent_concat":
                # the latent_concat I2V pipeline drops the first 4 decoded frames (`video[:, :, 4:]` in
                # diffusers): ask for 4 more so the clip has the planned length (129 -> 133, not 125)
                kwargs["num_frames"] = plan.frames + 4
                plan.notes.append(f"latent_concat I2V: rendered {plan.frames + 4} frames, the first 4 dropped")
        return pipe, kwargs
