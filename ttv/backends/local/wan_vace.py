"""Wan 2.1 VACE through diffusers (`WanVACEPipeline`): one model for text-to-video, first frame,
first-last frame and, in chaining mode with `continue_frames`, continuation from the previous clip's last
K frames.

Every conditioned mode is a `video` + `mask` pair of `num_frames` frames: kept frames are given in `video`
with a black mask, frames to generate are grey (128) with a white mask. Continuation = the K tail frames
then grey; the output re-renders the K kept frames at its head (the stitch trims them: `head_repeat`).
Rules (diffusers 0.42.1 `pipeline_wan_vace.py`): frame counts 4k+1 (81 at 16 fps is the trained length),
width and height multiples of 16.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from ttv.backends.base import Continuation, Options, VideoRequest
from ttv.backends.local.common import (
    LocalOptions,
    LocalVideoBackend,
    Mode,
    RenderPlan,
    diffusers_class,
    dtype_kwarg,
    guess_variant,
    load_component,
    load_image,
)
from ttv.backends.local.wan import WAN_GEOMETRY

WAN_VACE = "WanVACEPipeline"
GREY = 128  # the value VACE was trained with for frames to generate


class WanVACEOptions(LocalOptions):
    model: str = Field("Wan-AI/Wan2.1-VACE-1.3B-diffusers", description="a Wan VACE diffusers repo or local folder")
    vae_fp32: bool = Field(True, description="keep the VAE in float32 (the Wan authors' setting)")
    conditioning_scale: float = Field(1.0, ge=0.0, le=2.0, description="strength of the VACE control")


class WanVACEBackend(LocalVideoBackend):
    name: ClassVar[str] = "wan-vace"
    summary: ClassVar[str] = "Wan 2.1 VACE (diffusers, local GPU): text/first/first-last frame, continue from K frames"
    OptionsModel: ClassVar[type[Options]] = WanVACEOptions
    family: ClassVar[str] = "wan"
    default_model: ClassVar[str] = "Wan-AI/Wan2.1-VACE-1.3B-diffusers"
    native_fps: int = WAN_GEOMETRY.native_fps  # VACE is Wan 2.1: the same frame and size rules
    frame_multiple: ClassVar[int] = WAN_GEOMETRY.frame_multiple
    min_frames: ClassVar[int] = WAN_GEOMETRY.min_frames
    trained_frames: int = WAN_GEOMETRY.trained_frames
    size_multiple: int = WAN_GEOMETRY.size_multiple
    default_steps: ClassVar[int] = WAN_GEOMETRY.default_steps
    default_guidance: ClassVar[float] = WAN_GEOMETRY.default_guidance

    @property
    def vopts(self) -> WanVACEOptions:
        assert isinstance(self.options, WanVACEOptions)
        return self.options

    def supported_modes(self) -> list[Mode]:
        return ["t2v", "i2v", "flf2v"]

    def continuation(self) -> Continuation | None:
        # The mask is per frame, so any K works; the clip must still leave new frames (checked per segment).
        return Continuation(frames=list(range(2, 65)), frame_rule="2-64", size_multiple=16,
                            note="WanVACEPipeline(video=tail + grey, mask=black for the tail + white); "
                                 "the output re-renders the tail at its head")

    def variant(self) -> str:
        return guess_variant(self.model_id(), [("1.3B", "1.3b"), ("14B", "14b")], "1.3b")

    def _load_pipeline(self, device: str, dtype: Any, device_map: dict[str, Any]) -> Any:
        import torch

        extra: dict[str, Any] = {}
        if self.vopts.vae_fp32 and dtype != torch.float32 and not device_map:
            extra["vae"] = load_component(diffusers_class("AutoencoderKLWan"), self.name, self.model_id(),
                                          subfolder="vae", **dtype_kwarg(torch.float32))
        return load_component(diffusers_class(WAN_VACE), self.name, self.model_id(), **dtype_kwarg(dtype),
                              **device_map, **extra)

    def pipeline_kwargs(self, pipe: Any, plan: RenderPlan, req: VideoRequest) -> tuple[Any, dict[str, Any]]:
        kwargs: dict[str, Any] = {"num_frames": plan.frames, "conditioning_scale": self.vopts.conditioning_scale}
        if plan.mode == "t2v":
            return pipe, kwargs
        keep: dict[int, Any] = {}  # frame index -> the picture that frame must be
        tail = self.tail_images(plan, req)
        if tail:
            keep.update(enumerate(tail))
        else:
            assert req.first_image is not None
            keep[0] = load_image(req.first_image, plan.width, plan.height)
        if plan.mode == "flf2v" and req.last_image is not None:
            keep[plan.frames - 1] = load_image(req.last_image, plan.width, plan.height)
        kwargs["video"], kwargs["mask"] = vace_video_and_mask(keep, plan.frames, plan.width, plan.height)
        return pipe, kwargs


def vace_video_and_mask(keep: dict[int, Any], frames: int, width: int, height: int) -> tuple[list[Any], list[Any]]:
    """VACE's inputs: the kept pictures at their indices and grey elsewhere; mask black (keep) / white (make)."""
    from PIL import Image

    grey = Image.new("RGB", (width, height), (GREY, GREY, GREY))
    black = Image.new("L", (width, height), 0)
    white = Image.new("L", (width, height), 255)
    video = [keep.get(i, grey) for i in range(frames)]
    mask = [black if i in keep else white for i in range(frames)]
    return video, mask
