"""The measured figures a local backend declares about its model family: peak GPU memory
(`peak_vram = (VramRow(...), ...)`) and the weights of each component (`footprints`), which
`estimate_peak_gb` turns into a peak for any size, frame count and memory setting (`ttv doctor`'s
"does it fit" check), and published per-step timings (`timings = (TimingRow(...), ...)`, for `ttv estimate`).

Rows are measured or published figures per size class, resolution and memory option (checked 2026-11,
sources named per row).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

PEAK_VRAM_DATE = "2026-11"


@dataclass(frozen=True)
class TimingRow:
    """Seconds per denoising step (CFG included where the source ran it) at a reference size."""

    variant: str  # size class, e.g. "14b"
    gpu: str  # a key of common.GPU_FACTORS, e.g. "H100"
    size: tuple[int, int, int]  # (width, height, frames) of the measurement
    seconds_per_step: float
    source: str


@dataclass(frozen=True)
class VramRow:
    variant: str  # size class, e.g. "14b" ("" or any: see `any_variant`)
    size: tuple[int, int]  # (width, height) of the measurement
    offload: str  # the backend's `offload` option: none | model | sequential | group
    gb: float
    source: str
    frames: int = 0  # frames of the measurement; 0: the model's trained length


@dataclass(frozen=True)
class Footprint:
    """GB of each component's weights of a size class as the backend loads them (bfloat16; the Wan VAE and
    image encoder in float32), for the memory formula. `transformer` is one denoiser; `experts` how many
    (Wan 2.2 A14B: two, of which model offload holds one at a time)."""

    variant: str
    transformer: float
    text_encoder: float
    other: float  # VAE, image encoder, small parts
    source: str
    experts: int = 1


def latent_tokens(width: int, height: int, frames: int, geometry: tuple[int, int, int]) -> int:
    """Transformer tokens of one clip: (spatial VAE factor, temporal VAE factor, patch size)."""
    s, t, p = geometry
    return (1 + max(0, frames - 1) // t) * math.ceil(height / s / p) * math.ceil(width / s / p)


# Resident weights under group offload: a streamed block group (and its prefetch) on the GPU; sequential
# offload keeps only the running layer. Small next to the activations, which stay on the GPU either way.
GROUP_RESIDENT_FRACTION = 0.02
SEQUENTIAL_RESIDENT_GB = 0.5


def estimate_peak_gb(rows: Iterable[VramRow], footprints: Iterable[Footprint], geometry: tuple[int, int, int],
                     variant: str, width: int, height: int, frames: int, offload: str, *, ref_frames: int,
                     float32: bool = False, label: str = "") -> tuple[float | None, str]:
    """Peak GPU memory of one render, from the model, the size, the frame count and the memory setting.

    peak = max(encode phase, denoise/decode phase), where
      encode phase    = the text (and image) encoder resident (all weights without offload);
      denoise phase   = resident weights + activations;
      resident        = none: every component; model: one denoiser (diffusers moves one model to the GPU
                        at a time); group: a streamed fraction of the denoiser; sequential: ~0.5 GB;
      activations     = A x tokens / tokens_ref, tokens = latent frames x latent height x latent width
                        after patching (`latent_tokens`; attention kernels keep memory linear in tokens);
      A               = measured peak - resident weights, at the nearest measured configuration of the same
                        size class (`VramRow`, same offload preferred), so a measured point is reproduced; a
                        size class with no measurement borrows another's, scaled by transformer weights.
    Weights are float32 = 2x bfloat16. Sources: the footprints and rows each backend declares."""
    by_variant = {f.variant: f for f in footprints}
    fp = by_variant.get(variant)
    rows = list(rows)
    cands = [r for r in rows if r.variant == variant]
    borrowed = 1.0
    if fp is not None and not cands:
        cands = [r for r in rows if r.variant in by_variant]
    if fp is None or not cands:
        return None, f"no footprint or measured peak for {label or 'this model'} {variant}".replace("  ", " ")
    scale = 2.0 if float32 else 1.0

    def resident(mode: str, f: Footprint) -> float:
        if mode == "none":
            return f.transformer * f.experts + f.text_encoder + f.other
        if mode == "model":
            return f.transformer
        if mode == "group":
            return f.transformer * GROUP_RESIDENT_FRACTION
        return SEQUENTIAL_RESIDENT_GB

    def size_distance(r: VramRow) -> float:
        return abs(math.log((width * height) / (r.size[0] * r.size[1])))

    same = [r for r in cands if r.offload == offload]
    anchor = min(same or cands, key=size_distance)
    anchor_fp = by_variant[anchor.variant]
    if anchor.variant != variant:  # activations grow with the model's width: scale by its weights
        borrowed = fp.transformer / anchor_fp.transformer
    anchor_frames = anchor.frames or ref_frames
    act_ref = max(anchor.gb - resident(anchor.offload, anchor_fp), 0.0) * borrowed
    tokens = latent_tokens(width, height, frames, geometry)
    ref_tokens = latent_tokens(anchor.size[0], anchor.size[1], anchor_frames, geometry)
    act = act_ref * tokens / ref_tokens
    # model offload: the text encoder (or the VAE/image encoder) alone on the GPU while it runs
    encode = max(fp.text_encoder, fp.other) if offload == "model" else 0.0
    peak = max(encode * scale, resident(offload, fp) * scale + act)
    how = (f"estimate: {resident(offload, fp) * scale:.1f} GB weights ({offload} offload) + {act:.1f} GB activations "
           f"({tokens} tokens, scaled from {anchor.gb:g} GB at {anchor.size[0]}x{anchor.size[1]}x{anchor_frames}, "
           f"offload={anchor.offload}, {anchor.variant}: {anchor.source}); encoders {encode * scale:.1f} GB; weights: {fp.source} "
           f"(checked {PEAK_VRAM_DATE})")
    return round(peak, 2), how


def peak_vram_gb(rows: Iterable[VramRow], variant: str, width: int, height: int, offload: str,
                 download_gb: float | None = None, *, any_variant: bool = False,
                 label: str = "") -> tuple[float | None, str]:
    """(peak GB, how it was found) for this configuration; (None, why) when nothing fits.
    `any_variant`: the family has one size class whatever the model id says."""
    cands = [r for r in rows if any_variant or r.variant == variant]
    if not cands:
        return None, f"no measured peak for {label or 'this model'} {variant}".replace("  ", " ")

    def nearest(pool: list[VramRow]) -> VramRow:
        return min(pool, key=lambda r: abs(math.log((width * height) / (r.size[0] * r.size[1]))))

    exact = [r for r in cands if r.offload == offload]
    if exact:
        r = nearest(exact)
        return r.gb, f"{r.source} (measured peaks {PEAK_VRAM_DATE})"
    if offload == "none":
        # Not the download size: checkpoints are often stored in float32 and hold parts that never sit on
        # the GPU together; without a footprint (estimate_peak_gb) there is nothing honest to say.
        return None, f"no measurement without offload for {label or 'this model'} {variant}".replace("  ", " ")
    if offload in ("group", "sequential"):
        r = min(cands, key=lambda r: r.gb)
        return r.gb, f"{r.source} (closest measured low-memory setting)"
    r = nearest(cands)
    return r.gb, f"{r.source} (nearest measured setting)"


__all__ = ["PEAK_VRAM_DATE", "Footprint", "TimingRow", "VramRow", "estimate_peak_gb", "latent_tokens", "peak_vram_gb"]
