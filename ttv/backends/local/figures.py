"""The measured figures a local backend declares about its model family: peak GPU memory
(`peak_vram = (VramRow(...), ...)`, for `ttv doctor`'s "does it fit" check) and published
per-step timings (`timings = (TimingRow(...), ...)`, for `ttv estimate`).

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
        base = nearest(cands)
        guess = max(base.gb, (download_gb or 0.0) * 1.1)
        return guess, (f"no measurement without offload; at least the weights ({download_gb or '?'} GB) or "
                       f"{base.gb} GB ({base.source}), whichever is larger")
    if offload in ("group", "sequential"):
        r = min(cands, key=lambda r: r.gb)
        return r.gb, f"{r.source} (closest measured low-memory setting)"
    r = nearest(cands)
    return r.gb, f"{r.source} (nearest measured setting)"


__all__ = ["PEAK_VRAM_DATE", "TimingRow", "VramRow", "peak_vram_gb"]
