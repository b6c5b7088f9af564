"""Exact last frame (ttv.core.media.last_frame) versus ffmpeg ``-sseof`` seeking.

Makes 832x480 H.264 clips (veryfast, so with B-frames) whose frames carry a burnt-in counter, at
16/24/25/30 fps and several lengths, plus the awkward cases seen in practice: a variable-frame-rate
clip, a clip whose audio runs longer than its video (Veo-style), and a stream-copied concat.
For each clip it asks three extractors for the last frame and reads the counter back:

* ``ttv``            media.last_frame (seek to a keyframe near the end, decode to EOF), in-process
* ``sseof-0.1 -1f``  the upstream command: ffmpeg -sseof -0.1 -i clip -frames:v 1 last.png
* ``sseof-1 update`` ffmpeg -sseof -1 -i clip -update 1 last.png (keeps overwriting until EOF)

and prints correctness and the time ratio (best of --repeat runs).

    .venv/bin/python benchmarks/last_frame.py [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ttv.core import media  # noqa: E402

W, H = 832, 480
BX, BY = 4, 3


_BG: np.ndarray | None = None


def counter_frame(value: int, rng: np.random.Generator) -> np.ndarray:
    """A moving textured background (camera-pan-like, so the encoder has real work but the bitrate
    stays realistic) with the counter as 12 big bright blocks."""
    global _BG
    if _BG is None:
        yy, xx = np.mgrid[0 : H * 2, 0 : W * 2].astype(np.float32)
        tex = 60 + 25 * np.sin(xx / 37) * np.cos(yy / 23) + rng.normal(0, 6, xx.shape)
        _BG = np.stack([tex, tex * 0.9 + 10, tex * 0.7 + 20], axis=-1).clip(0, 110).astype(np.uint8)
    dy, dx = (value * 3) % H, (value * 5) % W
    frame = _BG[dy : dy + H, dx : dx + W].copy()
    for bit in range(BX * BY):
        if value >> (BX * BY - 1 - bit) & 1:
            r, c = divmod(bit, BX)
            frame[r * H // BY : (r + 1) * H // BY, c * W // BX : (c + 1) * W // BX] += 140
    return frame


def read_counter(frame: np.ndarray) -> int:
    value = 0
    for bit in range(BX * BY):
        r, c = divmod(bit, BX)
        cy, cx = (2 * r + 1) * H // (2 * BY), (2 * c + 1) * W // (2 * BX)
        on = frame[cy - 20 : cy + 20, cx - 30 : cx + 30].mean() > 128
        value = value << 1 | int(on)
    return value


def make_cfr(path: Path, fps: int, n: int, rng: np.random.Generator) -> Path:
    with media.FrameWriter(path, W, H, fps, crf=20, preset="veryfast") as w:
        for i in range(n):
            w.write(counter_frame(i, rng))
    return path


def make_vfr(path: Path, rng: np.random.Generator) -> Path:
    durations = ([33, 33, 120, 20, 33, 66, 250, 33] * 6)[:45]
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        s.options = {"preset": "veryfast", "crf": "20"}
        t = 0
        for i, d in enumerate(durations):
            fr = av.VideoFrame.from_ndarray(counter_frame(i, rng), format="rgb24")
            fr.pts, fr.time_base = t, Fraction(1, 1000)
            t += d
            for pkt in s.encode(fr):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    return path


def ff(*args: str) -> None:
    subprocess.run([media.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def add_long_audio(video: Path, out: Path, extra: float) -> Path:
    dur = media.probe(video).duration + extra
    ff("-i", str(video), "-f", "lavfi", "-i", f"sine=frequency=440:duration={dur}", "-map", "0:v", "-map", "1:a",
       "-c:v", "copy", "-c:a", "aac", str(out))  # fmt: skip
    return out


def concat_copy(clips: list[Path], out: Path) -> Path:
    lst = out.with_suffix(".txt")
    lst.write_text("".join(f"file '{c}'\n" for c in clips))
    ff("-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy", str(out))
    return out


def sseof(clip: Path, png: Path, variant: str) -> int | None:
    png.unlink(missing_ok=True)
    if variant == "sseof-0.1 -1f":
        args = ["-sseof", "-0.1", "-i", str(clip), "-frames:v", "1", "-update", "1", str(png)]
    else:
        args = ["-sseof", "-1", "-i", str(clip), "-update", "1", str(png)]
    proc = subprocess.run([media.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], capture_output=True)
    if proc.returncode != 0 or not png.exists() or png.stat().st_size == 0:
        return None
    return read_counter(np.asarray(Image.open(png).convert("RGB")))


def extract(variant: str, clip: Path, png: Path) -> int | None:
    if variant == "ttv":
        return read_counter(np.asarray(Image.open(media.last_frame(clip, png)).convert("RGB")))
    return sseof(clip, png, variant)


def timed(fn: Callable[[], object], repeat: int) -> tuple[object, float]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, min(times)  # best of N: a shared machine only ever adds time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="keep the clips in this folder")
    args = ap.parse_args()
    scratch = None if args.keep else tempfile.TemporaryDirectory(prefix="ttv-bench-lastframe-")
    work = args.keep or Path(scratch.name)  # type: ignore[union-attr]
    work.mkdir(parents=True, exist_ok=True)
    try:
        run(args, work)
    finally:
        if scratch is not None:
            scratch.cleanup()


def run(args: argparse.Namespace, work: Path) -> None:
    rng = np.random.default_rng(7)
    print(f"ffmpeg: {media.ffmpeg_info()['source']} {media.ffmpeg_info()['version']}; clips {W}x{H} in {work}")

    cases: list[tuple[str, Path]] = []
    for fps in (16, 24, 25, 30):
        for seconds in (2.0, 5.0, 5.3):
            n = round(fps * seconds)
            cases.append((f"{fps} fps, {n} frames", make_cfr(work / f"c{fps}_{n}.mp4", fps, n, rng)))
    cases.append(("VFR, 45 frames", make_vfr(work / "vfr.mp4", rng)))
    base = work / "c24_120.mp4"
    cases.append(("24 fps + audio 0.5 s longer", add_long_audio(base, work / "long_audio.mp4", 0.5)))
    cases.append(("concat copy 16 fps x3", concat_copy([work / "c16_32.mp4", work / "c16_80.mp4",
                                                         work / "c16_85.mp4"], work / "concat.mp4")))  # fmt: skip

    variants = ["ttv", "sseof-0.1 -1f", "sseof-1 update"]
    correct = dict.fromkeys(variants, 0)
    total_t = dict.fromkeys(variants, 0.0)
    print(f"\n{'clip':32} {'truth':>5} " + " ".join(f"{v:>20}" for v in variants))
    for label, clip in cases:
        truth = read_counter(list(media.read_frames(clip))[-1])
        cells = []
        for v in variants:
            png = work / f"{clip.stem}.{v.replace(' ', '_')}.png"
            got, t = timed(lambda v=v, clip=clip, png=png: extract(v, clip, png), args.repeat)  # type: ignore[misc]
            ok = got == truth
            correct[v] += ok
            total_t[v] += t
            shown = "none" if got is None else str(got)
            cells.append(f"{shown:>5} {'ok ' if ok else 'BAD'} {t * 1000:7.1f} ms")
        print(f"{label:32} {truth:>5} " + " ".join(f"{c:>20}" for c in cells))

    n = len(cases)
    print("\nsummary")
    for v in variants:
        print(f"  {v:16} exact {correct[v]:2}/{n}   total {total_t[v]:.3f} s")
    print(f"  time ratio ttv / sseof-0.1 -1f : {total_t['ttv'] / total_t['sseof-0.1 -1f']:.2f}x")
    print(f"  time ratio ttv / sseof-1 update: {total_t['ttv'] / total_t['sseof-1 update']:.2f}x")
    print(f"  target: exact at 16/24/25/30 fps -> {'MET' if correct['ttv'] == n else 'MISSED'}")


if __name__ == "__main__":
    main()
