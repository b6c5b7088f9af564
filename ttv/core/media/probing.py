"""Probing videos with PyAV (no ffprobe): size, rate, exact frame count, codec data, audio layout;
and verification of a finished file against what was expected."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

from ttv.core.media.files import _AV_ERRORS, _CORRUPT_HINT, MediaError, _open, _video_stream
from ttv.core.media.frames import _decode_frames, _last_frames


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
