"""A 2-segment project rendered by the real runner (`ttv run`) with the tiny Wan first-last-frame
pipeline, in keyframe mode and in chain mode: clips, records, events and the stitched film."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ttv.core.media import probe
from ttv.core.tomlio import load_toml


def configure(root: Path, model: Path, keyframe_model: Path | None = None) -> None:
    toml = root / "ttv.toml"
    extra = f'\n[backends.wan]\nmodel = "{model}"\nsteps = 2\n'
    if keyframe_model is not None:
        extra += f'\n[backends.diffusers]\nmodel = "{keyframe_model}"\nsteps = 2\n'
    toml.write_text(toml.read_text() + extra)


@pytest.mark.parametrize("mode", ["keyframe", "chain"])
def test_two_segment_project_through_the_runner(mode: str, small_project: Any, cli: Any,
                                                wan_flf_model: Path, sd_model: Path) -> None:
    # keyframe mode also makes its keyframes with the local text-to-image provider
    if mode == "keyframe":
        root = small_project(mode, segments=2, backend="wan", keyframes="diffusers")
        configure(root, wan_flf_model, sd_model)
    else:
        root = small_project(mode, segments=2, backend="wan")
        configure(root, wan_flf_model)
    result = cli("run", "-p", root)
    assert result.exit_code == 0, result.output
    for i in range(2):
        clip = probe(root / "clips" / f"s{i:03d}.mp4")
        # 1 s at Wan's native 16 fps = 16 frames -> 17 (4k+1), at the project's 160x96
        assert (clip.frames, clip.width, clip.height, clip.fps) == (17, 160, 96, 16.0)
        rec = load_toml(root / "clips" / f"s{i:03d}.toml")
        assert rec["status"] == "done"
    rec0 = load_toml(root / "clips" / "s000.toml")
    text = json.dumps(rec0)
    assert ("flf2v" if mode == "keyframe" else "i2v") in text
    final = probe(root / "final.mp4")
    assert final.frames > 0 and (final.width, final.height) == (160, 96)
    events = [json.loads(line) for line in (root / ".ttv" / "events.jsonl").read_text().splitlines()]
    steps = [(e["item"], e.get("k"), e.get("n")) for e in events if e["type"] == "item.progress" and e.get("k")]
    for item in ("s000", "s001"):  # each segment reported every denoising step
        assert [(k, n) for i, k, n in steps if i == item] == [(1, 2), (2, 2)]
    loads = [e.get("backend") for e in events if e["type"] == "model.loaded"]
    # one worker, one load, two segments (and one load for three keyframes)
    assert loads == (["diffusers", "wan"] if mode == "keyframe" else ["wan"])
    if mode == "keyframe":
        from PIL import Image

        for k in range(3):
            with Image.open(root / "keyframes" / f"k{k:03d}.png") as im:
                assert im.size == (160, 96)
        assert load_toml(root / "keyframes" / "k000.toml")["status"] == "done"


def test_sequential_items_reuse_one_warm_worker() -> None:
    """Chain mode on a 2-GPU machine: one segment at a time must keep going to the worker that already
    loaded the model (a first-in-first-out pool alternated GPUs and loaded the model on both)."""
    from ttv.pipeline.runner import BackendPool, StopFlag

    class Worker:
        def __init__(self, gpu: int) -> None:
            self.gpu = gpu

        def concurrency(self) -> int:
            return 1

    class Main:
        def __init__(self) -> None:
            self.workers = [Worker(0), Worker(1)]

        def worker_backends(self) -> list[Worker]:
            return self.workers

    pool = BackendPool(lambda name: Main())  # type: ignore[arg-type,return-value]
    stop = StopFlag()
    used = []
    for _ in range(4):
        with pool.acquire("wan", stop) as w:
            used.append(w.gpu)
    assert used == [0, 0, 0, 0]
    with pool.acquire("wan", stop) as a, pool.acquire("wan", stop) as b:  # two at once: both GPUs
        assert {a.gpu, b.gpu} == {0, 1}
    # a failed item sends its worker to the back: the retry tries the other GPU first
    with pytest.raises(RuntimeError), pool.acquire("wan", stop) as w:
        first = w.gpu
        raise RuntimeError("CUDA error: an illegal memory access was encountered")
    with pool.acquire("wan", stop) as w:
        assert w.gpu != first


def test_gpus_override_reaches_only_backends_with_a_gpus_option(small_project: Any, monkeypatch: Any,
                                                                 wan_flf_model: Path) -> None:
    """`--gpus 1` (RunOptions.gpus) replaces [backends.NAME] gpus for this run; other options stay."""
    from ttv.backends.local import common
    from ttv.pipeline import steps
    from ttv.pipeline.project import Project

    root = small_project("keyframe", segments=2, backend="wan")
    configure(root, wan_flf_model)
    project = Project.load(root)
    assert steps._backend_options(project, "wan", [1]) == {"model": str(wan_flf_model), "steps": 2, "gpus": [1]}
    assert steps._backend_options(project, "wan", None) == {"model": str(wan_flf_model), "steps": 2}
    assert steps._backend_options(project, "animatic", [1]) is None  # no gpus option: untouched
    monkeypatch.setattr(common, "visible_gpus", lambda: [0, 1])
    backend = steps._create_video(project, "wan", steps.RunOptions(gpus=[1]))
    assert [w.device for w in backend.worker_backends()] == ["cuda:1"]  # type: ignore[attr-defined]


def test_gpus_flag(small_project: Any, cli: Any, monkeypatch: Any, wan_flf_model: Path) -> None:
    """`--gpus` reaches the local workers: an invisible GPU is a usage error naming what is visible;
    a malformed value is refused before anything runs."""
    from ttv.backends.local import common

    root = small_project("keyframe", segments=2, backend="wan")
    configure(root, wan_flf_model)
    assert cli("plan", "-p", root).exit_code == 0 and cli("keyframes", "-p", root).exit_code == 0
    monkeypatch.setattr(common, "visible_gpus", lambda: [0, 1])
    result = cli("render", "-p", root, "--gpus", "5")
    assert result.exit_code == 2, result.output
    assert "gpus [5] are not visible (visible: [0, 1]" in result.output
    bad = cli("run", "-p", root, "--gpus", "first")
    assert bad.exit_code == 2 and "--gpus 'first' is not a list of GPU indices" in bad.output
    assert not (root / "clips" / "s000.mp4").exists()
