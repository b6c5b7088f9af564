"""Render 2-3 segment projects through the real backend code path with tiny random-weight pipelines
(loaded from disk with `from_pretrained`), in keyframe mode (first+last keyframe) and chain mode (the
previous clip's exact last frame), then decode the mp4s and check frame counts and sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest
from conftest import RecordingCtx

from ttv.backends import registry
from ttv.backends.base import VideoBackend, VideoRequest
from ttv.core.media import last_frame


def decode(path: Path) -> tuple[int, int, int, float]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        n = sum(1 for _ in c.decode(s))
        return n, s.codec_context.width, s.codec_context.height, float(s.average_rate)


@pytest.fixture
def pipeline_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts DiffusionPipeline.from_pretrained calls (every pipeline class goes through it)."""
    from diffusers import DiffusionPipeline

    calls: list[str] = []
    original = DiffusionPipeline.from_pretrained.__func__  # type: ignore[attr-defined]

    def counting(cls: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(cls.__name__)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(DiffusionPipeline, "from_pretrained", classmethod(counting))
    return calls


def worker(name: str, options: dict[str, Any]) -> VideoBackend:
    backend = registry.create(name, options, kind="video")
    assert isinstance(backend, VideoBackend)
    workers = backend.worker_backends()
    assert len(workers) == 1  # CPU: one worker
    return workers[0]


def render_project(w: VideoBackend, tmp: Path, mode: str, keyframes: list[Path], n: int, duration: float,
                   fps: int, ctx: RecordingCtx, first: Path | None = None) -> list[tuple[Path, Any]]:
    """What the runner does: validate, estimate, generate per segment; chain mode feeds the last frame on."""
    out = []
    prev_last: Path | None = first
    for i in range(n):
        if mode == "keyframe":
            req = VideoRequest(segment_id=f"s{i:03d}", prompt="a cat running on the beach", duration=duration,
                               width=64, height=64, fps=fps, seed=7 + i, first_image=keyframes[i],
                               last_image=keyframes[i + 1])
        elif mode == "chain":
            req = VideoRequest(segment_id=f"s{i:03d}", prompt="a dog on the beach at sunset", duration=duration,
                               width=64, height=64, fps=fps, seed=7 + i, first_image=prev_last,
                               extra={"mode": "chain", "index": i})
        else:
            req = VideoRequest(segment_id=f"s{i:03d}", prompt="waves at dusk", duration=duration, width=64,
                               height=64, fps=fps, seed=7 + i)
        w.validate_inputs(req)
        est = w.estimate_cost(req)
        assert est.usd == 0.0 and est.source.startswith("timings")
        path = tmp / f"{req.segment_id}.mp4"
        result = w.generate(req, path, ctx)
        out.append((path, result))
        if mode == "chain":
            prev_last = last_frame(path, tmp / f"{req.segment_id}-last.png")
    return out


CASES = [
    # backend, model fixture, extra options, mode, duration, fps option, expected frames, expected modes
    ("wan", "wan_t2v_model", {}, "t2v", 0.5, None, 9, ["t2v"] * 3),
    ("wan", "wan_flf_model", {}, "keyframe", 0.5, None, 9, ["flf2v"] * 2),
    ("wan", "wan_flf_model", {}, "chain", 0.5, None, 9, ["i2v"] * 3),
    ("wan", "wan_i2v_model", {"end_frame": "ignore"}, "keyframe", 0.5, None, 9, ["i2v"] * 2),
    ("wan", "wan22_model", {}, "keyframe", 0.5, None, 9, ["flf2v"] * 2),
    ("wan", "wan22_model", {}, "chain", 0.5, None, 9, ["i2v"] * 2),
    ("ltx", "ltx_model", {}, "chain", 0.36, None, 9, ["t2v", "i2v", "i2v"]),
    ("ltx", "ltx_model", {"flf": "on"}, "keyframe", 0.36, None, 9, ["flf2v"] * 2),
    ("hunyuan", "hunyuan_model", {}, "t2v", 0.375, None, 9, ["t2v"] * 3),
]


@pytest.mark.parametrize(("name", "model_fixture", "extra", "mode", "duration", "fps", "frames", "modes"), CASES,
                         ids=[f"{c[1].rsplit('_', 1)[0]}-{c[3]}{'-' + '-'.join(c[2]) if c[2] else ''}" for c in CASES])
def test_render_segments(request: pytest.FixtureRequest, tmp_path: Path, keyframes: list[Path],
                         pipeline_loads: list[str], ctx: RecordingCtx, name: str, model_fixture: str,
                         extra: dict[str, Any], mode: str, duration: float, fps: int | None, frames: int,
                         modes: list[str]) -> None:
    model = request.getfixturevalue(model_fixture)
    w = worker(name, {"model": str(model), "steps": 2, **extra})
    n = len(modes)
    first = None if name == "ltx" and mode == "chain" else keyframes[0]  # LTX chain starts from text
    if mode == "t2v":
        first = None
    results = render_project(w, tmp_path, mode, keyframes, n, duration, 24, ctx, first=first)
    native_fps = w.capabilities  # noqa: F841 - capabilities must not need a loaded model
    for (path, result), expected_mode in zip(results, modes, strict=False):
        count, width, height, rate = decode(path)
        assert (count, width, height) == (frames, 64, 64)
        assert rate == result.info["fps"]
        assert result.info["frames"] == frames and result.info["mode"] == expected_mode
        if model_fixture == "wan22_model":  # Wan 2.2 A14B: both experts ran with the authors' guidance
            assert (result.info["guidance"], result.info["guidance_2"]) == (3.5, 3.5)
    assert len(pipeline_loads) == 1, pipeline_loads  # one load for every segment
    assert getattr(w, "load_count", None) == 1
    # every denoising step of every segment was reported: (1,2), (2,2) per segment
    total_segments = len(modes)
    assert ctx.steps() == [(1, 2), (2, 2)] * total_segments
    assert [e for e, _ in ctx.events] == ["model.loaded"]


def test_framepack_i2v_and_flf(framepack_models: dict[str, Path], keyframes: list[Path], tmp_path: Path,
                               pipeline_loads: list[str], ctx: RecordingCtx) -> None:
    w = worker("framepack", {"model": str(framepack_models["base"]),
                             "transformer": str(framepack_models["transformer"]),
                             "image_encoder": str(framepack_models["image_encoder"]),
                             "latent_window_size": 2, "steps": 2})
    assert w.capabilities().modes == ["i2v", "flf2v"]
    # 0.3 s at 30 fps = 9 frames = one section of 4*2 frames + 1
    results = render_project(w, tmp_path, "keyframe", keyframes, 2, 0.3, 30, ctx)
    # 0.6 s = 18 frames -> snapped to 17 = two sections
    results += render_project(w, tmp_path / "c", "chain", keyframes, 1, 0.6, 30, ctx, first=keyframes[0]) \
        if (tmp_path / "c").mkdir() is None else []
    counts = [decode(p)[0] for p, _ in results]
    assert counts == [9, 9, 17]
    assert [r.info["mode"] for _, r in results] == ["flf2v", "flf2v", "i2v"]
    assert pipeline_loads == ["HunyuanVideoFramepackPipeline"]
    # steps are counted over all sections: 1 section x 2 steps, twice, then 2 sections x 2 steps
    assert ctx.steps() == [(1, 2), (2, 2), (1, 2), (2, 2), (1, 4), (2, 4), (3, 4), (4, 4)]


def test_wan_worker_loads_once_across_threads(wan_t2v_model: Path, tmp_path: Path,
                                              pipeline_loads: list[str]) -> None:
    """The runner hands segments to workers from threads: concurrent first calls must still load once."""
    from concurrent.futures import ThreadPoolExecutor

    w = worker("wan", {"model": str(wan_t2v_model), "steps": 1})
    reqs = [VideoRequest(segment_id=f"s{i}", prompt="a cat", duration=0.3, width=32, height=32, fps=16, seed=i)
            for i in range(3)]
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda r: w.generate(r, tmp_path / f"{r.segment_id}.mp4", RecordingCtx()), reqs))
    assert len(pipeline_loads) == 1
    assert all(decode(tmp_path / f"s{i}.mp4")[:3] == (5, 32, 32) for i in range(3))
    assert sum("load_seconds" in r.info for r in results) >= 1


