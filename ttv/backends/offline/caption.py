"""The storyboard caption strip shared by `card` keyframes and the `animatic`.

Every offline frame is a picture area above an opaque strip that holds exactly one caption. The strip
never moves with the camera, and its text is drawn at the output size (never resampled), so it stays
crisp at 160x96. The strip's height depends only on the frame size: a card keyframe and an animatic
frame of the same project agree on where the picture ends.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

STRIP_COLOR = (16, 16, 20)
TEXT_COLOR = (242, 242, 238)
TAG_COLOR = (255, 196, 84)
MIN_FONT = 10  # px: smaller and the default font's words run together
ELLIPSIS = "..."
SS = 3  # the strip is drawn 3x and scaled down: hinted 10 px glyphs snap spaces to nothing
GAP = 0.33  # word gap in ems: wider than the font's own space, so words never touch

# Storyboard shorthand, used only when the full text does not fit at the smallest size.
_SHORTHAND = [
    (r"wide establishing shot", "EST"), (r"extreme close-up", "ECU"), (r"close-up", "CU"),
    (r"medium shot", "MS"), (r"wide shot", "WS"), (r"establishing shot", "EST"),
    (r"over-the-shoulder shot", "OTS"), (r"low-angle shot", "Low angle"), (r"high-angle shot", "High angle"),
    (r"aerial shot", "Aerial"), (r"tracking shot", "Tracking"), (r"detail insert", "Insert"),
]


def strip_height(width: int, height: int) -> int:
    """Rows at the bottom of every frame that belong to the caption: a fifth of the frame, and room for two
    lines at MIN_FONT where the frame is tiny (at most a third of it)."""
    return min(height // 3, max(round(height * 0.2), 2 * round(MIN_FONT * 1.22) + 6))


def picture_height(width: int, height: int) -> int:
    return height - strip_height(width, height)


@dataclass(frozen=True)
class Line:
    text: str
    x: float
    y: int  # top of the line box
    color: tuple[int, int, int]
    box: tuple[int, int, int, int]  # ink box (x0, y0, x1, y1), in frame pixels


@dataclass(frozen=True)
class Layout:
    strip: tuple[int, int, int, int]
    size: int  # font px
    lines: tuple[Line, ...]
    shortened: bool  # shorthand or an ellipsis was needed


_fonts = threading.local()


def font(size: int) -> Any:
    """The embedded FreeType font (the same on every machine), one per thread: clips render in parallel
    and a FreeType face is not safe to share."""
    from PIL import ImageFont

    cache: dict[int, Any] = _fonts.__dict__.setdefault("by_size", {})
    if size not in cache:
        cache[size] = ImageFont.load_default(size=size)
    return cache[size]


class _Measure:
    """Widths at `size` px, measured on the supersampled font (fractional, as drawn)."""

    def __init__(self, size: int) -> None:
        self.size, self.big = size, font(size * SS)
        self.gap = GAP * size

    def getlength(self, text: str) -> float:
        words = text.split(" ")
        return sum(self.big.getlength(w) for w in words) / SS + self.gap * (len(words) - 1)

    def bbox(self, text: str) -> tuple[float, float, float, float]:
        b = self.big.getbbox(text.replace(" ", "  "), anchor="la")
        return (b[0] / SS, b[1] / SS, self.getlength(text), b[3] / SS)


def _wrap(words: list[str], fnt: Any, first_indent: float, avail: float) -> list[str]:
    """Greedy word wrap by measured width; the first row starts after the tag; a word longer than a
    whole row is broken by characters."""
    lines: list[str] = []
    cur = ""
    for word in words:
        room = avail - (first_indent if not lines else 0)
        cand = f"{cur} {word}" if cur else word
        if fnt.getlength(cand) <= room:
            cur = cand
            continue
        if cur or not lines:  # close the row (an empty first row when not even one word fits beside the tag)
            lines.append(cur)
            cur = ""
        while fnt.getlength(word) > avail:
            cut = max([i for i in range(1, len(word)) if fnt.getlength(word[:i]) <= avail] or [1])
            lines.append(word[:cut])
            word = word[cut:]
        cur = word
    if cur or not lines:
        lines.append(cur)
    return lines


def _fit_last(line: str, fnt: Any, room: float) -> str:
    while line and fnt.getlength(line.rstrip(" ,.;:") + ELLIPSIS) > room:
        line = line[:-1]
    return line.rstrip(" ,.;:") + ELLIPSIS


def shorthand(text: str) -> str:
    for pattern, short in _SHORTHAND:
        text = re.sub(pattern, short, text, flags=re.IGNORECASE)
    return text


@lru_cache(maxsize=256)
def layout(text: str, tag: str, width: int, height: int) -> Layout:
    """Where each line of `tag` + `text` goes: the largest size from the frame's preferred one down to
    MIN_FONT at which everything fits; then storyboard shorthand; then an ellipsis on the last line."""
    sh = strip_height(width, height)
    y_top = height - sh
    pad = max(3, round(sh * 0.08))
    avail = width - 2 * max(4, round(width * 0.025))
    text = re.sub(r"\s+", " ", text).strip()
    preferred = max(MIN_FONT, round(height / 22))
    short_tag = tag.split(" ")[0]  # the id alone, when the camera note leaves no room for the caption
    best: tuple[int, list[str], bool, str] | None = None
    tries = ((text, tag, False), (shorthand(text), tag, True), (shorthand(text), short_tag, True))
    for candidate, label, short in tries:
        for size in range(preferred, MIN_FONT - 1, -1):
            fnt = _Measure(size)
            indent = fnt.getlength(label) + 2 * fnt.gap if label else 0.0
            rows = _wrap(candidate.split(" "), fnt, indent, avail)
            if len(rows) * round(size * 1.22) <= sh - 2 * pad:
                best = (size, rows, short, label)
                break
        if best:
            break
    if best is None:  # does not fit at the smallest size: keep what fits, end with an ellipsis
        fnt = _Measure(MIN_FONT)
        indent = fnt.getlength(short_tag) + 2 * fnt.gap if short_tag else 0.0
        rows = _wrap(shorthand(text).split(" "), fnt, indent, avail)
        keep = max(1, (sh - 2 * pad) // round(MIN_FONT * 1.22))
        room = avail - (indent if keep == 1 else 0)
        rows = [*rows[:keep - 1], _fit_last(rows[keep - 1], fnt, room)]
        best = (MIN_FONT, rows, True, short_tag)
    size, rows, short, tag = best
    fnt = _Measure(size)
    line_h = round(size * 1.22)
    x0 = (width - avail) // 2
    y = y_top + (sh - line_h * len(rows)) // 2
    lines: list[Line] = []
    rows_at: list[tuple[str, float, int, tuple[int, int, int]]] = []
    if tag:
        rows_at.append((tag, x0, y, TAG_COLOR))
    for i, row in enumerate(rows):
        if row:
            rows_at.append((row, x0 + (fnt.getlength(tag) + 2 * fnt.gap if tag and i == 0 else 0), y + i * line_h,
                            TEXT_COLOR))
    for text_, x, ly, color in rows_at:
        b = fnt.bbox(text_)
        lines.append(Line(text_, x, ly, color, (math.floor(x + b[0]), math.floor(ly + b[1]), math.ceil(x + b[2]),
                                                 math.ceil(ly + b[3]))))
    return Layout((0, y_top, width, height), size, tuple(lines), short)


def strip_image(text: str, tag: str, width: int, height: int) -> Any:
    """The strip alone (width x strip_height) with its one caption, drawn supersampled and scaled down."""
    from PIL import Image, ImageDraw

    lay = layout(text, tag, width, height)
    sh = lay.strip[3] - lay.strip[1]
    big = Image.new("RGB", (width * SS, sh * SS), STRIP_COLOR)
    draw = ImageDraw.Draw(big)
    measure = _Measure(lay.size)
    for line in lay.lines:
        x = line.x
        for word in line.text.split(" "):
            draw.text((x * SS, (line.y - lay.strip[1]) * SS), word, font=measure.big, fill=line.color, anchor="la")
            x += measure.getlength(word) + measure.gap
    return big.resize((width, sh), Image.Resampling.LANCZOS)


def draw_strip(im: Any, text: str, tag: str = "") -> None:
    """Paint the opaque strip and its one caption onto the bottom of `im` (a PIL RGB image), in place."""
    strip = strip_image(text, tag, im.width, im.height)
    im.paste(strip, (0, im.height - strip.height))
