"""Media: ffmpeg discovery, probing (PyAV), frame I/O, exact last frame, verified stitching.

Design notes (DESIGN.md section 6):

* ffmpeg comes from ``TTV_FFMPEG``, else PATH (when it has libx264), else the ``imageio-ffmpeg``
  wheel. ffprobe is never required: probing and decoding go through PyAV, which bundles its libav*.
* The last frame is found by decoding to the end of the stream (after seeking to a keyframe near the
  end), never with ``-sseof``, which returns a frame 1-2 before the end at 24/25/30 fps and nothing
  when the audio runs longer than the video (benchmarks/last_frame.py). Truncated files are errors.
* Stitching uses stream copy only when every clip already matches the target and nothing has to
  change (the video packets are copied; the audio is rebuilt gapless, see ``audio_join``); otherwise
  ffmpeg filter graphs normalize size, fps, pixel format, audio (silence where missing), optional
  colour anchoring (a 3D LUT per clip), crossfades and a soundtrack, and encode each frame once.
* Every output is written to a temporary name in the destination folder and moved into place with
  ``os.replace`` after it has been verified.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import av
import numpy as np

from ttv.core import audio_join
from ttv.core.color import LabStats, delta_e, lab_stats, mean_lab, transfer_lut, write_cube
from ttv.core.errors import StepFailed

__all__ = [
    "MediaError",
    "MediaInfo",
    "FrameWriter",
    "StitchResult",
    "ffmpeg_exe",
    "ffmpeg_info",
    "probe",
    "read_frames",
    "last_frame",
    "last_frame_array",
    "first_frame",
    "frames_equal",
    "stitch",
    "seam_report",
    "verify_video",
]

_STDERR_TAIL = 1500
_CORRUPT_HINT = "the file is corrupt or truncated (an interrupted download or render?); make it again"


class MediaError(StepFailed):
    """Corrupt or undecodable media, or an ffmpeg failure (the message carries ffmpeg's stderr tail)."""


# ----------------------------------------------------------------------------------------- ffmpeg


@functools.lru_cache(maxsize=1)
def _ffmpeg_source() -> tuple[str, str]:
    """(path, source). ``TTV_FFMPEG`` forces a binary; else ``ffmpeg`` on PATH when it has libx264,
    else the imageio-ffmpeg binary, else a PATH ffmpeg without libx264 (doctor reports h264: false)."""
    forced = os.environ.get("TTV_FFMPEG", "").strip()
    if forced:
        exe = shutil.which(forced) or (forced if os.access(forced, os.X_OK) else None)
        if not exe:
            raise MediaError(f"TTV_FFMPEG={forced} is not an executable", hint="fix or unset TTV_FFMPEG")
        return exe, "TTV_FFMPEG"
    on_path = shutil.which("ffmpeg")
    if on_path and _has_libx264(on_path):
        return on_path, "PATH"
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe(), "imageio-ffmpeg"
    except Exception as exc:  # ImportError, RuntimeError when the wheel has no binary
        if on_path:
            return on_path, "PATH"
        raise MediaError(
            f"no ffmpeg found: not on PATH and imageio-ffmpeg has no binary ({exc})",
            hint="install ffmpeg (apt-get install ffmpeg) or `pip install imageio-ffmpeg`",
        ) from exc


def _has_libx264(exe: str) -> bool:
    try:
        enc = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(re.search(r"^\s*V\S*\s+libx264\s", enc.stdout, re.MULTILINE))


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: ``ffmpeg`` on PATH, else the imageio-ffmpeg one (cached)."""
    return _ffmpeg_source()[0]


@functools.lru_cache(maxsize=1)
def ffmpeg_info() -> dict[str, Any]:
    """``{"path", "source": "PATH"|"imageio-ffmpeg"|"TTV_FFMPEG", "version", "h264": bool}`` for ``ttv doctor``."""
    path, source = _ffmpeg_source()
    version = ""
    h264 = False
    try:
        out = subprocess.run([path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30)
        m = re.search(r"ffmpeg version (\S+)", out.stdout)
        version = m.group(1) if m else out.stdout.splitlines()[0] if out.stdout else ""
        h264 = _has_libx264(path)
    except (OSError, subprocess.SubprocessError):
        pass
    return {"path": path, "source": source, "version": version, "h264": h264}


def _tail(text: str | bytes, n: int = _STDERR_TAIL) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.strip()
    return text[-n:]


def _run_ffmpeg(
    args: Sequence[str],
    *,
    what: str,
    timeout: float | None = None,
    cwd: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Run ffmpeg with ``args`` (without the executable); MediaError with the stderr tail on failure.
    ``progress`` is called with the number of frames written so far (from ``-progress pipe:1``)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    if progress is not None:
        cmd += ["-progress", "pipe:1", "-nostats"]
    cmd += list(args)
    if progress is None:
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, cwd=cwd)
        except subprocess.TimeoutExpired as exc:
            raise MediaError(f"{what}: ffmpeg timed out after {timeout} s") from exc
        except OSError as exc:
            raise MediaError(f"{what}: could not run ffmpeg: {exc}") from exc
        if proc.returncode != 0:
            raise MediaError(f"{what}: ffmpeg exited with {proc.returncode}: {_tail(proc.stderr)}")
        return
    with tempfile.TemporaryFile() as err:
        try:
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, cwd=cwd, text=True)
        except OSError as exc:
            raise MediaError(f"{what}: could not run ffmpeg: {exc}") from exc
        try:
            assert p.stdout is not None
            for line in p.stdout:
                if line.startswith("frame="):
                    with contextlib.suppress(ValueError):
                        progress(int(line[6:].strip()))
            rc = p.wait(timeout=timeout)
        except BaseException:
            p.kill()
            p.wait()
            raise
        if rc != 0:
            err.seek(0)
            raise MediaError(f"{what}: ffmpeg exited with {rc}: {_tail(err.read())}")


# ---------------------------------------------------------------------------------------- atomics


def _temp_sibling(path: Path, suffix: str | None = None) -> Path:
    """A fresh temporary name in ``path``'s folder (same filesystem, so os.replace is atomic).
    The file is not created here, so whoever writes it gets normal (umask) permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sfx = suffix if suffix is not None else path.suffix
    while True:
        cand = path.parent / f".{path.stem}.{secrets.token_hex(4)}.tmp{sfx}"
        if not cand.exists():
            return cand


def _unlink_quiet(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


# ------------------------------------------------------------------------------------------ probe


@dataclass
class MediaInfo:
    width: int
    height: int
    fps: float
    frames: int
    duration: float
    codec: str
    pix_fmt: str
    has_audio: bool
    time_base: str
    # extras (defaults keep the constructor compatible with the core fields above)
    fps_fraction: str = ""  # exact average rate, e.g. "24/1", "30000/1001"
    vfr: bool = False  # packet durations vary (only known when frames were counted)
    profile: str = ""
    extradata_sha1: str = ""  # codec private data (SPS/PPS); stream copy needs it identical
    audio_codec: str = ""
    audio_rate: int = 0
    audio_channels: int = 0
    audio_duration: float = 0.0
    audio_bit_rate: int = 0
    audio_layout: str = ""  # e.g. "mono", "stereo", "5.1"
    sar: str = "1:1"  # sample (pixel) aspect ratio; anything else is anamorphic

    def summary(self) -> str:
        audio = f", audio {self.audio_codec} {self.audio_rate} Hz" if self.has_audio else ", no audio"
        return (
            f"{self.width}x{self.height} {self.codec} {self.pix_fmt} {self.fps:g} fps"
            f"{' (VFR)' if self.vfr else ''}, {self.frames} frames, {self.duration:.3f} s{audio}"
        )


def _av_errors() -> tuple[type[BaseException], ...]:
    errs: list[type[BaseException]] = [OSError, EOFError, ValueError, IndexError, RuntimeError]
    for name in ("FFmpegError", "AVError"):
        cls = getattr(av, name, None) or getattr(getattr(av, "error", None), name, None)
        if isinstance(cls, type):
            errs.append(cls)
    return tuple(errs)


_AV_ERRORS = _av_errors()


def _open(path: Path | str, *, headers_only: bool = False) -> Any:
    """av.open with a MediaError for anything unreadable. ``headers_only`` skips decoding while the
    streams are probed (an order of magnitude faster for large frames): sizes, rates, time bases and
    codec data still come from the container, but the pixel format may be unknown."""
    p = Path(path)
    if not p.is_file():
        raise MediaError(f"no such media file: {p}")
    if p.stat().st_size == 0:
        raise MediaError(f"empty media file: {p}")
    try:
        options = {"skip_frame": "all", "threads": "1"} if headers_only else {}
        return av.open(str(p), metadata_errors="ignore", options=options)
    except _AV_ERRORS as exc:
        raise MediaError(
            f"cannot open {p.name}: {exc}", hint="the file is corrupt or not a video; render it again"
        ) from exc


def _video_stream(container: Any, p: Path) -> Any:
    if not container.streams.video:
        raise MediaError(f"{p.name} has no video stream")
    return container.streams.video[0]


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u(self, n: int) -> int:
        v = 0
        for _ in range(n):
            byte = self.data[self.pos >> 3]
            v = v << 1 | (byte >> (7 - (self.pos & 7)) & 1)
            self.pos += 1
        return v

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)


def h264_pix_fmt(extradata: bytes) -> str:
    """Pixel format named by an H.264 SPS (avcC or Annex B extradata), e.g. "yuv420p", "yuv422p10le";
    "" when it cannot be parsed. (Full-range "yuvj" flags live in the VUI and are not read.)"""
    try:
        sps = b""
        if extradata[:1] == b"\x01" and len(extradata) > 8:  # avcC
            n = int.from_bytes(extradata[6:8], "big")
            sps = extradata[8 : 8 + n]
        else:  # Annex B: find NAL type 7
            for chunk in re.split(b"\x00\x00\x01", extradata):
                if chunk and chunk[0] & 0x1F == 7:
                    sps = chunk.rstrip(b"\x00")
                    break
        if len(sps) < 4 or sps[0] & 0x1F != 7:
            return ""
        rbsp = re.sub(b"\x00\x00\x03", b"\x00\x00", sps[1:])
        bits = _Bits(rbsp)
        profile = bits.u(8)
        bits.u(16)  # constraint flags, level
        bits.ue()  # seq_parameter_set_id
        chroma, depth = 1, 8
        if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
            chroma = bits.ue()
            if chroma == 3:
                bits.u(1)
            depth = 8 + bits.ue()
        base = {0: "gray", 1: "yuv420p", 2: "yuv422p", 3: "yuv444p"}.get(chroma, "")
        if not base or depth == 8:
            return base
        return f"{base}{depth}le" if base != "gray" else f"gray{depth}le"
    except (IndexError, ValueError):
        return ""


def _decoded_pix_fmt(p: Path) -> str:
    container = _open(p)
    try:
        return str(container.streams.video[0].codec_context.pix_fmt or "")
    finally:
        container.close()


def probe(path: Path | str, count_frames: bool = True) -> MediaInfo:
    """Describe a video with PyAV (no ffprobe). With ``count_frames`` the frame count is exact: every
    video packet is demuxed and counted (packets flagged as discarded by an edit list are not)."""
    p = Path(path)
    container = _open(p, headers_only=True)
    try:
        vs = _video_stream(container, p)
        cc = vs.codec_context
        width, height = int(cc.width or 0), int(cc.height or 0)
        if width <= 0 or height <= 0:
            raise MediaError(f"{p.name}: video stream has no size (corrupt header?)")
        rate = vs.average_rate or vs.guessed_rate or vs.base_rate
        tb = vs.time_base or Fraction(1, 1000)
        audio = container.streams.audio[0] if container.streams.audio else None
        extradata = bytes(cc.extradata or b"")
        pix = cc.pix_fmt or (cc.format.name if cc.format is not None else "")
        if not pix and cc.name == "h264":
            pix = h264_pix_fmt(extradata)
        if not pix:
            pix = _decoded_pix_fmt(p)
        info = MediaInfo(
            width=width,
            height=height,
            fps=float(rate) if rate else 0.0,
            frames=int(vs.frames or 0),
            duration=0.0,
            codec=str(cc.name or ""),
            pix_fmt=str(pix or ""),
            has_audio=audio is not None,
            time_base=f"{tb.numerator}/{tb.denominator}",
            fps_fraction=f"{rate.numerator}/{rate.denominator}" if rate else "",
            profile=str(cc.profile or ""),
            extradata_sha1=hashlib.sha1(extradata).hexdigest() if extradata else "",
        )
        sar = vs.sample_aspect_ratio or cc.sample_aspect_ratio
        if sar and sar.numerator and sar != 1:
            info.sar = f"{sar.numerator}:{sar.denominator}"
        if audio is not None:
            acc = audio.codec_context
            info.audio_codec = str(acc.name or "")
            info.audio_rate = int(acc.sample_rate or 0)
            info.audio_channels = int(
                getattr(acc, "channels", 0) or getattr(getattr(acc, "layout", None), "nb_channels", 0) or 0
            )
            info.audio_bit_rate = int(acc.bit_rate or 0)
            info.audio_layout = str(getattr(getattr(acc, "layout", None), "name", "") or "")
            if audio.duration is not None and audio.time_base is not None:
                info.audio_duration = float(audio.duration * audio.time_base)
        if vs.duration is not None:
            info.duration = float(vs.duration * tb)
        elif container.duration is not None:
            info.duration = container.duration / 1_000_000
        if count_frames:
            n = 0
            raw = 0
            first: int | None = None
            end: int | None = None
            durations: set[int] = set()
            for pkt in container.demux(vs):
                if pkt.size == 0 or pkt.pts is None and pkt.dts is None:
                    continue  # flush packet
                raw += 1
                if getattr(pkt, "is_corrupt", False):
                    raise MediaError(f"{p.name}: corrupt video packet at {pkt.pts}", hint=_CORRUPT_HINT)
                if getattr(pkt, "is_discard", False):
                    continue
                n += 1
                ts = pkt.pts if pkt.pts is not None else pkt.dts
                first = ts if first is None else min(first, ts)
                d = int(pkt.duration or 0)
                if d:
                    durations.add(d)
                end = ts + d if end is None else max(end, ts + d)
            header = int(vs.frames or 0)
            if header and raw < header:
                raise MediaError(
                    f"{p.name} is truncated: its index lists {header} video frames, only {raw} are present",
                    hint=_CORRUPT_HINT,
                )
            info.frames = n
            if n and first is not None and end is not None and end > first:
                info.duration = float((end - first) * tb)
            info.vfr = len(durations) > 1 and (max(durations) - min(durations)) > 1
            if n and (not info.fps or info.vfr) and info.duration > 0 and not rate:
                info.fps = n / info.duration
        elif info.frames == 0 and info.duration and info.fps:
            info.frames = round(info.duration * info.fps)
        return info
    except MediaError:
        raise
    except _AV_ERRORS as exc:
        raise MediaError(
            f"cannot read {p.name}: {exc}", hint="the file is corrupt or truncated; render it again"
        ) from exc
    finally:
        container.close()


def probe_many(paths: Sequence[Path | str], count_frames: bool = True) -> list[MediaInfo]:
    """probe() several files, a few at a time (PyAV releases the GIL while it opens and demuxes)."""
    if len(paths) <= 1:
        return [probe(p, count_frames) for p in paths]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(4, len(paths), os.cpu_count() or 1)) as ex:
        return list(ex.map(lambda p: probe(p, count_frames), paths))


