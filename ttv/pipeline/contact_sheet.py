"""`keyframes/contact-sheet.png`: every keyframe at a glance, labelled with its id, so a user can
review them before paying for video. Written atomically (temp file + rename); a keyframe that is
not made yet (or failed) shows as a grey tile saying so.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from ttv.core.fsutil import atomic_write_bytes
from ttv.pipeline.project import Project

SHEET_NAME = "contact-sheet.png"
THUMB_WIDTH = 320
MAX_COLUMNS = 4


def sheet_path(project: Project) -> Path:
    return project.keyframes_dir / SHEET_NAME


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # pragma: no cover - Pillow < 10.1
        return ImageFont.load_default()


def _fit(im: Any, width: int, height: int) -> Any:
    """Scale to cover width x height and centre-crop (no stretching)."""
    from PIL import Image

    scale = max(width / im.width, height / im.height)
    w, h = max(width, round(im.width * scale)), max(height, round(im.height * scale))
    im = im.resize((w, h), Image.Resampling.BILINEAR)
    left, top = (w - width) // 2, (h - height) // 2
    return im.crop((left, top, left + width, top + height))


def render_contact_sheet(items: list[tuple[str, Path | None, str]], width: int, height: int, *,
                         thumb_width: int = THUMB_WIDTH, columns: int | None = None, title: str = "") -> Any:
    """A PIL image: one tile per (id, image path or None, caption), in rows of `columns`."""
    from PIL import Image, ImageDraw, UnidentifiedImageError

    n = max(1, len(items))
    cols = columns or min(MAX_COLUMNS, max(1, math.ceil(math.sqrt(n))) if n > 2 else n)
    rows = math.ceil(n / cols)
    tw = thumb_width
    th = max(1, round(tw * height / width))
    label_h = max(18, tw // 12)
    pad = max(6, tw // 40)
    head = (label_h + pad) if title else 0
    sheet = Image.new("RGB", (pad + cols * (tw + pad), head + pad + rows * (th + label_h + pad)), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    font = _font(max(10, label_h - 6))
    small = _font(max(9, label_h - 8))
    if title:
        draw.text((pad, pad), title, font=font, fill=(235, 235, 235))
    for i, (item_id, path, caption) in enumerate(items):
        x = pad + (i % cols) * (tw + pad)
        y = head + pad + (i // cols) * (th + label_h + pad)
        tile = None
        if path is not None and path.is_file():
            try:
                with Image.open(path) as im:
                    im.load()
                    tile = _fit(im.convert("RGB"), tw, th)
            except (UnidentifiedImageError, OSError, ValueError):
                tile = None
        if tile is None:
            draw.rectangle((x, y, x + tw - 1, y + th - 1), fill=(70, 70, 76))
            draw.text((x + tw / 2, y + th / 2), "not made yet" if path is None or not path.exists() else "unreadable",
                      font=small, fill=(200, 200, 200), anchor="mm")
        else:
            sheet.paste(tile, (x, y))
        draw.text((x, y + th + 2), item_id, font=font, fill=(255, 255, 255))
        if caption:
            id_w = draw.textlength(item_id + "  ", font=font)
            room = max(0, int((tw - id_w) / max(1, small.size * 0.55))) if hasattr(small, "size") else 20
            text = caption if len(caption) <= room else caption[: max(0, room - 1)] + "…"
            draw.text((x + id_w, y + th + 4), text, font=small, fill=(170, 170, 170))
    return sheet


def write_contact_sheet(project: Project, *, thumb_width: int = THUMB_WIDTH) -> Path | None:
    """Write keyframes/contact-sheet.png for the keyframes this project needs; None when it has none."""
    from ttv.pipeline.graph import needed_keyframes

    if not project.has_plan:
        return None
    kfs = needed_keyframes(project)
    if not kfs:
        return None
    items: list[tuple[str, Path | None, str]] = []
    for kf in kfs:
        out = project.output_path("keyframe", kf.id)
        caption = " ".join(kf.prompt.split())
        items.append((kf.id, out if out.is_file() else None, caption))
    cfg = project.config
    made = sum(1 for _, p, _ in items if p is not None)
    title = f"{project.root.name}: {made}/{len(items)} keyframes ({cfg.width}x{cfg.height}, {cfg.keyframes})"
    sheet = render_contact_sheet(items, cfg.width, cfg.height, thumb_width=thumb_width, title=title)
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", optimize=False)
    path = sheet_path(project)
    atomic_write_bytes(path, buf.getvalue())
    return path
