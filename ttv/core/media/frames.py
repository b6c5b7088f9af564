"""Frame I/O: encoding numpy frames (FrameWriter), decoding them, and the exact last frame.

The last frame is found by decoding to the end of the stream (after seeking to a keyframe near the
end), never with ``-sseof``, which returns a frame 1-2 before the end at 24/25/30 fps and nothing
when the audio runs longer than the video (benchmarks/last_frame.py). Truncated files are errors.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from ttv.core.media.ffmpeg import _tail, ffmpeg_exe
from ttv.core.media.files import (
    _AV_ERRORS,
    _CORRUPT_HINT,
    MediaError,
    _open,
    _temp_sibling,
    _unlink_quiet,
    _video_stream,
)


class FrameWriter:
    """Encode numpy frames (HxWx3 uint8 RGB) to an H.264 yuv420p mp4 through ffmpeg's stdin.

    Use as a context manager; the file appears at ``path`` only when encoding succeeded::

        with FrameWriter(out, 160, 90, 24) as w:
            for f in frames:
                w.write(f)
    """

    def __init__(
        self,
        path: Path | str,
        width: int,
        height: int,
        fps: float,
        *,
        crf: int = 20,
        preset: str = "veryfast",
        yuv_input: bool = False,
    ) -> None:
        if width <= 0 or height <= 0:
            raise MediaError(f"bad frame size {width}x{height}")
        if fps <= 0:
            raise MediaError(f"bad fps {fps}")
        self.path = Path(path)
        self.width = int(width)
        self.height = int(height)
        self.fps = fps
        self.crf = crf
        self.preset = preset
        # yuv_input: frames are planar yuv420p (H*3/2 x W, as PyAV's to_ndarray gives them), encoded
        # without any colour conversion (for intermediates that must not be rounded through RGB)
        self.yuv_input = yuv_input
        if yuv_input and (self.width % 2 or self.height % 2):
            raise MediaError(f"yuv420p frames need an even size, not {width}x{height}")
        self.frames_written = 0
        self._tmp: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: Any = None

    def __enter__(self) -> FrameWriter:
        self.open()
        return self

    def open(self) -> None:
        self._tmp = _temp_sibling(self.path, ".mp4")
        rate = Fraction(self.fps).limit_denominator(1001)
        vf = []
        if self.width % 2 or self.height % 2:  # yuv420p needs even sizes: pad by one pixel
            vf = ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"]
        cmd = [
            ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "yuv420p" if self.yuv_input else "rgb24", "-s", f"{self.width}x{self.height}",
            "-framerate", f"{rate.numerator}/{rate.denominator}", "-i", "pipe:0",
            *vf,
            "-an", "-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf), "-pix_fmt", "yuv420p",
            "-movflags", "+faststart", "-f", "mp4", str(self._tmp),
        ]  # fmt: skip
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in _cleanup()
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr)
        except OSError as exc:
            self._cleanup()
            raise MediaError(f"could not start ffmpeg: {exc}") from exc

    def _stderr_text(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return _tail(self._stderr.read())

    def write(self, frame: np.ndarray) -> None:
        if self._proc is None or self._proc.stdin is None:
            raise MediaError("FrameWriter is not open (use it as a context manager)")
        arr = np.asarray(frame)
        shape = (self.height * 3 // 2, self.width) if self.yuv_input else (self.height, self.width, 3)
        if arr.shape != shape:
            raise MediaError(f"frame shape {arr.shape}, expected {shape}")
        if arr.dtype != np.uint8:
            arr = np.clip(arr, 0, 255).astype(np.uint8)
        try:
            self._proc.stdin.write(np.ascontiguousarray(arr).data)  # no extra copy
        except (BrokenPipeError, OSError) as exc:
            self._proc.wait()
            raise MediaError(f"ffmpeg stopped while encoding {self.path.name}: {self._stderr_text()}") from exc
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file; MediaError if ffmpeg failed. The output appears only on success."""
        if self._proc is None:
            return
        proc = self._proc
        try:
            if proc.stdin is not None:
                with contextlib.suppress(BrokenPipeError, OSError):
                    proc.stdin.close()
            rc = proc.wait()
            if rc != 0:
                raise MediaError(f"ffmpeg exited with {rc} while encoding {self.path.name}: {self._stderr_text()}")
            if self.frames_written == 0:
                raise MediaError(f"no frames were written to {self.path.name}")
            assert self._tmp is not None
            os.replace(self._tmp, self.path)
            self._tmp = None
        finally:
            self._cleanup()

    def abort(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        self._proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._tmp is not None:
            _unlink_quiet(self._tmp)
            self._tmp = None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.abort()
            return
        self.close()


def _decode_frames(path: Path | str) -> Iterator[Any]:
    p = Path(path)
    container = _open(p)
    try:
        vs = _video_stream(container, p)
        vs.thread_type = "AUTO"
        for pkt in container.demux(vs):
            if pkt.size and getattr(pkt, "is_corrupt", False):
                raise MediaError(f"{p.name}: corrupt video packet at {pkt.pts}", hint=_CORRUPT_HINT)
            yield from pkt.decode()
    except _AV_ERRORS as exc:
        raise MediaError(f"cannot decode {p.name}: {exc}", hint="the file is corrupt or truncated") from exc
    finally:
        container.close()


def read_frames(path: Path | str) -> Iterator[np.ndarray]:
    """Decode every frame as an HxWx3 uint8 RGB array, in presentation order."""
    for frame in _decode_frames(path):
        yield frame.to_ndarray(format="rgb24")


def first_frame(path: Path | str) -> np.ndarray:
    for arr in read_frames(path):
        return arr
    raise MediaError(f"{Path(path).name} has no decodable frames")


def _last_frames(path: Path | str, count: int) -> list[Any]:
    """The last ``count`` decoded frames (av.VideoFrame) in presentation order.

    Seeks to a keyframe shortly before the end and decodes to EOF; if that window holds fewer than
    ``count`` frames (or seeking is not possible) it goes further back, ending with a full decode.
    Decoding to EOF is what makes it exact: the last frame is the decoded frame with the highest
    timestamp, and it must be the frame of the last packet in the file and reach the end of the
    stream the container declares, else the file is truncated or corrupt (MediaError, never a
    silently wrong frame).
    """
    p = Path(path)
    back_s = 0.0
    while True:
        container = _open(p)
        try:
            vs = _video_stream(container, p)
            vs.thread_type = "AUTO"
            tb = vs.time_base
            rate = float(vs.average_rate or vs.guessed_rate or 25)
            start = int(vs.start_time or 0)
            end_decl: int | None = start + vs.duration if vs.duration is not None and tb else None
            back_s = back_s or max(2.0, (count + 2) / rate)
            seekable = end_decl is not None and tb is not None and back_s < float((end_decl - start) * tb)
            if seekable:
                assert end_decl is not None and tb is not None
                target = max(start, int(end_decl - back_s / tb))
                container.seek(target, stream=vs, backward=True, any_frame=False)
            window: deque[Any] = deque(maxlen=count)
            seen_key = not seekable
            max_pts: int | None = None
            pkt_end: int | None = None
            for pkt in container.demux(vs):
                if pkt.size and pkt.pts is not None and not getattr(pkt, "is_discard", False):
                    max_pts = pkt.pts if max_pts is None else max(max_pts, pkt.pts)
                    e = pkt.pts + int(pkt.duration or 0)
                    pkt_end = e if pkt_end is None else max(pkt_end, e)
                for frame in pkt.decode():
                    if not seen_key:
                        if not frame.key_frame:
                            continue  # leading frames of an open GOP may reference what we skipped
                        seen_key = True
                    window.append(frame)
            if seekable and (len(window) < count or not seen_key):
                back_s *= 4
                continue
            frames = sorted(window, key=lambda f: f.pts if f.pts is not None else 0)
            if frames and max_pts is not None and frames[-1].pts is not None and frames[-1].pts < max_pts:
                raise MediaError(
                    f"{p.name}: the last frame does not decode (corrupt data at the end)", hint=_CORRUPT_HINT
                )
            if end_decl is not None and pkt_end is not None and tb is not None:
                gap = float((end_decl - pkt_end) * tb)
                if gap > 1.5 / rate + 1e-3:
                    raise MediaError(
                        f"{p.name} is truncated: video data ends {gap:.3f} s before the declared end",
                        hint=_CORRUPT_HINT,
                    )
            return frames
        except MediaError:
            raise
        except _AV_ERRORS as exc:
            raise MediaError(f"cannot decode {p.name}: {exc}", hint=_CORRUPT_HINT) from exc
        finally:
            container.close()


def last_frame_array(path: Path | str, offset: int = 0) -> np.ndarray:
    """The exact last decoded frame (or the one ``offset`` frames before it) as an RGB array."""
    if offset < 0:
        raise MediaError(f"offset must be >= 0, got {offset}")
    frames = _last_frames(path, offset + 1)
    if not frames:
        raise MediaError(f"{Path(path).name} has no decodable frames")
    if len(frames) < offset + 1:
        raise MediaError(f"{Path(path).name} has only {len(frames)} frames; cannot take {offset} before the end")
    return frames[-1 - offset].to_ndarray(format="rgb24")


def last_frames_arrays(path: Path | str, count: int, offset: int = 0) -> list[np.ndarray]:
    """The exact ``count`` decoded frames that end ``offset`` frames before the end, oldest first, as RGB
    arrays (chaining with ``continue_frames``: the tail the next clip continues from)."""
    if count < 1 or offset < 0:
        raise MediaError(f"need count >= 1 and offset >= 0, got {count}, {offset}")
    frames = _last_frames(path, count + offset)
    if len(frames) < count + offset:
        raise MediaError(f"{Path(path).name} has only {len(frames)} frames; cannot take the last {count}"
                         + (f" before the final {offset}" if offset else ""))
    return [f.to_ndarray(format="rgb24") for f in frames[len(frames) - offset - count: len(frames) - offset]]


def save_png(arr: np.ndarray, out_png: Path | str) -> Path:
    """Write an RGB array as a lossless PNG, atomically."""
    from PIL import Image

    out = Path(out_png)
    tmp = _temp_sibling(out, ".png")
    try:
        Image.fromarray(np.ascontiguousarray(arr, dtype=np.uint8), "RGB").save(tmp, format="PNG", compress_level=1)
        os.replace(tmp, out)
    except OSError as exc:
        _unlink_quiet(tmp)
        raise MediaError(f"cannot write {out}: {exc}") from exc
    return out


def last_frame(path: Path | str, out_png: Path | str, offset: int = 0) -> Path:
    """Write the EXACT last decoded frame of ``path`` (or ``offset`` frames before the end; chaining's
    ``seam_offset``) to ``out_png`` as a lossless PNG (atomic write). Returns the PNG path."""
    return save_png(last_frame_array(path, offset), out_png)



def _small(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(arr, dtype=np.uint8), "RGB")
    if img.size != size:
        img = img.resize(size, Image.Resampling.BOX)
    return np.asarray(img, dtype=np.float32)


def frame_difference(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Mean and 99th-percentile absolute RGB difference (0-255) of two frames, compared at a common
    small size (so frames of different sizes or with codec noise compare sensibly)."""
    h = min(a.shape[0], b.shape[0], 180)
    w = max(1, round(h * a.shape[1] / a.shape[0]))
    sa, sb = _small(a, (w, h)), _small(b, (w, h))
    d = np.abs(sa - sb).mean(axis=2)
    return {"mean": float(d.mean()), "p99": float(np.percentile(d, 99))}


def _first_frames(path: Path, count: int) -> list[np.ndarray]:
    got: list[np.ndarray] = []
    for arr in read_frames(path):
        got.append(arr)
        if len(got) >= count:
            break
    if not got:
        raise MediaError(f"{path.name} has no decodable frames")
    return got
