"""The planned camera as a 2-D move: words in, an affine content transform per moment out.

Image conventions (what the test measures): the camera panning right makes the content move left
(-x); tilting or craning up makes it move down (+y); pushing in makes it grow; pulling out shrinks it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

# (pattern, move), the specific before the general: "dolly out" before a bare "dolly".
_MOVES: list[tuple[str, str]] = [
    (r"\b(static|locked[- ]off|locked|fixed|still|tripod|no (camera )?move(ment)?)\b", "static"),
    (r"\bhand[- ]?held\b|\bshak(e|y|ing)\b|\bjitter", "handheld"),
    (r"\b(pan(s|ning)?|truck(s|ing)?|track(s|ing)?|slid(e|es|ing)|crab(s|bing)?|dolly|dollies) left\b", "pan left"),
    (r"\b(pan(s|ning)?|truck(s|ing)?|track(s|ing)?|slid(e|es|ing)|crab(s|bing)?|dolly|dollies) right\b", "pan right"),
    (r"\btilt(s|ing)? down\b", "tilt down"),
    (r"\btilt(s|ing)?( up)?\b", "tilt up"),
    (r"\b(crane|boom|jib|pedestal)(s|ing)? down\b|\bdescend", "crane down"),
    (r"\b(crane|boom|jib|pedestal)(s|ing)?( up)?\b|\b(rise|rises|rising|ascend)", "crane up"),
    (r"\borbit(s|ing)? left\b|\barc(s|ing)? left\b", "orbit left"),
    (r"\borbit|\barc(s|ing)?\b|\bcircl(e|es|ing)\b|\b360\b|\brevolv", "orbit right"),
    (r"\b(pull(s|ing)?|dolly|dollies|zoom(s|ing)?|track(s|ing)?|mov(e|es|ing)|push(es|ing)?)[- ]?(out|back|away)\b"
     r"|\bpull[- ]?back\b|\bwiden", "pull out"),
    (r"\b(push(es|ing)?|dolly|dollies|zoom(s|ing)?|track(s|ing)?|mov(e|es|ing)|creep(s|ing)?)[- ]?(in|into|forward|closer)\b"
     r"|\bpush[- ]?in\b|\bzoom\b|\bdolly\b|\bpush\b", "push in"),
    (r"\bpan(s|ning)?\b", "pan right"),
]
_SLOW = re.compile(r"\b(slow(ly)?|gentle|gently|subtle|slight(ly)?|soft|drift(s|ing)?|creep(s|ing)?)\b")
_FAST = re.compile(r"\b(fast|quick(ly)?|rapid(ly)?|whip|swift(ly)?|sudden(ly)?|rush(es|ing)?)\b")

PAN = 0.12  # fraction of the picture the content travels over a clip, at normal speed
ZOOM = 0.15  # scale gained by a push in over a clip
SHAKE = 0.012  # handheld amplitude, fraction of the picture width


@dataclass(frozen=True)
class Move:
    name: str  # static, pan left/right, tilt up/down, crane up/down, push in, pull out, orbit left/right, handheld
    speed: float = 1.0
    source: str = ""  # the words it was read from ("" = nothing said: static)


def read_move(camera: str, prompt: str = "") -> Move:
    """The move the plan's `camera` names; the prompt's words when the camera field is empty."""
    for source in (camera, "" if camera.strip() else prompt):
        text = source.lower()
        # Earliest words win; at the same place the more specific pattern (listed first) does.
        hits = [(m.start(), i) for i, (pattern, _) in enumerate(_MOVES) if (m := re.search(pattern, text))]
        if hits:
            name = _MOVES[min(hits)[1]][1]
            speed = 0.6 if _SLOW.search(text) else 1.6 if _FAST.search(text) else 1.0
            return Move(name, speed, source.strip())
    return Move("static")


def ease(t: float) -> float:
    """Smoothstep: the camera starts and settles gently, so each clip begins and ends at rest."""
    t = min(1.0, max(0.0, t))
    return t * t * (3 - 2 * t)


def _affine(scale: float, dx: float, dy: float, rot_deg: float, cx: float, cy: float) -> np.ndarray:
    """3x3 matrix taking a content point to the screen: scale and rotate about the centre, then shift."""
    a = math.radians(rot_deg)
    ca, sa = math.cos(a) * scale, math.sin(a) * scale
    return np.array([[ca, -sa, cx - ca * cx + sa * cy + dx],
                     [sa, ca, cy - sa * cx - ca * cy + dy],
                     [0.0, 0.0, 1.0]])


def _shake(t: float, seed: int) -> tuple[float, float, float]:
    """Deterministic hand-held wobble: a few incommensurate sines, in units of the amplitude."""
    rng = np.random.default_rng(seed & 0xFFFFFFFF)
    ph = rng.uniform(0, 2 * math.pi, 6)
    x = math.sin(2 * math.pi * 2.3 * t + ph[0]) * 0.6 + math.sin(2 * math.pi * 5.1 * t + ph[1]) * 0.4
    y = math.sin(2 * math.pi * 1.7 * t + ph[2]) * 0.6 + math.sin(2 * math.pi * 4.3 * t + ph[3]) * 0.4
    r = math.sin(2 * math.pi * 1.3 * t + ph[4]) * 0.7 + math.sin(2 * math.pi * 3.7 * t + ph[5]) * 0.3
    return x, y, r


def transform(move: Move, t: float, width: int, height: int, seed: int = 0, *, travel: float = PAN,
              zoom: float = ZOOM) -> np.ndarray:
    """Where the start picture's content is at time t (0..1) of the clip; identity at t=0."""
    e, k = ease(t), move.speed
    cx, cy = width / 2, height / 2
    name = move.name
    if name in ("pan left", "pan right"):
        return _affine(1.0, (1 if name == "pan left" else -1) * travel * k * width * e, 0.0, 0.0, cx, cy)
    if name in ("tilt up", "tilt down"):
        return _affine(1.0, 0.0, (1 if name == "tilt up" else -1) * travel * k * height * e, 0.0, cx, cy)
    if name in ("crane up", "crane down"):
        # A rising camera sees the ground drop away and a little more of the world.
        up = name == "crane up"
        return _affine(1 - (0.04 if up else -0.04) * k * e, 0.0, (1 if up else -1) * travel * k * height * e, 0.0, cx, cy)
    if name == "push in":
        return _affine(1 + zoom * k * e, 0.0, 0.0, 0.0, cx, cy)
    if name == "pull out":
        return _affine(1 / (1 + zoom * k * e), 0.0, 0.0, 0.0, cx, cy)
    if name in ("orbit left", "orbit right"):
        # Circling the subject: the world slides sideways along an arc and rolls slightly.
        sign = 1 if name == "orbit left" else -1
        return _affine(1.0, sign * travel * k * width * e, -0.04 * height * math.sin(math.pi * e), sign * 2.0 * k * e,
                       cx, cy)
    if name == "handheld":
        env = min(1.0, t / 0.15, (1 - t) / 0.15)  # at rest at both ends: clips still join exactly
        sx, sy, sr = _shake(t, seed)
        amp = SHAKE * k * width * max(0.0, env)
        return _affine(1.0, sx * amp, sy * amp, sr * 0.5 * k * max(0.0, env), cx, cy)
    return np.eye(3)
