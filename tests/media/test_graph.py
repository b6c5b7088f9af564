"""The encode path's filter graphs are built with ffmpeg-python (``ttv.core.media.graph``): the
adapter's handling of ffmpeg-python 0.2.0's quirks, that a stitch really goes through it, and that
what the graphs make decodes to the expected frames, pixels and sound."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from ttv.core import media
from ttv.core.media import encode
from ttv.core.media.graph import Graph, step

from .conftest import add_tone, counter_clip, counters, tone_file, write_clip


def _solid(path: Path, rgb: tuple[int, int, int], frames: int, fps: int, width: int, height: int) -> Path:
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:] = rgb
    return write_clip(path, (img for _ in range(frames)), fps, width=width, height=height)


def _bands(path: Path, frames: int, fps: int) -> Path:
    """320x90: blue left quarter, green middle half, red right quarter."""
    img = np.zeros((90, 320, 3), dtype=np.uint8)
    img[:, :80] = (20, 20, 220)
    img[:, 80:240] = (20, 200, 20)
    img[:, 240:] = (220, 20, 20)
    return write_clip(path, (img for _ in range(frames)), fps, width=320, height=90)


def _rms(path: Path, channels: int = 2) -> np.ndarray:
    """Per-10 ms RMS of the first channel of the decoded audio (48 kHz, ``channels`` channels)."""
    with av.open(str(path)) as c:
        pcm = np.concatenate([f.to_ndarray() for f in c.decode(c.streams.audio[0])], axis=1)
    assert pcm.shape[0] == channels
    x = pcm[0]
    n = len(x) // 480
    return np.sqrt((x[: n * 480].reshape(n, 480) ** 2).mean(axis=1))


# --- the adapter ---------------------------------------------------------------------------------


def test_importing_media_does_not_import_ffmpeg_python() -> None:
    code = "import sys, ttv.core.media.encode, ttv.core.media.graph; sys.exit('ffmpeg' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_equal_inputs_and_chains_stay_separate_nodes() -> None:
    """ffmpeg-python 0.2.0 merges nodes with equal arguments (two silent clips of one length would
    become one node feeding two pads, which it refuses); the adapter's nodes have their own identity."""
    g = Graph()
    a, b = g.input("/clips/same.mp4"), g.input("/clips/same.mp4")
    silent = [g.chain(g.source("anullsrc", r=48000, cl="stereo"), step("atrim", end_sample=480)) for _ in range(2)]
    pics = [g.chain(g.select(n, "v:0"), step("setpts", "PTS-STARTPTS")) for n in (a, b)]
    v, au = g.outputs([pics[0], silent[0], pics[1], silent[1]], "concat", 2, n=2, v=1, a=1)
    args, maps, text = g.compile([v, au])
    assert args == ["-i", "/clips/same.mp4", "-i", "/clips/same.mp4"]
    assert text.count("anullsrc=cl=stereo:r=48000[") == 2, text  # a source filter: no input label
    assert "[0:v:0]setpts=PTS-STARTPTS[" in text and "[1:v:0]setpts=PTS-STARTPTS[" in text
    assert "concat=a=1:n=2:v=1" in text
    assert maps[0] == "-map" and maps[2] == "-map" and maps[1] != maps[3]


def test_escaping_is_ffmpeg_pythons_and_positional_specials_are_refused() -> None:
    g = Graph()
    s = g.chain(
        g.select(g.input("in.wav"), "a:0"),
        step("pan", args="stereo|c0=c0|c1=c0"),
        step("volume", "if(lt(t,1),0.5,1)", eval="frame"),
    )
    _, _, text = g.compile([s])
    assert r"pan=args=stereo|c0\\=c0|c1\\=c0" in text  # escaped once per parser level
    assert r"volume=if(lt(t\,1)\,0.5\,1):eval=frame" in text
    with pytest.raises(ValueError, match="option name"):
        g.filter(s, "pan", "stereo|c0=c0")  # ffmpeg-python would escape the '=' twice
    with pytest.raises(TypeError):
        g.filter(s, "volume", None)  # type: ignore[arg-type]
    g.filter(s, "atrim", end_sample=np.int64(480))  # numpy numbers are numbers


def test_unused_streams_and_inputs_are_left_out() -> None:
    g = Graph()
    used, unused = g.input("a.mp4"), g.input("b.mp4")
    g.filter(g.select(unused, "v:0"), "null")
    args, maps, text = g.compile([g.filter(g.select(used, "v:0"), "null")])
    assert args == ["-i", "a.mp4"] and text == "[0:v:0]null[s0]" and maps == ["-map", "[s0]"]


