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

from ttv.core import media
from ttv.core.media import audio as audio_join

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
    with av.open(str(out)) as c:
        assert [st.type for st in c.streams] == ["video", "audio"], "video is stream 0"
    info = media.probe(out)
    assert abs(info.audio_duration - info.duration) < 1024 / RATE + 0.01, "the checked audio covers the picture"
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


# ---------------------------------------------------------------- clips as APIs and local models return them
# Each clip's audio holds one sample-exact 1 kHz burst that should sound at BURST s of its picture; the
# joined film must have clip k's burst at (start of clip k) + BURST.

BURST = 0.5


def _video(clipdir: Path, frames: int = 24, fps: Fraction = Fraction(24), first: int = 0) -> Path:
    path = clipdir / f"v{frames}_{fps.numerator}_{fps.denominator}_{first}.mp4"
    if not path.exists():
        counter_clip(path, range(first, first + frames), fps)  # type: ignore[arg-type]
    return path


# The test clips are made with the wheel's ffmpeg (a recent one: older builds, e.g. Debian's 5.1, cannot
# put PCM in mp4), whichever ffmpeg ttv itself is told to use (TTV_FFMPEG).
_FIXTURE_FFMPEG = __import__("imageio_ffmpeg").get_ffmpeg_exe()


def _burst_clip(
    clipdir: Path,
    name: str,
    *,
    video: Path | None = None,
    at: float = BURST,
    seconds: float = 1.0,
    offset: float | None = None,
    codec: tuple[str, ...] = ("-c:a", "aac"),
    channels: int = 1,
    rate: int = RATE,
    extra: tuple[str, ...] = (),
) -> Path:
    """`video` with a burst at audio time `at` in `seconds` of audio, the audio shifted by `offset`."""
    out = clipdir / name
    burst = f"aevalsrc='if(between(t,{at},{at + 0.2}),0.5*sin(2*PI*1000*t),0)':s={rate}:d={seconds}"
    shift = ["-itsoffset", str(offset)] if offset is not None else []
    subprocess.run(
        [_FIXTURE_FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-i", str(video or _video(clipdir)),
         *shift, "-f", "lavfi", "-i", burst, "-map", "0:v", "-map", "1:a", "-c:v", "copy", *codec,
         "-ac", str(channels), *extra, str(out)],
        check=True,
    )  # fmt: skip
    return out


def _onsets(x: np.ndarray, rate: int = RATE) -> list[float]:
    """Start times (s) of the bursts: the first loud sample after at least 0.2 s of quiet."""
    loud = np.flatnonzero(np.abs(x) > 0.1)
    if not len(loud):
        return []
    starts = loud[np.concatenate([[True], np.diff(loud) > 0.2 * rate])]
    return [float(s) / rate for s in starts]


def _stitch_bursts(clips: list[Path], out: Path, fps: float = 24) -> tuple[media.StitchResult, np.ndarray]:
    r = media.stitch(clips, out, width=160, height=90, fps=fps)  # type: ignore[arg-type]
    return r, _decode_audio(out)


def test_late_early_long_and_short_audio_stay_on_their_picture(clipdir: Path, tmp_path: Path) -> None:
    clips = [
        _burst_clip(clipdir, "late.mp4", at=0.2, offset=0.3),  # audio starts 0.3 s into the picture
        _burst_clip(clipdir, "early.mp4", at=0.8, seconds=1.3, offset=-0.3),  # starts 0.3 s before it
        _burst_clip(clipdir, "long.mp4", seconds=2.5),  # 1.5 s longer than the picture
        _burst_clip(clipdir, "short.mp4", seconds=0.75),
        _burst_clip(clipdir, "late_no_editlist.mp4", at=0.2, offset=0.3, extra=("-use_editlist", "0")),
    ]
    with av.open(str(clips[0])) as c:
        assert c.streams.audio[0].start_time > 0, "the late clip really starts late"
    r, x = _stitch_bursts(clips, tmp_path / "final.mp4")
    assert r.method == "copy" and r.info["copy_via"] == "pyav-remux", r.info["reason"]
    assert counters(tmp_path / "final.mp4") == list(range(24)) * 5
    assert 5 * RATE <= x.shape[1] <= 5 * RATE + 1024
    on = _onsets(x[0])
    assert len(on) == 5 and all(abs(t - (k + BURST)) < 0.002 for k, t in enumerate(on)), on


