"""Helpers every remote keyframe provider shares: the per-image price, reference images, the prompt
with the style, and fitting the returned image to the project size."""

from __future__ import annotations

import io
from pathlib import Path

from ttv.backends.base import ImageRequest
from ttv.core import prices
from ttv.core.errors import BackendError, InputRejected


def image_price(price_provider: str, model: str, variant: str | None = None) -> tuple[float | None, str]:
    """(USD per image, source) from the shared price table / [prices] overrides."""
    row = prices.price_for(price_provider, model, variant=variant)
    if row is not None:
        return row.usd, prices.describe(row) if row.unit == "image" else f"{row.key}: ${row.usd:g}/image ({row.source})"
    return None, f"no price known for {price_provider}/{model}; add it under [prices] in ttv.toml"


def resolve_references(request: ImageRequest, configured: list[str], *, provider: str, limit: int,
                       previous: bool = False) -> list[Path]:
    """The reference images to send: the request's, the configured ones (relative to the project),
    and optionally the previous keyframe. Missing or unreadable files are a clear error."""
    from PIL import Image, UnidentifiedImageError

    root = Path(str(request.extra.get("project_root", ".")))
    paths: list[Path] = [Path(p) for p in request.reference_images]
    paths += [(Path(p) if Path(p).is_absolute() else root / p) for p in configured]
    if previous:
        index = request.extra.get("index")
        if isinstance(index, int) and index > 0:
            prev = root / "keyframes" / f"k{index - 1:03d}.png"
            if prev.is_file():
                paths.append(prev)
    seen: list[Path] = []
    for p in paths:
        if p not in seen:
            seen.append(p)
    for p in seen:
        if not p.is_file():
            raise InputRejected(f"{provider}: reference image {p} does not exist",
                                hint=f"fix `reference_images` in [backends.{provider}] of ttv.toml",
                                code="reference", permanent_for_request=True)
        try:
            with Image.open(p) as im:
                im.verify()
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise InputRejected(f"{provider}: reference image {p} is not a readable image ({type(exc).__name__})",
                                code="reference", permanent_for_request=True) from None
    if len(seen) > limit:
        raise InputRejected(f"{provider}: {len(seen)} reference images given; this model takes at most {limit}",
                            hint=f"trim `reference_images` in [backends.{provider}]", code="reference",
                            permanent_for_request=True)
    return seen


def full_prompt(request: ImageRequest) -> str:
    prompt = request.prompt.strip() or "An establishing shot"
    style = request.style.strip()
    if style and style.lower() not in prompt.lower():
        prompt = f"{prompt}. Style: {style}"
    return prompt


def save_fitted(data: bytes, output: Path, width: int, height: int, *, provider: str) -> tuple[int, int]:
    """Decode image bytes, fit to exactly width x height (scale + centre crop), write PNG. Returns the source size."""
    from PIL import Image, UnidentifiedImageError

    from ttv.backends.offline.files import fit_cover

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            source = im.size
            rgb = im.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise BackendError(f"{provider}: the returned image does not decode ({type(exc).__name__})",
                           kind="retryable", code="bad-image") from None
    fit_cover(rgb, width, height).save(output, format="PNG")
    return source
