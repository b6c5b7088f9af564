"""Keyframes from a local diffusers text-to-image pipeline (`AutoPipelineForText2Image`: SDXL, SD,
FLUX, ...), with the same loading rules as the video backends: local folder or HF cache only, the
pipeline loaded once per provider instance and reused for every keyframe, OOM classified with a hint.

The image is rendered at the nearest size the model accepts (multiples of `size_multiple`, default 16)
and then fitted (scale + centre crop) to exactly request.width x request.height.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from ttv.backends.base import Availability, GenerateResult, ImageProvider, ImageRequest, JobContext, Options
from ttv.backends.local import common
from ttv.backends.local.common import (
    LocalOptions,
    PipelineWorkers,
    StepProgress,
    apply_memory_options,
    classify_errors,
    dtype_kwarg,
    load_component,
    model_availability,
    plan_workers,
    torch_dtype,
)
from ttv.core.errors import ConfigError


class DiffusersImageOptions(LocalOptions):
    model: str = Field("stabilityai/sdxl-turbo", description="text-to-image diffusers repo or local folder")
    size_multiple: int = Field(16, ge=8, le=128, description="render size granularity before the exact fit")
    max_side: int | None = Field(None, ge=64, le=4096, description="cap the render size (keeps the aspect)")


class DiffusersKeyframes(PipelineWorkers, ImageProvider):
    name: ClassVar[str] = "diffusers"
    summary: ClassVar[str] = "keyframes from a local diffusers text-to-image model (SDXL, FLUX, ...)"
    extra: ClassVar[str | None] = "local"
    OptionsModel: ClassVar[type[Options]] = DiffusersImageOptions
    known_models: ClassVar[dict[str, dict[str, Any]]] = {  # download sizes (GB) etc., checked 2026-11
        "stabilityai/sdxl-turbo": {"gb": 14, "pipeline": "StableDiffusionXLPipeline"},
        "stabilityai/stable-diffusion-xl-base-1.0": {"gb": 14, "pipeline": "StableDiffusionXLPipeline"},
        "black-forest-labs/FLUX.1-schnell": {"gb": 34, "pipeline": "FluxPipeline"},
    }
    default_steps: ClassVar[int | None] = None  # None: the pipeline's own default

    def __init__(self, options: Options | None = None, *, device: str | None = None) -> None:
        super().__init__(options)
        self._pipe: Any = None
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._workers: list[DiffusersKeyframes] = []
        self.load_count = 0
        self.device: str | None = device

    def worker_backends(self) -> list[DiffusersKeyframes]:
        """One instance per selected GPU (each loads its pipeline once), or one CPU instance."""
        if self.opts.parallel != "none":
            raise ConfigError(f"{self.name}: parallel = \"{self.opts.parallel}\" is for video backends (Wan): "
                              "a keyframe renders on one GPU", hint=f"remove parallel from [backends.{self.name}]")
        groups = plan_workers(self.opts.gpus, 1, common.visible_gpus(), self.name)
        workers = [type(self)(self.options, device=f"cuda:{g[0]}") for g in groups] or \
            [type(self)(self.options, device="cpu")]
        self._workers = list(workers)
        return list(workers)

    def concurrency(self) -> int:
        return 1

    @property
    def opts(self) -> DiffusersImageOptions:
        assert isinstance(self.options, DiffusersImageOptions)
        return self.options

    def model_name(self) -> str:
        return self.opts.model

    def is_available(self) -> Availability:
        return model_availability(self.name, [self.opts.model])

    def pipeline(self, ctx: JobContext | None = None) -> Any:
        with self._lock:
            if self._pipe is not None:
                return self._pipe
            from diffusers import AutoPipelineForText2Image

            if self.device is None:
                gpus = common.visible_gpus()
                self.device = f"cuda:{(self.opts.gpus or gpus)[0]}" if gpus else "cpu"
            device = self.device
            if ctx is not None:
                ctx.progress(0.0, status="loading", message=f"loading {self.opts.model} on {device}")
            t0 = time.monotonic()
            dtype = torch_dtype(self.opts.dtype, device)
            with classify_errors(self.name, self.opts, "loading the model", (0, 0, 1)):
                pipe = load_component(AutoPipelineForText2Image, self.name, self.opts.model, **dtype_kwarg(dtype))
                apply_memory_options(pipe, self.opts, device, [])
            self.load_count += 1
            if ctx is not None:
                ctx.event("model.loaded", backend=self.name, model=self.opts.model, device=device,
                          seconds=round(time.monotonic() - t0, 3))
            self._pipe = pipe
            return pipe

    def render_size(self, width: int, height: int) -> tuple[int, int]:
        m = self.opts.size_multiple
        scale = 1.0
        if self.opts.max_side and max(width, height) > self.opts.max_side:
            scale = self.opts.max_side / max(width, height)
        return max(m, round(width * scale / m) * m), max(m, round(height * scale / m) * m)

    def generate(self, request: ImageRequest, output: Path, ctx: JobContext) -> GenerateResult:
        with self._run_lock:  # one pipeline renders one image at a time
            return self._generate(request, output, ctx)

    def _generate(self, request: ImageRequest, output: Path, ctx: JobContext) -> GenerateResult:
        import torch
        from PIL import Image, ImageOps

        pipe = self.pipeline(ctx)
        w, h = self.render_size(request.width, request.height)
        kwargs: dict[str, Any] = {"prompt": ", ".join(p for p in (request.prompt, request.style) if p),
                                  "width": w, "height": h, "output_type": "pil",
                                  "generator": torch.Generator(device="cpu").manual_seed(int(request.seed))}
        if self.opts.negative_prompt:
            kwargs["negative_prompt"] = self.opts.negative_prompt
        steps, guidance = self.opts.steps, self.opts.guidance
        if _distilled(self.opts.model):  # sdxl-turbo / FLUX schnell: few steps, no CFG
            steps = steps or 4
            guidance = 0.0 if guidance is None else guidance
        if steps:
            kwargs["num_inference_steps"] = steps
        if guidance is not None:
            kwargs["guidance_scale"] = guidance
        total = steps or int(_default_param(pipe, "num_inference_steps", 50))
        kwargs["callback_on_step_end"] = StepProgress(ctx, total)
        t0 = time.monotonic()
        with classify_errors(self.name, self.opts, f"rendering keyframe {request.keyframe_id}", (w, h, 1)), \
                torch.inference_mode():
            image = pipe(**kwargs).images[0]
        image = image.convert("RGB")
        if image.size != (request.width, request.height):
            image = ImageOps.fit(image, (request.width, request.height), method=Image.Resampling.LANCZOS)
        output = Path(output)
        image.save(output, format="PNG")
        return GenerateResult(cost_usd=0.0, model=self.opts.model,
                              info={"render_size": [w, h], "size": [request.width, request.height],
                                    "device": self.device, "seconds": round(time.monotonic() - t0, 3),
                                    "pipeline": type(pipe).__name__})


def _default_param(pipe: Any, name: str, fallback: Any) -> Any:
    import inspect

    param = inspect.signature(pipe.__call__).parameters.get(name)
    return param.default if param is not None and param.default is not inspect.Parameter.empty else fallback


def _distilled(model: str) -> bool:
    name = model.lower()
    return any(tag in name for tag in ("turbo", "schnell", "lightning", "lcm"))