def test_other_codecs_rates_and_layouts_are_rebuilt_in_sync(clipdir: Path, tmp_path: Path) -> None:
    clips = [
        _burst_clip(clipdir, "mp3.mp4", codec=("-c:a", "libmp3lame")),
        _burst_clip(clipdir, "pcm.mp4", codec=("-c:a", "pcm_s16le")),  # "1 channels": no layout mask
        _burst_clip(clipdir, "opus.mp4", codec=("-c:a", "libopus"), channels=2),
        _burst_clip(clipdir, "flac.mp4", codec=("-c:a", "flac")),
        _burst_clip(clipdir, "aac.mp4"),
    ]
    r, x = _stitch_bursts(clips, tmp_path / "final.mp4")
    assert r.method == "copy" and r.info["copy_via"] == "pyav-remux", r.info["reason"]
    info = media.probe(tmp_path / "final.mp4")
    assert (info.audio_codec, info.audio_layout) == ("aac", "stereo")
    for ch in (0, 1):
        on = _onsets(x[ch])
        assert len(on) == 5 and all(abs(t - (k + BURST)) < 0.002 for k, t in enumerate(on)), (ch, on)


@pytest.mark.parametrize("rate", [44100, 8000])
def test_other_sample_rates_copy(clipdir: Path, tmp_path: Path, rate: int) -> None:
    clips = [_burst_clip(clipdir, f"r{i}.mp4", rate=rate) for i in range(3)]
    r = media.stitch(clips, tmp_path / "final.mp4", width=160, height=90, fps=24)
    assert r.method == "copy", r.info["reason"]
    x = _decode_audio(tmp_path / "final.mp4")[0]
    assert media.probe(tmp_path / "final.mp4").audio_rate == rate
    assert 3 * rate <= len(x) <= 3 * rate + 1024
    on = _onsets(x, rate)
    assert len(on) == 3 and all(abs(t - (k + BURST)) < 0.002 for k, t in enumerate(on)), on


def test_surround_is_kept_up_to_5_1_and_7_1_is_encoded(clipdir: Path, tmp_path: Path) -> None:
    ac3 = [_burst_clip(clipdir, f"ac3_{i}.mp4", codec=("-c:a", "ac3"), channels=6) for i in range(2)]
    r = media.stitch(ac3, tmp_path / "surround.mp4", width=160, height=90, fps=24)
    assert r.method == "copy", r.info["reason"]
    assert media.probe(tmp_path / "surround.mp4").audio_layout == "5.1"  # AC-3's 5.1(side), AAC-native
    x = _decode_audio(tmp_path / "surround.mp4")
    assert [len(_onsets(ch)) for ch in x] == [0, 0, 2, 0, 0, 0], "the mono source sits in the centre channel"
    wide = [_burst_clip(clipdir, f"w{i}.mp4", channels=8) for i in range(2)]
    r = media.stitch(wide, tmp_path / "wide.mp4", width=160, height=90, fps=24)
    assert r.method == "encode" and "8 channels" in r.info["reason"]
    assert counters(tmp_path / "wide.mp4") == list(range(24)) * 2


def _corrupt_audio(src: Path, dst: Path, packets: list[int]) -> Path:
    data = bytearray(src.read_bytes())
    with av.open(str(src)) as c:
        pkts = [p for p in c.demux(c.streams.audio[0]) if p.size]
        for i in packets:
            data[pkts[i].pos : pkts[i].pos + pkts[i].size] = bytes(pkts[i].size)
    dst.write_bytes(bytes(data))
    return dst


def test_a_corrupt_audio_packet_is_skipped_and_a_broken_track_is_encoded(clipdir: Path, tmp_path: Path) -> None:
    good = _burst_clip(clipdir, "good.mp4")
    one_bad = _corrupt_audio(good, clipdir / "one_bad.mp4", [5])  # ~0.1 s, before the burst
    r, x = _stitch_bursts([good, one_bad, good], tmp_path / "final.mp4")
    assert r.method == "copy" and r.info["copy_via"] == "pyav-remux", r.info["reason"]
    assert len(r.info["audio_errors"]) == 1 and "one_bad.mp4" in r.info["audio_errors"][0]
    on = _onsets(x[0])
    assert len(on) == 3 and all(abs(t - (k + BURST)) < 0.002 for k, t in enumerate(on)), on
    broken = _corrupt_audio(good, clipdir / "broken.mp4", list(range(0, 40, 3)))
    r = media.stitch([good, broken], tmp_path / "broken_out.mp4", width=160, height=90, fps=24)
    assert r.method == "encode" and "audio packets do not decode" in r.info["reason"], r.info["reason"]
    assert counters(tmp_path / "broken_out.mp4") == list(range(24)) * 2