def verify_video(
    path: Path | str,
    *,
    frames: int | None = None,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    decode: Literal["tail", "full", "none"] = "tail",
) -> MediaInfo:
    """Check that ``path`` is a readable video with the expected properties; MediaError naming each
    mismatch. ``decode="tail"`` (default) also decodes the last GOP to make sure the end of the file
    decodes; ``"full"`` decodes every frame and checks the decoded count too."""
    p = Path(path)
    info = probe(p, count_frames=True)
    problems: list[str] = []
    if info.frames == 0:
        problems.append("no video frames")
    if frames is not None and info.frames != frames:
        problems.append(f"{info.frames} frames, expected {frames}")
    if width is not None and info.width != width:
        problems.append(f"width {info.width}, expected {width}")
    if height is not None and info.height != height:
        problems.append(f"height {info.height}, expected {height}")
    if fps is not None and abs(info.fps - fps) > 0.01 * max(1.0, fps):
        problems.append(f"{info.fps:g} fps, expected {fps:g}")
    if not problems and decode != "none":
        if decode == "full":
            n = sum(1 for _ in _decode_frames(p))
            if n != info.frames:
                problems.append(f"{n} frames decode, container has {info.frames}")
        else:
            _last_frames(p, 1)
    if problems:
        raise MediaError(f"{p.name} failed verification: " + "; ".join(problems) + f" ({info.summary()})")
    return info


