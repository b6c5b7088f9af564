"""Shared machinery of the local diffusers backends (Wan, LTX-Video, HunyuanVideo, FramePack, text-to-image).

* Options: one pydantic model for every memory/speed switch (dtype, offload, group offload, VAE
  tiling/slicing, attention backend, torch.compile) plus steps, guidance, size and frame overrides.
* Workers: `worker_backends()` returns one backend instance per GPU (or per group of GPUs); each loads
  its pipeline lazily, once, on its first `generate`, and reuses it for every later segment.
* Loading: from a local folder, or from the local Hugging Face cache only (`local_files_only=True`).
  A model that is not there is a `BackendError(code="MODEL_NOT_FOUND")` naming the approximate download
  size and the exact `hf download ...` command; nothing is ever downloaded implicitly.
* Out of memory: `torch.OutOfMemoryError` becomes `BackendError(kind="backend", code="OOM")` whose hint
  names the options that would reduce memory for *this* configuration.
* Progress: every denoising step goes to `ctx.progress(step/total, step=k, total=n, status="running")`.
* Estimates: the published per-step timings each backend declares (`timings`, figures.py).

Nothing here imports torch, diffusers or transformers at module level: `ttv backends list` and
`ttv --help` must stay fast and work without the `local` extra.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator

from ttv.backends.base import (
    Availability,
    Continuation,
    CostEstimate,
    JobContext,
    Options,
    VideoBackend,
    VideoCapabilities,
    VideoRequest,
    plan_continuation,
)
from ttv.backends.local.figures import Footprint, TimingRow, VramRow
from ttv.backends.local.parallel_rules import (
    NO_PLAN,
    REFUSALS,
    GroupPlan,
    GroupRunner,
    ParallelMode,
    check_tokens,
    projected_speedup,
    refused,
)
from ttv.core.errors import BackendError, ConfigError, InputRejected

if TYPE_CHECKING:
    import numpy as np

DTypeName = Literal["auto", "bfloat16", "float16", "float32"]
OffloadMode = Literal["none", "model", "sequential", "group"]
CompileMode = Literal["none", "regional", "full"]
Mode = Literal["t2v", "i2v", "flf2v"]


# ----------------------------------------------------------------------------------------- options


class LocalOptions(Options):
    """Options shared by every local diffusers backend (`[backends.NAME]` in ttv.toml)."""

    model: str = Field("", description="hub id in the local HF cache, or a local folder")
    pipeline: str | None = Field(None, description="force a diffusers pipeline class, e.g. WanImageToVideoPipeline")
    steps: int | None = Field(None, ge=1, le=500, description="denoising steps (default: the model's own)")
    guidance: float | None = Field(None, ge=0.0, le=50.0, description="guidance scale (default: the model's own)")
    negative_prompt: str | None = Field(None, description="used when the segment has none")
    dtype: DTypeName = Field("auto", description="auto = bfloat16 on GPU, float32 on CPU")
    offload: OffloadMode = Field("none", description="none | model | sequential | group (CPU offload)")
    group_offload_type: Literal["block_level", "leaf_level"] = "block_level"
    group_offload_blocks: int = Field(1, ge=1, description="blocks per group for block_level group offload")
    group_offload_stream: bool = Field(True, description="overlap transfers with compute (CUDA streams)")
    group_offload_exclude: list[str] = Field(default_factory=lambda: ["vae"],
                                             description="components kept on the GPU under group offload "
                                                         "(the VAE is small; its decode dislikes hooks)")
    vae_tiling: bool = Field(False, description="decode the VAE in tiles (the decode is often the OOM point)")
    vae_slicing: bool = False
    attention: str | None = Field(None, description="diffusers attention backend: native, flash, _flash_3, sage, ...")
    compile: CompileMode = Field("none", description="torch.compile: none | regional (repeated blocks) | full")
    gpus: list[int] | None = Field(None, description="GPU indices to use (as torch sees them after "
                                   "CUDA_VISIBLE_DEVICES); default: all visible GPUs")
    gpus_per_worker: int = Field(1, ge=1, le=16, description=">1 spreads one pipeline's components over a "
                                 "group of GPUs (device_map=balanced; each component stays whole)")
    parallel: ParallelMode = Field("none", description="one clip on a group of GPUs (sequence parallel, Wan): "
                                   "none | ulysses | ring | ulysses+ring")
    parallel_gpus: int | None = Field(None, ge=2, le=64, description="GPUs per clip with `parallel` (default: "
                                      "chaining puts all GPUs on one clip, keyframe mode one clip per GPU "
                                      "unless segments are fewer than GPUs)")
    ring_degree: int | None = Field(None, ge=2, le=64, description="ring size within a ulysses+ring group "
                                    "(default 2)")
    parallel_timeout_s: float = Field(900.0, ge=10.0, description="longest wait for any rank of a parallel "
                                      "group (every collective, every step, the model load)")
    frames: int | None = Field(None, ge=1, description="exact frame count (must satisfy the model's rule)")
    fps: int | None = Field(None, ge=1, le=120, description="render fps (default: the model's native fps)")
    max_frames: int | None = Field(None, ge=1, description="longest clip allowed (default: the trained length)")
    width: int | None = Field(None, ge=16, le=4096, description="render width (default: the project's)")
    height: int | None = Field(None, ge=16, le=4096, description="render height (default: the project's)")
    crf: int = Field(17, ge=0, le=51, description="x264 quality of the written clip")
    end_frame: Literal["auto", "require", "ignore"] = Field(
        "auto", description='keyframe mode: "auto" uses the end keyframe and refuses a model that cannot; '
                            '"ignore" renders from the first keyframe only (said in estimate, status, summary)')
    gpu_type: str | None = Field(None, description="GPU name for time estimates, e.g. H100, RTX 4090 "
                                 "(default: detected, else H100)")

    @field_validator("gpus", mode="before")
    @classmethod
    def _parse_gpus(cls, v: Any) -> Any:
        if v is None or isinstance(v, list):
            return v
        if isinstance(v, int):
            return [v]
        if isinstance(v, str):
            text = v.strip().lower()
            if text in ("", "all"):
                return None
            try:
                return [int(x) for x in re.split(r"[,\s]+", text) if x]
            except ValueError as exc:
                raise ValueError(f"gpus must look like '0,1' or 'all', got {v!r}") from exc
        return v


# ------------------------------------------------------------------------------- model resolution

def known_model(model: str) -> dict[str, Any]:
    """What a local backend class declares about a hub model id in `known_models` (download size "gb",
    diffusers "pipeline" class, an "include" list limiting the download, "flf" for first-last-frame
    checkpoints); {} when no loaded local backend knows it."""
    pending: list[type] = [PipelineWorkers]
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        found = cls.__dict__.get("known_models", {}).get(model)
        if found is not None:
            return dict(found)
    return {}


def is_local_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or Path(model).expanduser().is_dir()


def download_command(repo_id: str) -> str:
    include = known_model(repo_id).get("include")
    inc = (" --include " + " ".join(f'"{p}"' for p in include)) if include else ""
    return f"hf download {repo_id}{inc}"


def missing_model_error(backend: str, model: str, detail: str = "") -> BackendError:
    if is_local_path(model):
        return BackendError(f"{backend}: model folder {model} does not exist or is not a diffusers model"
                            + (f" ({detail})" if detail else ""),
                            hint=f"point [backends.{backend}] model at a folder holding model_index.json",
                            kind="backend", code="MODEL_NOT_FOUND")
    size = known_model(model).get("gb")
    size_text = f"about {size} GB" if size else "size unknown; several GB for a video model"
    return BackendError(
        f"{backend}: model {model} is not in the local Hugging Face cache and ttv never downloads models "
        f"implicitly" + (f" ({detail})" if detail else ""),
        hint=f"pre-fetch it ({size_text}) with `{download_command(model)}` (set HF_HOME to choose where), "
             f"or set [backends.{backend}] model to a local folder",
        kind="backend", code="MODEL_NOT_FOUND")


def cached_snapshot(repo_id: str) -> Path | None:
    """The local snapshot folder of a hub repo, or None when nothing is cached. Never touches the network."""
    if importlib.util.find_spec("huggingface_hub") is None:
        return None
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None


def resolve_model(backend: str, model: str) -> Path:
    """A local folder for `model` (a folder, or a hub id already in the HF cache); else MODEL_NOT_FOUND."""
    if is_local_path(model):
        path = Path(model).expanduser()
        if not path.is_dir():
            raise missing_model_error(backend, model)
        return path
    snap = cached_snapshot(model)
    if snap is None:
        raise missing_model_error(backend, model)
    return snap


def read_model_json(model: str, name: str = "model_index.json") -> dict[str, Any] | None:
    """Read a small JSON file of a model (local folder or HF cache) without importing torch."""
    path: Path | None = None
    if is_local_path(model):
        candidate = Path(model).expanduser() / name
        path = candidate if candidate.is_file() else None
    elif importlib.util.find_spec("huggingface_hub") is not None:
        from huggingface_hub import try_to_load_from_cache

        try:
            found = try_to_load_from_cache(model, name)
        except Exception:
            found = None
        path = Path(found) if isinstance(found, str) else None
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def pipeline_class_name(model: str, forced: str | None = None) -> str | None:
    if forced:
        return forced
    index = read_model_json(model)
    if index and isinstance(index.get("_class_name"), str):
        return str(index["_class_name"])
    return known_model(model).get("pipeline")


def extras_missing() -> list[str]:
    return [m for m in ("torch", "diffusers", "transformers", "accelerate") if importlib.util.find_spec(m) is None]


def model_availability(backend: str, models: list[str]) -> Availability:
    missing = extras_missing()
    if missing:
        return Availability(ok=False, reason=f"missing packages: {', '.join(missing)}; "
                                             "install with `pip install 'ttv[local]'`")
    for model in models:
        if is_local_path(model):
            if not (Path(model).expanduser() / "model_index.json").is_file() and not Path(model).expanduser().is_dir():
                err = missing_model_error(backend, model)
                return Availability(ok=False, reason=f"{err.message}; {err.hint}")
        elif read_model_json(model) is None and read_model_json(model, "config.json") is None:
            err = missing_model_error(backend, model)
            return Availability(ok=False, reason=f"{err.message}; {err.hint}")
    return Availability(ok=True)


# ------------------------------------------------------------------------------------------ devices


def visible_gpus() -> list[int]:
    """CUDA device indices torch can see (CUDA_VISIBLE_DEVICES already applied). Tests patch this."""
    import torch

    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []


def plan_workers(wanted: list[int] | None, per_worker: int, visible: list[int],
                 backend: str = "local") -> list[list[int]]:
    """Split GPUs into worker groups. [] means no GPU: one CPU worker."""
    if not visible:
        if wanted:
            raise ConfigError(f"{backend}: gpus = {wanted} but no CUDA GPU is visible",
                              hint="check `nvidia-smi` and CUDA_VISIBLE_DEVICES, or remove the gpus option")
        return []
    chosen = list(visible) if wanted is None else list(dict.fromkeys(wanted))
    bad = [g for g in chosen if g not in visible]
    if bad:
        raise ConfigError(f"{backend}: gpus {bad} are not visible (visible: {visible}; indices count after "
                          f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')})",
                          hint="fix the gpus option or CUDA_VISIBLE_DEVICES")
    if per_worker > len(chosen):
        raise ConfigError(f"{backend}: gpus_per_worker = {per_worker} but only {len(chosen)} GPUs are selected")
    groups = [chosen[i:i + per_worker] for i in range(0, len(chosen) - per_worker + 1, per_worker)]
    return groups


def torch_dtype(name: DTypeName, device: str) -> Any:
    import torch

    if name == "auto":
        if device == "cpu":
            return torch.float32
        # bf16 needs Ampere or newer; a T4 or V100 gets float16
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]


def dtype_kwarg(dtype: Any) -> dict[str, Any]:
    """diffusers renamed `torch_dtype` to `dtype`; pass whichever this version understands."""
    import diffusers.pipelines.pipeline_utils as pu

    return {"dtype": dtype} if hasattr(pu, "_resolve_dtype") else {"torch_dtype": dtype}


def load_component(cls: Any, backend: str, model: str, *, subfolder: str | None = None, **kw: Any) -> Any:
    """`cls.from_pretrained` from a local folder or the HF cache only; MODEL_NOT_FOUND when absent."""
    path = resolve_model(backend, model)
    try:
        if subfolder and not (path / subfolder).is_dir():
            raise OSError(f"no {subfolder}/ in {path}")
        args: dict[str, Any] = {"local_files_only": True, **kw}
        if subfolder:
            args["subfolder"] = subfolder
        return cls.from_pretrained(str(path), **args)
    except (OSError, FileNotFoundError) as exc:
        raise missing_model_error(backend, model, f"incomplete or unreadable: {exc}") from exc


def apply_memory_options(pipe: Any, opts: LocalOptions, device: str, gpu_group: list[int]) -> list[str]:
    """Move the pipeline to its device with the chosen memory switches; returns notes for the record."""
    import torch

    notes: list[str] = []
    on_gpu = device.startswith("cuda")
    multi = len(gpu_group) > 1
    if opts.vae_tiling and hasattr(getattr(pipe, "vae", None), "enable_tiling"):
        pipe.vae.enable_tiling()
    if opts.vae_slicing and hasattr(getattr(pipe, "vae", None), "enable_slicing"):
        pipe.vae.enable_slicing()
    if opts.attention:
        if opts.attention.endswith("_hub"):
            notes.append(f"attention {opts.attention} fetches its kernel from the Hugging Face Hub on first use")
        for name in ("transformer", "transformer_2", "unet"):
            module = getattr(pipe, name, None)
            if module is not None and hasattr(module, "set_attention_backend"):
                module.set_attention_backend(opts.attention)
    if multi:
        notes.append(f"split over GPUs {gpu_group} (device_map=balanced)")
        if opts.offload != "none":
            notes.append(f"offload={opts.offload} ignored with gpus_per_worker > 1")
    elif not on_gpu:
        if opts.offload != "none":
            notes.append(f"offload={opts.offload} ignored on CPU")
        pipe.to("cpu")
    elif opts.offload == "none":
        pipe.to(device)
    elif opts.offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif opts.offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    elif opts.offload == "group":
        kwargs: dict[str, Any] = {"onload_device": torch.device(device), "offload_device": torch.device("cpu"),
                                  "offload_type": opts.group_offload_type, "use_stream": opts.group_offload_stream}
        if opts.group_offload_type == "block_level":
            kwargs["num_blocks_per_group"] = opts.group_offload_blocks
        exclude = [name for name in opts.group_offload_exclude if getattr(pipe, name, None) is not None]
        if hasattr(pipe, "enable_group_offload"):
            pipe.enable_group_offload(**kwargs, exclude_modules=exclude)
        else:  # older diffusers: per model
            from diffusers.hooks import apply_group_offloading

            for name, comp in pipe.components.items():
                if isinstance(comp, torch.nn.Module):
                    if name in exclude:
                        comp.to(device)
                    else:
                        apply_group_offloading(comp, **kwargs)
    if opts.compile != "none":
        # Offload hooks on the compiled blocks (group, sequential) are compiler-disabled functions, which a
        # full graph may not contain: compile them with graph breaks there.
        fullgraph = not (on_gpu and not multi and opts.offload in ("group", "sequential"))
        for name in ("transformer", "transformer_2", "unet"):
            module = getattr(pipe, name, None)
            if module is None:
                continue
            if opts.compile == "regional" and getattr(module, "_repeated_blocks", None):
                module.compile_repeated_blocks(fullgraph=fullgraph)
            else:
                if opts.compile == "regional":
                    notes.append(f"{name} declares no repeated blocks: compiled whole")
                module.compile()
        notes.append(f"torch.compile ({opts.compile}{'' if fullgraph else ', graph breaks at offload hooks'}); "
                     "the first segment includes compile time")
    if hasattr(pipe, "set_progress_bar_config"):
        pipe.set_progress_bar_config(disable=True)
    return notes


# -------------------------------------------------------------------------------------------- OOM


def is_oom(exc: BaseException) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    oom_types = tuple(t for t in (getattr(torch, "OutOfMemoryError", None),
                                  getattr(torch.cuda, "OutOfMemoryError", None)) if isinstance(t, type))
    if oom_types and isinstance(exc, oom_types):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower() and "cuda" in str(exc).lower()


def memory_hint(backend: str, opts: LocalOptions, width: int, height: int, frames: int) -> str:
    """Concrete option changes that reduce memory, from the one most likely to help at small cost."""
    tips: list[str] = []
    if opts.offload == "none":
        tips.append('offload = "group" (streams blocks from CPU; close to no-offload speed)')
        tips.append('offload = "model" (one component on the GPU at a time)')
    elif opts.offload == "model":
        tips.append('offload = "group" (peak is a few blocks, not the whole transformer)')
    if opts.offload != "sequential":
        tips.append('offload = "sequential" (minimal VRAM, very slow)')
    if not opts.vae_tiling:
        tips.append("vae_tiling = true (the VAE decode is often the OOM point)")
    if opts.dtype == "float32":
        tips.append('dtype = "bfloat16"')
    if opts.compile != "none":
        tips.append('compile = "none"')
    tips.append(f"fewer frames or a smaller size (now {width}x{height}, {frames} frames): width/height/frames")
    tips.append("env PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True")
    return f"set in ttv.toml [backends.{backend}]: " + "; ".join(tips)


def free_gpu_memory() -> None:
    try:
        import gc

        import torch

        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # pragma: no cover - best effort
        pass


@contextmanager
def classify_errors(backend: str, opts: LocalOptions, what: str, size: tuple[int, int, int]) -> Iterator[None]:
    """OOM -> BackendError(code=OOM) with a memory hint; other pipeline failures -> BackendError."""
    try:
        yield
    except BackendError:
        raise
    except Exception as exc:
        if getattr(exc, "_ttv_from_context", False):
            raise  # raised by the runner's context (e.g. Ctrl-C through ctx.progress): not a pipeline failure
        if is_oom(exc):
            # The traceback's frames hold the failed call's activations: drop them, or the memory stays
            # allocated and the worker's next segment runs out of memory too.
            traceback.clear_frames(exc.__traceback__)
            free_gpu_memory()
            w, h, n = size
            raise BackendError(f"{backend}: CUDA out of memory while {what} ({w}x{h}, {n} frames)",
                               hint=memory_hint(backend, opts, w, h, n), kind="backend", code="OOM") from exc
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):  # pragma: no cover
            raise
        raise BackendError(f"{backend}: pipeline failed while {what}: {type(exc).__name__}: {exc}",
                           hint="run with TTV_DEBUG=1 for the traceback", kind="backend",
                           code="PIPELINE_ERROR") from exc


# --------------------------------------------------------------------------------------- progress


class StepProgress:
    """`callback_on_step_end` that reports every denoising step (k/N, it/s, ETA) to the job context."""

    def __init__(self, ctx: JobContext, total: int) -> None:
        self.ctx = ctx
        self.total = max(1, total)
        self.step = 0
        self._clock: Callable[[], float] = getattr(ctx, "now", None) or time.monotonic
        self._t0 = self._clock()

    def __call__(self, pipe: Any, step: int, timestep: Any, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
        self.step = min(self.step + 1, self.total)
        elapsed = max(1e-9, self._clock() - self._t0)
        rate = self.step / elapsed
        eta = (self.total - self.step) / rate if rate > 0 else 0.0
        try:
            self.ctx.progress(self.step / self.total, step=self.step, total=self.total, status="running",
                              message=f"step {self.step}/{self.total}, {rate:.2f} it/s, ETA {eta:.0f} s")
        except Exception as exc:  # e.g. the runner's Interrupted: let it through classify_errors untouched
            with contextlib.suppress(AttributeError):
                exc._ttv_from_context = True  # type: ignore[attr-defined]
            raise
        return callback_kwargs


# ----------------------------------------------------------------------------------------- frames


def frames_to_uint8(frames: Any) -> np.ndarray:
    """Pipeline output (np float [0,1] (B,F,H,W,3) / (F,H,W,3), or a list of PIL images) -> uint8 (F,H,W,3)."""
    import numpy as np

    if isinstance(frames, list) and frames and isinstance(frames[0], list):
        frames = frames[0]
    if isinstance(frames, list):
        return np.stack([np.asarray(f.convert("RGB") if hasattr(f, "convert") else f) for f in frames]).astype(np.uint8)
    arr = np.asarray(frames)
    if arr.ndim == 5:
        arr = arr[0]
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    return arr


def write_mp4(frames: np.ndarray, output: Path, fps: int, crf: int) -> None:
    """Encode with ffmpeg (stdin rawvideo, libx264, yuv420p) through ttv.core.media.FrameWriter."""
    from ttv.core.media import FrameWriter

    n, h, w, _ = frames.shape
    with FrameWriter(output, w, h, fps, crf=crf) as writer:
        for frame in frames:
            writer.write(frame)


def load_image(path: Path, width: int, height: int) -> Any:
    """Open a PNG and fit it to width x height (scale to cover, centre crop): no distortion."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as im:
            img = im.convert("RGB")
    except (OSError, ValueError) as exc:
        raise InputRejected(f"cannot read conditioning image {path}: {exc}",
                            hint="re-create it with `ttv keyframes --force`") from exc
    if img.size != (width, height):
        img = ImageOps.fit(img, (width, height), method=Image.Resampling.LANCZOS)
    return img


