"""Colour drift correction at seams: a correction users can leave on.

Chained clips drift in colour: each hop's generator (its VAE round trip, its idea of white) shifts the
picture a little, and the next clip starts from the shifted last frame, so the shift compounds. A seam
of a chain shows the same picture on both sides by construction (clip i starts from clip i-1's last
kept frame), so any colour difference there is drift, never content. That is the only evidence used:

* **What is corrected**: per seam, a per-channel affine map in sRGB (gain and offset for R, G, B) is
  fitted pixel by pixel so that clip i's first frame matches clip i-1's last kept frame *as corrected*.
  Because the target is the corrected tail, corrections chain: a cast compounding over six hops is
  undone hop by hop, not pulled towards a statistic of some other shot.
* **Where**: the map is applied at full strength while clip i still shows the seam's picture (its
  mean Lab colour and contrast stay within a few ΔE of the first frame), then fades out linearly over
  ``fade`` frames (one second). A clip that moves on to new content (a new place, night after day)
  keeps that content's own look; a clip that stays on the same shot stays corrected to its end.
  Frames from the first frame through the fade are the clip's *seam window*.
* **When not**: a seam that already matches (ΔE below ``MIN_DELTA_E``), a seam whose two sides are not
  the same picture (a cut: luma correlation below ``MIN_SAME_PICTURE``), a clip with non-square pixels,
  and any correction that would leave the seam worse than it was (ΔE after > ΔE before + ``SLACK``)
  or shift the clip's mean colour outside its seam window by more than ``MAX_OUTSIDE_SHIFT``. When a
  corrected clip is followed by a seam its successor cannot match (a cut), its correction is faded out
  before its end instead, so that seam is not made worse either.

Every decision is a :class:`SeamDecision` with a reason; ``stitch`` reports them per seam, and takes the
encode path only when at least one clip is corrected (otherwise the film stays a stream copy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ttv.core.media.colour import delta_e, srgb_to_lab
from ttv.core.media.files import MediaError
from ttv.core.media.frames import FrameWriter, _decode_frames, _last_frames, _small
from ttv.core.media.probing import MediaInfo

MIN_DELTA_E = 1.0  # a seam closer than this (about one just-noticeable difference) is left alone
SLACK = 0.5  # a seam may come out at most this much worse (codec noise), else the correction is dropped
MIN_SAME_PICTURE = 0.9  # luma correlation of the seam's two frames; below it the seam is a cut
SAME_CONTENT = 5.0  # a frame still shows the seam's picture while its Lab mean/contrast is this close
MAX_OUTSIDE_SHIFT = 3.0  # ΔE a correction may move a clip's mean colour outside its seam window
MAX_GAIN = 2.0
_ANALYSIS_HEIGHT = 72  # frames are compared at this height: fast, and codec noise averages out


@dataclass(frozen=True)
class ChannelMap:
    """out = gain * in + offset per sRGB channel (0-255), blended with the identity by a weight."""

    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def identity(self) -> bool:
        return self.gain == (1.0, 1.0, 1.0) and self.offset == (0.0, 0.0, 0.0)

    def scaled(self, strength: float) -> ChannelMap:
        """Part of the way from the identity to this map (0 = identity, 1 = this map)."""
        g, o = self.gain, self.offset
        return ChannelMap(
            (1 + strength * (g[0] - 1), 1 + strength * (g[1] - 1), 1 + strength * (g[2] - 1)),
            (strength * o[0], strength * o[1], strength * o[2]),
        )

    def lut(self, weight: float = 1.0) -> np.ndarray:
        """(3, 256) uint8 lookup tables for this map at ``weight`` (0 = identity, 1 = the full map)."""
        x = np.arange(256, dtype=np.float64)
        gain = 1.0 + weight * (np.array(self.gain) - 1.0)
        offset = weight * np.array(self.offset)
        return np.clip(np.round(gain[:, None] * x[None, :] + offset[:, None]), 0, 255).astype(np.uint8)

    def apply(self, rgb: np.ndarray, weight: float = 1.0) -> np.ndarray:
        if weight <= 0 or self.identity:
            return rgb
        lut = self.lut(weight)
        out = np.empty_like(rgb)
        for c in range(3):
            out[..., c] = lut[c][rgb[..., c]]
        return out


IDENTITY = ChannelMap()


def fit_map(src: np.ndarray, dst: np.ndarray) -> ChannelMap:
    """Least-squares per-channel affine map taking ``src`` onto ``dst`` (two RGB uint8 pictures of the
    same scene, same size). Clipped pixels are left out (they carry no gain information), the worst
    tenth of the residuals is dropped and the fit repeated (small motion, codec noise), and the gain is
    clamped to [1/MAX_GAIN, MAX_GAIN] with the offset refitted so the means still match."""
    s = src.reshape(-1, 3).astype(np.float64)
    d = dst.reshape(-1, 3).astype(np.float64)
    gains: list[float] = []
    offsets: list[float] = []
    for c in range(3):
        x, y = s[:, c], d[:, c]
        keep = (x > 3) & (x < 252) & (y > 3) & (y < 252)
        if keep.sum() < 32:
            keep = np.ones_like(x, dtype=bool)
        x, y = x[keep], y[keep]
        g, o = _affine(x, y)
        resid = np.abs(g * x + o - y)
        inl = resid <= np.quantile(resid, 0.9)
        if inl.sum() >= 16:
            x, y = x[inl], y[inl]
            g, o = _affine(x, y)
        g = float(np.clip(g, 1 / MAX_GAIN, MAX_GAIN))
        o = float(y.mean() - g * x.mean())
        gains.append(round(g, 5))
        offsets.append(round(o, 4))
    return ChannelMap((gains[0], gains[1], gains[2]), (offsets[0], offsets[1], offsets[2]))


def _affine(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    vx = float(x.var())
    if vx < 1.0:  # a flat channel: only an offset can be told
        return 1.0, float(y.mean() - x.mean())
    g = float(((x - x.mean()) * (y - y.mean())).mean() / vx)
    return g, float(y.mean() - g * x.mean())


def _lab_signature(rgb: np.ndarray) -> np.ndarray:
    """Mean and standard deviation of the picture in Lab (6 numbers)."""
    lab = srgb_to_lab(rgb).reshape(-1, 3)
    return np.concatenate([lab.mean(axis=0), lab.std(axis=0)])


def _mean_de(a: np.ndarray, b: np.ndarray) -> float:
    return delta_e(_lab_signature(a)[:3], _lab_signature(b)[:3])


def same_picture(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of the two pictures' luma (1 = same picture; insensitive to colour and contrast)."""
    w = np.array([0.299, 0.587, 0.114])
    x = a.astype(np.float64) @ w
    y = b.astype(np.float64) @ w
    x -= x.mean()
    y -= y.mean()
    den = float(np.sqrt((x * x).sum() * (y * y).sum()))
    if den < 1e-6:  # flat pictures: the same when their brightness is
        return 1.0 if abs(float((a.astype(np.float64) - b).mean())) < 8 else 0.0
    return float((x * y).sum() / den)


