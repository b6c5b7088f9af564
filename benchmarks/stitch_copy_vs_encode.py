"""Stitch of uniform clips: stream copy versus normalize + encode (target: copy >= 20x faster).

Makes 12 uniform Wan-like clips (832x480, 16 fps, 5 s = 80 frames, H.264 yuv420p, moving textured
content) and times ttv.core.media.stitch on them twice: the automatic path (stream copy, because the
clips are uniform) and the same call with force_encode=True (the normalize + encode-once path a mixed
set of clips takes). Both include ttv's output verification. Also times one mixed set (the 12 clips
plus a 1280x720@24 clip with audio) to show the path taken when clips differ.

    .venv/bin/python benchmarks/stitch_copy_vs_encode.py [--clips 12] [--seconds 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ttv.core import media  # noqa: E402


def texture(w: int, h: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : h * 2, 0 : w * 2].astype(np.float32)
    tex = 90 + 50 * np.sin(xx / (30 + seed)) * np.cos(yy / 21) + rng.normal(0, 5, xx.shape)
    return np.stack([tex, tex * 0.8 + 30, 200 - tex * 0.6], axis=-1).clip(0, 255).astype(np.uint8)


def make_clip(path: Path, w: int, h: int, fps: int, frames: int, seed: int) -> Path:
    bg = texture(w, h, seed)
    with media.FrameWriter(path, w, h, fps, crf=20, preset="veryfast") as wr:
        for i in range(frames):
            dy, dx = (i * 2) % h, (i * 3) % w
            wr.write(bg[dy : dy + h, dx : dx + w])
    return path


def add_tone(video: Path, out: Path) -> Path:
    import subprocess

    dur = media.probe(video).duration
    subprocess.run(
        [media.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(video), "-f", "lavfi",
         "-i", f"sine=frequency=440:duration={dur}", "-c:v", "copy", "-c:a", "aac", "-shortest", str(out)],
        check=True,
    )  # fmt: skip
    return out


def timed(fn: Callable[[], media.StitchResult], repeat: int) -> tuple[media.StitchResult, float, list[float]]:
    """(result, best time, all times): best-of-N, because a shared machine only ever adds time."""
    times: list[float] = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    assert result is not None
    return result, min(times), times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", type=Path)
    args = ap.parse_args()
    scratch = None if args.keep else tempfile.TemporaryDirectory(prefix="ttv-bench-stitch-")
    work = args.keep or Path(scratch.name)  # type: ignore[union-attr]
    work.mkdir(parents=True, exist_ok=True)
    try:
        run(args, work)
    finally:
        if scratch is not None:
            scratch.cleanup()


def run(args: argparse.Namespace, work: Path) -> None:
    w, h, fps = 832, 480, 16
    n = round(args.seconds * fps)
    info = media.ffmpeg_info()
    print(f"ffmpeg: {info['source']} {info['version']}")
    t0 = time.perf_counter()
    clips = [make_clip(work / f"seg{i:02}.mp4", w, h, fps, n, i) for i in range(args.clips)]
    print(f"made {len(clips)} clips of {w}x{h}@{fps}, {n} frames each, in {time.perf_counter() - t0:.1f} s ({work})")
    expected = n * len(clips)

    copy, t_copy, copies = timed(lambda: media.stitch(clips, work / "copy.mp4", width=w, height=h, fps=fps),
                                 args.repeat)  # fmt: skip
    enc, t_enc, encs = timed(
        lambda: media.stitch(clips, work / "encode.mp4", width=w, height=h, fps=fps, force_encode=True),
        max(1, min(3, args.repeat)),
    )
    assert copy.method == "copy" and enc.method == "encode", (copy.method, enc.method)
    assert copy.frames == enc.frames == expected, (copy.frames, enc.frames, expected)

    with_audio = [add_tone(c, work / f"{c.stem}-a.mp4") for c in clips]
    acopy, t_acopy, _ = timed(
        lambda: media.stitch(with_audio, work / "acopy.mp4", width=w, height=h, fps=fps), args.repeat
    )
    assert acopy.method == "copy" and acopy.frames == expected

    odd = make_clip(work / "odd0.mp4", 1280, 720, 24, 48, 99)
    mixed_clips = [*clips, odd]
    mixed, t_mixed, _ = timed(
        lambda: media.stitch(mixed_clips, work / "mixed.mp4", width=w, height=h, fps=fps, crossfade=0.25), 1
    )

    print(f"\n{'path':34} {'method':>7} {'frames':>7} {'best s':>9}   runs")
    print(
        f"{'uniform, automatic':34} {copy.method:>7} {copy.frames:>7} {t_copy:9.3f}   {[round(x, 3) for x in copies]}"
    )
    print(f"{'uniform, force_encode':34} {enc.method:>7} {enc.frames:>7} {t_enc:9.3f}   {[round(x, 3) for x in encs]}")
    print(f"{'uniform + audio, automatic':34} {acopy.method:>7} {acopy.frames:>7} {t_acopy:9.3f}   "
          f"via {acopy.info.get('copy_via', '')}")  # fmt: skip
    print(f"{'mixed (+1280x720@24), xfade 0.25':34} {mixed.method:>7} {mixed.frames:>7} {t_mixed:9.3f}")
    ratio = t_enc / t_copy
    med = statistics.median(encs) / statistics.median(copies)
    print(f"\ncopy vs encode: {ratio:.1f}x faster (target >= 20x: {'MET' if ratio >= 20 else 'MISSED'})")
    print(f"copy vs encode, medians instead of best runs: {med:.1f}x")
    print(f"copy with audio vs encode: {t_enc / t_acopy:.1f}x")
    print(f"copy path per output frame: {t_copy / expected * 1000:.3f} ms; encode: {t_enc / expected * 1000:.2f} ms")


if __name__ == "__main__":
    main()