# ------------------------------------------------------------------------------------ frame I/O


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
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{self.width}x{self.height}",
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
        if arr.shape != (self.height, self.width, 3):
            raise MediaError(f"frame shape {arr.shape}, expected {(self.height, self.width, 3)}")
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


# ----------------------------------------------------------------------------------- comparison


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


def _luma_small(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return _small(arr, size) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean()
    y = y - y.mean()
    den = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum()) / den if den > 1e-6 else 0.0


def check_duplicate_seam(prev: Path, cur: Path, *, prev_tail: int = 0, threshold: float = 3.0) -> dict[str, Any]:
    """Is ``cur``'s frame 0 a repeat of ``prev``'s last kept frame (``prev_tail`` frames before the end)?

    Measured on luma at up to 180 px high. A repeat differs from that frame only by codec noise:
    small mean absolute difference (below ``threshold``) with no region that differs much, and
    either clearly less than the motion between neighbouring frames inside the clips, or a
    difference image that is uncorrelated with that motion (noise), where the next frame of a
    moving shot would continue it. A slow pan, whose consecutive frames are also similar, is thus
    not mistaken for a repeat. Returns the measures and ``duplicate``."""
    tail = _last_frames(prev, prev_tail + 2)
    frames_prev = [f.to_ndarray(format="rgb24") for f in tail[: len(tail) - prev_tail]]
    if not frames_prev:
        raise MediaError(f"{prev.name} has only {len(tail)} frames")
    head = _first_frames(cur, 2)
    a, b = frames_prev[-1], head[0]
    row: dict[str, Any] = {"duplicate": False}
    if abs(a.shape[1] / a.shape[0] - b.shape[1] / b.shape[0]) > 0.02:
        row["why"] = "different aspect ratios"
        return row
    h = min(a.shape[0], b.shape[0], 180)
    size = (max(1, round(h * a.shape[1] / a.shape[0])), h)
    p1, c0 = _luma_small(a, size), _luma_small(b, size)
    d_seam = c0 - p1
    seam = float(np.abs(d_seam).mean())
    p99 = float(np.percentile(np.abs(d_seam), 99))
    motions: list[float] = []
    corrs: list[float] = []
    if len(frames_prev) >= 2:
        d_prev = p1 - _luma_small(frames_prev[-2], size)
        motions.append(float(np.abs(d_prev).mean()))
        corrs.append(_corr(d_seam, d_prev))
    if len(head) >= 2:
        d_next = _luma_small(head[1], size) - c0
        motions.append(float(np.abs(d_next).mean()))
        corrs.append(_corr(d_seam, d_next))
    motion = min(motions) if motions else float("inf")
    corr = max(corrs) if corrs else 0.0
    row.update(mean=round(seam, 3), p99=round(p99, 3), motion=round(motion, 3), corr=round(corr, 3))
    ratio = seam / motion if motion > 1e-6 else (0.0 if seam < 1e-6 else float("inf"))
    row["ratio"] = round(ratio, 3) if ratio != float("inf") else None
    identical = seam < 0.5 and p99 < 2 * threshold
    static = motion < 0.25 and seam < 1.0  # nothing moves: dropping the frame cannot be seen either way
    similar = seam < threshold and p99 < 6 * threshold
    # Calibrated on textured pans, moving objects and counters at crf 18-35 (tests/media): repeats
    # sit at ratio <= ~0.9 (codec noise only), continuations at >= ~1.0 (motion + noise).
    row["duplicate"] = bool(identical or static or (similar and (ratio <= 0.85 or (corr < 0.0 and ratio <= 1.0))))
    return row