def test_diffusers_keyframes(sd_model: Path, tmp_path: Path, pipeline_loads: list[str], ctx: RecordingCtx) -> None:
    from PIL import Image

    from ttv.backends.base import ImageProvider, ImageRequest

    main = registry.create("diffusers", {"model": str(sd_model), "steps": 2}, kind="image")
    workers = main.worker_backends()  # type: ignore[attr-defined]
    assert len(workers) == 1 and workers[0].device == "cpu"
    provider = workers[0]
    assert isinstance(provider, ImageProvider)
    for i, (wd, ht) in enumerate([(64, 48), (70, 50)]):
        req = ImageRequest(keyframe_id=f"k{i:03d}", prompt="a lighthouse at dusk", width=wd, height=ht, seed=i)
        out = tmp_path / f"k{i:03d}.png"
        result = provider.generate(req, out, ctx)
        with Image.open(out) as im:
            assert im.size == (wd, ht) and im.format == "PNG"
        assert result.info["size"] == [wd, ht]
    assert len(pipeline_loads) == 1  # AutoPipelineForText2Image resolves, then loads once
    assert ctx.steps() == [(1, 2), (2, 2)] * 2


def test_ltx_views_keep_the_loaded_dtype(ltx_model: Path, keyframes: list[Path], tmp_path: Path) -> None:
    """`from_pipe` casts the shared modules to float32 unless told the dtype: an image-to-video view of a
    bf16 LTX would double the transformer and text encoder in memory (and break a bf16 VAE's input)."""
    import torch

    w = worker("ltx", {"model": str(ltx_model), "steps": 1, "dtype": "bfloat16"})
    base = VideoRequest(segment_id="s0", prompt="a cat", duration=0.36, width=64, height=64, fps=25, seed=1)
    w.generate(base, tmp_path / "t.mp4", RecordingCtx())
    i2v = VideoRequest(segment_id="s1", prompt="a cat", duration=0.36, width=64, height=64, fps=25, seed=1,
                       first_image=keyframes[0])
    w.generate(i2v, tmp_path / "i.mp4", RecordingCtx())
    pipe = w.pipeline()  # type: ignore[attr-defined]
    views = list(w._views.values())  # type: ignore[attr-defined]
    assert views, "the i2v segment went through a from_pipe view"
    for p in (pipe, *views):
        assert {p.transformer.dtype, p.text_encoder.dtype, p.vae.dtype} == {torch.bfloat16}
    assert decode(tmp_path / "i.mp4")[0] == 9


