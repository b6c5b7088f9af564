"""Validation, missing models, OOM classification, GPU workers, estimates and import hygiene of the
local diffusers backends. Nothing here touches the network (see the autouse guard in conftest)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import RecordingCtx

from ttv.backends import registry
from ttv.backends.base import VideoBackend, VideoRequest
from ttv.backends.local import common
from ttv.core.errors import BackendError, ConfigError, InputRejected


def make(name: str, **options: Any) -> VideoBackend:
    backend = registry.create(name, options, kind="video")
    assert isinstance(backend, VideoBackend)
    return backend


def req(**kw: Any) -> VideoRequest:
    base: dict[str, Any] = dict(segment_id="s000", prompt="a cat", duration=5.0, width=832, height=480, fps=24, seed=1)
    base.update(kw)
    return VideoRequest(**base)


# ------------------------------------------------------------------------------------- validation


def test_wan_frames_snap_to_4k_plus_1_at_native_fps(wan_t2v_model: Path) -> None:
    b = make("wan", model=str(wan_t2v_model))
    plan = b.plan(req(duration=5.0))  # type: ignore[attr-defined]
    assert (plan.fps, plan.requested_frames, plan.frames) == (16, 80, 81)
    assert "snapped to 81 (4k+1)" in plan.notes[0]
    assert b.plan(req(duration=2.0)).frames == 33  # type: ignore[attr-defined]
    assert make("wan", model=str(wan_t2v_model), fps=24).plan(req(duration=1.0)).frames == 25  # type: ignore


def test_wan_rejects_bad_frames_option_size_and_length(wan_t2v_model: Path) -> None:
    b = make("wan", model=str(wan_t2v_model), frames=80)
    with pytest.raises(InputRejected, match="4k\\+1") as exc:
        b.validate_inputs(req())
    assert "frames = 81" in (exc.value.hint or "")
    b = make("wan", model=str(wan_t2v_model))
    with pytest.raises(InputRejected, match="multiple of 16") as exc:
        b.validate_inputs(req(width=840, height=480))
    assert "848x480" in (exc.value.hint or "") or "832x480" in (exc.value.hint or "")
    with pytest.raises(InputRejected, match="exceed the 81-frame limit"):
        b.validate_inputs(req(duration=10.0))
    make("wan", model=str(wan_t2v_model), max_frames=161).validate_inputs(req(duration=10.0))
    b.validate_inputs(req())  # 832x480, 5 s: fine
    caps = b.capabilities()
    assert caps.size_multiple == 16 and caps.modes == ["t2v"] and not caps.repeats_first_frame


def test_ltx_and_framepack_rules(ltx_model: Path) -> None:
    ltx = make("ltx", model=str(ltx_model))
    with pytest.raises(InputRejected, match="multiple of 32"):
        ltx.validate_inputs(req(width=1280, height=720))
    assert ltx.plan(req(width=704, height=512, duration=5.0)).frames == 129  # type: ignore[attr-defined]
    with pytest.raises(InputRejected, match="8k\\+1"):
        make("ltx", model=str(ltx_model), frames=100).validate_inputs(req(width=704, height=512))
    fp = make("framepack", model=str(ltx_model), transformer=str(ltx_model), image_encoder=str(ltx_model))
    assert fp.plan(req(duration=5.0, first_image=Path("x.png"))).frames == 145  # type: ignore[attr-defined]


def test_image_modes_and_missing_start_image(wan_flf_model: Path, wan_i2v_model: Path, keyframes: list[Path]) -> None:
    flf = make("wan", model=str(wan_flf_model))
    caps = flf.capabilities()
    assert caps.modes == ["i2v", "flf2v"] and caps.repeats_first_frame
    with pytest.raises(InputRejected, match="needs a start image"):
        flf.validate_inputs(req(width=64, height=64))
    flf.validate_inputs(req(width=64, height=64, first_image=Path("/not-yet.png")))  # chain: made later
    with pytest.raises(InputRejected, match="does not exist"):
        flf.generate(req(width=64, height=64, first_image=Path("/nonexistent.png")), Path("/tmp/x.mp4"),
                     RecordingCtx())
    assert make("wan", model=str(wan_i2v_model)).capabilities().modes == ["i2v"]
    assert make("wan", model=str(wan_i2v_model), flf="on").capabilities().modes == ["i2v", "flf2v"]
    both = req(width=64, height=64, first_image=keyframes[0], last_image=keyframes[1])
    # an end keyframe the model cannot take is refused, never dropped silently; end_frame = "ignore" opts in
    with pytest.raises(InputRejected, match="takes no end frame") as caught:
        make("wan", model=str(wan_i2v_model)).plan(both)  # type: ignore[attr-defined]
    assert 'end_frame = "ignore"' in (caught.value.hint or "")
    plan = make("wan", model=str(wan_i2v_model), end_frame="ignore").plan(both)  # type: ignore[attr-defined]
    assert plan.mode == "i2v" and "end keyframe not used" in plan.notes[0]
    # a start image a text-only model cannot take is refused too
    with pytest.raises(InputRejected, match="text-to-video only"):
        make("wan", model="Wan-AI/Wan2.1-T2V-1.3B-Diffusers").plan(  # type: ignore[attr-defined]
            req(width=64, height=64, first_image=keyframes[0]))


def test_unknown_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        registry.create("wan", {"offlaod": "model"}, kind="video")
    with pytest.raises(ConfigError):
        registry.create("wan", {"offload": "disk"}, kind="video")
    assert make("wan", gpus="0, 2").options.gpus == [0, 2]  # type: ignore[attr-defined]
    assert make("wan", gpus="all").options.gpus is None  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------ missing model


@pytest.fixture
def empty_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import huggingface_hub.constants as c

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(c, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


def test_missing_hub_model_says_how_to_download(empty_hf_cache: Path, tmp_path: Path) -> None:
    b = make("wan", model="Wan-AI/Wan2.1-T2V-14B-Diffusers", width=64, height=64)
    avail = b.is_available()
    assert not avail.ok and "hf download Wan-AI/Wan2.1-T2V-14B-Diffusers" in avail.reason
    w = b.worker_backends()[0]
    with pytest.raises(BackendError) as exc:
        w.generate(req(width=64, height=64, duration=0.3), tmp_path / "x.mp4", RecordingCtx())
    err = exc.value
    assert err.code == "MODEL_NOT_FOUND" and err.kind == "backend"
    assert "not in the local Hugging Face cache" in err.message
    assert "`hf download Wan-AI/Wan2.1-T2V-14B-Diffusers`" in (err.hint or "")
    assert "about 80 GB" in (err.hint or "")
    assert not (tmp_path / "x.mp4").exists()
    # LTX: only the diffusers folders of a repo that also holds single-file checkpoints
    with pytest.raises(BackendError) as exc2:
        make("ltx").worker_backends()[0].generate(req(width=64, height=64, duration=0.36), tmp_path / "y.mp4",
                                                  RecordingCtx())
    assert '--include "model_index.json"' in (exc2.value.hint or "")


def test_missing_local_folder(tmp_path: Path) -> None:
    w = make("hunyuan", model=str(tmp_path / "nope")).worker_backends()[0]
    with pytest.raises(BackendError, match="does not exist") as exc:
        w.generate(req(width=64, height=64, duration=0.375), tmp_path / "x.mp4", RecordingCtx())
    assert exc.value.code == "MODEL_NOT_FOUND"


def test_hub_id_loads_from_local_cache_only(empty_hf_cache: Path, wan_t2v_model: Path, tmp_path: Path) -> None:
    """A hub id whose snapshot is in the HF cache loads offline, through the cache layout."""
    repo = empty_hf_cache / "models--tiny--wan-t2v"
    snap = repo / "snapshots" / ("0" * 40)
    shutil.copytree(wan_t2v_model, snap)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    b = make("wan", model="tiny/wan-t2v", steps=1)
    assert b.is_available().ok
    assert b.capabilities().modes == ["t2v"]  # read from the cached model_index.json, no torch
    res = b.worker_backends()[0].generate(req(width=32, height=32, duration=0.3), tmp_path / "c.mp4", RecordingCtx())
    assert res.model == "tiny/wan-t2v" and res.info["frames"] == 5


# -------------------------------------------------------------------------------------------- OOM


def _oom(*args: Any, **kwargs: Any) -> Any:
    import torch

    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")


def test_oom_while_rendering_is_classified_with_a_memory_hint(wan_t2v_model: Path, tmp_path: Path) -> None:
    w = make("wan", model=str(wan_t2v_model), steps=2).worker_backends()[0]
    pipe = w.pipeline()  # type: ignore[attr-defined]
    pipe.transformer.forward = _oom  # a stub module that runs out of memory
    out = tmp_path / "s000.mp4.partial"
    with pytest.raises(BackendError) as exc:
        w.generate(req(width=64, height=64, duration=0.5), out, RecordingCtx())
    err = exc.value
    assert (err.kind, err.code) == ("backend", "OOM")
    assert "out of memory" in err.message and "64x64, 9 frames" in err.message
    hint = err.hint or ""
    assert hint.startswith("set in ttv.toml [backends.wan]")
    for tip in ('offload = "group"', 'offload = "model"', "vae_tiling = true", "expandable_segments"):
        assert tip in hint
    assert not out.exists()
    # with offload and tiling already on, the hint moves on to the next levers
    w2 = make("wan", model=str(wan_t2v_model), offload="model", vae_tiling=True, dtype="float32")
    hint2 = common.memory_hint("wan", w2.options, 832, 480, 81)  # type: ignore[arg-type]
    assert 'offload = "group"' in hint2 and "vae_tiling" not in hint2 and 'dtype = "bfloat16"' in hint2


def test_oom_while_loading(wan_t2v_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ttv.backends.local import wan

    monkeypatch.setattr(wan, "load_component", _oom)
    w = make("wan", model=str(wan_t2v_model)).worker_backends()[0]
    with pytest.raises(BackendError) as exc:
        w.generate(req(width=64, height=64, duration=0.5), tmp_path / "x.mp4", RecordingCtx())
    assert exc.value.code == "OOM" and "loading the model" in exc.value.message


def test_other_pipeline_errors_are_backend_errors(wan_t2v_model: Path, tmp_path: Path) -> None:
    w = make("wan", model=str(wan_t2v_model), steps=1).worker_backends()[0]
    pipe = w.pipeline()  # type: ignore[attr-defined]

    def boom(*a: Any, **k: Any) -> Any:
        raise RuntimeError("CUBLAS_STATUS_EXECUTION_FAILED")

    pipe.transformer.forward = boom
    with pytest.raises(BackendError) as exc:
        w.generate(req(width=64, height=64, duration=0.5), tmp_path / "x.mp4", RecordingCtx())
    assert exc.value.code == "PIPELINE_ERROR" and "CUBLAS" in exc.value.message


# ---------------------------------------------------------------------------------------- workers


def test_workers_one_per_gpu_and_honour_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "visible_gpus", lambda: [0, 1, 2, 3])
    workers = make("wan").worker_backends()
    assert [w.device for w in workers] == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]  # type: ignore[attr-defined]
    workers = make("wan", gpus="1,3").worker_backends()
    assert [w.device for w in workers] == ["cuda:1", "cuda:3"]  # type: ignore[attr-defined]
    workers = make("ltx", gpus_per_worker=2).worker_backends()
    assert [w.gpu_group for w in workers] == [[0, 1], [2, 3]]  # type: ignore[attr-defined]
    assert all(w._pipe is None for w in workers)  # type: ignore[attr-defined]  # lazy: nothing loaded yet
    with pytest.raises(ConfigError, match="not visible"):
        make("wan", gpus=[5]).worker_backends()
    with pytest.raises(ConfigError, match="gpus_per_worker"):
        make("wan", gpus=[0], gpus_per_worker=2).worker_backends()


def test_cpu_worker_when_no_gpu() -> None:
    workers = make("hunyuan").worker_backends()
    assert [w.device for w in workers] == ["cpu"]  # type: ignore[attr-defined]
    assert workers[0].concurrency() == 1
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        make("wan", gpus="0").worker_backends()


def test_cuda_visible_devices_is_respected_by_torch_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """visible_gpus() asks torch, which applies CUDA_VISIBLE_DEVICES; indices are relative to it."""
    import torch

    monkeypatch.undo()  # use the real visible_gpus
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert common.visible_gpus() == [0, 1]


# ------------------------------------------------------------------------------------- estimates


def test_estimates_follow_the_published_table(monkeypatch: pytest.MonkeyPatch) -> None:
    # Wan2.1 T2V-1.3B, 832x480, 81 frames, 50 steps on a 4090: the README's 261.4 s
    est = make("wan", gpu_type="RTX 4090", steps=50).estimate_cost(req(duration=5.0))
    assert est.usd == 0 and est.seconds == pytest.approx(261.4, rel=0.01)
    assert "2026-11" in est.source and "Wan2.1 README" in est.source
    # Wan2.2 A14B 480p on an H100: 326.9 s at 40 steps
    a14 = make("wan", model="Wan-AI/Wan2.2-T2V-A14B-Diffusers", gpu_type="NVIDIA H100 80GB HBM3", steps=40)
    assert a14.estimate_cost(req(duration=5.0)).seconds == pytest.approx(326.9, rel=0.01)
    # twice the steps, twice the time; 720p costs more than 480p
    e20 = make("wan", gpu_type="H100", steps=20).estimate_cost(req()).seconds
    e40 = make("wan", gpu_type="H100", steps=40).estimate_cost(req()).seconds
    assert e40 == pytest.approx(2 * e20, rel=0.01)
    assert make("wan", gpu_type="H100", steps=20).estimate_cost(req(width=1280, height=720)).seconds > e20
    monkeypatch.setattr(common, "detect_gpu_name", lambda: None)
    hy = make("hunyuan").estimate_cost(req(width=960, height=544, duration=93 / 24))
    assert "H100 (assumed)" in hy.source and "AccVideo" in hy.source
    assert hy.seconds == pytest.approx(704 * 1.0 / 1.9, rel=0.02)  # the A100 row, scaled to an H100


# --------------------------------------------------------------------------------- import hygiene


def test_backend_modules_do_not_import_torch() -> None:
    code = ("import sys\n"
            "from ttv.backends import registry\n"
            "for n in ['wan', 'ltx', 'hunyuan', 'framepack', 'diffusers']:\n"
            "    cls = registry.load_class(n)\n"
            "    b = cls()\n"
            "    b.capabilities() if hasattr(b, 'capabilities') else None\n"
            "print(json.dumps(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_interrupt_from_the_context_passes_through(wan_t2v_model: Path, tmp_path: Path) -> None:
    """Ctrl-C reaches the backend as an exception from ctx.progress; it must not become a BackendError."""

    class Stop(Exception):
        pass

    class StoppingCtx(RecordingCtx):
        def progress(self, fraction: float | None = None, **kw: Any) -> None:
            if kw.get("status") == "running":
                raise Stop()

    w = make("wan", model=str(wan_t2v_model), steps=2).worker_backends()[0]
    with pytest.raises(Stop):
        w.generate(req(width=64, height=64, duration=0.5), tmp_path / "x.mp4", StoppingCtx())
    assert not (tmp_path / "x.mp4").exists()


def test_memory_options_on_cpu(wan_t2v_model: Path, tmp_path: Path) -> None:
    """bf16 weights with an fp32 VAE (the Wan authors' setting), VAE tiling/slicing, an attention backend;
    offload needs an accelerator and is skipped on the CPU with a note in the record."""
    import torch

    w = make("wan", model=str(wan_t2v_model), steps=1, dtype="bfloat16", vae_tiling=True, vae_slicing=True,
             attention="native", offload="group").worker_backends()[0]
    res = w.generate(req(width=32, height=32, duration=0.3), tmp_path / "m.mp4", RecordingCtx())
    pipe = w.pipeline()  # type: ignore[attr-defined]
    assert pipe.transformer.dtype == torch.bfloat16 and pipe.vae.dtype == torch.float32
    assert pipe.vae.use_tiling and pipe.vae.use_slicing
    assert res.info["frames"] == 5 and "offload=group ignored on CPU" in res.info["load_notes"]


def test_model_default_steps_and_guidance(wan_flf_model: Path, keyframes: list[Path]) -> None:
    assert (lambda p: (p.steps, p.guidance))(make("wan").plan(req())) == (50, 5.0)  # type: ignore[attr-defined]
    i2v = make("wan", model=str(wan_flf_model)).plan(req(first_image=keyframes[0]))  # type: ignore[attr-defined]
    assert (i2v.steps, i2v.guidance) == (40, 5.0)
    a14 = make("wan", model="Wan-AI/Wan2.2-T2V-A14B-Diffusers")
    plan = a14.plan(req())  # type: ignore[attr-defined]
    assert (plan.steps, plan.guidance, a14.guidance_2("t2v")) == (40, 4.0, 3.0)  # type: ignore[attr-defined]
    assert make("wan", model="Wan-AI/Wan2.2-T2V-A14B-Diffusers", steps=8, guidance=1.0).plan(  # type: ignore
        req()).steps == 8


class _StubModule:
    def __init__(self, log: list[tuple[str, Any]], name: str) -> None:
        self.log, self.name = log, name

    def __getattr__(self, attr: str) -> Any:
        return lambda *a, **k: self.log.append((f"{self.name}.{attr}", k or a))


class _StubPipe:
    """Records what apply_memory_options asks of a pipeline on a (pretend) GPU."""

    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []
        self.vae = _StubModule(self.log, "vae")
        self.transformer = _StubModule(self.log, "transformer")
        self.transformer_2 = None
        self.unet = None

    def __getattr__(self, attr: str) -> Any:
        return lambda *a, **k: self.log.append((attr, k or a))


@pytest.mark.parametrize(("opts", "expected"), [
    ({}, [("to", ("cuda:1",))]),
    ({"offload": "model"}, [("enable_model_cpu_offload", {"device": "cuda:1"})]),
    ({"offload": "sequential"}, [("enable_sequential_cpu_offload", {"device": "cuda:1"})]),
    ({"offload": "group", "vae_tiling": True}, [("vae.enable_tiling", ()), ("enable_group_offload", "group")]),
    ({"attention": "_flash_3", "compile": "regional"},
     [("transformer.set_attention_backend", ("_flash_3",)), ("to", ("cuda:1",)),
      ("transformer.compile_repeated_blocks", {"fullgraph": True})]),
    # group offload's hooks are compiler-disabled: no full graph through them
    ({"offload": "group", "compile": "regional"},
     [("enable_group_offload", "group"), ("transformer.compile_repeated_blocks", {"fullgraph": False})]),
    ({"offload": "sequential", "compile": "regional"},
     [("enable_sequential_cpu_offload", {"device": "cuda:1"}),
      ("transformer.compile_repeated_blocks", {"fullgraph": False})]),
])
def test_memory_switches_reach_the_pipeline(opts: dict[str, Any], expected: list[Any]) -> None:
    import torch

    pipe = _StubPipe()
    common.apply_memory_options(pipe, common.LocalOptions(**opts), "cuda:1", [1])
    calls = [c for c in pipe.log if c[0] != "set_progress_bar_config"]
    group = [i for i, (_, k) in enumerate(expected) if k == "group"]
    if group:
        i = group[0]
        name, kwargs = calls[i]
        assert name == "enable_group_offload"
        assert kwargs["onload_device"] == torch.device("cuda:1") and kwargs["offload_type"] == "block_level"
        assert kwargs["num_blocks_per_group"] == 1 and kwargs["use_stream"] and kwargs["exclude_modules"] == ["vae"]
        calls, expected = calls[:i] + calls[i + 1:], expected[:i] + expected[i + 1:]
    assert calls == expected


def test_regional_compile_of_a_model_without_repeated_blocks_compiles_it_whole() -> None:
    # FramePack's transformer declares _repeated_blocks = [] (compile_repeated_blocks would raise)
    pipe = _StubPipe()
    pipe.transformer._repeated_blocks = []  # type: ignore[attr-defined]
    notes = common.apply_memory_options(pipe, common.LocalOptions(compile="regional"), "cuda:0", [0])
    calls = [c[0] for c in pipe.log if c[0] != "set_progress_bar_config"]
    assert calls == ["to", "transformer.compile"]
    assert "transformer declares no repeated blocks: compiled whole" in notes


def test_framepack_refuses_gpu_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "visible_gpus", lambda: [0, 1])
    with pytest.raises(ConfigError, match="gpus_per_worker > 1 is not supported"):
        make("framepack", gpus_per_worker=2).worker_backends()


def test_auto_dtype_is_float16_on_a_gpu_without_bfloat16(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert common.torch_dtype("auto", "cuda:0") == torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert common.torch_dtype("auto", "cuda:0") == torch.bfloat16
    assert common.torch_dtype("auto", "cpu") == torch.float32


def test_ltx_i2v_with_a_timestep_conditioned_vae_seeds_on_the_execution_device() -> None:
    class LTXImageToVideoPipeline:  # diffusers draws decode noise with torch.randn on the execution device
        _execution_device = "cuda:3"

        def __init__(self, conditioned: bool) -> None:
            self.vae = type("V", (), {"config": type("C", (), {"timestep_conditioning": conditioned})()})()

    ltx = make("ltx")
    assert ltx.generator_device(LTXImageToVideoPipeline(True)) == "cuda:3"  # type: ignore[attr-defined]
    assert ltx.generator_device(LTXImageToVideoPipeline(False)) == "cpu"  # type: ignore[attr-defined]
    assert make("wan").generator_device(LTXImageToVideoPipeline(True)) == "cpu"  # type: ignore[attr-defined]


def test_keyframe_provider_workers_per_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "visible_gpus", lambda: [0, 1])
    main = registry.create("diffusers", {"gpus": "1"}, kind="image")
    assert [w.device for w in main.worker_backends()] == ["cuda:1"]  # type: ignore[attr-defined]
    main = registry.create("diffusers", {}, kind="image")
    assert [w.device for w in main.worker_backends()] == ["cuda:0", "cuda:1"]  # type: ignore[attr-defined]


def test_gpu_group_worker_loads_with_a_balanced_device_map(monkeypatch: pytest.MonkeyPatch) -> None:
    from ttv.backends.local import wan

    monkeypatch.setattr(common, "visible_gpus", lambda: [0, 1, 2, 3])
    monkeypatch.setattr(common, "_gpu_total_memory", lambda i: 80 * 2**30)
    monkeypatch.setattr(common, "torch_dtype", lambda name, device: "bf16")
    calls: list[dict[str, Any]] = []
    stub = _StubPipe()

    def fake_load(cls: Any, backend: str, model: str, **kw: Any) -> Any:
        calls.append({"cls": cls.__name__, **kw})
        return stub

    monkeypatch.setattr(wan, "load_component", fake_load)
    monkeypatch.setattr(wan, "dtype_kwarg", lambda d: {"dtype": d})
    workers = make("wan", gpus="2,3", gpus_per_worker=2).worker_backends()
    assert len(workers) == 1 and workers[0].gpu_group == [2, 3]  # type: ignore[attr-defined]
    workers[0].pipeline()  # type: ignore[attr-defined]
    assert calls == [{"cls": "WanPipeline", "dtype": "bf16", "device_map": "balanced",
                      "max_memory": {2: int(72 * 2**30), 3: int(72 * 2**30)}}]  # 90%; one load, no separate VAE
    assert not [c for c in stub.log if c[0] in ("to", "enable_model_cpu_offload", "enable_group_offload")]


def test_wan22_ti2v_5b_rules() -> None:
    """TI2V-5B: 121 frames at 24 fps, sizes in multiples of 32 (diffusers would silently render 720 as 704)."""
    b = make("wan", model="Wan-AI/Wan2.2-TI2V-5B-Diffusers")
    with pytest.raises(InputRejected, match="multiple of 32"):
        b.validate_inputs(req(width=1280, height=720))
    plan = b.plan(req(width=1280, height=704, duration=5.0))  # type: ignore[attr-defined]
    assert (plan.fps, plan.frames) == (24, 121)
    assert make("wan").plan(req(duration=5.0)).fps == 16  # type: ignore[attr-defined]
