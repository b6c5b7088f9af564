"""Storyboard scenery from a prompt's words: time of day, setting, weather and a few subjects.

Deterministic and offline (numpy + Pillow): the words pick the palette and the shapes, the seed only
nudges positions, so "a night sea" and "a desert at dawn" look different and the same prompt always
looks the same. `margin` draws more of the same scene around the frame so a camera can move without
running out of picture.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from dataclasses import dataclass, field
from typing import Any

RGB = tuple[int, int, int]

# word -> [(group, value)]: "lighthouse" sets the scene (sea) and is drawn (a lighthouse).
_WORDS: dict[str, list[tuple[str, str]]] = {}
for _group, _value, _stems in [
    ("time", "night", "night midnight moon moonlit moonlight star starry dark darkness nocturnal"),
    ("time", "dawn", "dawn sunrise daybreak morning first-light"),
    ("time", "dusk", "dusk sunset evening twilight golden-hour"),
    ("time", "day", "day noon midday sunny afternoon daylight"),
    ("setting", "sea", "sea ocean beach coast shore harbor harbour lighthouse wave boat ship sail island bay "
                       "lake river pier port surf"),
    ("setting", "forest", "forest wood woods tree jungle grove pine oak glade"),
    ("setting", "city", "city street town building skyline neon rooftop downtown office alley traffic urban "
                        "skyscraper tower market"),
    ("setting", "desert", "desert dune sand sahara canyon cactus oasis"),
    ("setting", "snow", "snow snowy winter ice icy frozen glacier arctic blizzard frost"),
    ("setting", "mountain", "mountain peak summit cliff valley ridge alps hill"),
    ("setting", "space", "space planet galaxy orbit astronaut rocket nebula cosmos spaceship"),
    ("setting", "interior", "room kitchen interior house home bedroom office library cafe bar hall studio "
                            "workshop indoor table"),
    ("setting", "field", "field meadow farm grass garden countryside prairie park"),
    ("weather", "rain", "rain rainy storm stormy thunder lightning downpour drizzle wet"),
    ("weather", "fog", "fog foggy mist misty haze hazy smoke"),
    ("weather", "snowfall", "snowfall snowing snowflake blizzard"),
    ("subject", "person", "man woman girl boy child person keeper stranger traveler traveller hero figure "
                          "he she they kid mother father friend explorer detective soldier"),
    ("subject", "boat", "boat ship sail sailboat ferry fisherman"),
    ("subject", "bird", "bird birds gull seagull crow flock eagle"),
    ("subject", "car", "car truck taxi bus drive driving road highway"),
    ("subject", "lighthouse", "lighthouse beacon"),
    ("subject", "house", "house cottage cabin hut barn village"),
    ("subject", "fire", "fire campfire flame flames bonfire candle"),
]:
    for _stem in _stems.split():
        if not any(g == _group for g, _ in _WORDS.get(_stem, [])):
            _WORDS.setdefault(_stem, []).append((_group, _value))

SKIES: dict[str, tuple[RGB, RGB]] = {
    "day": ((72, 132, 206), (178, 214, 238)),
    "dawn": ((66, 74, 146), (252, 178, 128)),
    "dusk": ((46, 34, 92), (244, 122, 76)),
    "night": ((6, 8, 26), (30, 42, 86)),
}
GROUNDS: dict[str, list[RGB]] = {
    "field": [(112, 160, 88), (78, 132, 64), (52, 98, 48)],
    "forest": [(70, 112, 74), (40, 86, 52), (24, 62, 38)],
    "sea": [(58, 118, 168), (38, 92, 142), (24, 70, 116)],
    "city": [(96, 100, 112), (74, 78, 90), (54, 56, 66)],
    "desert": [(226, 184, 122), (210, 160, 98), (184, 132, 78)],
    "snow": [(236, 240, 246), (214, 222, 234), (190, 202, 220)],
    "mountain": [(118, 128, 150), (92, 104, 124), (70, 84, 98)],
    "interior": [(150, 112, 84), (124, 90, 66), (98, 70, 52)],
    "space": [(30, 30, 40), (24, 24, 32), (18, 18, 24)],
}


@dataclass(frozen=True)
class Scene:
    time: str = "day"
    setting: str = "field"
    weather: str = ""
    subjects: tuple[str, ...] = field(default_factory=tuple)
    also: tuple[str, ...] = field(default_factory=tuple)  # other settings named: "a snowy forest" gets trees


def read_scene(prompt: str) -> Scene:
    """The scene the words describe: the most mentioned setting (earliest on ties), the first time of day."""
    found: dict[str, list[str]] = {}
    for word in re.findall(r"[a-z][a-z-]*", prompt.lower()):
        hits = _WORDS.get(word) or _WORDS.get(word.rstrip("s")) or _WORDS.get(word[:-2] if word.endswith("es") else "")
        for group, value in hits or []:
            found.setdefault(group, []).append(value)
    settings = found.get("setting", [])
    setting = max(settings, key=lambda v: (settings.count(v), -settings.index(v))) if settings else "field"
    time = found.get("time", ["day"])[0]
    if setting == "space":
        time = "night"
    weather = found.get("weather", [""])[0]
    if setting == "snow" and not weather and "snowfall" in found.get("weather", []):
        weather = "snowfall"
    subjects = tuple(dict.fromkeys(found.get("subject", [])))[:3]
    also = tuple(v for v in dict.fromkeys(settings) if v != setting)
    return Scene(time, setting, weather, subjects, also)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _shade(c: RGB, scene: Scene) -> RGB:
    """Ground colours under the scene's light: night is dark and blue, dusk and dawn warm."""
    if scene.time == "night":
        return _mix((int(c[0] * 0.28), int(c[1] * 0.3), int(c[2] * 0.42)), (10, 14, 34), 0.3)
    if scene.time == "dusk":
        return _mix(c, (120, 60, 70), 0.3)
    if scene.time == "dawn":
        return _mix(c, (200, 150, 150), 0.15)
    return c