def test_adapter_graph_parses_and_runs(tmp_path: Path) -> None:
    """The quirky pieces (mono pan by option name, an expression with commas, a source filter,
    concat with two output pads) are accepted by ffmpeg and do what they say."""
    clip = add_tone(counter_clip(tmp_path / "v.mp4", range(12), 24), tmp_path / "a.mp4")  # mono tone
    g = Graph()
    src = g.input(clip)
    v0 = g.filter(g.select(src, "v:0"), "setpts", "PTS-STARTPTS")
    a0 = g.chain(
        g.select(src, "a:0"),
        step("pan", args="stereo|c0=c0|c1=c0"),
        step("aresample", 48000, **{"async": 1, "first_pts": 0}),
        step("volume", "if(lt(t,0.25),0,1)", eval="frame"),
        step("apad"),
        step("atrim", end_sample=24000),
    )
    v1 = g.filter(g.select(g.input(clip), "v:0"), "setpts", "PTS-STARTPTS")
    a1 = g.chain(
        g.source("anullsrc", r=48000, cl="stereo"),
        step("aformat", sample_fmts="fltp", sample_rates=48000, channel_layouts="stereo"),
        step("atrim", end_sample=24000),
    )
    v, a = g.outputs([v0, a0, v1, a1], "concat", 2, n=2, v=1, a=1)
    args, maps, text = g.compile([v, a])
    script = tmp_path / "graph.txt"
    script.write_text(text, encoding="utf-8")
    out = tmp_path / "out.mp4"
    from ttv.core.media.ffmpeg import _filter_script_args, _run_ffmpeg

    _run_ffmpeg([*args, *_filter_script_args(script), *maps, "-c:v", "libx264", "-preset", "ultrafast",
                 "-c:a", "aac", str(out)], what="adapter test")  # fmt: skip
    assert counters(out) == list(range(12)) * 2
    rms = _rms(out)
    assert rms[5:20].max() < 0.01  # volume expression: silent for the first 0.25 s
    assert rms[30:45].min() > 0.05  # then the tone
    assert rms[60:95].max() < 0.01  # the second half is anullsrc's silence


# --- the encode path goes through it -------------------------------------------------------------