def frames_equal(a: np.ndarray, b: np.ndarray, threshold: float = 3.0) -> bool:
    """True when two frames are the same picture up to lossy-codec noise: mean absolute difference
    below ``threshold`` and no region that differs much (99th percentile below 4 x threshold)."""
    if abs(a.shape[1] / a.shape[0] - b.shape[1] / b.shape[0]) > 0.02:
        return False
    d = frame_difference(a, b)
    return d["mean"] < threshold and d["p99"] < 4 * threshold


# -------------------------------------------------------------------------------------- stitch


@dataclass
class StitchResult:
    method: str  # "copy" | "encode"
    frames: int
    duration: float
    dropped_seams: list[int] = field(default_factory=list)  # clip indices whose frame 0 was dropped
    info: dict[str, Any] = field(default_factory=dict)


def _ffconcat_line(p: Path) -> str:
    s = str(p.resolve()).replace("'", "'\\''")
    return f"file '{s}'\n"


def _copyable(infos: Sequence[MediaInfo], width: int, height: int, fps: float) -> tuple[bool, str]:
    first = infos[0]
    for i, inf in enumerate(infos):
        if inf.codec != "h264" or inf.pix_fmt != "yuv420p":
            return False, f"clip {i} is {inf.codec}/{inf.pix_fmt}, not h264/yuv420p"
        if (inf.width, inf.height) != (width, height):
            return False, f"clip {i} is {inf.width}x{inf.height}, project is {width}x{height}"
        if inf.sar != "1:1":
            return False, f"clip {i} has non-square pixels ({inf.sar})"
        if abs(inf.fps - fps) > 1e-3 or inf.vfr:
            return False, f"clip {i} is {inf.fps:g} fps{' VFR' if inf.vfr else ''}, project is {fps:g}"
        for attr in ("time_base", "extradata_sha1", "profile"):
            if getattr(inf, attr) != getattr(first, attr):
                return False, f"clip {i} differs from clip 0 in {attr}"
    try:  # the audio is rebuilt on copy (gapless), so it only has to be joinable
        _audio_target(infos)
    except ValueError as exc:
        return False, str(exc)
    return True, "uniform"


def _audio_target(infos: Sequence[MediaInfo]) -> audio_join.AudioTarget | None:
    """The audio track a copied stitch of these clips gets (ValueError: they cannot be joined)."""
    return audio_join.plan_audio(
        [i.audio_rate if i.has_audio else 0 for i in infos],
        [i.audio_layout for i in infos],
        [i.audio_bit_rate for i in infos],
        [i.audio_channels for i in infos],
    )


def _audio_uniform(infos: Sequence[MediaInfo]) -> bool:
    """Every clip has the same audio layout (or none): what ffmpeg's concat demuxer can copy."""
    keys = {(i.has_audio, i.audio_codec, i.audio_rate, i.audio_channels) for i in infos}
    return len(keys) == 1


