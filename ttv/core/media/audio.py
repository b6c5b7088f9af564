"""Gapless, in-sync audio for stream-copied stitches.

Copying each clip's AAC packets end to end (what a plain remux or ffmpeg's concat demuxer does) is
neither gapless nor in sync: every AAC clip starts with a priming packet (1024 samples the decoder
needs but the player skips through the clip's edit list) and ends with padding up to a 1024-sample
frame. Joined, the priming packets must be dropped (a click at each seam: the decoder starts without
its overlap) and the padding of every clip is played (audio runs ~2.7 ms later per seam, so a
100-segment film drifts ~0.27 s behind its picture).

So the copy path copies only the *video* packets and rebuilds the audio: each clip's audio is decoded
(its priming is skipped by the decoder), placed by timestamp, cut or padded with silence to exactly
the clip's video duration, and the whole track is encoded once. Audio is cheap to encode (a few ms per
second of film), the picture stays untouched, and clips without audio get silence instead of forcing
a full re-encode.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

AAC_DEFAULT_BIT_RATE = {1: 128_000, 2: 192_000}
MAX_BIT_RATE = 320_000


@dataclass(frozen=True)
class AudioTarget:
    """The one audio track of a copied stitch."""

    rate: int
    channels: int
    layout: str
    bit_rate: int


MAX_CHANNELS = 6  # 7.1 and wider are left to the encode path (PyAV cannot hand 8+ planes to numpy)
# same channel order, only the rear pair's name differs: AAC signals the "back" ones without a PCE
_AAC_NATIVE = {"5.1(side)": "5.1", "5.0(side)": "5.0"}
_DEFAULT_LAYOUT = {1: "mono", 2: "stereo", 3: "3.0", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def _layout_name(layout: str, channels: int) -> str:
    """A named layout for the clip's audio: "" -> stereo (unknown), "2 channels" (PCM without a channel
    mask) -> the default layout for that count, side surround -> its AAC-native back twin."""
    if not layout:
        return _DEFAULT_LAYOUT.get(channels, "stereo")
    if layout.endswith(" channels"):
        count = layout.split()[0]
        return _DEFAULT_LAYOUT.get(int(count), layout) if count.isdigit() else layout
    return _AAC_NATIVE.get(layout, layout)


def plan_audio(
    rates: Sequence[int], layouts: Sequence[str], bit_rates: Sequence[int], channels: Sequence[int] | None = None
) -> AudioTarget | None:
    """The joined track for clips with these audio properties (rate 0 = the clip has no audio): the
    clips' common rate, stereo when clips mix mono and stereo (mono is duplicated, not attenuated), a
    shared multichannel layout as it is, the highest source bit rate. None when no clip has audio.
    Raises ValueError for what it does not join (different sample rates or multichannel layouts, more
    than MAX_CHANNELS channels)."""
    counts = list(channels) if channels is not None else [0] * len(rates)
    present = [
        (r, _layout_name(lay, c), b) for r, lay, b, c in zip(rates, layouts, bit_rates, counts, strict=True) if r > 0
    ]
    if not present:
        return None
    if len({r for r, _, _ in present}) > 1:
        raise ValueError("clips have different audio sample rates")
    names = {lay for _, lay, _ in present}
    if names <= {"mono", "stereo"}:
        layout = "stereo" if "stereo" in names else "mono"
    elif len(names) == 1:
        layout = names.pop()
    else:
        raise ValueError(f"clips have different audio channel layouts ({', '.join(sorted(names))})")
    try:
        n = av.AudioLayout(layout).nb_channels
    except (ValueError, TypeError) as exc:
        raise ValueError(f"unknown audio channel layout {layout!r}") from exc
    if n > MAX_CHANNELS:
        raise ValueError(f"{layout} audio ({n} channels) is not joined by stream copy")
    default = AAC_DEFAULT_BIT_RATE.get(n, 96_000 * n)
    bit_rate = min(MAX_BIT_RATE * max(1, n // 2), max([default, *(b for _, _, b in present)]))
    return AudioTarget(rate=present[0][0], channels=n, layout=layout, bit_rate=bit_rate)


MAX_BAD_PACKETS = 3  # audio packets that may fail to decode (silence in their place) before giving up


class AudioDecodeError(ValueError):
    """A clip's audio does not decode well enough to be rebuilt (the caller re-encodes instead)."""