def load_tail(path: Path, count: int, offset: int, width: int, height: int) -> list[Any]:
    """The previous clip's last ``count`` frames (ending ``offset`` before its end) as PIL images fitted to
    width x height like `load_image`: the tail a continuation model is conditioned on."""
    from PIL import Image, ImageOps

    from ttv.core.media import MediaError, last_frames_arrays

    try:
        arrays = last_frames_arrays(path, count, offset)
    except MediaError as exc:
        raise InputRejected(f"cannot read the last {count} frames of {path.name}: {exc.message}",
                            hint="redo the previous clip (`ttv chain --only ID --force`)") from exc
    out = []
    for arr in arrays:
        img = Image.fromarray(arr, "RGB")
        if img.size != (width, height):
            img = ImageOps.fit(img, (width, height), method=Image.Resampling.LANCZOS)
        out.append(img)
    return out


def snap_frames(n: int, multiple: int, minimum: int) -> int:
    """Nearest count of the form multiple*k + 1 (k >= 1), at least `minimum`."""
    if multiple <= 1:
        return max(minimum, n)
    k = max(1, round((n - 1) / multiple))
    return max(minimum, multiple * k + 1)


# ---------------------------------------------------------------------------------- time estimates

# Published timings turned into seconds per denoising step: each backend declares its family's rows
# (`timings`, ttv/backends/local/figures.py). Dated 2026-11; sources named per row.
TIMING_TABLE_DATE = "2026-11"
# Rough relative time per step (H100 = 1). Ratios of dense bf16 throughput; a guide, not a measurement.
GPU_FACTORS: dict[str, float] = {
    "H200": 0.9, "H100": 1.0, "H800": 1.0, "GH200": 0.9, "B200": 0.6, "A100": 1.9, "L40S": 2.0,
    "RTX 4090": 2.0, "RTX 5090": 1.5, "RTX 3090": 3.6, "A10G": 5.5, "L4": 6.0, "T4": 14.0, "CPU": 300.0,
}


