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


def plan_audio(rates: Sequence[int], layouts: Sequence[str], bit_rates: Sequence[int]) -> AudioTarget | None:
    """The joined track for clips with these audio properties (rate 0 = the clip has no audio): the
    clips' common rate, stereo when clips mix mono and stereo (mono is duplicated, not attenuated), a
    shared multichannel layout as it is, the highest source bit rate. None when no clip has audio.
    Raises ValueError for what it does not join (different sample rates or multichannel layouts)."""
    present = [(r, lay or "stereo", b) for r, lay, b in zip(rates, layouts, bit_rates, strict=True) if r > 0]
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
    n = av.AudioLayout(layout).nb_channels
    default = AAC_DEFAULT_BIT_RATE.get(n, 96_000 * n)
    bit_rate = min(MAX_BIT_RATE * max(1, n // 2), max([default, *(b for _, _, b in present)]))
    return AudioTarget(rate=present[0][0], channels=n, layout=layout, bit_rate=bit_rate)


def sample_spans(durations: Sequence[Fraction], rate: int) -> list[int]:
    """Samples per clip so that clip k's audio ends exactly where its video ends, rounding on the
    running total (never per clip, which would drift)."""
    spans: list[int] = []
    end = Fraction(0)
    done = 0
    for d in durations:
        end += d
        stop = round(end * rate)
        spans.append(stop - done)
        done = stop
    return spans


def clip_pcm(path: Path, samples: int, target: AudioTarget) -> np.ndarray:
    """Clip audio as float32 (channels, samples): decoded, placed by timestamp (priming skipped by the
    decoder, a late start padded), cut or padded with silence to exactly `samples`. Silence when the
    clip has no audio track."""
    out = np.zeros((target.channels, samples), dtype=np.float32)
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return out
        stream = container.streams.audio[0]
        start = stream.start_time or 0
        tb = stream.time_base or Fraction(1, target.rate)
        resampler = av.AudioResampler(format="fltp")  # format only: same rate, same layout
        cursor: int | None = None  # placed by the first frame's timestamp, then back to back
        for frame in container.decode(stream):
            for fr in resampler.resample(frame):
                if cursor is None:
                    cursor = 0 if fr.pts is None else round((fr.pts - start) * tb * target.rate)
                cursor = _place(out, fr.to_ndarray(), cursor)
                if cursor >= samples:
                    return out
    return out


def _place(out: np.ndarray, data: np.ndarray, at: int) -> int:
    """Copy `data` (channels, n) into `out` from sample `at`; mono is duplicated to every channel."""
    n = data.shape[1]
    lo, hi = max(0, at), min(out.shape[1], at + n)
    if hi > lo:
        chunk = data[:, lo - at : hi - at]
        out[:, lo:hi] = chunk if chunk.shape[0] == out.shape[0] else chunk[:1]
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