@dataclass
class SeamDecision:
    """What was done at seam ``seam`` (clip seam-1 -> clip seam) and why."""

    seam: int
    action: str  # "corrected" | "left"
    why: str
    delta_e_before: float
    delta_e_after: float  # predicted on the measured frames; the stitch report measures the output
    window: int = 0  # frames of clip `seam` from its first frame through the end of the fade
    outside_shift: float = 0.0  # ΔE the correction moves the clip's mean colour outside the window
    map: ChannelMap = IDENTITY

    def row(self) -> dict[str, Any]:
        out: dict[str, Any] = {"colour": self.action, "why": self.why}
        if self.action == "corrected":
            out["gain"] = [round(g, 3) for g in self.map.gain]
            out["offset"] = [round(o, 2) for o in self.map.offset]
            out["window"] = self.window
        return out


@dataclass
class _Clip:
    """What the analysis keeps of one clip: small frames (decoded lazily) and its kept range."""

    path: Path
    info: MediaInfo
    drop: int
    tail: int
    size: tuple[int, int]
    _frames: list[np.ndarray] | None = None
    _last: np.ndarray | None = None
    _first: np.ndarray | None = None

    @property
    def end(self) -> int:  # one past the last kept frame
        return max(self.drop + 1, self.info.frames - self.tail)

    def frames(self) -> list[np.ndarray]:
        if self._frames is None:
            self._frames = [_small(f.to_ndarray(format="rgb24"), self.size).astype(np.uint8)
                            for f in _decode_frames(self.path)]  # fmt: skip
            if not self._frames:
                raise MediaError(f"{self.path.name} has no decodable frames")
        return self._frames

    def first(self) -> np.ndarray:
        if self._frames is not None:
            return self._frames[0]
        if self._first is None:
            for f in _decode_frames(self.path):
                self._first = _small(f.to_ndarray(format="rgb24"), self.size).astype(np.uint8)
                break
            if self._first is None:
                raise MediaError(f"{self.path.name} has no decodable frames")
        return self._first

    def last_kept(self) -> np.ndarray:
        if self._frames is not None:
            return self._frames[min(len(self._frames), self.end) - 1]
        if self._last is None:
            tail = _last_frames(self.path, self.tail + 1)
            if len(tail) < self.tail + 1:
                raise MediaError(f"{self.path.name} has only {len(tail)} frames")
            self._last = _small(tail[-1 - self.tail].to_ndarray(format="rgb24"), self.size).astype(np.uint8)
        return self._last