def stitch(
    clips: Sequence[Path | str],
    output: Path | str,
    *,
    width: int,
    height: int,
    fps: int,
    crossfade: float = 0.0,
    fit: str = "letterbox",
    drop_first_frame: list[bool] | None = None,
    color_match: bool = False,
    soundtrack: Path | str | None = None,
    trim_tail: list[int] | None = None,
    dup_threshold: float = 3.0,
    crf: int = 18,
    preset: str = "veryfast",
    soundtrack_volume: float = 0.5,
    report: bool = False,
    force_encode: bool = False,
    progress: Callable[[float], None] | None = None,
    chunk_size: int = 32,
    color_strength: float = 1.0,
) -> StitchResult:
    """Join ``clips`` into ``output`` at ``width``x``height``@``fps``; returns what was done.

    * Stream copy when every clip is H.264 yuv420p at the target size and fps, with identical codec
      data, time base and audio layout, and nothing has to change: in-process remux (PyAV), or
      ffmpeg's concat demuxer for layouts the remux does not handle (``info["copy_via"]``).
    * Otherwise normalize + encode once: square pixels, scale with ``fit`` ("letterbox" pads,
      "crop" fills), fps conversion to exactly round(kept_frames / src_fps * fps) frames per clip,
      yuv420p, 48 kHz stereo AAC with silence for clips without audio (when any clip or the
      soundtrack has audio), optional ``crossfade`` seconds (xfade/acrossfade), optional
      ``soundtrack`` mixed under the clip audio at ``soundtrack_volume`` and faded out at the end,
      optional ``color_match`` (each clip's Lab mean/std moved onto the first clip's with a 3D LUT;
      ``color_strength`` < 1 moves it only part of the way, for shots meant to change colour).
      More than ``chunk_size`` clips are encoded a chunk per ffmpeg process and joined by copy.
    * ``drop_first_frame[i]``: clip i's frame 0 MAY repeat clip i-1's last kept frame; it is dropped
      only when :func:`check_duplicate_seam` says the pixels really repeat (``info["seam_checks"]``).
    * ``trim_tail[i]``: drop that many frames from the end of clip i (chaining with ``seam_offset``:
      the frames after the one handed to the next segment).
    * ``report``: ``info["seams"]``, per seam delta E / mean abs diff / drift from clip 0, before and
      after. ``progress`` gets 0..1 while encoding.

    The output is written to a temporary name beside ``output``, verified (frame count, size, fps,
    every packet present, the end decodes) and then moved into place; on any failure ``output`` is
    left as it was and MediaError explains why.
    """
    paths = [Path(c) for c in clips]
    out = Path(output)
    if not paths:
        raise MediaError("nothing to stitch: no clips")
    if fit not in ("letterbox", "crop"):
        raise MediaError(f"fit must be 'letterbox' or 'crop', got {fit!r}")
    if width % 2 or height % 2:
        raise MediaError(f"output size {width}x{height} must be even for yuv420p")
    n = len(paths)
    drop_flags = list(drop_first_frame or [False] * n)
    tails = list(trim_tail or [0] * n)
    if len(drop_flags) != n or len(tails) != n:
        raise MediaError("drop_first_frame / trim_tail must have one entry per clip")
    infos = probe_many(paths)
    for p, inf in zip(paths, infos, strict=True):
        if inf.frames == 0:
            raise MediaError(f"{p.name} has no video frames")

    # Which seams really are duplicates? Compare clip i's frame 0 with clip i-1's last kept frame.
    dropped: list[int] = []
    seam_checks: list[dict[str, Any]] = []
    for i in range(1, n):
        if not drop_flags[i]:
            continue
        row = check_duplicate_seam(paths[i - 1], paths[i], prev_tail=tails[i - 1], threshold=dup_threshold)
        seam_checks.append({"clip": i, **row})
        if row["duplicate"]:
            dropped.append(i)
    drops = [1 if i in dropped else 0 for i in range(n)]

    st_path = Path(soundtrack) if soundtrack else None
    if st_path is not None and not st_path.is_file():
        raise MediaError(f"soundtrack not found: {st_path}")

    copyable, why = _copyable(infos, width, height, fps)
    if copyable:
        # identical codec data means an identical pixel format; confirm it by decoding (full-range
        # "yuvj420p" is only visible to the decoder)
        decoded_fmt = _decoded_pix_fmt(paths[0])
        if decoded_fmt != "yuv420p":
            copyable, why = False, f"clips decode as {decoded_fmt}, not yuv420p"
    needs_change = bool(dropped) or any(tails) or crossfade > 0 or color_match or st_path is not None or force_encode
    info: dict[str, Any] = {
        "reason": why if not copyable else ("changes requested" if needs_change else why),
        "seam_checks": seam_checks,
        "clips": [i.summary() for i in infos],
    }
    if report:
        info["seams_before"] = seam_report(paths, trim_tail=tails)

    final: MediaInfo | None = None
    if copyable and not needs_change:
        expected = sum(i.frames for i in infos)
        final = _stitch_copy(paths, infos, out, expected, width, height, fps, info)
        method = "copy"
    if final is None:
        expected, final = _stitch_encode(
            paths,
            infos,
            out,
            width=width,
            height=height,
            fps=fps,
            crossfade=crossfade,
            fit=fit,
            drops=drops,
            tails=tails,
            color_match=color_match,
            soundtrack=st_path,
            crf=crf,
            preset=preset,
            soundtrack_volume=soundtrack_volume,
            info=info,
            chunk_size=chunk_size,
            progress=progress,
            color_strength=color_strength,
        )
        method = "encode"
    if report and method == "copy":  # the same pixels: after == before
        info["seams"] = [
            {
                "seam": row["seam"],
                **{f"{k}_{w}": row[k] for k in ("delta_e", "mad", "drift") for w in ("before", "after")},
            }
            for row in info["seams_before"]
        ]
    elif report:
        info["seams"] = _output_seam_report(out, info.get("seam_frames", []), info.get("seams_before", []))
    return StitchResult(
        method=method,
        frames=final.frames,
        duration=final.duration,
        dropped_seams=dropped,
        info=info | {"expected_frames": expected, "output": final.summary()},
    )


class _NotRemuxable(Exception):
    """The in-process remux does not handle these clips. ``audio``: it is their audio that cannot be
    rebuilt (ffmpeg's concat demuxer would copy it with the seam gaps, so the caller encodes instead)."""

    def __init__(self, message: str, *, audio: bool = False) -> None:
        super().__init__(message)
        self.audio = audio


def _remux_concat(paths: list[Path], tmp: Path, infos: Sequence[MediaInfo] | None = None) -> dict[str, Any]:
    """Stream-copy the clips' video into one mp4 in-process (PyAV), shifting each clip's timestamps by
    the running video duration, like ffmpeg's concat demuxer but without a process start or the
    demuxer's per-file probing decode. Audio is rebuilt, not copied (`ttv.core.audio_join`): decoded,
    placed on the clip's picture timeline, cut or padded to end exactly where the clip's video ends
    (silence for a clip without audio) and encoded once, so seams are gapless and the sound never
    drifts from the picture. The file is written interleaved (audio muxed as the video passes its
    time); one clip's video packets and PCM are held at a time. Raises _NotRemuxable for inputs it
    does not handle (the caller falls back)."""
    infos = list(infos) if infos is not None else probe_many(paths)
    try:
        target = _audio_target(infos)
    except ValueError as exc:
        raise _NotRemuxable(str(exc), audio=True) from exc
    stats: dict[str, Any] = {"audio": "re-encoded (gapless)" if target else "none"}
    audio_errors: list[str] = []
    out = av.open(str(tmp), "w", format="mp4")
    try:
        vout = None
        encoder: audio_join.AudioEncoder | None = None
        pending: deque[Any] = deque()  # encoded audio packets not yet muxed, in time order
        offset = Fraction(0)  # seconds
        samples_done = 0  # audio samples encoded so far (rounded on the running video end: no drift)
        last_dts: int | None = None
        for k, p in enumerate(paths):
            container = _open(p, headers_only=True)
            try:
                if len(container.streams.video) != 1 or len(container.streams.audio) > 1:
                    raise _NotRemuxable("several video or audio streams")
                vs = container.streams.video[0]
                if k == 0:
                    vout = out.add_stream_from_template(vs)  # the video is stream 0 (tools assume 0:0 is video)
                    if target is not None:
                        try:
                            encoder = audio_join.AudioEncoder(out, target)
                        except _AV_ERRORS as exc:
                            raise _NotRemuxable(f"cannot encode {target.layout} AAC: {exc}", audio=True) from exc
                vtb = vs.time_base
                packets = []
                for pkt in container.demux(vs):
                    if pkt.size == 0 or pkt.pts is None or pkt.dts is None:
                        continue
                    if getattr(pkt, "is_corrupt", False):
                        raise _NotRemuxable("corrupt packets")
                    if getattr(pkt, "is_discard", False):
                        raise _NotRemuxable("edit-list discarded video packets")
                    packets.append(pkt)
                if not packets:
                    raise _NotRemuxable(f"clip {k} has no video packets")
                start = int(vs.start_time) if vs.start_time is not None else min(int(pkt.pts) for pkt in packets)
                end = max(int(pkt.pts) + int(pkt.duration or 0) for pkt in packets)
                base = int(offset / vtb)
                vshift = base - start
                clip_end = max(base, end + vshift) * vtb
                if encoder is not None:
                    stop = round(clip_end * encoder.target.rate)
                    try:
                        pcm = audio_join.clip_pcm(p, stop - samples_done, encoder.target, start * vtb, audio_errors)
                    except _AV_ERRORS as exc:  # AudioDecodeError is a ValueError
                        raise _NotRemuxable(f"clip {k} audio: {exc}", audio=True) from exc
                    samples_done = stop
                    try:
                        pending.extend(encoder.encode(pcm))
                    except _AV_ERRORS as exc:
                        raise _NotRemuxable(f"clip {k} audio: the AAC encoder failed: {exc}", audio=True) from exc
                for pkt in packets:
                    pkt.pts += vshift
                    pkt.dts += vshift
                    if last_dts is not None and pkt.dts <= last_dts:
                        raise _NotRemuxable("video timestamps would overlap")
                    last_dts = pkt.dts
                    at = pkt.dts * vtb
                    while pending and _packet_time(pending[0]) <= at:  # keep the file interleaved
                        out.mux(pending.popleft())
                    pkt.stream = vout
                    out.mux(pkt)
                offset = clip_end
            finally:
                container.close()
        if encoder is not None:
            try:
                pending.extend(encoder.flush())
            except _AV_ERRORS as exc:
                raise _NotRemuxable(f"the AAC encoder failed: {exc}", audio=True) from exc
        while pending:
            out.mux(pending.popleft())
    except _AV_ERRORS as exc:
        raise _NotRemuxable(str(exc)) from exc
    finally:
        out.close()
    if audio_errors:
        stats["audio_errors"] = audio_errors
    return stats


