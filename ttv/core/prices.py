"""The one dated price table for paid providers, with user overrides.

Prices change. Every row says where it came from and when (2026-11, from
shared/reference/providers.md). Users override a row in ttv.toml:

    [prices]
    "runway/gen4_turbo" = 0.05                          # USD per unit of that row
    "fal/fal-ai/kling-video/v2.1/standard/image-to-video" = 0.06

Keys are "provider/model" (the model part may contain slashes: fal app ids). A variant (e.g. a
resolution) is looked up as "provider/model@variant" first, then "provider/model". Call
`set_overrides(config.prices)` once after loading the project config; `price_for(..., overrides=...)`
takes an explicit dict instead.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

PRICE_DATE = "2026-11"
USD_PER_RUNWAY_CREDIT = 0.01

Unit = Literal["second", "image", "clip"]


@dataclass(frozen=True)
class PriceRow:
    provider: str
    model: str  # may end in "@variant", e.g. "veo-3.1-fast-generate-001@1080p"
    unit: Unit
    usd: float  # per unit
    credits: float | None = None  # per unit, where the provider bills in credits
    source: str = ""
    date: str = PRICE_DATE
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model}"


_RW = "runwayml/skills rw-api-reference; litellm price table"
_LITELLM = "litellm price table (providers.md B2)"
_GOOGLE_IMAGE = "Google AI for Developers pricing page"
_FAL = "fal model pages / inference.sh listing (providers.md B3)"

PRICES: tuple[PriceRow, ...] = (
    # Runway: prepaid credits at $0.01 each, billed per output second.
    PriceRow("runway", "gen4_turbo", "second", 0.05, 5, _RW),
    PriceRow("runway", "gen4.5", "second", 0.12, 12, _RW),
    PriceRow("runway", "gen3a_turbo", "second", 0.05, 5, _RW),
    PriceRow("runway", "veo3", "second", 0.40, 40, _RW),
    PriceRow("runway", "veo3.1", "second", 0.40, 40, _RW, note="20-40 credits/s; 40 assumed (with audio)"),
    PriceRow("runway", "veo3.1@noaudio", "second", 0.20, 20, _RW),
    PriceRow("runway", "veo3.1_fast", "second", 0.15, 15, _RW, note="10-15 credits/s; 15 assumed (with audio)"),
    PriceRow("runway", "veo3.1_fast@noaudio", "second", 0.10, 10, _RW),
    PriceRow("runway", "hailuo3", "second", 0.10, 10, "litellm price table", note="768p"),
    PriceRow("runway", "hailuo3@2k", "second", 0.15, 15, "litellm price table",
             note="litellm names the higher tier 1080p; the SDK offers 768p and 2k"),
    # No built-in row (no price found in a dated source; Runway reports each task's final cost):
    # kling2.5_turbo_pro, kling3.0_*/klingO3_*, seedance2*, gemini_omni_flash(_1.1), h3_max.
    PriceRow("runway", "gen4_image", "image", 0.05, 5, _RW, note="720p; 8 credits at 1080p"),
    PriceRow("runway", "gen4_image@1080p", "image", 0.08, 8, _RW),
    PriceRow("runway", "gen4_image_turbo", "image", 0.02, 2, _RW),
    # Google Veo (Gemini API / Vertex), per output second.
    PriceRow("veo", "veo-3.1-generate-preview", "second", 0.40, None, _LITELLM, note="4k: $0.60/s"),
    PriceRow("veo", "veo-3.1-generate-001", "second", 0.40, None, _LITELLM, note="4k: $0.60/s"),
    PriceRow("veo", "veo-3.1-generate-001@4k", "second", 0.60, None, _LITELLM),
    PriceRow("veo", "veo-3.1-generate-preview@4k", "second", 0.60, None, _LITELLM),
    PriceRow("veo", "veo-3.1-fast-generate-preview", "second", 0.10, None, _LITELLM,
             note="third-party guides quote $0.15/s with audio"),
    PriceRow("veo", "veo-3.1-fast-generate-001", "second", 0.10, None, _LITELLM),
    PriceRow("veo", "veo-3.1-fast-generate-preview@1080p", "second", 0.12, None, _LITELLM),
    PriceRow("veo", "veo-3.1-fast-generate-001@1080p", "second", 0.12, None, _LITELLM),
    PriceRow("veo", "veo-3.1-fast-generate-preview@4k", "second", 0.30, None, _LITELLM),
    PriceRow("veo", "veo-3.1-fast-generate-001@4k", "second", 0.30, None, _LITELLM),
    PriceRow("veo", "veo-3.1-lite-generate-preview", "second", 0.05, None, _LITELLM),
    PriceRow("veo", "veo-3.1-lite-generate-preview@1080p", "second", 0.08, None, _LITELLM),
    PriceRow("veo", "veo-3.0-generate-001", "second", 0.40, None, _LITELLM),
    PriceRow("veo", "veo-3.0-fast-generate-001", "second", 0.10, None, _LITELLM),
    PriceRow("veo", "veo-2.0-generate-001", "second", 0.50, None, _LITELLM),
    # Google image models (keyframes), per image: 1290 output tokens per 1024px image at $30 per 1M
    # tokens for 2.5 Flash Image; $0.134 per 1K/2K image for 3 Pro Image. Verify before relying.
    PriceRow("google", "gemini-2.5-flash-image", "image", 0.039, None, _GOOGLE_IMAGE),
    PriceRow("google", "gemini-2.5-flash-image-preview", "image", 0.039, None, _GOOGLE_IMAGE),
    PriceRow("google", "gemini-3-pro-image-preview", "image", 0.134, None, _GOOGLE_IMAGE),
    # fal: billed per output; the price is on each model page.
    PriceRow("fal", "fal-ai/wan/v2.2-a14b/image-to-video", "second", 0.10, None, _FAL,
             note="assumed equal to Wan 2.5 at 720p ($0.10/s); 480p $0.05/s; check the model page"),
    PriceRow("fal", "fal-ai/wan/v2.2-a14b/image-to-video@480p", "second", 0.05, None, _FAL),
    PriceRow("fal", "fal-ai/wan-25-preview/image-to-video", "second", 0.10, None, _FAL, note="720p"),
    PriceRow("fal", "fal-ai/wan-25-preview/image-to-video@480p", "second", 0.05, None, _FAL),
    PriceRow("fal", "fal-ai/wan-25-preview/image-to-video@1080p", "second", 0.15, None, _FAL),
    # fal video extension apps (chaining with continue_frames), per second of footage added.
    PriceRow("fal", "fal-ai/ltx-2.3/extend-video", "second", 0.10, None, "fal model page (2026-12)",
             note="2-20 s added"),
    PriceRow("fal", "fal-ai/kling-video/v2.1/standard/image-to-video", "second", 0.05, None,
             "estimate, not in providers.md", note="check the model page; override in [prices]"),
    PriceRow("fal", "fal-ai/minimax/hailuo-02/standard/image-to-video", "second", 0.045, None,
             "estimate, not in providers.md", note="check the model page; override in [prices]"),
    # MiniMax direct API, per output second.
    PriceRow("minimax", "MiniMax-H3", "second", 0.08, None, "litellm (providers.md B4)", note="768p; 2K $0.13/s"),
    PriceRow("minimax", "MiniMax-H3@2K", "second", 0.13, None, "litellm (providers.md B4)"),
    PriceRow("minimax", "MiniMax-Hailuo-02", "second", 0.045, None, "estimate, not in providers.md",
             note="768P; override in [prices]"),
    PriceRow("minimax", "MiniMax-Hailuo-02@1080P", "second", 0.08, None, "estimate, not in providers.md"),
    PriceRow("minimax", "MiniMax-Hailuo-2.3", "second", 0.045, None, "estimate, not in providers.md"),
    PriceRow("minimax", "MiniMax-Hailuo-2.3@1080P", "second", 0.08, None, "estimate, not in providers.md"),
    PriceRow("minimax", "MiniMax-Hailuo-2.3-Fast", "second", 0.032, None, "estimate, not in providers.md"),
    PriceRow("minimax", "I2V-01", "second", 0.072, None, "estimate, not in providers.md"),
    PriceRow("minimax", "T2V-01", "second", 0.072, None, "estimate, not in providers.md"),
)

_TABLE: dict[str, PriceRow] = {row.key: row for row in PRICES}
_overrides: dict[str, float] = {}
_lock = threading.Lock()


def set_overrides(overrides: dict[str, float] | None) -> None:
    """Install the project's `[prices]` table for this process (replaces earlier overrides)."""
    with _lock:
        _overrides.clear()
        _overrides.update({str(k): float(v) for k, v in (overrides or {}).items()})