def test_wan_i2v_keeps_the_clip_image_encoder_and_vae_in_float32(wan_i2v_model: Path, keyframes: list[Path],
                                                                  tmp_path: Path) -> None:
    import torch

    w = worker("wan", {"model": str(wan_i2v_model), "steps": 1, "dtype": "bfloat16"})
    r = VideoRequest(segment_id="s0", prompt="a cat", duration=0.3, width=32, height=32, fps=16, seed=1,
                     first_image=keyframes[0])
    result = w.generate(r, tmp_path / "i.mp4", RecordingCtx())
    pipe = w.pipeline()  # type: ignore[attr-defined]
    assert pipe.transformer.dtype == torch.bfloat16
    assert pipe.image_encoder.dtype == torch.float32 and pipe.vae.dtype == torch.float32
    assert result.info["mode"] == "i2v" and decode(tmp_path / "i.mp4")[:3] == (5, 32, 32)


def test_hunyuan_i2v_chain(hunyuan_i2v_model: Path, keyframes: list[Path], tmp_path: Path,
                           pipeline_loads: list[str], ctx: RecordingCtx) -> None:
    """HunyuanVideo-I2V (Llava text encoder fed the keyframe, the pipeline's fixed Llama-3 prompt template)
    in chain mode from a keyframe; its latent_concat transformer drops 4 decoded frames, which the backend
    asks for on top, so each clip has the planned 4k+1 frames."""
    w = worker("hunyuan", {"model": str(hunyuan_i2v_model), "steps": 2})
    assert w.capabilities().modes == ["i2v"]
    results = render_project(w, tmp_path, "chain", keyframes, 2, 0.375, 24, ctx, first=keyframes[0])
    for path, result in results:
        assert decode(path)[:3] == (9, 64, 64)
        assert (result.info["frames"], result.info["mode"]) == (9, "i2v")
        assert result.info["pipeline"] == "HunyuanVideoImageToVideoPipeline"
        assert any("first 4 dropped" in n for n in result.info["notes"])
    assert pipeline_loads == ["HunyuanVideoImageToVideoPipeline"]
    assert getattr(w, "load_count", None) == 1
    assert ctx.steps() == [(1, 2), (2, 2)] * 2