def _packet_time(pkt: Any) -> Fraction:
    return Fraction(pkt.dts if pkt.dts is not None else pkt.pts or 0) * (pkt.time_base or Fraction(1))


def _stitch_copy(
    paths: list[Path],
    infos: Sequence[MediaInfo],
    out: Path,
    expected: int,
    width: int,
    height: int,
    fps: float,
    info: dict[str, Any],
) -> MediaInfo | None:
    """Stream copy: in-process remux (video packets copied, audio rebuilt gapless), else ffmpeg's
    concat demuxer where every clip has the same audio layout; None when neither applies (the caller
    encodes). The video packets are the clips' own, so verification checks the container (every packet
    present, frame count, size, fps) without decoding again."""
    tmp = _temp_sibling(out, ".mp4")
    lst = _temp_sibling(out, ".ffconcat")
    try:
        try:
            info.update(_remux_concat(paths, tmp, infos))
            info["copy_via"] = "pyav-remux"
        except _NotRemuxable as why:
            if why.audio:
                info["reason"] = f"stream copy not possible: {why}"
                return None
            if not _audio_uniform(infos):
                info["reason"] = f"stream copy not possible ({why}) and the clips' audio differs"
                return None
            info["copy_via"] = f"ffmpeg concat demuxer ({why})"
            lst.write_text("ffconcat version 1.0\n" + "".join(_ffconcat_line(p) for p in paths), encoding="utf-8")
            _run_ffmpeg(
                ["-f", "concat", "-safe", "0", "-i", str(lst), "-map", "0", "-c", "copy", "-f", "mp4", str(tmp)],
                what="stitch (stream copy)",
            )
        final = verify_video(tmp, frames=expected, width=width, height=height, fps=fps, decode="none")
        if info.get("copy_via") == "pyav-remux" and info.get("audio") != "none":
            # the rebuilt audio must cover the picture (within one AAC frame and one video frame)
            slack = 1024 / max(1, final.audio_rate) + 1 / max(fps, 1.0) + 0.01
            if not final.has_audio or abs(final.audio_duration - final.duration) > slack:
                info["reason"] = (
                    f"stream copy not used: the rebuilt audio lasts {final.audio_duration:.3f} s, "
                    f"the picture {final.duration:.3f} s"
                )
                return None
        os.replace(tmp, out)
        return final
    finally:
        _unlink_quiet(lst)
        _unlink_quiet(tmp)


def _clip_stats(path: Path, drop: int, tail: int, samples: int = 8) -> LabStats:
    """Lab statistics of a clip from up to ``samples`` evenly spaced (downscaled) frames."""
    info = probe(path)
    lo, hi = drop, max(drop + 1, info.frames - tail)
    want = set(np.linspace(lo, hi - 1, num=min(samples, hi - lo)).round().astype(int).tolist())
    picked: list[np.ndarray] = []
    for idx, frame in enumerate(_decode_frames(path)):
        if idx in want:
            arr = frame.to_ndarray(format="rgb24")
            h = min(arr.shape[0], 72)
            w = max(1, round(h * arr.shape[1] / arr.shape[0]))
            picked.append(_small(arr, (w, h)).astype(np.uint8))
        if idx >= hi:
            break
    if not picked:
        raise MediaError(f"{path.name}: no frames to measure colour")
    return lab_stats(picked)


def _fmt(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".") or "0"


@dataclass
class _Piece:
    """Part of one clip in a chunk: normalized output frames [lo, hi) of clip ``clip``."""

    clip: int
    lo: int
    hi: int


def _chunks(counts: list[int], cf: int, size: int) -> list[list[_Piece]]:
    """Split clips into chunks of at most ``size`` clips, each encoded by one ffmpeg process and then
    joined by stream copy (every frame is still encoded once). With a crossfade, a chunk ends with the
    blend into the next chunk's first clip; that clip's next chunk starts right after the blend."""
    n = len(counts)
    chunks: list[list[_Piece]] = []
    start = 0
    head = 0  # frames of clip `start` already used by the previous chunk's blend
    while start < n:
        end = min(n, start + size)
        pieces = [_Piece(start, head, counts[start])] + [_Piece(i, 0, counts[i]) for i in range(start + 1, end)]
        if end < n and cf:
            pieces.append(_Piece(end, 0, cf))
            head = cf
        else:
            head = 0
        chunks.append(pieces)
        start = end
    return chunks