def current_overrides() -> dict[str, float]:
    with _lock:
        return dict(_overrides)


def price_for(provider: str, model: str, overrides: dict[str, float] | None = None,
              variant: str | None = None) -> PriceRow | None:
    """The price row for provider/model (variant first), with a user override applied; None if unknown."""
    ov = current_overrides() if overrides is None else overrides
    keys = [f"{provider}/{model}@{variant}", f"{provider}/{model}"] if variant else [f"{provider}/{model}"]
    for key in keys:
        if key in ov:
            base = _TABLE.get(key) or _TABLE.get(f"{provider}/{model}")
            unit: Unit = base.unit if base else "second"
            return PriceRow(provider, key.split("/", 1)[1], unit, float(ov[key]), None,
                            source="ttv.toml [prices]", date="user", note=f"override of {key}")
        if key in _TABLE:
            return _TABLE[key]
    return None


def usd_for(row: PriceRow, *, seconds: float = 0.0, images: int = 1) -> float:
    if row.unit == "second":
        return round(row.usd * seconds, 6)
    if row.unit == "image":
        return round(row.usd * images, 6)
    return round(row.usd, 6)


def credits_for(row: PriceRow, *, seconds: float = 0.0, images: int = 1) -> float | None:
    if row.credits is None:
        return None
    if row.unit == "second":
        return row.credits * seconds
    if row.unit == "image":
        return row.credits * images
    return row.credits


def describe(row: PriceRow) -> str:
    unit = {"second": "s", "image": "image", "clip": "clip"}[row.unit]
    credits = f" ({row.credits:g} credits/{unit})" if row.credits is not None else ""
    return f"{row.key}: ${row.usd:g}/{unit}{credits}, {row.source}, {row.date}"


def rows(provider: str | None = None) -> list[PriceRow]:
    return [r for r in PRICES if provider is None or r.provider == provider]


__all__ = ["PRICES", "PRICE_DATE", "PriceRow", "USD_PER_RUNWAY_CREDIT", "credits_for", "current_overrides",
           "describe", "price_for", "rows", "set_overrides", "usd_for"]
