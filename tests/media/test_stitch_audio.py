"""Audio of stream-copied stitches: rebuilt gapless and in sync with the copied picture.

The clips carry a 440 Hz tone that lasts exactly their video length (1 s = 440 whole periods), so the
ideal joined track is one continuous sine: any sample gained or lost at a seam shows as a phase jump
between clips (copying the AAC packets gained 128 samples of encoder padding per seam: 1.09 rad)."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from ttv.core import audio_join, media

from .conftest import add_tone, counter_clip, counters

RATE = 48000


def _decode_audio(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        return np.concatenate([f.to_ndarray() for f in c.decode(s)], axis=1)  # (channels, samples)


def _phase_and_amplitude(x: np.ndarray, lo: int, hi: int, freq: float = 440.0) -> tuple[float, float]:
    t = np.arange(lo, hi) / RATE
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    (a, b), *_ = np.linalg.lstsq(basis, x[lo:hi], rcond=None)
    return float(np.arctan2(b, a)), float(np.hypot(a, b))


def _tone_clip(clipdir: Path, i: int, *, stereo: bool = False, rate: int = RATE) -> Path:
    video = counter_clip(clipdir / f"v{i}.mp4", range(i * 24, i * 24 + 24), 24)
    if not stereo and rate == RATE:
        return add_tone(video, clipdir / f"a{i}.mp4")
    out = clipdir / f"a{i}.mp4"
    subprocess.run(
        [media.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(video),
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={rate}:duration=1",
         "-c:v", "copy", "-c:a", "aac", "-ac", "2" if stereo else "1", "-shortest", str(out)],
        check=True,
    )  # fmt: skip
    return out


def test_copied_audio_does_not_drift_at_seams(clipdir: Path, tmp_path: Path) -> None:
    clips = [_tone_clip(clipdir, i) for i in range(4)]
    out = tmp_path / "final.mp4"
    r = media.stitch(clips, out, width=160, height=90, fps=24)
    assert r.method == "copy" and r.info["copy_via"] == "pyav-remux"
    assert counters(out) == list(range(96)), "the picture is copied frame for frame"
    x = _decode_audio(out)[0]
    assert 4 * RATE <= len(x) <= 4 * RATE + 1024, "audio as long as the video (plus at most one AAC frame)"
    fits = [_phase_and_amplitude(x, k * RATE + 4000, (k + 1) * RATE - 4000) for k in range(4)]
    phases = [p for p, _ in fits]
    assert max(phases) - min(phases) < 0.05, f"every clip's tone in phase with clip 0: {phases}"
    source_amp = _phase_and_amplitude(_decode_audio(clips[0])[0], 4000, RATE - 4000)[1]
    assert all(amp == pytest.approx(source_amp, rel=0.03) for _, amp in fits)


def test_a_clip_without_audio_gets_silence_and_still_copies(clipdir: Path, tmp_path: Path) -> None:
    silent = counter_clip(clipdir / "silent.mp4", range(24, 48), 24)
    clips = [_tone_clip(clipdir, 0), silent, _tone_clip(clipdir, 2)]
    out = tmp_path / "final.mp4"
    r = media.stitch(clips, out, width=160, height=90, fps=24)
    assert r.method == "copy", r.info["reason"]
    assert counters(out) == list(range(24)) + list(range(24, 48)) + list(range(48, 72))
    x = _decode_audio(out)[0]
    rms = [float(np.sqrt(np.mean(x[k * RATE + 2000 : (k + 1) * RATE - 2000] ** 2))) for k in range(3)]
    assert rms[1] < 1e-3 < 0.05 < rms[0] and rms[2] > 0.05, rms
    assert _phase_and_amplitude(x, 4000, RATE - 4000)[0] == pytest.approx(
        _phase_and_amplitude(x, 2 * RATE + 4000, 3 * RATE - 4000)[0], abs=0.05
    ), "the third clip's sound starts exactly at its picture"


def test_mono_and_stereo_clips_join_as_stereo_without_attenuation(clipdir: Path, tmp_path: Path) -> None:
    clips = [_tone_clip(clipdir, 0), _tone_clip(clipdir, 1, stereo=True)]
    out = tmp_path / "final.mp4"
    r = media.stitch(clips, out, width=160, height=90, fps=24)
    assert r.method == "copy"
    assert media.probe(out).audio_channels == 2
    x = _decode_audio(out)
    mono_amp = _phase_and_amplitude(_decode_audio(clips[0])[0], 4000, RATE - 4000)[1]
    for ch in (0, 1):
        assert _phase_and_amplitude(x[ch], 4000, RATE - 4000)[1] == pytest.approx(mono_amp, rel=0.03)


def test_clips_with_different_sample_rates_are_encoded(clipdir: Path, tmp_path: Path) -> None:
    clips = [_tone_clip(clipdir, 0), _tone_clip(clipdir, 1, rate=44100)]
    r = media.stitch(clips, tmp_path / "final.mp4", width=160, height=90, fps=24)
    assert r.method == "encode" and "sample rates" in r.info["reason"]
    assert counters(tmp_path / "final.mp4") == list(range(48))


def test_sample_spans_round_on_the_running_total() -> None:
    ntsc = Fraction(1001, 30000) * 150  # 5.005 s
    spans = audio_join.sample_spans([ntsc] * 7, RATE)
    assert sum(spans) == round(7 * ntsc * RATE)
    assert set(spans) <= {240240}  # 5.005 s x 48 kHz is whole: no rounding jitter at all
    odd = audio_join.sample_spans([Fraction(1, 3)] * 3, 44100)
    assert odd == [14700, 14700, 14700] and sum(audio_join.sample_spans([Fraction(1, 7)] * 7, 1000)) == 1000


def test_plan_audio() -> None:
    assert audio_join.plan_audio([0, 0], ["", ""], [0, 0]) is None
    t = audio_join.plan_audio([48000, 0, 48000], ["mono", "", "stereo"], [64000, 0, 256000])
    assert t is not None and (t.rate, t.layout, t.channels, t.bit_rate) == (48000, "stereo", 2, 256000)
    with pytest.raises(ValueError, match="sample rates"):
        audio_join.plan_audio([48000, 44100], ["stereo", "stereo"], [0, 0])
    with pytest.raises(ValueError, match="layouts"):
        audio_join.plan_audio([48000, 48000], ["5.1", "stereo"], [0, 0])


def test_encode_path_keeps_mono_at_full_level_and_in_phase(clipdir: Path, tmp_path: Path) -> None:
    clips = [_tone_clip(clipdir, i) for i in range(3)]
    out = tmp_path / "final.mp4"
    r = media.stitch(clips, out, width=160, height=90, fps=24, force_encode=True)
    assert r.method == "encode"
    x = _decode_audio(out)
    source_amp = _phase_and_amplitude(_decode_audio(clips[0])[0], 4000, RATE - 4000)[1]
    fits = [_phase_and_amplitude(x[ch], k * RATE + 4000, (k + 1) * RATE - 4000) for ch in (0, 1) for k in range(3)]
    assert all(amp == pytest.approx(source_amp, rel=0.03) for _, amp in fits), "not 3 dB down"
    assert max(p for p, _ in fits) - min(p for p, _ in fits) < 0.05
