"""Stitching: stream copy for uniform clips, verified duplicate-seam dropping, mixed clips, crossfade,
soundtrack, atomic and verified output."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from ttv.core import media

from .conftest import (
    add_tone,
    cast,
    counter_clip,
    counter_frame,
    counters,
    pan_frame,
    scene_frame,
    tone_file,
    vfr_counter_clip,
    write_clip,
)

Make = Callable[..., Path]


def _audio_seconds(path: Path) -> float:
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        samples = sum(f.samples for f in c.decode(s))
        return samples / s.codec_context.sample_rate


def test_uniform_clips_are_stream_copied(make_counter_clip: Make, tmp_path: Path) -> None:
    clips = [make_counter_clip(f"c{i}.mp4", range(i * 24, i * 24 + 24), 24) for i in range(3)]
    out = tmp_path / "final.mp4"
    r = media.stitch(clips, out, width=160, height=90, fps=24)
    assert r.method == "copy" and r.frames == 72 and r.dropped_seams == []
    assert r.duration == pytest.approx(3.0)
    assert counters(out) == list(range(72))
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_copy_with_b_frames_keeps_every_frame_in_order(clipdir: Path, tmp_path: Path) -> None:
    clips = [counter_clip(clipdir / f"c{i}.mp4", range(i * 30, i * 30 + 30), 30, preset="veryfast") for i in range(3)]
    out = tmp_path / "final.mp4"
    r = media.stitch(clips, out, width=160, height=90, fps=30)
    assert r.method == "copy" and r.info["copy_via"] == "pyav-remux"
    assert counters(out) == list(range(90))
    with av.open(str(out)) as c:
        pts = [int(f.pts or 0) for f in c.decode(video=0)]
    assert len({b - a for a, b in zip(pts, pts[1:], strict=False)}) == 1, "evenly spaced timestamps across seams"
    assert media.verify_video(out, frames=90, decode="full").duration == pytest.approx(3.0)


def test_copy_with_audio(clipdir: Path, tmp_path: Path) -> None:
    clips = [add_tone(counter_clip(clipdir / f"v{i}.mp4", range(i * 24, i * 24 + 24), 24), clipdir / f"a{i}.mp4")
             for i in range(3)]  # fmt: skip
    out = tmp_path / "final.mp4"
    r = media.stitch(clips, out, width=160, height=90, fps=24)
    assert r.method == "copy" and r.info["copy_via"] == "pyav-remux"
    assert counters(out) == list(range(72))
    assert media.probe(out).has_audio
    assert _audio_seconds(out) == pytest.approx(3.0, abs=0.1)


def test_copy_falls_back_to_ffmpeg_concat(clipdir: Path, tmp_path: Path) -> None:
    # two audio tracks: not handled by the in-process remux, so ffmpeg's concat demuxer does it
    clips = []
    for i in range(2):
        v = counter_clip(clipdir / f"v{i}.mp4", range(i * 24, i * 24 + 24), 24)
        a = add_tone(v, clipdir / f"a{i}.mp4")
        two = clipdir / f"t{i}.mp4"
        subprocess.run(
            [media.ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(a), "-map", "0:v", "-map", "0:a", "-map", "0:a",
             "-c", "copy", str(two)],
            check=True,
        )  # fmt: skip
        clips.append(two)
    out = tmp_path / "final.mp4"
    r = media.stitch(clips, out, width=160, height=90, fps=24)
    assert r.method == "copy" and r.info["copy_via"].startswith("ffmpeg concat")
    assert counters(out) == list(range(48))


def test_duplicate_seams_dropped_only_when_verified(make_counter_clip: Make, tmp_path: Path) -> None:
    # clip1 repeats clip0's last frame (23) as its frame 0; clip2 is flagged too but does NOT repeat (48 != 47)
    c0 = make_counter_clip("c0.mp4", range(0, 24), 24)
    c1 = make_counter_clip("c1.mp4", range(23, 48), 24)
    c2 = make_counter_clip("c2.mp4", range(48, 72), 24)
    out = tmp_path / "final.mp4"
    r = media.stitch([c0, c1, c2], out, width=160, height=90, fps=24, drop_first_frame=[False, True, True])
    assert r.dropped_seams == [1]
    assert r.method == "encode"
    got = counters(out)
    assert got == list(range(72)), "every counter exactly once, in order"
    checks = {c["clip"]: c for c in r.info["seam_checks"]}
    assert checks[1]["duplicate"] and not checks[2]["duplicate"]


@pytest.mark.parametrize(
    "content, crf, preset",
    [("pan", 18, "ultrafast"), ("pan", 23, "veryfast"), ("pan", 28, "ultrafast"), ("object", 23, "veryfast"),
     ("object", 28, "veryfast"), ("counter", 35, "ultrafast")],
)  # fmt: skip
def test_repeat_told_apart_from_next_frame(clipdir: Path, tmp_path: Path, content: str, crf: int, preset: str) -> None:
    """A repeated frame differs from the original by codec noise; the next frame of a slow pan or a
    moving object differs by similar amounts. The check must drop the first and keep the second."""
    fn = {"pan": pan_frame, "object": scene_frame, "counter": counter_frame}[content]

    def clip(name: str, start: int) -> Path:
        return write_clip(clipdir / name, (fn(t) for t in range(start, 48)), 24, crf=crf, preset=preset)

    a = write_clip(clipdir / "a.mp4", (fn(t) for t in range(24)), 24, crf=crf, preset=preset)
    repeat, onward = clip("rep.mp4", 23), clip("next.mp4", 24)
    dup = media.check_duplicate_seam(a, repeat)
    nodup = media.check_duplicate_seam(a, onward)
    assert dup["duplicate"] and not nodup["duplicate"], (dup, nodup)
    r = media.stitch([a, repeat, onward], tmp_path / "o.mp4", width=160, height=90, fps=24,
                     drop_first_frame=[False, True, True])  # fmt: skip
    assert r.dropped_seams == [1] and r.frames == 24 + 24 + 24


def test_static_repeat_is_dropped(clipdir: Path, tmp_path: Path) -> None:
    still = scene_frame(5)
    a = write_clip(clipdir / "a.mp4", [still] * 12, 24)
    b = write_clip(clipdir / "b.mp4", [still] * 12, 24)
    assert media.check_duplicate_seam(a, b)["duplicate"]


def test_seam_offset_trims_tail_and_drops_handover_duplicate(make_counter_clip: Make, tmp_path: Path) -> None:
    # chaining with seam_offset=2: clip1 starts from clip0's frame 27 (3rd from the end)
    c0 = make_counter_clip("c0.mp4", range(0, 30), 30)
    assert read_last(c0, 2) == 27
    c1 = make_counter_clip("c1.mp4", range(27, 57), 30)
    out = tmp_path / "final.mp4"
    r = media.stitch([c0, c1], out, width=160, height=90, fps=30, drop_first_frame=[False, True], trim_tail=[2, 0])
    assert r.dropped_seams == [1]
    assert counters(out) == list(range(57))


def read_last(path: Path, offset: int) -> int:
    from .conftest import read_counter

    return read_counter(media.last_frame_array(path, offset=offset))


def test_mixed_sizes_fps_and_audio(clipdir: Path, tmp_path: Path) -> None:
    # "Runway-like" 320x180@24 with audio, 1.0 s; "Wan-like" 208x120@16 silent, 1.5 s; project 160x90@24
    a = write_clip(clipdir / "a0.mp4", (scene_frame(t, 320, 180) for t in range(24)), 24, width=320, height=180)
    a = add_tone(a, clipdir / "a.mp4")
    b = write_clip(clipdir / "b.mp4", (scene_frame(t, 208, 120) for t in range(24)), 16, width=208, height=120)
    out = tmp_path / "final.mp4"
    for fit in ("letterbox", "crop"):
        r = media.stitch([a, b, a], out, width=160, height=90, fps=24, fit=fit)
        assert r.method == "encode"
        info = media.verify_video(out, frames=24 + 36 + 24, width=160, height=90, fps=24, decode="full")
        assert info.duration == pytest.approx(3.5)
        assert info.has_audio and info.audio_rate == 48000
        assert _audio_seconds(out) == pytest.approx(3.5, abs=0.05)


def test_counters_survive_fps_conversion(make_counter_clip: Make, tmp_path: Path) -> None:
    c0 = make_counter_clip("c0.mp4", range(0, 16), 16)  # 1 s at 16 fps
    c1 = make_counter_clip("c1.mp4", range(16, 46), 30)  # 1 s at 30 fps
    out = tmp_path / "final.mp4"
    r = media.stitch([c0, c1], out, width=160, height=90, fps=24)
    assert r.frames == 48
    got = counters(out)
    assert got == sorted(got), "time never goes backwards"
    assert got[0] == 0 and got[-1] == 45


def test_crossfade_frame_count(make_counter_clip: Make, tmp_path: Path) -> None:
    clips = [make_counter_clip(f"c{i}.mp4", range(i * 24, i * 24 + 24), 24) for i in range(3)]
    out = tmp_path / "final.mp4"
    r = media.stitch(clips, out, width=160, height=90, fps=24, crossfade=0.25)
    assert r.method == "encode" and r.frames == 72 - 2 * 6
    got = counters(out)
    assert got[:18] == list(range(18)) and got[-18:] == list(range(54, 72))


def test_crossfade_with_audio_and_soundtrack(clipdir: Path, tmp_path: Path) -> None:
    a = add_tone(counter_clip(clipdir / "a0.mp4", range(24), 24), clipdir / "a.mp4")
    b = counter_clip(clipdir / "b.mp4", range(24, 48), 24)
    song = tone_file(clipdir / "song.wav", 10.0)
    out = tmp_path / "final.mp4"
    r = media.stitch([a, b], out, width=160, height=90, fps=24, crossfade=0.5, soundtrack=song)
    assert r.frames == 36
    assert _audio_seconds(out) == pytest.approx(1.5, abs=0.05)
    # soundtrack alone (no clip has audio) still gives an audio track of the right length
    r = media.stitch([b, b], out, width=160, height=90, fps=24, soundtrack=song)
    assert r.frames == 48 and media.probe(out).has_audio
    assert _audio_seconds(out) == pytest.approx(2.0, abs=0.05)


def test_copy_is_much_faster_than_encode(clipdir: Path, tmp_path: Path) -> None:
    clips = [
        write_clip(clipdir / f"c{i}.mp4", (scene_frame(t + 10 * i, 320, 180) for t in range(48)), 24,
                   width=320, height=180, preset="ultrafast")
        for i in range(6)
    ]  # fmt: skip
    t0 = time.perf_counter()
    r1 = media.stitch(clips, tmp_path / "copy.mp4", width=320, height=180, fps=24)
    t_copy = time.perf_counter() - t0
    t0 = time.perf_counter()
    r2 = media.stitch(clips, tmp_path / "enc.mp4", width=320, height=180, fps=24, force_encode=True)
    t_enc = time.perf_counter() - t0
    assert r1.method == "copy" and r2.method == "encode" and r1.frames == r2.frames == 288
    assert t_copy * 3 < t_enc, (t_copy, t_enc)


def test_failed_stitch_leaves_existing_output(make_counter_clip: Make, tmp_path: Path) -> None:
    good = make_counter_clip("c0.mp4", range(24), 24)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    out = tmp_path / "final.mp4"
    out.write_bytes(b"previous result")
    with pytest.raises(media.MediaError):
        media.stitch([good, bad], out, width=160, height=90, fps=24)
    assert out.read_bytes() == b"previous result"
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_bad_arguments(make_counter_clip: Make, tmp_path: Path) -> None:
    c = make_counter_clip("c0.mp4", range(24), 24)
    with pytest.raises(media.MediaError, match="no clips"):
        media.stitch([], tmp_path / "o.mp4", width=160, height=90, fps=24)
    with pytest.raises(media.MediaError, match="fit"):
        media.stitch([c], tmp_path / "o.mp4", width=160, height=90, fps=24, fit="stretch")
    with pytest.raises(media.MediaError, match="even"):
        media.stitch([c], tmp_path / "o.mp4", width=161, height=90, fps=24)
    with pytest.raises(media.MediaError, match="one entry per clip"):
        media.stitch([c], tmp_path / "o.mp4", width=160, height=90, fps=24, drop_first_frame=[True, True])
    with pytest.raises(media.MediaError, match="soundtrack"):
        media.stitch([c], tmp_path / "o.mp4", width=160, height=90, fps=24, soundtrack=tmp_path / "none.wav")


def test_vfr_clip_is_normalized(clipdir: Path, tmp_path: Path) -> None:
    durations = [33, 33, 120, 20, 33, 66, 200, 33] * 3  # 24 frames, 1.076 s
    vfr = vfr_counter_clip(clipdir / "vfr.mp4", durations)
    cfr = counter_clip(clipdir / "cfr.mp4", range(100, 124), 24)
    info = media.probe(vfr)
    out = tmp_path / "final.mp4"
    r = media.stitch([vfr, cfr], out, width=160, height=90, fps=24)
    assert r.method == "encode" and r.frames == round(info.duration * 24) + 24
    got = counters(out)
    assert got == sorted(got) and got[-24:] == list(range(100, 124))
    head = got[:-24]
    assert head[0] == 0 and head[-1] == 23
    assert head.count(6) >= 4, "a frame held for 200 ms fills ~5 output ticks at 24 fps"


def test_color_match_keeps_letterbox_bars_black(clipdir: Path, tmp_path: Path) -> None:
    # 4:3 clips in a 16:9 film; clip b continues clip a with a colour cast, so it is corrected
    a = write_clip(clipdir / "a.mp4", (scene_frame(t, 128, 96) for t in range(16)), 16, width=128, height=96)
    b = write_clip(clipdir / "b.mp4", (cast(scene_frame(t + 15, 128, 96), 2) for t in range(16)), 16, width=128, height=96)
    out = tmp_path / "final.mp4"
    r = media.stitch([a, b], out, width=160, height=90, fps=16, color_match=True)
    assert r.info["colour"][0]["colour"] == "corrected", r.info["colour"]
    last = media.last_frame_array(out)
    assert last[:, :20].max() < 24 and last[:, -20:].max() < 24  # pillarbox bars of the 4:3 clip
    assert last[:, 60:100].mean() > 60


@pytest.mark.parametrize("crossfade", [0.0, 0.25])
def test_chunked_encode_matches_single_pass(clipdir: Path, tmp_path: Path, crossfade: float) -> None:
    """Long projects are encoded a few clips per ffmpeg process and joined by stream copy; the result
    has the same frames, order and audio length as one pass."""
    clips = []
    for i in range(5):
        c = counter_clip(clipdir / f"c{i}.mp4", range(i * 24 - (i > 0), i * 24 + 24), 24)  # frame 0 repeats
        clips.append(add_tone(c, clipdir / f"a{i}.mp4") if i % 2 else c)
    song = tone_file(clipdir / "song.wav", 3.0)
    seen: list[float] = []
    kw: dict[str, object] = dict(width=160, height=90, fps=24, crossfade=crossfade, soundtrack=song,
                                 drop_first_frame=[False] + [True] * 4)  # fmt: skip
    one = media.stitch(clips, tmp_path / "one.mp4", **kw)  # type: ignore[arg-type]
    parts = media.stitch(clips, tmp_path / "parts.mp4", chunk_size=2, progress=seen.append, **kw)  # type: ignore[arg-type]
    assert one.info["chunks"] == 1 and parts.info["chunks"] == 3
    assert parts.dropped_seams == one.dropped_seams == [1, 2, 3, 4]
    assert parts.frames == one.frames == 120 - 4 * round(crossfade * 24)
    a, b = counters(tmp_path / "one.mp4"), counters(tmp_path / "parts.mp4")
    assert a == b
    if not crossfade:
        assert a == list(range(120))
    assert _audio_seconds(tmp_path / "parts.mp4") == pytest.approx(parts.frames / 24, abs=0.06)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)


def test_anamorphic_clip_is_not_copied_and_keeps_its_shape(clipdir: Path, tmp_path: Path) -> None:
    base = write_clip(clipdir / "c.mp4", (scene_frame(t) for t in range(12)), 24)
    wide = clipdir / "wide.mp4"  # same storage size, but pixels twice as wide: shown as 320x90
    subprocess.run(
        [media.ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(base), "-c:v", "libx264", "-preset", "ultrafast",
         "-vf", "setsar=2", str(wide)],
        check=True,
    )  # fmt: skip
    assert media.probe(wide).sar == "2:1"
    r = media.stitch([base, wide], tmp_path / "o.mp4", width=160, height=90, fps=24)
    assert r.method == "encode" and "non-square" in r.info["reason"]
    last = media.last_frame_array(tmp_path / "o.mp4")
    assert last[:18].max() < 24 and last[-18:].max() < 24 and last[30:60].mean() > 60  # letterboxed to 160x45