def _stitch_encode(
    paths: list[Path],
    infos: list[MediaInfo],
    out: Path,
    *,
    width: int,
    height: int,
    fps: int,
    crossfade: float,
    fit: str,
    drops: list[int],
    tails: list[int],
    color_match: bool,
    soundtrack: Path | None,
    crf: int,
    preset: str,
    soundtrack_volume: float,
    info: dict[str, Any],
    chunk_size: int = 32,
    progress: Callable[[float], None] | None = None,
    color_strength: float = 1.0,
) -> tuple[int, MediaInfo]:
    """Normalize the clips with ffmpeg filter graphs (at most ``chunk_size`` clips per process, so
    long projects stay within argument, file and memory limits) and encode once. Returns the
    expected frame count and the verified output's MediaInfo."""
    n = len(paths)
    F = int(fps)
    counts: list[int] = []  # frames each clip contributes at the output rate, before crossfades
    for i, inf in enumerate(infos):
        kept = inf.frames - drops[i] - tails[i]
        if kept < 1:
            raise MediaError(f"{paths[i].name}: nothing left after dropping {drops[i]} + {tails[i]} frames")
        src_fps = inf.fps if inf.fps > 0 and not inf.vfr else (inf.frames / inf.duration if inf.duration else F)
        counts.append(max(1, round(kept / src_fps * F)))
    cf = round(crossfade * F) if crossfade > 0 and n > 1 else 0
    if cf:
        cf = min(cf, min(counts) - 1)
    expected = sum(counts) - cf * (n - 1)
    starts: list[int] = []
    pos = 0
    for c in counts:
        starts.append(pos)
        pos += c - cf
    info["seam_frames"] = starts[1:]
    info["clip_frames"] = counts
    any_audio = any(inf.has_audio for inf in infos) or soundtrack is not None
    rate = 48000

    # Next to the output (in the project), named like ttv's other temp files: a killed stitch leaves nothing
    # in the system temp dir, and the next run under the project lock recognises and removes it.
    workdir = Path(tempfile.mkdtemp(prefix=f".{out.stem}.stitch-", suffix=".tmp", dir=out.parent))
    tmp = _temp_sibling(out, ".mp4")
    try:
        luts: list[Path | None] = [None] * n
        if color_match and n > 1:
            anchor = _clip_stats(paths[0], drops[0], tails[0])
            stats: list[dict[str, Any]] = []
            for i in range(1, n):
                st = _clip_stats(paths[i], drops[i], tails[i])
                lut = transfer_lut(st, anchor, strength=min(1.0, max(0.0, color_strength)))
                luts[i] = write_cube(lut, workdir / f"lut{i}.cube")
                stats.append({"clip": i, "delta_e_to_anchor": round(delta_e(st.mean, anchor.mean), 3)})
            info["color_match"] = stats

        chunks = _chunks(counts, cf, max(2, chunk_size))
        info["chunks"] = len(chunks)
        done = 0
        parts_out: list[Path] = []
        for k, pieces in enumerate(chunks):
            target = tmp if len(chunks) == 1 else workdir / f"chunk{k:04}.mp4"
            frames = sum(p.hi - p.lo for p in pieces) - cf * (len(pieces) - 1)
            inputs, maps, graph = _chunk_command(
                pieces, paths, infos, drops=drops, tails=tails, counts=counts, luts=luts, width=width,
                height=height, fps=F, fit=fit, cf=cf, audio=any_audio, rate=rate, soundtrack=soundtrack,
                soundtrack_volume=soundtrack_volume, start=done, total=expected,
            )  # fmt: skip
            if k == 0:
                info["filter_graph"] = graph if len(graph) < 20000 else graph[:20000] + "…"
            script = workdir / f"graph{k:04}.txt"
            script.write_text(graph, encoding="utf-8")
            _run_ffmpeg(
                [*inputs, *_filter_script_args(script), *maps, "-c:v", "libx264", "-preset", preset, "-crf", str(crf),
                 "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", str(target.resolve())],
                what="stitch (normalize + encode)" + (f", part {k + 1} of {len(chunks)}" if len(chunks) > 1 else ""),
                cwd=workdir,
                progress=_scaled_progress(progress, done, expected),
            )  # fmt: skip
            if len(chunks) > 1:
                verify_video(target, frames=frames, width=width, height=height, fps=F, decode="none")
                parts_out.append(target)
            done += frames
        if len(chunks) > 1:
            try:
                _remux_concat(parts_out, tmp)
            except _NotRemuxable:
                lst = workdir / "parts.ffconcat"
                lst.write_text("ffconcat version 1.0\n" + "".join(_ffconcat_line(p) for p in parts_out), "utf-8")
                _run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(lst), "-map", "0", "-c", "copy", "-f", "mp4",
                             str(tmp.resolve())], what="stitch (joining parts)")  # fmt: skip
        final = verify_video(tmp, frames=expected, width=width, height=height, fps=F)
        os.replace(tmp, out)
    finally:
        _unlink_quiet(tmp)
        shutil.rmtree(workdir, ignore_errors=True)
    return expected, final


def _scaled_progress(cb: Callable[[float], None] | None, done: int, total: int) -> Callable[[int], None] | None:
    if cb is None:
        return None

    def report(frames: int) -> None:
        cb(min(1.0, (done + frames) / max(1, total)))

    return report