@cache
def detect_gpu_name() -> str | None:
    """GPU model name without importing torch (nvidia-smi), None when there is none."""
    torch_mod = __import__("sys").modules.get("torch")
    if torch_mod is not None:
        try:
            if torch_mod.cuda.is_available():
                return str(torch_mod.cuda.get_device_name(0))
        except Exception:
            pass
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=3, check=False).stdout.strip().splitlines()
    except (OSError, subprocess.SubprocessError):
        return None
    return out[0].strip() if out else None


def gpu_key(name: str | None) -> tuple[str, bool]:
    """Map a device name to a GPU_FACTORS key; (key, detected_or_given)."""
    if not name:
        return "H100", False
    norm = name.upper().replace("NVIDIA", "").replace("GEFORCE", "").strip()
    for key in sorted(GPU_FACTORS, key=len, reverse=True):
        if key.upper() in norm:
            return key, True
    return "H100", False


def estimate_seconds(timings: tuple[TimingRow, ...], variant: str, gpu_name: str | None, width: int, height: int,
                     frames: int, steps: int) -> tuple[float, str]:
    rows = [r for r in timings if r.variant == variant] or list(timings)
    if not rows:
        return 0.0, "no timing row"
    pixels = width * height * max(1, frames)

    def distance(r: TimingRow) -> float:
        w, h, f = r.size
        return abs(math.log(pixels / (w * h * max(1, f))))

    row = min(rows, key=distance)
    rw, rh, rf = row.size
    gpu, known = gpu_key(gpu_name)
    per_step = row.seconds_per_step * (pixels / (rw * rh * max(1, rf))) * GPU_FACTORS[gpu] / GPU_FACTORS[row.gpu]
    note = f"timings {TIMING_TABLE_DATE}: {row.source}; scaled to {width}x{height}x{frames}, {steps} steps, " \
           f"{gpu}{'' if known else ' (assumed)'}"
    return per_step * steps, note