class _Canvas:
    """Draw in frame coordinates (0..w, 0..h of the visible picture) on a supersampled, overscanned image."""

    def __init__(self, width: int, height: int, margin: int, ss: int = 2) -> None:
        from PIL import Image, ImageDraw

        self.w, self.h, self.ss = width, height, ss
        self.mx = self.my = margin
        self.im = Image.new("RGB", ((width + 2 * self.mx) * ss, (height + 2 * self.my) * ss))
        self.draw = ImageDraw.Draw(self.im, "RGBA")
        self.x_min, self.x_max = -self.mx, width + self.mx  # frame coordinates of the canvas edges
        self.y_min, self.y_max = -self.my, height + self.my

    def p(self, x: float, y: float) -> tuple[float, float]:
        return ((x + self.mx) * self.ss, (y + self.my) * self.ss)

    def poly(self, pts: list[tuple[float, float]], fill: Any) -> None:
        self.draw.polygon([self.p(x, y) for x, y in pts], fill=fill)

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: Any) -> None:
        self.draw.rectangle((*self.p(x0, y0), *self.p(x1, y1)), fill=fill)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: Any) -> None:
        self.draw.ellipse((*self.p(cx - rx, cy - ry), *self.p(cx + rx, cy + ry)), fill=fill)

    def line(self, pts: list[tuple[float, float]], fill: Any, width: float) -> None:
        self.draw.line([self.p(x, y) for x, y in pts], fill=fill, width=max(1, round(width * self.ss)))

    def sky(self, top: RGB, bottom: RGB, horizon: float) -> None:
        import numpy as np
        from PIL import Image

        rows = np.arange(self.im.height, dtype=np.float32) / self.ss - self.my
        t = np.clip(rows / max(1.0, horizon), 0.0, 1.0)[:, None, None]
        grad = np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t
        self.im.paste(Image.fromarray(np.broadcast_to(grad, (self.im.height, self.im.width, 3)).astype(np.uint8)))

    def ridge(self, base: float, amp: float, freq: float, phase: float, fill: RGB, sharp: bool = False) -> None:
        xs = [self.x_min + (self.x_max - self.x_min) * i / 96 for i in range(97)]
        ys = []
        for x in xs:
            u = x / self.w * freq * 2 * math.pi + phase
            wave = (abs(math.sin(u)) * 2 - 1) if sharp else math.sin(u)
            ys.append(base - amp * wave)
        self.poly([(self.x_min, self.y_max), *zip(xs, ys, strict=True), (self.x_max, self.y_max)], fill)

    def image(self) -> Any:
        from PIL import Image

        return self.im.resize((self.im.width // self.ss, self.im.height // self.ss), Image.Resampling.LANCZOS)


def render_scene(prompt: str, width: int, height: int, seed: int, margin: int = 0) -> Any:
    """A PIL RGB picture of (width + 2 * margin) x (height + 2 * margin)."""
    scene = read_scene(prompt)
    rng = random.Random(hashlib.sha256(f"{seed}:{prompt}".encode()).digest())
    c = _Canvas(width, height, margin)
    h = height
    horizon = h * (0.5 if scene.setting in ("sea", "desert", "field", "snow") else 0.58)
    top, bottom = SKIES[scene.time]
    if scene.weather in ("rain", "fog"):
        top, bottom = _mix(top, (90, 94, 104), 0.6), _mix(bottom, (150, 154, 162), 0.6)
    if scene.setting == "interior":
        _interior(c, scene, rng, top, bottom)
    else:
        c.sky(top, bottom, horizon)
        _sky_objects(c, scene, rng, horizon)
        _ground(c, scene, rng, horizon)
    _subjects(c, scene, rng, horizon)
    _weather(c, scene, rng)
    return c.image()


def _sky_objects(c: _Canvas, scene: Scene, rng: random.Random, horizon: float) -> None:
    w, h = c.w, c.h
    unit = min(w, h)
    if scene.time == "night":
        for _ in range(int(w * h / 900) + 20):  # stars over the whole canvas, margin included
            x, y = rng.uniform(c.x_min, c.x_max), rng.uniform(c.y_min, horizon)
            r = rng.choice((0.5, 0.7, 1.0)) * max(1.0, unit / 300)
            c.ellipse(x, y, r, r, (255, 255, 240, rng.randrange(120, 255)))
    if scene.setting == "space":
        px, py, pr = rng.uniform(0.55, 0.8) * w, rng.uniform(0.3, 0.5) * h, unit * rng.uniform(0.18, 0.26)
        c.ellipse(px, py, pr, pr, (196, 120, 84, 255))
        c.ellipse(px - pr * 0.25, py - pr * 0.2, pr * 0.75, pr * 0.7, (226, 160, 112, 255))
        c.ellipse(px, py, pr * 1.7, pr * 0.3, (230, 210, 180, 90))
        return
    cx, cy = rng.uniform(0.2, 0.8) * w, {"dawn": 0.82, "dusk": 0.8}.get(scene.time, 0.42) * horizon
    r = unit * (0.07 if scene.time == "night" else 0.1)
    if scene.weather != "rain":
        if scene.time == "night":
            c.ellipse(cx, cy, r, r, (236, 232, 210, 255))
            c.ellipse(cx + r * 0.45, cy - r * 0.2, r * 0.85, r * 0.85, (*SKIES["night"][0], 255))  # crescent
        else:
            glow = {"dawn": (255, 214, 150), "dusk": (255, 170, 96)}.get(scene.time, (255, 246, 200))
            c.ellipse(cx, cy, r * 1.8, r * 1.8, (*glow, 50))
            c.ellipse(cx, cy, r, r, (*glow, 255))
    if scene.time != "night" or scene.weather:
        grey = 225 if scene.weather != "rain" else 120
        for _ in range(rng.randint(2, 4)):  # clouds: clusters of ellipses
            x, y, s = rng.uniform(c.x_min, c.x_max), rng.uniform(0.1, 0.35) * horizon, unit * rng.uniform(0.05, 0.09)
            for dx in (-1.2, 0, 1.2, 0.5):
                c.ellipse(x + dx * s, y - (s * 0.4 if dx == 0 else 0), s * 1.1, s * 0.7, (grey, grey, grey + 8, 200))


def _ground(c: _Canvas, scene: Scene, rng: random.Random, horizon: float) -> None:
    w, h = c.w, c.h
    cols = [_shade(g, scene) for g in GROUNDS.get(scene.setting, GROUNDS["field"])]
    s = scene.setting
    if s == "space":
        c.ridge(h * 0.9, h * 0.03, 0.6, rng.uniform(0, 6), cols[0])
        return
    if s in ("mountain", "snow"):
        rock = _shade((120, 128, 148), scene)
        c.ridge(horizon - h * 0.08, h * 0.16, rng.uniform(1.2, 1.8), rng.uniform(0, 6), rock, sharp=True)
        c.ridge(horizon - h * 0.02, h * 0.12, rng.uniform(1.8, 2.6), rng.uniform(0, 6),
                _shade((236, 240, 246), scene) if s == "snow" else _mix(rock, (60, 70, 80), 0.4), sharp=True)
    if s == "sea":
        c.rect(c.x_min, horizon, c.x_max, c.y_max, (*cols[0], 255))
        for i in range(1, 9):  # wave lines, denser towards the horizon
            y = horizon + (h - horizon) * (i / 9) ** 1.6
            for k in range(int((c.x_max - c.x_min) / (w / 7)) + 1):
                x = c.x_min + k * w / 7 + rng.uniform(0, w / 14)
                c.line([(x, y), (x + w / 18, y - h * 0.01), (x + w / 9, y)], (*_mix(cols[0], (255, 255, 255), 0.35), 200),
                       max(1.0, h / 240))
        return
    if s == "city":
        c.ridge(horizon + h * 0.12, h * 0.01, 1.0, 0.0, cols[2])
        x = c.x_min
        while x < c.x_max:  # skyline
            bw, bh = w * rng.uniform(0.06, 0.12), h * rng.uniform(0.18, 0.45)
            col = _mix(cols[rng.randrange(3)], (40, 40, 52), rng.uniform(0.0, 0.4))
            c.rect(x, horizon + h * 0.12 - bh, x + bw, c.y_max, (*col, 255))
            lit = (255, 214, 120, 230) if scene.time in ("night", "dusk") else (200, 220, 236, 200)
            step = max(3.0, w / 90)
            for wy in range(int(bh / (step * 2)) - 1):
                for wx in range(int(bw / (step * 2)) - 1):
                    if rng.random() < 0.55:
                        x0, y0 = x + step * (1 + 2 * wx), horizon + h * 0.12 - bh + step * (1 + 2 * wy)
                        c.rect(x0, y0, x0 + step * 0.8, y0 + step, lit)
            x += bw + w * rng.uniform(0.0, 0.02)
        c.rect(c.x_min, horizon + h * 0.12, c.x_max, c.y_max, (*_shade((60, 62, 70), scene), 255))
        return
    if s == "desert":
        for layer in range(3):
            c.ridge(horizon + h * 0.1 * layer, h * rng.uniform(0.03, 0.07), rng.uniform(0.6, 1.4),
                    rng.uniform(0, 6), cols[layer])
        return
    for layer in range(3):  # rolling hills (field, forest, mountain foreground, snow)
        c.ridge(horizon + h * (0.04 + 0.12 * layer), h * rng.uniform(0.03, 0.07), rng.uniform(1.0, 2.6),
                rng.uniform(0, 6), cols[layer])
    if s == "forest":
        _pines(c, scene, rng, horizon, cols[0], 22)
    if "forest" in scene.also and s in ("field", "snow", "mountain", "desert"):
        _pines(c, scene, rng, horizon, cols[0], 9)


def _pines(c: _Canvas, scene: Scene, rng: random.Random, horizon: float, ground: RGB, per_frame: int) -> None:
    w, h = c.w, c.h
    dark = _shade((22, 58, 36), scene)
    for _ in range(int((c.x_max - c.x_min) / w * per_frame)):
        x, base = rng.uniform(c.x_min, c.x_max), horizon + h * rng.uniform(0.05, 0.35)
        th = h * rng.uniform(0.16, 0.3) * (0.6 + (base - horizon) / h)
        tw = th * 0.32
        c.poly([(x - tw, base), (x, base - th), (x + tw, base)], (*_mix(dark, ground, rng.uniform(0, 0.3)), 255))
        c.rect(x - tw * 0.12, base, x + tw * 0.12, base + th * 0.1, (*_shade((70, 50, 36), scene), 255))


def _interior(c: _Canvas, scene: Scene, rng: random.Random, top: RGB, bottom: RGB) -> None:
    w, h = c.w, c.h
    wall = _shade((214, 196, 170), scene) if scene.time != "night" else (58, 52, 66)
    c.rect(c.x_min, c.y_min, c.x_max, h * 0.7, (*wall, 255))
    c.rect(c.x_min, h * 0.7, c.x_max, c.y_max, (*_shade((130, 92, 64), scene), 255))
    for k in range(-6, 7):  # floorboards converging to a vanishing point
        c.line([(w / 2 + k * w * 0.05, h * 0.7), (w / 2 + k * w * 0.35, c.y_max)], (90, 62, 44, 160), max(1.0, h / 200))
    wx, wy, ww, wh = rng.uniform(0.15, 0.55) * w, h * 0.15, w * 0.28, h * 0.36
    c.rect(wx - w * 0.01, wy - w * 0.01, wx + ww + w * 0.01, wy + wh + w * 0.01, (96, 74, 58, 255))
    for i in range(8):  # the sky outside, in the scene's light
        c.rect(wx, wy + wh * i / 8, wx + ww, wy + wh * (i + 1) / 8, (*_mix(top, bottom, i / 7), 255))
    c.line([(wx + ww / 2, wy), (wx + ww / 2, wy + wh)], (96, 74, 58, 255), w / 160)
    c.line([(wx, wy + wh / 2), (wx + ww, wy + wh / 2)], (96, 74, 58, 255), w / 160)
    tx = rng.uniform(0.55, 0.8) * w  # a table
    c.rect(tx - w * 0.12, h * 0.62, tx + w * 0.12, h * 0.65, (110, 72, 48, 255))
    c.rect(tx - w * 0.1, h * 0.65, tx - w * 0.09, h * 0.8, (110, 72, 48, 255))
    c.rect(tx + w * 0.09, h * 0.65, tx + w * 0.1, h * 0.8, (110, 72, 48, 255))


def _subjects(c: _Canvas, scene: Scene, rng: random.Random, horizon: float) -> None:
    w, h = c.w, c.h
    ink = (20, 20, 28, 255) if scene.time != "night" else (4, 4, 10, 255)
    ground_y = h * 0.82 if scene.setting != "interior" else h * 0.8
    for subject in scene.subjects:
        x = rng.uniform(0.25, 0.75) * w
        if subject == "person" and scene.setting == "sea" and "boat" in scene.subjects:
            continue  # drawn aboard the boat
        if subject == "person":
            s = h * 0.2
            if scene.setting == "sea":  # on the shore, in the foreground
                c.poly([(c.x_min, c.y_max), (c.x_min, h * 0.86), (w * 0.45, h * 0.8), (w, h * 0.9),
                        (c.x_max, c.y_max)], (*_shade((214, 190, 140), scene), 255))
                ground_y = h * 0.9
            c.ellipse(x, ground_y - s, s * 0.12, s * 0.12, ink)
            c.poly([(x - s * 0.16, ground_y), (x - s * 0.11, ground_y - s * 0.85), (x + s * 0.11, ground_y - s * 0.85),
                    (x + s * 0.16, ground_y)], ink)
        elif subject == "boat" and scene.setting == "sea":
            y, s = horizon + (h - horizon) * 0.35, h * 0.12
            c.poly([(x - s, y), (x + s, y), (x + s * 0.7, y + s * 0.3), (x - s * 0.7, y + s * 0.3)], ink)
            c.poly([(x, y - s * 1.3), (x, y - s * 0.05), (x + s * 0.8, y - s * 0.05)], (240, 236, 226, 255))
            if "person" in scene.subjects:  # someone aboard, at the stern
                c.ellipse(x - s * 0.55, y - s * 0.55, s * 0.14, s * 0.14, ink)
                c.rect(x - s * 0.68, y - s * 0.42, x - s * 0.42, y, ink)
        elif subject == "lighthouse":
            lx = w * rng.choice((0.18, 0.82))
            base, top_y, bw = horizon + h * 0.04, horizon - h * 0.34, w * 0.035
            c.poly([(lx - bw, base), (lx - bw * 0.6, top_y), (lx + bw * 0.6, top_y), (lx + bw, base)], (236, 232, 224, 255))
            c.rect(lx - bw * 0.8, base - (base - top_y) * 0.55, lx + bw * 0.8, base - (base - top_y) * 0.4, (196, 48, 44, 255))
            c.rect(lx - bw * 0.5, top_y - h * 0.04, lx + bw * 0.5, top_y, (250, 220, 120, 255))
            if scene.time in ("night", "dusk"):
                c.poly([(lx, top_y - h * 0.02), (lx + w * 0.4, top_y - h * 0.12), (lx + w * 0.4, top_y + h * 0.06)],
                       (255, 236, 160, 70))
        elif subject == "bird":
            for _ in range(rng.randint(3, 5)):
                bx, by, s = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.35) * h, w * rng.uniform(0.012, 0.022)
                c.line([(bx - s, by - s * 0.5), (bx, by), (bx + s, by - s * 0.5)], ink, max(1.0, h / 180))
        elif subject == "car":
            s = w * 0.07
            y = ground_y + h * 0.04
            c.rect(x - s, y - s * 0.45, x + s, y - s * 0.12, (180, 40, 40, 255))
            c.poly([(x - s * 0.55, y - s * 0.45), (x - s * 0.3, y - s * 0.75), (x + s * 0.35, y - s * 0.75),
                    (x + s * 0.6, y - s * 0.45)], (160, 34, 34, 255))
            for wx in (x - s * 0.6, x + s * 0.6):
                c.ellipse(wx, y - s * 0.1, s * 0.18, s * 0.18, ink)
        elif subject == "house" and scene.setting != "interior":
            s, y = w * 0.08, horizon + h * 0.14
            c.rect(x - s, y - s * 0.8, x + s, y, (*_shade((196, 160, 120), scene), 255))
            c.poly([(x - s * 1.15, y - s * 0.8), (x, y - s * 1.5), (x + s * 1.15, y - s * 0.8)], (*_shade((140, 56, 46), scene), 255))
            lit = (255, 214, 120, 255) if scene.time in ("night", "dusk") else (150, 190, 220, 255)
            c.rect(x - s * 0.6, y - s * 0.55, x - s * 0.25, y - s * 0.25, lit)
        elif subject == "fire":
            s, y = h * 0.08, ground_y + h * 0.02
            c.poly([(x - s, y), (x, y - s * 2), (x + s, y)], (255, 120, 40, 255))
            c.poly([(x - s * 0.5, y), (x, y - s * 1.2), (x + s * 0.5, y)], (255, 220, 90, 255))


def _weather(c: _Canvas, scene: Scene, rng: random.Random) -> None:
    w, h = c.w, c.h
    area = (c.x_max - c.x_min) * (c.y_max - c.y_min) / (w * h)
    if scene.weather == "rain":
        for _ in range(int(160 * area)):
            x, y, ln = rng.uniform(c.x_min, c.x_max), rng.uniform(c.y_min, c.y_max), h * rng.uniform(0.04, 0.08)
            c.line([(x, y), (x - ln * 0.25, y + ln)], (200, 210, 230, 120), max(1.0, h / 300))
    elif scene.weather == "snowfall" or (scene.setting == "snow" and scene.time != "day"):
        for _ in range(int(140 * area)):
            x, y, r = rng.uniform(c.x_min, c.x_max), rng.uniform(c.y_min, c.y_max), max(1.0, h / 180) * rng.uniform(0.6, 1.4)
            c.ellipse(x, y, r, r, (255, 255, 255, 210))
    elif scene.weather == "fog":
        for i in range(6):
            y = h * (0.35 + 0.1 * i)
            c.rect(c.x_min, y, c.x_max, c.y_max, (220, 222, 228, 34))