def test_an_audio_track_without_packets_is_silence(clipdir: Path, tmp_path: Path) -> None:
    empty = clipdir / "empty_audio.mp4"  # a fragmented mp4 keeps an audio track that never got a packet
    with (
        av.open(str(_video(clipdir))) as src,
        av.open(str(empty), "w", options={"movflags": "frag_keyframe+empty_moov+default_base_moof"}) as dst,
    ):
        vs = src.streams.video[0]
        vout = dst.add_stream_from_template(vs)
        dst.add_stream("aac", rate=RATE, layout="stereo")
        for pkt in src.demux(vs):
            if pkt.dts is not None:
                pkt.stream = vout
                dst.mux(pkt)
    assert media.probe(empty).has_audio
    good = _burst_clip(clipdir, "good.mp4")
    r, x = _stitch_bursts([good, empty, good], tmp_path / "final.mp4")
    assert r.method == "copy", r.info["reason"]
    on = _onsets(x[0])
    assert len(on) == 2 and abs(on[0] - BURST) < 0.002 and abs(on[1] - 2 - BURST) < 0.002, on


@pytest.mark.parametrize("fps, frames", [(Fraction(30000, 1001), (121, 97)), (Fraction(25), (101, 77))])
def test_forty_clips_do_not_drift(clipdir: Path, tmp_path: Path, fps: Fraction, frames: tuple[int, int]) -> None:
    pair = [_burst_clip(clipdir, f"n{n}.mp4", video=_video(clipdir, n, fps), seconds=float(n / fps)) for n in frames]
    clips = pair * 20
    out = tmp_path / "final.mp4"
    r, x = _stitch_bursts(clips, out, fps=float(fps))
    assert r.method == "copy" and r.info["copy_via"] == "pyav-remux", r.info["reason"]
    starts = np.cumsum([0, *(Fraction(frames[k % 2]) / fps for k in range(40))])
    assert abs(x.shape[1] - starts[-1] * RATE) <= 1024, "the audio ends with the picture (within one AAC frame)"
    on = _onsets(x[0])
    assert len(on) == 40
    assert max(abs(t - float(s + Fraction(BURST))) for t, s in zip(on, starts, strict=False)) < 0.002
    # interleaved: neither stream runs more than a second ahead in file order, and it all decodes
    lead, last = 0.0, {"audio": 0.0, "video": 0.0}
    with av.open(str(out)) as c:
        for pkt in c.demux():
            if pkt.dts is not None:
                last[pkt.stream.type] = float(pkt.dts * pkt.time_base)
                lead = max(lead, abs(last["audio"] - last["video"]))
    assert lead < 1.0
    media.verify_video(out, frames=sum(frames) * 20, decode="full")


def test_plan_audio_layout_names() -> None:
    t = audio_join.plan_audio([RATE, RATE], ["1 channels", "mono"], [0, 0], [1, 1])
    assert t is not None and t.layout == "mono"
    t = audio_join.plan_audio([RATE, RATE], ["5.1(side)", "5.1"], [0, 0], [6, 6])
    assert t is not None and (t.layout, t.channels) == ("5.1", 6)
    t = audio_join.plan_audio([RATE], ["2 channels"], [0], [2])
    assert t is not None and t.layout == "stereo"
    with pytest.raises(ValueError, match="8 channels"):
        audio_join.plan_audio([RATE], ["7.1"], [0], [8])


def test_encode_path_keeps_late_and_early_audio_on_their_picture(clipdir: Path, tmp_path: Path) -> None:
    clips = [
        _burst_clip(clipdir, "late.mp4", at=0.2, offset=0.3),  # the burst plays 0.5 s into the picture
        _burst_clip(clipdir, "early.mp4", at=0.8, seconds=1.3, offset=-0.3),
        _burst_clip(clipdir, "long.mp4", seconds=2.5),
        _burst_clip(clipdir, "short.mp4", seconds=0.75),
    ]
    r = media.stitch(clips, tmp_path / "final.mp4", width=160, height=90, fps=24, force_encode=True)
    assert r.method == "encode"
    on = _onsets(_decode_audio(tmp_path / "final.mp4")[0])
    assert len(on) == 4 and all(abs(t - (k + BURST)) < 0.005 for k, t in enumerate(on)), on


def test_a_rebuilt_audio_track_that_falls_short_is_not_used(clipdir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    real = audio_join.clip_pcm

    def short(*args: object, **kw: object) -> np.ndarray:
        pcm = real(*args, **kw)  # type: ignore[arg-type]
        return pcm[:, : pcm.shape[1] // 4]  # a bug that loses audio

    monkeypatch.setattr(audio_join, "clip_pcm", short)
    clips = [_tone_clip(clipdir, i) for i in range(2)]
    r = media.stitch(clips, tmp_path / "final.mp4", width=160, height=90, fps=24)
    assert r.method == "encode" and "the rebuilt audio lasts" in r.info["reason"]
    assert counters(tmp_path / "final.mp4") == list(range(48))
    info = media.probe(tmp_path / "final.mp4")
    assert abs(info.audio_duration - 2.0) < 0.05