# ------------------------------------------------------------------------------------- the backend


@dataclass
class RenderPlan:
    """What one segment will be rendered as (decided before any model is loaded)."""

    mode: Mode
    width: int
    height: int
    fps: int
    frames: int
    requested_frames: int
    steps: int
    guidance: float
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        return {"mode": self.mode, "width": self.width, "height": self.height, "fps": self.fps,
                "frames": self.frames, "requested_frames": self.requested_frames,
                "duration": round(self.frames / self.fps, 4), "steps": self.steps, "guidance": self.guidance,
                **({"notes": list(self.notes)} if self.notes else {}), **self.extra}


class PipelineWorkers:
    """Mixin of the local backends (video, diffusers keyframes; put it first among the bases): one
    instance per worker, each holding at most one loaded pipeline (`_pipe`); the instance that made the
    workers (`_workers`) closes them all."""

    _pipe: Any
    _workers: list[Any]
    packages: ClassVar[tuple[str, ...]] = ("torch", "diffusers", "accelerate", "transformers")  # doctor lists them
    # Hub models this backend knows (see `known_model`); sizes estimated from parameter counts and
    # stored precision, checked 2026-11.
    known_models: ClassVar[dict[str, dict[str, Any]]] = {}

    def close(self) -> None:
        for w in self._workers:
            if w is not self:
                w.close()
        self._workers = []
        group = getattr(self, "rank_group", None)
        if group is not None:
            group.close()
        if self._pipe is not None:
            self._pipe = None
            free_gpu_memory()