@dataclass
class Plan:
    """The per-clip corrections: ``maps[i]`` at weight ``weights[i][t]`` for source frame t."""

    maps: list[ChannelMap]
    weights: list[np.ndarray]
    seams: list[SeamDecision] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)  # one past each clip's last kept frame

    @property
    def corrected(self) -> list[int]:
        return [i for i, (m, w) in enumerate(zip(self.maps, self.weights, strict=True)) if not m.identity and w.any()]

    def touches(self, seam: int) -> bool:
        """Is either side of ``seam`` (clip seam-1's end, clip seam's start) changed by a correction?"""
        end = self.ends[seam - 1] if self.ends else len(self.weights[seam - 1])
        tail = self.weights[seam - 1][max(0, end - 1) : end]
        return bool(
            (not self.maps[seam - 1].identity and tail.any())
            or (not self.maps[seam].identity and self.weights[seam][:2].any())
        )


def _window(clip: _Clip, fade: int) -> np.ndarray:
    """Weights per source frame: 1 while the clip still shows its first frame's picture (Lab mean within
    SAME_CONTENT ΔE, contrast likewise), then a linear fade to 0 over ``fade`` frames."""
    frames = clip.frames()
    ref = _lab_signature(frames[0])
    hold = len(frames)
    for t in range(1, len(frames)):
        sig = _lab_signature(frames[t])
        if delta_e(sig[:3], ref[:3]) + 0.5 * delta_e(sig[3:], ref[3:]) > SAME_CONTENT:
            hold = t
            break
    w = np.zeros(len(frames))
    w[:hold] = 1.0
    ramp = np.arange(1, fade + 1) / (fade + 1)
    span = w[hold : hold + fade]
    span[:] = 1.0 - ramp[: len(span)]
    return w


