"""ffmpeg discovery, probing, frame I/O, exact last frame, corrupt input."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ttv.core import media
from ttv.core.errors import StepFailed
from ttv.core.media import ffmpeg as ffmpeg_discovery  # the module that owns the caches

from .conftest import counter_clip, counter_frame, read_counter, vfr_counter_clip


def test_ffmpeg_is_found_without_ffprobe() -> None:
    info = media.ffmpeg_info()
    assert Path(info["path"]).exists()
    assert info["source"] in ("PATH", "imageio-ffmpeg", "TTV_FFMPEG")
    assert info["h264"] is True
    assert info["version"]
    assert media.ffmpeg_exe() == info["path"]


@pytest.fixture
def fresh_ffmpeg_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("TTV_FFMPEG", raising=False)  # discovery as on a machine where it is not set
    ffmpeg_discovery._ffmpeg_source.cache_clear()
    ffmpeg_discovery.ffmpeg_info.cache_clear()
    yield
    ffmpeg_discovery._ffmpeg_source.cache_clear()
    ffmpeg_discovery.ffmpeg_info.cache_clear()


def _fake_ffmpeg(tmp_path: Path, encoders: str) -> Path:
    exe = tmp_path / "bin" / "ffmpeg"
    exe.parent.mkdir(parents=True)
    exe.write_text(f"#!/bin/sh\necho 'ffmpeg version 0.0-fake'\necho ' {encoders}'\n")
    exe.chmod(0o755)
    return exe


def test_path_ffmpeg_without_libx264_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_ffmpeg_cache: None
) -> None:
    fake = _fake_ffmpeg(tmp_path, "V....D libopenh264 OpenH264")
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ.get('PATH', '')}")
    assert media.ffmpeg_info()["source"] == "imageio-ffmpeg"
    ffmpeg_discovery._ffmpeg_source.cache_clear()
    ffmpeg_discovery.ffmpeg_info.cache_clear()
    good = _fake_ffmpeg(tmp_path / "x", "V....D libx264 H.264")
    monkeypatch.setenv("PATH", f"{good.parent}:{os.environ.get('PATH', '')}")
    assert media.ffmpeg_info() | {"version": ""} == {"path": str(good), "source": "PATH", "version": "", "h264": True}


def test_ttv_ffmpeg_forces_a_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_ffmpeg_cache: None) -> None:
    monkeypatch.setenv("TTV_FFMPEG", str(tmp_path / "missing"))
    with pytest.raises(media.MediaError, match="TTV_FFMPEG"):
        media.ffmpeg_exe()
    ffmpeg_discovery._ffmpeg_source.cache_clear()
    import imageio_ffmpeg

    monkeypatch.setenv("TTV_FFMPEG", imageio_ffmpeg.get_ffmpeg_exe())
    assert media.ffmpeg_info()["source"] == "TTV_FFMPEG" and media.ffmpeg_info()["h264"]


def test_counter_survives_h264(clipdir: Path) -> None:
    clip = counter_clip(clipdir / "c.mp4", range(0, 4000, 97), 24)
    assert [read_counter(f) for f in media.read_frames(clip)] == list(range(0, 4000, 97))


@pytest.mark.parametrize("fps, n", [(16, 33), (24, 49), (25, 37), (30, 61)])
def test_probe_counts_frames_exactly(clipdir: Path, fps: int, n: int) -> None:
    clip = counter_clip(clipdir / "c.mp4", range(n), fps)
    info = media.probe(clip)
    assert (info.width, info.height, info.frames, info.codec, info.pix_fmt) == (160, 90, n, "h264", "yuv420p")
    assert info.fps == pytest.approx(fps)
    assert info.duration == pytest.approx(n / fps, abs=1e-6)
    assert not info.has_audio and not info.vfr


@pytest.mark.parametrize(
    "fps, n, preset",
    [(16, 33, "ultrafast"), (24, 49, "ultrafast"), (25, 37, "ultrafast"), (30, 61, "ultrafast"),
     (24, 121, "veryfast"), (30, 47, "medium")],
)  # fmt: skip
def test_last_frame_is_exact(clipdir: Path, fps: int, n: int, preset: str) -> None:
    clip = counter_clip(clipdir / "c.mp4", range(100, 100 + n), fps, preset=preset)
    png = media.last_frame(clip, clipdir / "last.png")
    arr = np.asarray(Image.open(png).convert("RGB"))
    assert read_counter(arr) == 100 + n - 1
    # lossless: the PNG holds exactly the decoded frame
    decoded = list(media.read_frames(clip))
    assert np.array_equal(arr, decoded[-1])
    for offset in (1, 3, 8):
        assert read_counter(media.last_frame_array(clip, offset=offset)) == 100 + n - 1 - offset
    assert not [p for p in clipdir.iterdir() if ".tmp" in p.name]


def test_last_frame_offset_too_large(clipdir: Path) -> None:
    clip = counter_clip(clipdir / "c.mp4", range(5), 24)
    assert read_counter(media.last_frame_array(clip, offset=4)) == 0
    with pytest.raises(media.MediaError, match="only 5 frames"):
        media.last_frame_array(clip, offset=5)


def test_last_frame_vfr(clipdir: Path) -> None:
    durations = [33, 33, 120, 20, 33, 66, 500, 33] * 4 + [40, 250]
    clip = vfr_counter_clip(clipdir / "vfr.mp4", durations)
    info = media.probe(clip)
    assert info.vfr and info.frames == len(durations)
    assert read_counter(media.last_frame_array(clip)) == len(durations) - 1
    assert read_counter(media.last_frame_array(clip, offset=2)) == len(durations) - 3
    assert media.first_frame(clip).shape == (90, 160, 3)


def test_frame_writer_writes_atomically_and_counts(clipdir: Path) -> None:
    out = clipdir / "w.mp4"
    with media.FrameWriter(out, 160, 90, 24, preset="ultrafast") as w:
        for i in range(10):
            w.write(counter_frame(i))
        assert not out.exists()  # only the temp file exists while encoding
    assert w.frames_written == 10
    assert media.verify_video(out, frames=10, width=160, height=90, fps=24).frames == 10


def test_frame_writer_bad_frame_leaves_nothing(clipdir: Path) -> None:
    out = clipdir / "w.mp4"
    with pytest.raises(media.MediaError, match="shape"), media.FrameWriter(out, 160, 90, 24) as w:
        w.write(np.zeros((90, 160, 3), np.uint8))
        w.write(np.zeros((10, 10, 3), np.uint8))
    assert list(clipdir.iterdir()) == []


def test_frame_writer_odd_size_is_padded(clipdir: Path) -> None:
    out = clipdir / "odd.mp4"
    with media.FrameWriter(out, 33, 21, 16, preset="ultrafast") as w:
        w.write(np.full((21, 33, 3), 128, np.uint8))
    assert media.probe(out).frames == 1


@pytest.mark.parametrize("cut", [0.3, 0.9, 0.99])
def test_truncated_file_is_a_media_error(clipdir: Path, cut: float) -> None:
    clip = counter_clip(clipdir / "c.mp4", range(60), 30)
    data = clip.read_bytes()
    bad = clipdir / "bad.mp4"
    bad.write_bytes(data[: int(len(data) * cut)])
    for call in (
        lambda: media.probe(bad),
        lambda: media.last_frame(bad, clipdir / "x.png"),
        lambda: media.verify_video(bad),
        lambda: list(media.read_frames(bad)),
    ):
        with pytest.raises(media.MediaError) as exc:
            call()
        assert isinstance(exc.value, StepFailed) and exc.value.hint
    assert not (clipdir / "x.png").exists()


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 100, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500])
def test_garbage_is_a_media_error(clipdir: Path, content: bytes) -> None:
    bad = clipdir / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(media.MediaError):
        media.probe(bad)
    with pytest.raises(media.MediaError):
        media.last_frame(bad, clipdir / "x.png")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(media.MediaError, match="no such"):
        media.probe(tmp_path / "nope.mp4")


def test_verify_names_the_mismatch(make_counter_clip: Callable[..., Path]) -> None:
    clip = make_counter_clip("c.mp4", range(24), 24)
    with pytest.raises(media.MediaError, match="24 frames, expected 25"):
        media.verify_video(clip, frames=25)
    with pytest.raises(media.MediaError, match="width 160, expected 320"):
        media.verify_video(clip, width=320)
    with pytest.raises(media.MediaError, match="expected 30"):
        media.verify_video(clip, fps=30)
    assert media.verify_video(clip, frames=24, width=160, height=90, fps=24, decode="full").frames == 24