class LocalVideoBackend(PipelineWorkers, VideoBackend):
    """One instance = one worker (one GPU or GPU group, or the CPU) holding at most one loaded pipeline."""

    extra: ClassVar[str | None] = "local"
    OptionsModel: ClassVar[type[Options]] = LocalOptions
    family: ClassVar[str] = ""
    timings: ClassVar[tuple[TimingRow, ...]] = ()  # published per-step timings of the family (figures.py)
    # Peak-memory inputs (figures.estimate_peak_gb): measured peaks, component weights, latent geometry.
    peak_vram: ClassVar[tuple[VramRow, ...]] = ()
    footprints: ClassVar[tuple[Footprint, ...]] = ()
    latent_geometry: ClassVar[tuple[int, int, int]] = (8, 4, 2)
    default_model: ClassVar[str] = ""
    native_fps: int = 24
    frame_multiple: ClassVar[int] = 4  # frames = multiple*k + 1
    min_frames: ClassVar[int] = 5
    trained_frames: int = 81
    size_multiple: int = 16
    default_steps: ClassVar[int] = 50
    default_guidance: ClassVar[float] = 5.0

    @property
    def frame_rule(self) -> str:
        """The frame-count rule as users read it, derived from `frame_multiple` (e.g. "4k+1")."""
        return f"{self.frame_multiple}k+1"

    def __init__(self, options: Options | None = None, *, device: str | None = None,
                 gpu_group: list[int] | None = None) -> None:
        super().__init__(options)
        self.device = device
        self.gpu_group = list(gpu_group or [])
        self._pipe: Any = None
        self._lock = threading.Lock()  # guards the one-time load
        self._run_lock = threading.Lock()  # a pipeline renders one segment at a time (scheduler state)
        self._workers: list[LocalVideoBackend] = []
        self.load_count = 0
        self.load_seconds: float | None = None
        self.load_dtype: Any = None  # torch dtype the pipeline was loaded in (views must keep it)
        self._load_notes: list[str] = []
        # `parallel` (ttv.backends.local.parallel): the rank processes of this worker's GPU group, its size
        # (also set on the instance that made the workers, which validates segments), and the run's schedule.
        self.rank_group: GroupRunner | None = None
        self.group_size = 1
        self.group_plan: GroupPlan | None = None
        self.schedule: tuple[str, int | None] | None = None
        self.without: tuple[str, ...] = ()  # pipeline components not to load (a rank without text encoder)

    # -- options ------------------------------------------------------------------------------
    @property
    def opts(self) -> LocalOptions:
        assert isinstance(self.options, LocalOptions)
        return self.options

    def model_id(self) -> str:
        return self.opts.model or self.default_model

    def model_name(self) -> str:
        return self.model_id()

    def variant(self) -> str:
        return ""

    # -- workers ------------------------------------------------------------------------------
    def worker_backends(self) -> list[VideoBackend]:
        if self.opts.parallel != "none":
            self._workers = list(self.parallel_workers())
            return list(self._workers)
        groups = plan_workers(self.opts.gpus, self.opts.gpus_per_worker, visible_gpus(), self.name)
        if not groups:
            workers = [type(self)(self.options, device="cpu")]
        else:
            workers = [type(self)(self.options, device=f"cuda:{g[0]}", gpu_group=g) for g in groups]
        self._workers = list(workers)
        return list(workers)

    def concurrency(self) -> int:
        return 1

    def set_schedule(self, mode: str, segments: int | None) -> None:
        self.schedule = (mode, segments)

    # -- one clip on a group of GPUs -----------------------------------------------------------
    def parallel_refusal(self) -> str | None:
        """Why this backend cannot split one clip over GPUs; None when it can (Wan)."""
        return REFUSALS.get(self.family, NO_PLAN)

    def parallel_workers(self) -> list[LocalVideoBackend]:
        """The workers of a run with `parallel` set: rank groups, which a backend that can split one clip
        provides (Wan, through ttv.backends.local.parallel: this module never imports the rank machinery).
        Here, for every other backend: the refusal."""
        raise refused(self.name, self.opts.parallel, self.model_id(), self.parallel_refusal() or NO_PLAN)

    def attention_heads(self) -> int | None:
        """Attention heads of the transformer (a Ulysses group must divide them); None when unknown."""
        return None

    def token_count(self, plan: RenderPlan) -> tuple[int, str] | None:
        """(video tokens of one segment, how they come about): the sequence a parallel group splits."""
        return None

    # -- availability and capabilities -------------------------------------------------------
    def is_available(self) -> Availability:
        return model_availability(self.name, [self.model_id()])

    def supported_modes(self) -> list[Mode]:
        return ["t2v"]

    def offered_models(self) -> list[str]:
        """The hub models this backend knows that are pipelines of their own (not parts of one)."""
        return [m for m, facts in type(self).__dict__.get("known_models", {}).items() if facts.get("pipeline")]

    def capabilities(self) -> VideoCapabilities:
        modes = self.supported_modes()
        fps = self.opts.fps or self.native_fps
        max_frames = self.opts.max_frames or self.trained_frames
        return VideoCapabilities(modes=modes, remote=False, durations=None,
                                 min_duration=round(self.min_frames / fps, 3),
                                 max_duration=round((max_frames + 0.49) / fps, 3), fps=None, sizes=None,
                                 size_multiple=self.size_multiple, supports_seed=True,
                                 supports_negative_prompt=True,
                                 repeats_first_frame=any(m != "t2v" for m in modes), default_concurrency=1,
                                 continuation=self.continuation())

    def continuation(self) -> Continuation | None:
        """The tail lengths this backend's model continues from (subclasses with a video-conditioned route)."""
        return None

    # -- planning and validation -------------------------------------------------------------
    def choose_mode(self, req: VideoRequest) -> tuple[Mode, list[str]]:
        # Conditioning images are never dropped silently: an end keyframe the model cannot take is used
        # only with the explicit `end_frame = "ignore"`, a start image a text-only model cannot take is
        # refused (ttv/pipeline/verdict.py refuses the same before anything is made).
        modes = self.supported_modes()
        notes: list[str] = []
        ignore_end = self.opts.end_frame == "ignore"
        if req.first_image is not None and req.last_image is not None and "flf2v" in modes and not ignore_end:
            return "flf2v", notes
        if req.first_image is not None and "i2v" in modes:
            if req.last_image is not None:
                if not ignore_end:
                    raise InputRejected(f"{self.name}: segment {req.segment_id}: model {self.model_id()} takes no "
                                        "end frame (modes: " + ", ".join(modes) + ")",
                                        hint=f'set a first-last-frame model in [backends.{self.name}], or '
                                             'end_frame = "ignore" to render from the first keyframe only',
                                        code="end-frame")
                notes.append('end keyframe not used (end_frame = "ignore"): I2V from the first keyframe')
            return "i2v", notes
        if "t2v" in modes and req.first_image is None:
            return "t2v", notes
        if "t2v" in modes:
            raise InputRejected(f"{self.name}: segment {req.segment_id}: model {self.model_id()} is text-to-video "
                                "only and cannot use the start image",
                                hint=f"set an image-to-video model in [backends.{self.name}]", code="needs-i2v")
        raise InputRejected(f"{self.name}: segment {req.segment_id}: model {self.model_id()} needs a start image "
                            f"(modes: {', '.join(modes)})",
                            hint="run `ttv keyframes` first, or choose a text-to-video model")

    def model_defaults(self, mode: Mode) -> tuple[int, float]:
        """(steps, guidance) the model's authors use for this mode, when the options do not say."""
        return self.default_steps, self.default_guidance

    def snap(self, n: int) -> int:
        return snap_frames(n, self.frame_multiple, self.min_frames)

    def valid_frames(self, n: int) -> bool:
        return n >= self.min_frames and (n - 1) % self.frame_multiple == 0

    def plan(self, req: VideoRequest) -> RenderPlan:
        o = self.opts
        where = f"{self.name}: segment {req.segment_id}"
        mode, notes = self.choose_mode(req)
        width = o.width or req.width
        height = o.height or req.height
        m = self.size_multiple
        if width % m or height % m:
            near = f"{max(m, round(width / m) * m)}x{max(m, round(height / m) * m)}"
            raise InputRejected(f"{where}: size {width}x{height} is not a multiple of {m} ({self.model_id()})",
                                hint=f"set width/height in [backends.{self.name}] (e.g. {near}); "
                                     "stitch rescales clips of another size")
        fps = o.fps or self.native_fps
        requested = max(1, round(req.duration * fps))
        tail = 0
        if req.previous is not None:
            cont = plan_continuation(self.name, self.capabilities(), req.previous.frames)
            if cont.how == "tail":
                # The output re-renders the K tail frames at its head, then ~duration x fps new ones.
                tail = cont.frames
                notes.extend([cont.note] if cont.note else [])
        if o.frames is not None:
            if not self.valid_frames(o.frames):
                ok = self.snap(o.frames)
                raise InputRejected(f"{where}: frames = {o.frames} is not valid for {self.name}: frame counts are "
                                    f"{self.frame_rule} (at least {self.min_frames})",
                                    hint=f"use frames = {ok} in [backends.{self.name}]")
            frames = o.frames
            notes.append(f"frames fixed by option: {frames}")
        else:
            frames = self.snap(requested + tail)
            if frames != requested + tail:
                notes.append(f"{req.duration:g} s x {fps} fps = {requested} frames"
                             + (f" + {tail} tail frames" if tail else "")
                             + f", snapped to {frames} ({self.frame_rule})")
        if tail and frames <= tail:
            raise InputRejected(f"{where}: {frames} frames leave nothing new after the {tail}-frame tail",
                                hint="lower continue_frames or lengthen the segment")
        max_frames = o.max_frames or self.trained_frames
        if frames > max_frames:
            raise InputRejected(f"{where}: {frames} frames ({frames / fps:.2f} s at {fps} fps) exceed the "
                                f"{max_frames}-frame limit of {self.model_id()}",
                                hint=f"use segments of at most {max_frames / fps:.2f} s, or raise max_frames in "
                                     f"[backends.{self.name}] (beyond the trained length motion tends to loop)")
        d_steps, d_guidance = self.model_defaults(mode)
        steps = o.steps or d_steps
        guidance = o.guidance if o.guidance is not None else d_guidance
        extra: dict[str, Any] = {}
        if tail:
            assert req.previous is not None
            extra = {"continued": "tail", "continue_frames": tail, "head_repeat": tail,
                     "tail_offset": req.previous.seam_offset, "new_frames": frames - tail}
        plan = RenderPlan(mode=mode, width=width, height=height, fps=fps, frames=frames, requested_frames=requested,
                          steps=steps, guidance=guidance, notes=notes, extra=extra)
        tokens = self.token_count(plan) if self.group_size > 1 else None
        if tokens is not None:
            check_tokens(where, tokens[0], self.group_size, tokens[1])
        return plan

    def tail_images(self, plan: RenderPlan, req: VideoRequest) -> list[Any] | None:
        """The conditioning tail when this segment continues the previous clip from K frames, else None."""
        k = int(plan.extra.get("continue_frames", 0))
        if not k or req.previous is None:
            return None
        return load_tail(req.previous.path, k, req.previous.seam_offset, plan.width, plan.height)

    def validate_inputs(self, request: VideoRequest) -> None:
        # Raises InputRejected naming the allowed values. Image files are checked in generate(): in chain
        # mode the runner validates every segment before the previous clips (and their last frames) exist.
        self.plan(request)

    def total_steps(self, plan: RenderPlan) -> int:
        return plan.steps

    def estimate_cost(self, request: VideoRequest) -> CostEstimate:
        try:
            plan = self.plan(request)
        except InputRejected:
            fps = self.opts.fps or self.native_fps
            plan = RenderPlan("t2v", self.opts.width or request.width, self.opts.height or request.height, fps,
                              self.snap(round(request.duration * fps)), 0, self.opts.steps or self.default_steps, 0)
        gpu = self.opts.gpu_type or detect_gpu_name()  # None -> H100 assumed (said in the note)
        seconds, note = estimate_seconds(self.timings, self.variant(), gpu, plan.width, plan.height, plan.frames,
                                         self.total_steps(plan))
        if self.group_size > 1:
            speedup = projected_speedup(self.opts.parallel, self.group_size)
            seconds /= speedup
            note += f"; on {self.group_size} GPUs ({self.opts.parallel}): projected {speedup:.1f}x faster"
        return CostEstimate(usd=0.0, seconds=round(seconds, 1), source=note)

    # -- loading -----------------------------------------------------------------------------
    def _load_pipeline(self, device: str, dtype: Any, device_map: dict[str, Any]) -> Any:
        """Build the pipeline (subclasses); must go through `load_component`."""
        raise NotImplementedError

    def pipeline(self, ctx: JobContext | None = None) -> Any:
        """The loaded pipeline of this worker: loaded once, on first use, then reused."""
        with self._lock:
            if self._pipe is not None:
                return self._pipe
            device = self.device or ("cuda:0" if visible_gpus() else "cpu")
            self.device = device
            if ctx is not None:
                ctx.progress(0.0, status="loading", message=f"loading {self.model_id()} on {device}")
            t0 = time.monotonic()
            dtype = torch_dtype(self.opts.dtype, device)
            device_map: dict[str, Any] = {}
            if len(self.gpu_group) > 1:
                # leave ~10% of each card for activations and the VAE decode
                device_map = {"device_map": "balanced",
                              "max_memory": {g: int(_gpu_total_memory(g) * 0.9) for g in self.gpu_group}}
            with classify_errors(self.name, self.opts, "loading the model", (0, 0, 0)):
                pipe = self._load_pipeline(device, dtype, device_map)
                self._load_notes = apply_memory_options(pipe, self.opts, device, self.gpu_group)
            self.load_seconds = time.monotonic() - t0
            self.load_dtype = dtype
            self.load_count += 1
            self._pipe = pipe
            if ctx is not None:
                ctx.event("model.loaded", backend=self.name, model=self.model_id(), device=device,
                          seconds=round(self.load_seconds, 3))
            return pipe

    # -- generation --------------------------------------------------------------------------
    def pipeline_kwargs(self, pipe: Any, plan: RenderPlan, req: VideoRequest) -> tuple[Any, dict[str, Any]]:
        """(callable pipeline, kwargs) for this segment; subclasses add mode-specific arguments."""
        raise NotImplementedError

    def postprocess_frames(self, frames: Any, plan: RenderPlan) -> Any:
        """The frames to write, from what the pipeline returned (a subclass may drop frames it gave as input)."""
        return frames

    def generator_device(self, call: Any) -> str:
        """Where the seeded generator lives: the CPU, so a seed gives the same video on any GPU."""
        return "cpu"

    def generate(self, request: VideoRequest, output: Path, ctx: JobContext) -> Any:

        plan = self.plan(request)
        for img in (request.first_image, request.last_image):
            if img is not None and not Path(img).is_file():
                raise InputRejected(f"{self.name}: image {img} does not exist", hint="run `ttv keyframes` first")
        with self._run_lock:
            if self.rank_group is not None:
                return self._generate_group(self.rank_group, request, Path(output), ctx)
            return self._generate_locked(request, plan, Path(output), ctx)

    def _generate_group(self, group: GroupRunner, request: VideoRequest, output: Path, ctx: JobContext) -> Any:
        """Render on this worker's rank processes (rank 0 writes `output`)."""
        from ttv.backends.base import GenerateResult

        starts = group.starts
        info = group.render(request, output, ctx)
        info["device"] = group.describe()  # the group, not rank 0's own GPU
        if group.starts != starts:
            self.load_count += 1
            self.load_seconds = group.load_seconds
            ctx.event("model.loaded", backend=self.name, model=self.model_id(), device=group.describe(),
                      seconds=round(group.load_seconds or 0.0, 3))
        return GenerateResult(cost_usd=0.0, model=self.model_id(), info=info)

    def call_kwargs(self, pipe: Any, plan: RenderPlan, request: VideoRequest,
                    progress: Callable[..., Any] | None) -> tuple[Any, dict[str, Any]]:
        """(callable, kwargs) of one segment's pipeline call; the same on every rank of a parallel group."""
        import torch

        call, kwargs = self.pipeline_kwargs(pipe, plan, request)
        negative = request.negative_prompt or self.opts.negative_prompt or ""
        kwargs.update(prompt=request.prompt, negative_prompt=negative, height=plan.height, width=plan.width,
                      num_inference_steps=plan.steps, guidance_scale=plan.guidance,
                      generator=torch.Generator(device=self.generator_device(call)).manual_seed(int(request.seed)),
                      output_type="np")
        if progress is not None:
            kwargs.update(callback_on_step_end=progress, callback_on_step_end_tensor_inputs=["latents"])
        return call, kwargs

    def record_info(self, plan: RenderPlan, pipe: Any, frames: np.ndarray, gen_seconds: float) -> dict[str, Any]:
        """The clip record's info of a rendered segment."""
        info = plan.info()
        info.update(frames=int(frames.shape[0]), frames_written=int(frames.shape[0]), device=self.device,
                    generate_seconds=round(gen_seconds, 3), pipeline=type(pipe).__name__,
                    dtype=self.opts.dtype, offload=self.opts.offload)
        info["duration"] = round(frames.shape[0] / plan.fps, 4)
        if self._load_notes:
            info["load_notes"] = list(self._load_notes)
        return info

    def _generate_locked(self, request: VideoRequest, plan: RenderPlan, output: Path, ctx: JobContext) -> Any:
        from ttv.backends.base import GenerateResult

        first_load = self._pipe is None
        pipe = self.pipeline(ctx)
        import torch

        call, kwargs = self.call_kwargs(pipe, plan, request, StepProgress(ctx, self.total_steps(plan)))
        on_gpu = bool(self.device and self.device.startswith("cuda")) and torch.cuda.is_available()
        gpus = [f"cuda:{g}" for g in self.gpu_group] or [str(self.device)]
        if on_gpu:
            for gpu in gpus:
                torch.cuda.reset_peak_memory_stats(gpu)
        t0 = time.monotonic()
        with classify_errors(self.name, self.opts, f"rendering segment {request.segment_id}",
                             (plan.width, plan.height, plan.frames)), torch.inference_mode():
            result = call(**kwargs)
        frames = self.postprocess_frames(frames_to_uint8(result.frames), plan)
        gen_seconds = time.monotonic() - t0
        if plan.extra.get("head_repeat") and frames.shape[0] != plan.frames:
            # The stitch trims exactly head_repeat frames: a pipeline that returned another count would
            # make that arithmetic wrong, so this is an error, never a silently shifted seam.
            raise BackendError(f"{self.name}: {type(call).__name__} returned {frames.shape[0]} frames, "
                               f"expected {plan.frames} ({plan.extra['head_repeat']} tail + new)", kind="backend")
        if on_gpu:  # the busiest card of the worker's group
            plan.extra["peak_gpu_gb"] = round(max(torch.cuda.max_memory_allocated(g) for g in gpus) / 2**30, 2)
        try:
            write_mp4(frames, output, plan.fps, self.opts.crf)
        except Exception:
            output.unlink(missing_ok=True)
            raise
        info = self.record_info(plan, pipe, frames, gen_seconds)
        if first_load and self.load_seconds is not None:
            info["load_seconds"] = round(self.load_seconds, 3)
        return GenerateResult(cost_usd=0.0, model=self.model_id(), info=info)