def _chunk_command(
    pieces: list[_Piece],
    paths: list[Path],
    infos: list[MediaInfo],
    *,
    drops: list[int],
    tails: list[int],
    counts: list[int],
    luts: list[Path | None],
    width: int,
    height: int,
    fps: int,
    fit: str,
    cf: int,
    audio: bool,
    rate: int,
    soundtrack: Path | None,
    soundtrack_volume: float,
    start: int,
    total: int,
) -> tuple[list[str], list[str], str]:
    """ffmpeg input arguments, output maps and the filter graph for one chunk."""
    F = fps
    square = "scale='trunc(iw*sar/2)*2':ih"  # anamorphic sources: square pixels first
    if fit == "letterbox":
        size_f = f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2"
        frame_f = f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black"
    else:
        size_f = f"scale={width}:{height}:force_original_aspect_ratio=increase"
        frame_f = f"crop={width}:{height}"
    afmt = f"aformat=sample_fmts=fltp:sample_rates={rate}:channel_layouts=stereo"

    def samples(frames: int) -> int:
        return round(frames * rate / F)

    parts: list[str] = []
    args: list[str] = []
    for j, pc in enumerate(pieces):
        i, inf = pc.clip, infos[pc.clip]
        args += ["-i", str(paths[i].resolve())]
        chain: list[str] = []
        if drops[i] or tails[i]:
            chain.append(f"trim=start_frame={drops[i]}:end_frame={inf.frames - tails[i]}")
        chain += ["setpts=PTS-STARTPTS", square, size_f]
        lut = luts[i]
        if lut is not None and fit == "letterbox":  # grade the picture, not the black bars
            chain.append(f"lut3d=file={lut.name}:interp=tetrahedral")  # ffmpeg runs in workdir
        chain.append(frame_f)
        if lut is not None and fit != "letterbox":
            chain.append(f"lut3d=file={lut.name}:interp=tetrahedral")
        chain += ["setsar=1", f"fps={F}", "format=yuv420p", "tpad=stop_mode=clone:stop=2"]
        chain.append(f"trim=start_frame={pc.lo}:end_frame={pc.hi}" if pc.lo else f"trim=end_frame={pc.hi}")
        chain.append(f"setpts=N/({F}*TB)")
        parts.append(f"[{j}:v:0]" + ",".join(chain) + f"[v{j}]")
        if audio:
            span = f"atrim=start_sample={samples(pc.lo)}:end_sample={samples(pc.hi)},asetpts=PTS-STARTPTS"
            if inf.has_audio:
                src_fps = inf.fps if inf.fps > 0 else F
                # mono plays on both speakers at full level (aformat's upmix would lower it 3 dB); first_pts=0
                # pads audio that starts after the picture with silence instead of pulling it forward
                upmix = "pan=stereo|c0=c0|c1=c0," if inf.audio_channels == 1 else ""
                parts.append(
                    f"[{j}:a:0]{upmix}aresample={rate}:async=1:first_pts=0,{afmt},atrim=start={_fmt(drops[i] / src_fps)},asetpts=PTS-STARTPTS,"
                    f"apad,atrim=end_sample={samples(counts[i])},{span}[a{j}]"
                )
            else:
                parts.append(f"anullsrc=r={rate}:cl=stereo,{afmt},atrim=end_sample={samples(counts[i])},{span}[a{j}]")
    m = len(pieces)
    frames = sum(p.hi - p.lo for p in pieces) - cf * (m - 1)
    if m == 1:
        parts.append("[v0]null[vout]" + (";[a0]anull[ac]" if audio else ""))
    elif cf:
        d = _fmt(cf / F)
        vl, al = "v0", "a0"
        acc = pieces[0].hi - pieces[0].lo
        for j in range(1, m):
            parts.append(f"[{vl}][v{j}]xfade=transition=fade:duration={d}:offset={_fmt((acc - cf) / F)}[xv{j}]")
            vl = f"xv{j}"
            if audio:
                parts.append(f"[{al}][a{j}]acrossfade=d={d}:c1=tri:c2=tri[xa{j}]")
                al = f"xa{j}"
            acc += pieces[j].hi - pieces[j].lo - cf
        parts.append(f"[{vl}]null[vout]" + (f";[{al}]anull[ac]" if audio else ""))
    elif audio:
        parts.append("".join(f"[v{j}][a{j}]" for j in range(m)) + f"concat=n={m}:v=1:a=1[vout][ac]")
    else:
        parts.append("".join(f"[v{j}]" for j in range(m)) + f"concat=n={m}:v=1:a=0[vout]")
    maps = ["-map", "[vout]"]
    if audio:
        has_clip_audio = any(infos[p.clip].has_audio for p in pieces)
        if soundtrack is not None:
            args += ["-i", str(soundtrack.resolve())]
            total_s = total / F
            fade_d = min(1.0, total_s / 4)  # the music fades out instead of stopping dead
            parts.append(
                f"[{m}:a:0]aresample={rate},{afmt},volume={_fmt(soundtrack_volume)},apad,"
                f"atrim=end_sample={samples(total)},afade=t=out:st={_fmt(total_s - fade_d)}:d={_fmt(fade_d)},"
                f"atrim=start_sample={samples(start)}:end_sample={samples(start + frames)},asetpts=PTS-STARTPTS[st]"
            )
            if has_clip_audio:
                parts.append("[ac][st]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[aout]")
            else:
                parts.append("[ac]anullsink;[st]anull[aout]")
        else:
            parts.append("[ac]anull[aout]")
        maps += ["-map", "[aout]", "-c:a", "aac", "-b:a", "160k"]
    return args, maps, ";".join(parts)


def _filter_script_args(script: Path) -> list[str]:
    """Pass a filter graph from a file: ``-/filter_complex`` on ffmpeg >= 7, ``-filter_complex_script``
    before (a graph for many clips can exceed the 128 KiB limit on one command-line argument)."""
    version = str(ffmpeg_info().get("version", ""))
    m = re.match(r"n?(\d+)\.", version)
    major = int(m.group(1)) if m else 99  # git builds ("N-1234-g...") are recent
    return ["-/filter_complex", str(script)] if major >= 7 else ["-filter_complex_script", str(script)]


def seam_report(clips: Sequence[Path | str], *, trim_tail: list[int] | None = None) -> list[dict[str, Any]]:
    """Per-seam colour difference. For each seam i (clip i-1 -> clip i): ``delta_e`` is the CIE76
    difference between the mean Lab colour of clip i-1's last (kept) frame and clip i's first frame,
    ``mad`` their mean absolute RGB difference, and ``drift`` the delta E of clip i's first frame from
    clip 0's first frame (how far colour has wandered from the anchor)."""
    paths = [Path(c) for c in clips]
    tails = list(trim_tail or [0] * len(paths))
    if not paths:
        return []
    firsts = [first_frame(p) for p in paths]
    anchor = mean_lab(firsts[0])
    rows: list[dict[str, Any]] = []
    for i in range(1, len(paths)):
        last = last_frame_array(paths[i - 1], offset=tails[i - 1])
        rows.append(_seam_row(i, last, firsts[i], anchor))
    return rows


def _seam_row(i: int, last: np.ndarray, first: np.ndarray, anchor: np.ndarray) -> dict[str, Any]:
    fl = mean_lab(first)
    return {
        "seam": i,
        "delta_e": round(delta_e(mean_lab(last), fl), 3),
        "mad": round(frame_difference(last, first)["mean"], 3),
        "drift": round(delta_e(fl, anchor), 3),
    }


def _output_seam_report(out: Path, seam_frames: list[int], before: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge the per-seam report of the source clips with the same measures taken on the output
    around each seam (frame before / at the seam start)."""
    if not seam_frames:
        return [{**{f"{k}_before": v for k, v in row.items() if k != "seam"}, "seam": row["seam"]} for row in before]
    need = {0} | set(seam_frames) | {max(0, s - 1) for s in seam_frames}
    got: dict[int, np.ndarray] = {}
    last_needed = max(need)
    for idx, frame in enumerate(_decode_frames(out)):
        if idx in need:
            got[idx] = frame.to_ndarray(format="rgb24")
        if idx >= last_needed:
            break
    anchor = mean_lab(got[0])
    rows: list[dict[str, Any]] = []
    for k, s in enumerate(seam_frames):
        after = _seam_row(k + 1, got[max(0, s - 1)], got[s], anchor)
        row: dict[str, Any] = {"seam": k + 1}
        b = before[k] if k < len(before) else {}
        for key in ("delta_e", "mad", "drift"):
            row[f"{key}_before"] = b.get(key)
            row[f"{key}_after"] = after[key]
        rows.append(row)
    return rows
