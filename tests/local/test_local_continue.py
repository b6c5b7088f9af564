"""`continue_frames` on the local diffusers backends with tiny random-weight pipelines: LTX
(`LTXConditionPipeline`, a video condition of 8k+1 frames) and Wan VACE (tail + grey frames, black/white
mask). What the pipeline is given, how many frames come back, what the record says, and a chain-mode film
through the runner whose frame count and seams are exact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.fakeserver import RecordingCtx
from ttv.backends.base import PreviousClip, VideoRequest
from ttv.core.media import FrameWriter, probe, read_frames
from ttv.core.tomlio import load_toml, write_toml

W, H = 64, 64


def _previous(tmp_path: Path, frames: int = 20) -> Path:
    """A clip whose frame i is a flat grey of level 10 * i: a tail is easy to recognise."""
    path = tmp_path / "prev.mp4"
    with FrameWriter(path, W, H, 8, crf=0) as writer:
        for i in range(frames):
            writer.write(np.full((H, W, 3), 10 * i, np.uint8))
    return path


def _request(prev: Path, k: int, first: Path) -> VideoRequest:
    return VideoRequest(segment_id="s001", prompt="a cat on the beach", duration=1.0, width=W, height=H, fps=8,
                        seed=1, first_image=first, previous=PreviousClip(path=prev, frames=k, seam_offset=1))


def _level(img: Any) -> float:
    return float(np.asarray(img, dtype=np.float32).mean())


def test_ltx_continues_from_an_8k_plus_1_tail(ltx_condition_model: Path, keyframes: list[Path],
                                               tmp_path: Path) -> None:
    from ttv.backends.local.ltx import LTXBackend, LTXOptions

    backend = LTXBackend(LTXOptions(model=str(ltx_condition_model), steps=2, fps=8), device="cpu")
    prev = _previous(tmp_path)
    caps = backend.capabilities()
    assert caps.continuation is not None and caps.continuation.frames[:3] == [9, 17, 25]
    req = _request(prev, 9, keyframes[0])
    plan = backend.plan(req)
    # 1 s at 8 fps = 8 new frames after the 9-frame tail: 17 = 8k+1 exactly
    assert (plan.frames, plan.extra["head_repeat"], plan.extra["new_frames"]) == (17, 9, 8)
    call, kwargs = backend.pipeline_kwargs(backend.pipeline(), plan, req)
    assert type(call).__name__ == "LTXConditionPipeline"
    (cond,) = kwargs["conditions"]
    assert cond.frame_index == 0 and cond.image is None and len(cond.video) == 9
    # frames 10..18 of 20 (the tail ends seam_offset = 1 frame before the end)
    assert [round(_level(f) / 10) for f in cond.video] == list(range(10, 19))
    out = tmp_path / "s001.mp4"
    result = backend.generate(req, out, RecordingCtx())
    assert probe(out).frames == 17
    assert result.info["head_repeat"] == 9 and result.info["continued"] == "tail"
    assert result.info["tail_offset"] == 1
    # a tail length LTX would silently cut is never sent: 12 becomes 9, said in the notes
    plan12 = backend.plan(_request(prev, 12, keyframes[0]))
    assert plan12.extra["continue_frames"] == 9
    assert any("continue_frames = 12" in n and "last 9 frames" in n for n in plan12.notes)
    backend.close()


def test_vace_continues_from_k_frames_with_grey_and_mask(wan_vace_model: Path, keyframes: list[Path],
                                                         tmp_path: Path) -> None:
    from ttv.backends.local.wan_vace import WanVACEBackend, WanVACEOptions

    backend = WanVACEBackend(WanVACEOptions(model=str(wan_vace_model), steps=2, fps=8), device="cpu")
    prev = _previous(tmp_path)
    req = _request(prev, 5, keyframes[0])
    plan = backend.plan(req)
    assert (plan.frames, plan.extra["head_repeat"]) == (13, 5)  # 5 + 8 = 13 = 4k+1
    call, kwargs = backend.pipeline_kwargs(backend.pipeline(), plan, req)
    video, mask = kwargs["video"], kwargs["mask"]
    assert len(video) == len(mask) == 13
    assert [round(_level(f) / 10) for f in video[:5]] == [14, 15, 16, 17, 18]
    assert all(_level(f) == 128 for f in video[5:])
    assert [_level(m) for m in mask] == [0.0] * 5 + [255.0] * 8
    out = tmp_path / "s001.mp4"
    result = backend.generate(req, out, RecordingCtx())
    assert probe(out).frames == 13 and result.info["head_repeat"] == 5
    # without a previous clip, the first frame alone is kept (i2v through the same pipeline)
    plain = VideoRequest(segment_id="s000", prompt="a cat", duration=1.0, width=W, height=H, fps=8, seed=1,
                         first_image=keyframes[0])
    plan0 = backend.plan(plain)
    _, kwargs0 = backend.pipeline_kwargs(backend.pipeline(), plan0, plain)
    assert plan0.frames == 9 and [_level(m) for m in kwargs0["mask"]] == [0.0] + [255.0] * 8
    backend.close()


def test_skyreels_continues_through_the_v2v_pipeline(skyreels_model: Path, keyframes: list[Path],
                                                     tmp_path: Path) -> None:
    from ttv.backends.local.skyreels import SkyReelsBackend, SkyReelsOptions

    backend = SkyReelsBackend(SkyReelsOptions(model=str(skyreels_model), steps=2, fps=8), device="cpu")
    prev = _previous(tmp_path)
    req = _request(prev, 5, keyframes[0])
    plan = backend.plan(req)
    assert (plan.frames, plan.extra["head_repeat"]) == (13, 5)
    call, kwargs = backend.pipeline_kwargs(backend.pipeline(), plan, req)
    assert type(call).__name__ == "SkyReelsV2DiffusionForcingVideoToVideoPipeline"
    assert kwargs["overlap_history"] == 5 and kwargs["num_frames"] == 13
    assert [round(_level(f) / 10) for f in kwargs["video"]] == [14, 15, 16, 17, 18]
    out = tmp_path / "s001.mp4"
    result = backend.generate(req, out, RecordingCtx())
    # the pipeline returned 5 given + 13 decoded frames; the clip keeps the 13, whose first 5 re-render the tail
    assert probe(out).frames == 13 and result.info["head_repeat"] == 5 and result.info["new_frames"] == 8
    backend.close()


def _configure(root: Path, backend: str, model: Path, k: int) -> None:
    cfg = load_toml(root / "ttv.toml")
    cfg.setdefault("backends", {})[backend] = {"model": str(model), "steps": 2, "fps": 8, "continue_frames": k}
    cfg.setdefault("stitch", {})["color_match"] = False  # compare the film's pixels with the clips'
    write_toml(root / "ttv.toml", cfg)


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


@pytest.mark.parametrize(("backend", "fixture", "k", "clip_frames"), [
    ("ltx", "ltx_condition_model", 9, [9, 17, 17]),
    ("wan-vace", "wan_vace_model", 5, [9, 13, 13]),
    ("skyreels", "skyreels_model", 5, [9, 13, 13]),
])
def test_chain_film_with_k_frames_is_exact(backend: str, fixture: str, k: int, clip_frames: list[int],
                                           request: pytest.FixtureRequest, small_project: Any, cli: Any) -> None:
    root = small_project("chain", segments=3, backend=backend)
    _configure(root, backend, request.getfixturevalue(fixture), k)
    result = cli("run", "-p", root)
    assert result.exit_code == 0, result.output
    clips = [list(read_frames(root / "clips" / f"s{i:03d}.mp4")) for i in range(3)]
    assert [len(c) for c in clips] == clip_frames
    for i in (1, 2):
        rec = load_toml(root / "clips" / f"s{i:03d}.toml")
        assert rec["info"]["head_repeat"] == k and rec["inputs"]["first"]["frames"] == k
    final = list(read_frames(root / "final.mp4"))
    expected = clips[0] + clips[1][k:] + clips[2][k:]
    assert len(final) == len(expected) == clip_frames[0] + 2 * (clip_frames[1] - k)  # the sum of new frames
    # every output frame is the source frame it should be (re-encoded: small differences only)
    assert max(_mad(a, b) for a, b in zip(final, expected, strict=True)) < 6.0
    # and at each seam it is the first new frame, not the last repeated one
    seam = clip_frames[0]
    for i in (1, 2):
        assert _mad(final[seam], clips[i][k]) < _mad(final[seam], clips[i][k - 1])
        seam += clip_frames[i] - k
    assert load_toml(root / "final.toml")["info"]["trimmed_heads"] == [0, k, k]
