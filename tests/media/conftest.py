"""Synthetic clips for the media tests: a frame counter burnt into every frame as big black/white
blocks (12 bits, read back robustly after lossy H.264 and scaling), colourful moving scenes with an
optional colour cast, VFR clips written through PyAV, and audio added with ffmpeg's lavfi sources."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from ttv.core import media

BITS_X, BITS_Y = 4, 3  # 12-bit counter grid covering the whole frame
W, H = 160, 90


def counter_frame(value: int, width: int = W, height: int = H) -> np.ndarray:
    """A frame whose 4x3 grid of blocks spells ``value`` in binary (white = 1), MSB first."""
    frame = np.full((height, width, 3), 16, dtype=np.uint8)
    for bit in range(BITS_X * BITS_Y):
        if value >> (BITS_X * BITS_Y - 1 - bit) & 1:
            r, c = divmod(bit, BITS_X)
            y0, y1 = r * height // BITS_Y, (r + 1) * height // BITS_Y
            x0, x1 = c * width // BITS_X, (c + 1) * width // BITS_X
            frame[y0:y1, x0:x1] = 235
    return frame


def read_counter(frame: np.ndarray) -> int:
    """Read the value back from the centre of each block (tolerates codec noise and rescaling)."""
    height, width = frame.shape[:2]
    value = 0
    for bit in range(BITS_X * BITS_Y):
        r, c = divmod(bit, BITS_X)
        y0, y1 = r * height // BITS_Y, (r + 1) * height // BITS_Y
        x0, x1 = c * width // BITS_X, (c + 1) * width // BITS_X
        cy, cx, hy, hx = (y0 + y1) // 2, (x0 + x1) // 2, max(1, (y1 - y0) // 4), max(1, (x1 - x0) // 4)
        on = frame[cy - hy : cy + hy, cx - hx : cx + hx].mean() > 128
        value = value << 1 | int(on)
    return value


def scene_frame(t: int, width: int = W, height: int = H) -> np.ndarray:
    """A colourful test scene (gradient background, a moving disc) at frame ``t``."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 60 + 140 * xx / width
    g = 50 + 120 * yy / height
    b = 170 - 90 * xx / width
    cx, cy = (t * 3) % width, height / 2
    disc = (xx - cx) ** 2 + (yy - cy) ** 2 < (height / 4) ** 2
    img = np.stack([r, g, b], axis=-1)
    img[disc] = (230, 200, 40)
    return img.clip(0, 255).astype(np.uint8)


_TEXTURE: np.ndarray | None = None


def pan_frame(t: int, width: int = W, height: int = H) -> np.ndarray:
    """A slow camera pan over a smooth texture (2 px per frame): consecutive frames are similar,
    which is what makes telling a repeated frame from the next frame hard."""
    global _TEXTURE
    if _TEXTURE is None:
        rng = np.random.default_rng(3)
        yy, xx = np.mgrid[0 : 2 * H, 0 : 4 * W].astype(np.float32)
        tex = 110 + 50 * np.sin(xx / 13) * np.cos(yy / 9) + rng.normal(0, 4, xx.shape)
        _TEXTURE = np.stack([tex, tex * 0.8 + 20, 220 - tex], axis=-1).clip(0, 255).astype(np.uint8)
    return _TEXTURE[:height, 2 * t : 2 * t + width].copy()


def cast(frame: np.ndarray, hops: int) -> np.ndarray:
    """A compounding colour cast: each hop warms and lifts the image a little (what chained I2V does)."""
    if hops == 0:
        return frame
    f = frame.astype(np.float32)
    gain = np.array([1.07, 1.0, 0.92], dtype=np.float32) ** hops
    return (f * gain + 3.0 * hops).clip(0, 255).astype(np.uint8)


def write_clip(
    path: Path,
    frames: Iterable[np.ndarray],
    fps: float,
    *,
    width: int = W,
    height: int = H,
    preset: str = "ultrafast",
    crf: int = 18,
) -> Path:
    with media.FrameWriter(path, width, height, fps, crf=crf, preset=preset) as w:
        for f in frames:
            w.write(f)
    return path


def counter_clip(
    path: Path, values: Iterable[int], fps: float, *, width: int = W, height: int = H, preset: str = "ultrafast"
) -> Path:
    return write_clip(path, (counter_frame(v, width, height) for v in values), fps, width=width, height=height,
                      preset=preset)  # fmt: skip


def vfr_counter_clip(path: Path, durations_ms: list[int]) -> Path:
    """A variable-frame-rate clip (frame i shown for durations_ms[i]) written with PyAV."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"preset": "ultrafast", "crf": "18"}
        t = 0
        for i, d in enumerate(durations_ms):
            fr = av.VideoFrame.from_ndarray(counter_frame(i), format="rgb24")
            fr.pts, fr.time_base = t, Fraction(1, 1000)
            t += d
            for pkt in stream.encode(fr):
                out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    return path


def add_tone(video: Path, out: Path, freq: int = 440) -> Path:
    """Mux a sine tone (AAC) as long as the video under it."""
    info = media.probe(video)
    subprocess.run(
        [media.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(video),
         "-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate=48000:duration={info.duration}",
         "-c:v", "copy", "-c:a", "aac", "-shortest", str(out)],
        check=True,
    )  # fmt: skip
    return out


def tone_file(out: Path, seconds: float, freq: int = 220) -> Path:
    subprocess.run(
        [media.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate=44100:duration={seconds}", str(out)],
        check=True,
    )  # fmt: skip
    return out


def counters(path: Path) -> list[int]:
    return [read_counter(f) for f in media.read_frames(path)]


@pytest.fixture
def clipdir(tmp_path: Path) -> Path:
    d = tmp_path / "clips"
    d.mkdir()
    return d


@pytest.fixture
def make_counter_clip(clipdir: Path) -> Callable[..., Path]:
    def make(name: str, values: Iterable[int], fps: float, **kw: object) -> Path:
        return counter_clip(clipdir / name, values, fps, **kw)  # type: ignore[arg-type]

    return make