def test_stitch_builds_its_graph_with_ffmpeg_python(
    clipdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ffmpeg

    calls: list[str] = []
    real_output = ffmpeg.output

    def spy(*streams: object, **kw: object) -> object:
        calls.append("output")
        return real_output(*streams, **kw)

    monkeypatch.setattr(ffmpeg, "output", spy)
    a = add_tone(counter_clip(clipdir / "a0.mp4", range(24), 24), clipdir / "a.mp4")
    b = counter_clip(clipdir / "b.mp4", range(24, 48), 24)
    r = media.stitch([a, b], tmp_path / "final.mp4", width=160, height=90, fps=24, crossfade=0.25)
    assert r.method == "encode" and calls == ["output"]
    text = r.info["filter_graph"]
    # ffmpeg-python's labels and option order, not hand-joined text
    assert "[vout]" not in text and "[s0]" in text and "xfade=duration=0.25:offset=0.75:transition=fade" in text
    assert "acrossfade=c1=tri:c2=tri:d=0.25" in text and "anullsrc=cl=stereo:r=48000" in text


def test_encode_graph_builder_has_no_hand_joined_filters() -> None:
    """No string in ``_chunk_command`` looks like filter-graph text: no ``name=option``, no label
    brackets, no ``,``/``;`` joins (an ffmpeg expression or a pan layout as an option value is fine)."""
    tree = ast.parse(Path(encode.__file__).read_text(encoding="utf-8"))
    (func,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_chunk_command"]
    body = func.body[1:]  # without the docstring
    texts = [n.value for s in body for n in ast.walk(s) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    names = {n.id for s in body for n in ast.walk(s) if isinstance(n, ast.Name)}
    assert "trunc(iw*sar/2)*2" in texts and "Graph" in names  # the scan sees the filter options
    for text in texts:
        assert not re.match(r"^[a-z_0-9]+=", text), text
        assert not set("[];,") & set(text), text


# --- what the graphs make -----------------------------------------------------------------------


def test_letterbox_pads_and_crop_fills(clipdir: Path, tmp_path: Path) -> None:
    red = _solid(clipdir / "red.mp4", (220, 30, 30), 12, 24, 128, 96)  # 4:3 into 16:9
    bands = _bands(clipdir / "bands.mp4", 12, 24)  # 32:9 into 16:9
    out = tmp_path / "final.mp4"
    r = media.stitch([red, bands], out, width=160, height=90, fps=24, fit="letterbox")
    assert r.method == "encode" and r.frames == 24
    frames = list(media.read_frames(out))
    assert len(frames) == 24
    first, last = frames[0].astype(int), frames[-1].astype(int)
    # red scaled to 120x90, pillarboxed 20 px each side
    assert first[:, :16].max() < 24 and first[:, -16:].max() < 24
    assert np.abs(first[45, 80] - (220, 30, 30)).max() < 20
    # bands scaled to 160x45, letterboxed 22/23 px top and bottom; all three bands show
    assert last[:18].max() < 24 and last[-18:].max() < 24
    assert np.abs(last[45, 10] - (20, 20, 220)).max() < 20 and np.abs(last[45, 150] - (220, 20, 20)).max() < 20
    r = media.stitch([red, bands], out, width=160, height=90, fps=24, fit="crop")
    frames = list(media.read_frames(out))
    assert len(frames) == 24
    first, last = frames[0].astype(int), frames[-1].astype(int)
    assert np.abs(first[2, 2] - (220, 30, 30)).max() < 20  # red fills the frame (top and bottom cut)
    # bands: 320x90 is already 90 high, the centre 160 columns (the green half) remain
    assert np.abs(last[:, 4:156].mean(axis=(0, 1)) - (20, 200, 20)).max() < 20


def test_crossfade_blends_and_counts_frames(clipdir: Path, tmp_path: Path) -> None:
    black = _solid(clipdir / "black.mp4", (16, 16, 16), 24, 24, 160, 90)
    white = _solid(clipdir / "white.mp4", (235, 235, 235), 24, 24, 160, 90)
    out = tmp_path / "final.mp4"
    r = media.stitch([black, white], out, width=160, height=90, fps=24, crossfade=0.5)
    assert r.frames == 36 and r.info["seam_frames"] == [12]
    levels = [float(f.mean()) for f in media.read_frames(out)]
    assert len(levels) == 36
    assert max(levels[:12]) < 30 and min(levels[24:]) > 225
    blend = levels[12:24]
    assert blend == sorted(blend) and 60 < blend[5] < 200  # a fade, not a cut


def test_fps_change_trim_and_sound_of_mixed_clips(clipdir: Path, tmp_path: Path) -> None:
    """Clip 0 at 30 fps with a mono tone; clip 1 silent at 12 fps, its first frame a repeat of clip
    0's last (dropped); clip 2 silent at 24 fps; a quiet soundtrack under all, in one pass and in two
    chunks (the second chunk has no clip sound: the soundtrack alone)."""
    c0 = add_tone(counter_clip(clipdir / "v0.mp4", range(31), 30), clipdir / "a0.mp4")
    c1 = counter_clip(clipdir / "v1.mp4", [30, *range(101, 112)], 12)
    c2 = counter_clip(clipdir / "v2.mp4", range(200, 224), 24)
    song = tone_file(clipdir / "song.wav", 5.0)
    out = tmp_path / "final.mp4"
    for chunk, parts in ((32, 1), (2, 2)):
        r = media.stitch([c0, c1, c2], out, width=160, height=90, fps=24, drop_first_frame=[False, True, False],
                         soundtrack=song, soundtrack_volume=0.01, chunk_size=chunk)  # fmt: skip
        assert r.method == "encode" and r.info["chunks"] == parts and r.dropped_seams == [1]
        # c0: 31 frames at 30 fps -> 25 ticks at 24 fps; c1: 11 frames at 12 fps -> 22; c2: 24
        assert r.frames == 25 + 22 + 24
        got = counters(out)
        assert got[0] == 0 and got[24] == 30 and got[25] == 101 and got[46] == 111
        assert got[47:] == list(range(200, 224))
        rms = _rms(out)
        assert len(rms) == pytest.approx(71 / 24 * 100, abs=3)
        assert rms[10:95].min() > 0.05  # the tone under clip 0
        quiet = rms[110:215]  # clips 1 and 2: silence under the soundtrack at 1 %
        assert quiet.max() < 0.005 and quiet.min() > 0.0002