def _release(weights: np.ndarray, end: int, fade: int) -> np.ndarray:
    """Fade a clip's correction out so it is gone a few frames before its last kept frame (``end`` - 1):
    the encoder needs those frames to settle after a slow colour change (x264 lags behind fades)."""
    w = weights.copy()
    settle = min(4, max(0, end // 4))
    ramp = np.clip((end - 1 - settle - np.arange(len(w))) / max(1, fade), 0.0, 1.0)
    return np.minimum(w, ramp)


def _at(weights: np.ndarray, t: int) -> float:
    return float(weights[t]) if 0 <= t < len(weights) else 0.0


def _outside_shift(clip: _Clip, cmap: ChannelMap, weights: np.ndarray) -> float:
    """ΔE the correction moves the clip's mean colour over its kept frames after the seam window
    (sampled). The window-limited map leaves them alone, so this is 0 unless something is wrong: it is
    the guard that a seam correction never regrades the rest of a shot."""
    frames = clip.frames()
    active = np.flatnonzero(weights[: len(frames)] > 0)
    start = max(clip.drop, int(active[-1]) + 1 if len(active) else 0)
    idx = list(range(start, min(clip.end, len(frames))))
    if not idx:
        return 0.0
    pick = idx[:: max(1, len(idx) // 8)]
    before = np.concatenate([frames[t] for t in pick])
    after = np.concatenate([cmap.apply(frames[t], _at(weights, t)) for t in pick])
    return _mean_de(after, before)


def plan(
    paths: Sequence[Path],
    infos: Sequence[MediaInfo],
    drops: Sequence[int],
    tails: Sequence[int],
    *,
    fps: float,
    strength: float = 1.0,
) -> Plan:
    """Decide the correction of every clip from the seams (see the module docstring)."""
    n = len(paths)
    h = min(_ANALYSIS_HEIGHT, infos[0].height)
    size = (max(1, round(h * infos[0].width / max(1, infos[0].height))), h)
    clips = [_Clip(p, inf, d, t, size) for p, inf, d, t in zip(paths, infos, drops, tails, strict=True)]
    fade = max(1, round(fps))
    strength = min(1.0, max(0.0, strength))
    maps = [IDENTITY] * n
    weights = [np.zeros(max(1, inf.frames)) for inf in infos]
    decisions: list[SeamDecision] = []
    for i in range(1, n):
        prev, cur = clips[i - 1], clips[i]
        tail_orig = prev.last_kept()
        tail_now = maps[i - 1].apply(tail_orig, _at(weights[i - 1], prev.end - 1))
        head = cur.first()  # the handed-over picture, even when it is dropped as a repeat
        before = round(_mean_de(tail_orig, head), 3)
        left = round(_mean_de(tail_now, head), 3)  # the seam if this clip is left as it is
        if abs(cur.info.width / max(1, cur.info.height) - prev.info.width / max(1, prev.info.height)) > 0.02:
            reason = "the clips have different shapes"
        elif cur.info.sar != "1:1":
            reason = "non-square pixels"
        elif cur.info.width % 2 or cur.info.height % 2:
            reason = "an odd frame size (yuv420p correction needs even sizes)"
        else:
            reason = ""
        if not reason and left < MIN_DELTA_E:  # first: nothing to correct, whatever the pictures show
            decisions.append(SeamDecision(i, "left", f"the seam already matches (ΔE {left:.1f})", before, left))
            continue
        corr = same_picture(tail_now, head) if not reason else 0.0
        if not reason and corr < MIN_SAME_PICTURE:
            reason = f"not the same picture (correlation {corr:.2f}): a cut, its colours are content"
        if not reason:
            cmap = fit_map(head, tail_now)
            if strength < 1.0:
                cmap = cmap.scaled(strength)
            w = _window(cur, fade)
            after = round(_mean_de(tail_now, cmap.apply(head)), 3)
            shift = round(_outside_shift(cur, cmap, w), 3)
            if after > before + SLACK:
                reason = f"the correction would leave the seam at ΔE {after:.1f} (was {before:.1f})"
            elif after > left - 0.5:
                reason = f"the correction would not help (ΔE {left:.1f} -> {after:.1f})"
            elif shift > MAX_OUTSIDE_SHIFT:
                reason = f"the correction would shift the clip by ΔE {shift:.1f} outside the seam window"
            else:
                maps[i], weights[i] = cmap, w
                window = int(np.flatnonzero(w > 0)[-1]) + 1 if w.any() else 0
                what = "to its end" if window >= cur.end else f"over {window} frames, fading out"
                decisions.append(SeamDecision(i, "corrected", f"drift at the seam corrected {what}", before,
                                              after, window, shift, cmap))  # fmt: skip
                continue
        # Not corrected. If the previous clip's correction makes this seam worse, fade it out first.
        if left > before + SLACK and not maps[i - 1].identity:
            weights[i - 1] = _release(weights[i - 1], prev.end, fade)
            for d in decisions:
                if d.seam == i - 1 and d.action == "corrected":
                    d.why = f"drift at the seam corrected, fading out before seam {i} (which cannot carry it on)"
            tail_now = maps[i - 1].apply(tail_orig, _at(weights[i - 1], prev.end - 1))
            left = round(_mean_de(tail_now, head), 3)
            reason += f"; clip {i - 1}'s correction fades out before this seam"
        decisions.append(SeamDecision(i, "left", reason, before, left))
    return Plan(maps, weights, decisions, [c.end for c in clips])


# BT.601 limited range, what swscale assumes for untagged video: YUV = _A @ RGB + _C (0-255 scale)
_A = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]]) / 255.0
_C = np.array([16.0, 128.0, 128.0])
_A_INV = np.linalg.inv(_A)


def yuv_affine(cmap: ChannelMap, weight: float) -> tuple[np.ndarray, np.ndarray]:
    """The RGB map at ``weight`` expressed on Y'CbCr: yuv' = M @ yuv + k (YUV is affine in RGB)."""
    g = np.diag(1.0 + weight * (np.array(cmap.gain) - 1.0))
    o = weight * np.array(cmap.offset)
    m = _A @ g @ _A_INV
    return m, _A @ o + _C - m @ _C


def apply_yuv420(planar: np.ndarray, cmap: ChannelMap, weight: float) -> np.ndarray:
    """Apply the map to a planar yuv420p frame (H*3/2 x W) in place of an RGB round trip, which would
    round every pixel twice (a bias of a few tenths of a ΔE where nothing should change)."""
    if weight <= 0 or cmap.identity:
        return planar
    h = planar.shape[0] * 2 // 3
    w = planar.shape[1]
    flat = planar.ravel()
    q = (h // 2) * (w // 2)
    y = flat[: h * w].reshape(h, w).astype(np.float32)
    u = flat[h * w : h * w + q].reshape(h // 2, w // 2).astype(np.float32)
    v = flat[h * w + q :].reshape(h // 2, w // 2).astype(np.float32)
    m, k = yuv_affine(cmap, weight)
    up_u = np.repeat(np.repeat(u, 2, axis=0), 2, axis=1)
    up_v = np.repeat(np.repeat(v, 2, axis=0), 2, axis=1)
    y_small = y.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    y2 = m[0, 0] * y + m[0, 1] * up_u + m[0, 2] * up_v + k[0]
    u2 = m[1, 0] * y_small + m[1, 1] * u + m[1, 2] * v + k[1]
    v2 = m[2, 0] * y_small + m[2, 1] * u + m[2, 2] * v + k[2]
    out = np.concatenate([y2.ravel(), u2.ravel(), v2.ravel()])
    return np.clip(np.round(out), 0, 255).astype(np.uint8).reshape(planar.shape)


def write_corrected(src: Path, out: Path, info: MediaInfo, cmap: ChannelMap, weights: np.ndarray) -> Path:
    """Write ``src`` with ``cmap`` applied at ``weights[t]`` to frame t, losslessly and without leaving
    yuv420p (x264 at crf 0 on the decoded planes, so the film's one lossy encode is still the
    stitch's), same size, rate and frame count."""
    rate = info.fps or 24.0
    with FrameWriter(out, info.width, info.height, rate, crf=0, preset="ultrafast", yuv_input=True) as writer:
        for t, frame in enumerate(_decode_frames(src)):
            yuv = frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")
            writer.write(apply_yuv420(yuv.to_ndarray(), cmap, _at(weights, t)))
    return out