def clip_pcm(
    path: Path, samples: int, target: AudioTarget, origin: Fraction | None = None, errors: list[str] | None = None
) -> np.ndarray:
    """Clip audio as float32 (channels, samples) on the clip's picture timeline: sample 0 is where the
    picture starts (`origin`, seconds in the file's timeline; default: the video stream's start). Every
    decoded frame is placed by its timestamp (priming is skipped by the decoder, a late start or a
    timestamp gap is silence, an early start is cut); timestamp jitter under ~5 ms is ignored (frames
    go back to back, so rounding cannot drift). Cut or padded with silence to exactly `samples`; silence
    when the clip has no audio track. A few undecodable packets become silence (noted in `errors`);
    more raise AudioDecodeError."""
    out = np.zeros((target.channels, samples), dtype=np.float32)
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return out
        stream = container.streams.audio[0]
        if origin is None:
            vs = container.streams.video[0] if container.streams.video else None
            origin = Fraction(vs.start_time or 0) * vs.time_base if vs is not None and vs.time_base else Fraction(0)
        tolerance = max(1, target.rate // 200)
        cursor: int | None = None
        bad = total = 0
        for packet in container.demux(stream):
            if packet.size == 0 and packet.dts is None:
                frames = _decode(stream, None)
            else:
                total += 1
                try:
                    if getattr(packet, "is_corrupt", False):
                        raise ValueError("packet flagged corrupt")
                    frames = _decode(stream, packet)
                except (av.error.FFmpegError, ValueError) as exc:
                    bad += 1
                    if bad > MAX_BAD_PACKETS:
                        raise AudioDecodeError(
                            f"{path.name}: more than {MAX_BAD_PACKETS} audio packets do not decode ({exc})"
                        ) from exc
                    if errors is not None:
                        errors.append(f"{path.name}: audio packet at {packet.pts} skipped ({exc})")
                    continue
            for frame in frames:
                data = _planar_float(frame)
                tb = frame.time_base or stream.time_base
                if frame.pts is not None and tb is not None:
                    at = round((frame.pts * tb - origin) * target.rate)
                    if cursor is None or abs(at - cursor) > tolerance:
                        cursor = at
                elif cursor is None:
                    cursor = 0
                cursor = _place(out, data, cursor)
            if cursor is not None and cursor >= samples + target.rate:  # past the end (with room for jitter)
                break
        if total and bad * 20 > total:
            raise AudioDecodeError(f"{path.name}: {bad} of {total} audio packets do not decode")
    return out


def _decode(stream: Any, packet: Any) -> list[Any]:
    return list(stream.decode(packet))


_SCALE = {"u8": 128.0, "s16": 32768.0, "s32": 2.0**31, "s64": 2.0**63}


def _planar_float(frame: Any) -> np.ndarray:
    """A decoded frame as float32 (channels, samples), whatever its sample format (no resampling)."""
    name = frame.format.name.rstrip("p")
    arr = frame.to_ndarray()
    if not frame.format.is_planar:
        arr = arr.reshape(-1, frame.layout.nb_channels).T
    if name == "u8":
        return (arr.astype(np.float32) - 128.0) / 128.0
    if name in _SCALE:
        return (arr / _SCALE[name]).astype(np.float32)
    return arr.astype(np.float32, copy=False)


def _place(out: np.ndarray, data: np.ndarray, at: int) -> int:
    """Copy `data` (channels, n) into `out` from sample `at`; mono is duplicated to every channel."""
    n = data.shape[1]
    lo, hi = max(0, at), min(out.shape[1], at + n)
    if hi > lo:
        chunk = data[:, lo - at : hi - at]
        if chunk.shape[0] == out.shape[0]:
            out[:, lo:hi] = chunk
        elif chunk.shape[0] == 1:
            out[:, lo:hi] = chunk[:1]
        else:
            raise AudioDecodeError(f"audio changes from {out.shape[0]} to {chunk.shape[0]} channels mid-stream")
    return at + n


class AudioEncoder:
    """One AAC encoder over the whole film, fed clip by clip; yields muxable packets. Only whole
    encoder frames are sent until `flush` (AAC takes a short frame only at the very end), so a clip's
    last partial frame is completed by the next clip's first samples."""

    FRAME = 1024

    def __init__(self, container: Any, target: AudioTarget) -> None:
        self.target = target
        self.stream = container.add_stream("aac", rate=target.rate, layout=target.layout)
        self.stream.codec_context.bit_rate = target.bit_rate
        self.stream.codec_context.open()  # fail here (unsupported layout...), not in the middle of the film
        self._pts = 0
        self._carry = np.zeros((target.channels, 0), dtype=np.float32)

    def encode(self, pcm: np.ndarray) -> Iterator[Any]:
        data = np.concatenate([self._carry, pcm], axis=1) if self._carry.shape[1] else pcm
        whole = data.shape[1] - data.shape[1] % self.FRAME
        for lo in range(0, whole, self.FRAME):
            yield from self._send(data[:, lo : lo + self.FRAME])
        self._carry = data[:, whole:].copy()

    def flush(self) -> Iterator[Any]:
        if self._carry.shape[1]:
            yield from self._send(self._carry)
            self._carry = self._carry[:, :0]
        yield from self.stream.encode(None)

    def _send(self, chunk: np.ndarray) -> Iterator[Any]:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout=self.target.layout)
        frame.sample_rate = self.target.rate
        frame.pts = self._pts
        frame.time_base = Fraction(1, self.target.rate)
        self._pts += chunk.shape[1]
        yield from self.stream.encode(frame)
