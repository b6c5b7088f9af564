"""SkyReels-V2 Diffusion Forcing through diffusers: text to video (`SkyReelsV2DiffusionForcingPipeline`),
first / first-last frame (`...ImageToVideoPipeline`), and, in chaining mode with `continue_frames`,
continuation of the previous clip (`SkyReelsV2DiffusionForcingVideoToVideoPipeline`), the route the model
was built for (long videos in overlapping windows).

Continuation (diffusers 0.42.1, `pipeline_skyreels_v2_diffusion_forcing_v2v.py`): ttv passes the last K
frames as `video` with `overlap_history = K`; the pipeline returns the K input frames as given, then
`num_frames` decoded frames whose first K re-render that tail. ttv drops the K given frames before writing
the clip (they are the previous clip's own pixels) and records `head_repeat = K` for the re-rendered ones,
so a clip holds N = snap(K + new) frames and contributes N - K. K = 4k+1 (whole latent frames; the
authors recommend 17 or 37). One pipeline is loaded per worker; the other modes are `from_pipe` views.
Rules: frame counts 4k+1 (97 at 24 fps for 540P, 121 for 720P), sizes multiples of 16.
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
    attach_view,
    diffusers_class,
    dtype_kwarg,
    guess_variant,
    load_component,
    load_image,
    pipeline_class_name,
)

DF_T2V = "SkyReelsV2DiffusionForcingPipeline"
DF_I2V = "SkyReelsV2DiffusionForcingImageToVideoPipeline"
DF_V2V = "SkyReelsV2DiffusionForcingVideoToVideoPipeline"


class SkyReelsOptions(LocalOptions):
    model: str = Field("Skywork/SkyReels-V2-DF-1.3B-540P-Diffusers",
                       description="a SkyReels-V2 Diffusion Forcing diffusers repo or local folder")
    base_frames: int = Field(97, ge=5, description="frames per window (97 for 540P, 121 for 720P models)")
    overlap_history: int = Field(17, ge=1, description="frames shared by consecutive windows of one long clip")
    addnoise_condition: float = Field(20.0, ge=0.0, le=50.0,
                                      description="noise added to the conditioning frames (authors: 20)")


class SkyReelsBackend(LocalVideoBackend):
    name: ClassVar[str] = "skyreels"
    summary: ClassVar[str] = "SkyReels-V2 Diffusion Forcing (diffusers, local GPU): long video, continue from K frames"
    OptionsModel: ClassVar[type[Options]] = SkyReelsOptions
    family: ClassVar[str] = "wan"  # Wan-based: the Wan timings are the estimate
    default_model: ClassVar[str] = "Skywork/SkyReels-V2-DF-1.3B-540P-Diffusers"
    native_fps: int = 24
    frame_multiple: ClassVar[int] = 4
    min_frames: ClassVar[int] = 5
    trained_frames: int = 97
    size_multiple: int = 16
    default_steps: ClassVar[int] = 30
    default_guidance: ClassVar[float] = 6.0

    def __init__(self, options: Options | None = None, *, device: str | None = None,
                 gpu_group: list[int] | None = None) -> None:
        super().__init__(options, device=device, gpu_group=gpu_group)
        self._views: dict[str, Any] = {}
        if "720P" in self.model_id().upper():
            self.trained_frames = 121

    @property
    def sopts(self) -> SkyReelsOptions:
        assert isinstance(self.options, SkyReelsOptions)
        return self.options

    def supported_modes(self) -> list[Mode]:
        return ["t2v", "i2v", "flf2v"]

    def continuation(self) -> Continuation | None:
        return Continuation(frames=[4 * k + 1 for k in range(1, 10)], frame_rule="4k+1 (5-37; 17 or 37 advised)",
                            size_multiple=16, note="SkyReelsV2DiffusionForcingVideoToVideoPipeline(video=tail, "
                                                   "overlap_history=K); the output re-renders the tail at its head")

    def variant(self) -> str:
        return guess_variant(self.model_id(), [("1.3B", "1.3b"), ("14B", "14b")], "1.3b")

    def base_class(self) -> str:
        return pipeline_class_name(self.model_id(), self.opts.pipeline) or DF_V2V

    def _load_pipeline(self, device: str, dtype: Any, device_map: dict[str, Any]) -> Any:
        self._views = {}
        return load_component(diffusers_class(self.base_class()), self.name, self.model_id(), **dtype_kwarg(dtype),
                              **device_map)

    def view(self, pipe: Any, class_name: str) -> Any:
        if type(pipe).__name__ == class_name:
            return pipe
        if class_name not in self._views:
            dtype = self.load_dtype if self.load_dtype is not None else pipe.dtype
            self._views[class_name] = attach_view(diffusers_class(class_name).from_pipe(pipe, **dtype_kwarg(dtype)),
                                                  self.opts, self.device or "cpu", self.gpu_group)
        return self._views[class_name]

    def pipeline_kwargs(self, pipe: Any, plan: RenderPlan, req: VideoRequest) -> tuple[Any, dict[str, Any]]:
        o = self.sopts
        kwargs: dict[str, Any] = {"num_frames": plan.frames, "fps": plan.fps,
                                  "base_num_frames": min(o.base_frames, plan.frames),
                                  "addnoise_condition": o.addnoise_condition}
        if plan.frames > o.base_frames:  # one clip longer than a window: windows overlap by overlap_history
            kwargs["overlap_history"] = o.overlap_history
        tail = self.tail_images(plan, req)
        if tail:
            kwargs["video"] = tail
            kwargs["overlap_history"] = len(tail)
            return self.view(pipe, DF_V2V), kwargs
        if plan.mode == "t2v":
            return self.view(pipe, DF_T2V), kwargs
        assert req.first_image is not None
        kwargs["image"] = load_image(req.first_image, plan.width, plan.height)
        if plan.mode == "flf2v" and req.last_image is not None:
            kwargs["last_image"] = load_image(req.last_image, plan.width, plan.height)
        return self.view(pipe, DF_I2V), kwargs

    def postprocess_frames(self, frames: Any, plan: RenderPlan) -> Any:
        # The V2V pipeline returns the given tail first, as given: those are the previous clip's own frames.
        k = int(plan.extra.get("continue_frames", 0))
        return frames[k:] if k and frames.shape[0] == plan.frames + k else frames

    def close(self) -> None:
        self._views = {}
        super().close()
