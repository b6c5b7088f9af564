"""`card` keyframe provider: a legible, good-looking title card per keyframe prompt (Pillow, offline).

Deterministic per (prompt, seed): the palette and the scenery come from a hash of both.
"""

from __future__ import annotations

import hashlib
import random
import textwrap
from pathlib import Path
from typing import Any, ClassVar

from ttv.backends.base import GenerateResult, ImageProvider, ImageRequest, JobContext, Options


class CardOptions(Options):
    show_text: bool = True


def _palette(rng: random.Random) -> tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]:
    import colorsys

    hue = rng.random()
    top = colorsys.hsv_to_rgb(hue, 0.55, 0.35)
    bottom = colorsys.hsv_to_rgb((hue + 0.08 + rng.random() * 0.1) % 1, 0.65, 0.85)
    accent = colorsys.hsv_to_rgb((hue + 0.5) % 1, 0.5, 1.0)

    def to255(c: tuple[float, float, float]) -> tuple[int, int, int]:
        return (round(c[0] * 255), round(c[1] * 255), round(c[2] * 255))

    return to255(top), to255(bottom), to255(accent)


def render_card(prompt: str, width: int, height: int, seed: int, label: str = "", show_text: bool = True) -> Any:
    """A PIL RGB image: gradient sky, sun/moon, layered hills, and the prompt in a readable panel."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    digest = hashlib.sha256(f"{seed}:{prompt}".encode()).digest()
    rng = random.Random(digest)
    top, bottom, accent = _palette(rng)
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    grad = (np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t)
    arr = np.broadcast_to(grad, (height, width, 3)).astype(np.uint8)
    im = Image.fromarray(arr, "RGB")
    draw = ImageDraw.Draw(im, "RGBA")
    unit = min(width, height)
    # Sun or moon.
    cx, cy, r = rng.uniform(0.15, 0.85) * width, rng.uniform(0.15, 0.45) * height, unit * rng.uniform(0.06, 0.12)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*accent, 220))
    # Layered hills, darker towards the front.
    for layer in range(3):
        base = height * (0.55 + 0.13 * layer)
        amp = height * rng.uniform(0.04, 0.1)
        freq = rng.uniform(1.0, 3.0)
        phase = rng.uniform(0, 6.28)
        shade = tuple(int(c * (0.55 - 0.15 * layer)) for c in bottom)
        xs = np.linspace(0, width, 64)
        ys = base + amp * np.sin(xs / width * freq * 6.28 + phase)
        draw.polygon([(0, height), *zip(xs.tolist(), ys.tolist(), strict=True), (width, height)], fill=(*shade, 255))
    im = im.filter(ImageFilter.GaussianBlur(radius=max(1, unit // 240)))
    draw = ImageDraw.Draw(im, "RGBA")
    if show_text and prompt:
        size = max(10, unit // 18)
        font = ImageFont.load_default(size=size)
        chars = max(12, int(width * 0.8 / (size * 0.55)))
        lines = textwrap.wrap(prompt, width=chars)[:5]
        line_h = int(size * 1.3)
        box_h = line_h * len(lines) + size
        y0 = int(height * 0.72 - box_h / 2)
        y0 = max(size // 2, min(y0, height - box_h - size // 2))
        draw.rounded_rectangle((int(width * 0.06), y0, int(width * 0.94), y0 + box_h), radius=size // 2,
                               fill=(0, 0, 0, 150))
        for i, line in enumerate(lines):
            draw.text((width / 2, y0 + size // 2 + i * line_h + line_h / 2), line, font=font, fill=(255, 255, 255),
                      anchor="mm")
    if label:
        small = ImageFont.load_default(size=max(8, unit // 30))
        draw.text((unit // 30, unit // 30), label, font=small, fill=(255, 255, 255, 200))
    return im


class CardKeyframes(ImageProvider):
    name: ClassVar[str] = "card"
    summary: ClassVar[str] = "Offline title-card keyframes (Pillow): scenery + the prompt, deterministic per seed"
    OptionsModel = CardOptions

    def generate(self, request: ImageRequest, output: Path, ctx: JobContext) -> GenerateResult:
        opts = self.options
        assert isinstance(opts, CardOptions)
        im = render_card(request.prompt, request.width, request.height, request.seed, label=request.keyframe_id,
                         show_text=opts.show_text)
        im.save(output, format="PNG")
        ctx.progress(1.0, status="done")
        return GenerateResult(model="card")