def _gpu_total_memory(index: int) -> int:
    import torch

    return int(torch.cuda.get_device_properties(index).total_memory)


def diffusers_class(name: str) -> Any:
    """A diffusers pipeline/model class by name; a clear error when this diffusers version lacks it."""
    import diffusers

    cls = getattr(diffusers, name, None)
    if cls is None:
        raise BackendError(f"diffusers {diffusers.__version__} has no {name}",
                           hint="upgrade with `pip install -U diffusers`", kind="backend", code="MISSING_EXTRA")
    return cls


def guess_variant(model: str, patterns: list[tuple[str, str]], default: str) -> str:
    """Model size class from the id (e.g. '1.3B' -> '1.3b'), for the timing table."""
    upper = model.upper()
    for needle, variant in patterns:
        if needle in upper:
            return variant
    return default


def attach_view(view: Any, opts: LocalOptions, device: str, gpu_group: list[int]) -> Any:
    """Ready a `Pipeline.from_pipe(base)` view that shares the base pipeline's (already placed) modules.

    Pipeline-level offload hooks (model/sequential) are registered per pipeline, so the view gets its own;
    group offload and compile live on the shared modules and carry over as they are.
    """
    if device.startswith("cuda") and len(gpu_group) <= 1:
        if opts.offload == "model":
            view.enable_model_cpu_offload(device=device)
        elif opts.offload == "sequential":
            view.enable_sequential_cpu_offload(device=device)
    if hasattr(view, "set_progress_bar_config"):
        view.set_progress_bar_config(disable=True)
    return view


def transformers_dtype_kwarg(dtype: Any) -> dict[str, Any]:
    """transformers renamed `torch_dtype` to `dtype` in 4.56."""
    import transformers

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}
