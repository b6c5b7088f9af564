"""`parallel = "ulysses"`: one Wan clip on a group of rank processes (diffusers context parallelism).

The rules (group sizes, token counts, scheduling by mode, refusals) are checked without any process. The
group itself runs as 2 CPU rank processes over gloo on the tiny random-weight Wan pipelines: its clips must
equal the one-process clips within 1e-5 (compared on the float frames before x264), it loads once for
several segments, and a killed rank or a Ctrl-C fails the item and leaves no rank process behind.

On the CPU, diffusers 0.42.1 divides by `torch.accelerator.device_count()` (0): the ranks get the one-line
patch of parallel_harness through `parallel.RANK_SETUP`. They start from a forkserver that has torch and
diffusers imported already (a fresh interpreter per rank costs ~10 s of imports on two shared cores).
"""

from __future__ import annotations

import _socket
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import parallel_harness
import pytest
import torch
from conftest import RecordingCtx

from ttv.backends import registry
from ttv.backends.base import VideoRequest
from ttv.backends.local import common, parallel, parallel_rules
from ttv.backends.local.common import LocalVideoBackend, RenderPlan
from ttv.core.errors import BackendError, ConfigError, InputRejected
from ttv.pipeline.runner import Interrupted

WAN_14B = "Wan-AI/Wan2.1-T2V-14B-Diffusers"
WAN_1_3B = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
TOL = 1e-5


def wan(options: dict[str, Any]) -> LocalVideoBackend:
    backend = registry.create("wan", options, kind="video")
    assert isinstance(backend, LocalVideoBackend)
    return backend


@pytest.fixture
def gpus(monkeypatch: pytest.MonkeyPatch) -> Any:
    def visible(n: int) -> None:
        monkeypatch.setattr(common, "visible_gpus", lambda: list(range(n)))

    return visible


# ------------------------------------------------------------------------------ rules, no processes


def test_valid_group_sizes_follow_the_head_counts_of_the_wan_configs() -> None:
    assert parallel_rules.valid_sizes("ulysses", 12) == [2, 3, 4, 6]  # Wan 2.1 1.3B: 12 heads x 128
    assert parallel_rules.valid_sizes("ulysses", 40) == [2, 4, 5, 8]  # 14B and 2.2 A14B: 40 heads x 128
    assert parallel_rules.valid_sizes("ulysses", 24) == [2, 3, 4, 6, 8]  # 2.2 TI2V-5B: 24 heads
    assert parallel_rules.valid_sizes("ring", 12) == [2, 3, 4, 5, 6, 7, 8]  # ring splits tokens only
    assert parallel_rules.valid_sizes("ulysses+ring", 12) == [4, 6, 8]  # ring 2 x ulysses 2, 3, 4


def test_heads_and_token_counts_of_real_wan_sizes() -> None:
    b14, b13 = wan({"model": WAN_14B}), wan({"model": WAN_1_3B})
    assert (b14.attention_heads(), b13.attention_heads()) == (40, 12)
    p480 = RenderPlan("t2v", 832, 480, 16, 81, 81, 50, 5.0)
    p720 = RenderPlan("t2v", 1280, 720, 16, 81, 81, 50, 5.0)
    assert b14.token_count(p480) == (32760, "832x480, 81 frames -> 21x30x52 latent patches")
    assert b14.token_count(p720)[0] == 75600  # type: ignore[index]


def test_a_group_the_heads_do_not_divide_is_refused_naming_the_valid_sizes(gpus: Any) -> None:
    gpus(8)
    with pytest.raises(ConfigError) as e14:
        wan({"model": WAN_14B, "parallel": "ulysses", "parallel_gpus": 3}).worker_backends()
    assert "40 attention heads do not divide by 3" in e14.value.message
    assert e14.value.hint == "valid GPUs per clip (parallel_gpus) for this model: 2, 4, 5, 8"
    with pytest.raises(ConfigError) as e13:
        wan({"model": WAN_1_3B, "parallel": "ulysses", "parallel_gpus": 8}).worker_backends()
    assert e13.value.hint is not None and e13.value.hint.endswith("2, 3, 4, 6")
    with pytest.raises(ConfigError, match="only 4 GPUs are selected"):
        wan({"model": WAN_14B, "parallel": "ulysses", "parallel_gpus": 8, "gpus": "0,1,2,3"}).worker_backends()
    with pytest.raises(ConfigError, match="needs an attention backend that returns the log-sum-exp") as ring:
        wan({"model": WAN_14B, "parallel": "ring"}).worker_backends()  # the default "native" cannot do ring
    assert ring.value.hint is not None and "flash" in ring.value.hint and "native," not in ring.value.hint
    with pytest.raises(ConfigError, match="does not support context parallelism"):
        wan({"model": WAN_14B, "parallel": "ulysses", "attention": "xformers"}).worker_backends()
    with pytest.raises(ConfigError, match="both give a clip several GPUs"):
        wan({"model": WAN_14B, "parallel": "ulysses", "gpus_per_worker": 2}).worker_backends()


def plan_of(model: str, mode: str, segments: int, **options: Any) -> parallel_rules.GroupPlan:
    backend = wan({"model": model, "parallel": "ulysses", **options})
    backend.set_schedule(mode, segments)
    return parallel.group_plan(backend)


def test_chaining_puts_all_gpus_or_the_largest_valid_group_on_one_clip(gpus: Any) -> None:
    gpus(4)
    p = plan_of(WAN_14B, "chain", 5)
    assert p.groups == [[0, 1, 2, 3]]
    assert p.describe("chain") == "chain: one clip on 4 GPUs, ulysses"
    gpus(8)
    p = plan_of(WAN_1_3B, "chain", 5)  # 12 heads: 8 and 7 do not divide them
    assert p.groups == [[0, 1, 2, 3, 4, 5]]
    assert p.describe("chain") == "chain: one clip on 6 GPUs, ulysses (largest valid group)"
    assert plan_of(WAN_14B, "chain", 5, parallel="ring", attention="flash").groups == [list(range(8))]
    assert plan_of(WAN_14B, "chain", 5, parallel_gpus=2).groups == [[0, 1]]  # one group: one clip at a time


def test_keyframe_mode_keeps_one_clip_per_gpu_unless_segments_are_fewer(gpus: Any) -> None:
    gpus(8)
    p = plan_of(WAN_14B, "keyframe", 12)
    assert p.groups == [[g] for g in range(8)]
    assert p.describe("keyframe") == ("keyframe: one clip per GPU (8 at once), no sequence parallelism "
                                      "(12 segments >= 8 GPUs)")
    p = plan_of(WAN_14B, "keyframe", 2)
    assert p.groups == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert p.describe("keyframe") == "keyframe: 2 clips at once, each on 4 GPUs, ulysses (2 segments on 8 GPUs)"
    assert plan_of(WAN_1_3B, "keyframe", 3).groups == [[0, 1], [2, 3], [4, 5], [6, 7]]
    # a fixed group size wins over the mode
    assert plan_of(WAN_14B, "keyframe", 12, parallel_gpus=4).groups == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_the_workers_of_a_chain_run_are_one_rank_group(gpus: Any) -> None:
    gpus(4)
    backend = wan({"model": WAN_14B, "parallel": "ulysses"})
    backend.set_schedule("chain", 3)
    [worker] = backend.worker_backends()
    assert isinstance(worker, LocalVideoBackend) and worker.rank_group is not None
    assert worker.rank_group.spec.devices == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
    assert worker.rank_group.spec.options["parallel"] == "none"  # each rank is one plain pipeline
    assert not worker.rank_group.procs  # started on the first segment, not before
    assert (backend.group_size, worker.group_size) == (4, 4)


@pytest.mark.parametrize(("name", "why"), [
    ("ltx", "fails with the text attention mask its pipelines always pass"),
    ("hunyuan", "HunyuanVideo has no context-parallel plan in diffusers 0.42.1"),
    ("framepack", "no context-parallel plan"),
])
def test_ltx_hunyuan_and_framepack_refuse_parallel_with_the_reason(name: str, why: str, gpus: Any) -> None:
    gpus(4)
    backend = registry.create(name, {"parallel": "ulysses"}, kind="video")
    with pytest.raises(ConfigError, match="is not supported") as exc:
        backend.worker_backends()
    assert why in exc.value.message


def test_without_gpus_parallel_is_refused() -> None:
    with pytest.raises(ConfigError, match="needs CUDA GPUs and none is visible"):
        wan({"model": WAN_14B, "parallel": "ulysses"}).worker_backends()


def test_a_segment_whose_tokens_do_not_split_is_rejected_before_anything_runs(
        wan_t2v_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "CPU_RANKS", True)
    backend = wan({"model": str(wan_t2v_model), "parallel": "ulysses", "parallel_gpus": 2})
    [worker] = backend.worker_backends()
    # 80x48, 9 frames -> 3 x 3 x 5 = 45 tokens: odd
    req = VideoRequest(segment_id="s000", prompt="waves", duration=0.5, width=80, height=48, fps=16, seed=1)
    for b in (backend, worker):
        with pytest.raises(InputRejected) as exc:
            b.validate_inputs(req)
        assert "45 video tokens (80x48, 9 frames -> 3x3x5 latent patches)" in exc.value.message
        assert exc.value.hint is not None and exc.value.hint.endswith("group sizes this segment allows: 3, 5")
    assert worker.rank_group is not None and not worker.rank_group.procs


# --------------------------------------------------------------------------- 2 CPU rank processes


@pytest.fixture
def cpu_ranks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "CPU_RANKS", True)
    monkeypatch.setattr(parallel, "RANK_SETUP", [parallel_harness.SETUP])
    monkeypatch.setattr(parallel, "START_METHOD", "forkserver")
    # Python 3.11's forkserver ignores sys.path: the preload module is found through PYTHONPATH (the repo root)
    root = str(Path(__file__).resolve().parents[2])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])]))
    torch.multiprocessing.set_forkserver_preload(["tests.local.parallel_preload"])
    guard = socket.socket.connect

    def local_only(self: socket.socket, address: Any) -> Any:  # the forkserver's unix socket; no network
        if self.family == socket.AF_UNIX:
            return _socket.socket.connect(self, address)
        return guard(self, address)

    monkeypatch.setattr(socket.socket, "connect", local_only)
    parallel_harness.capture_floats(monkeypatch.setattr)


def gone(pids: list[int]) -> bool:
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        return False
    return True


def max_diff(a: Path, b: Path) -> float:
    x, y = np.load(f"{a}.npy"), np.load(f"{b}.npy")
    assert x.shape == y.shape
    return float(np.abs(x - y).max())


def group_worker(options: dict[str, Any]) -> tuple[LocalVideoBackend, LocalVideoBackend, parallel.RankGroup]:
    main = wan({**options, "parallel": "ulysses", "parallel_gpus": 2})
    [worker] = main.worker_backends()
    assert isinstance(worker, LocalVideoBackend) and worker.rank_group is not None
    return main, worker, worker.rank_group


def test_t2v_on_two_ranks_equals_one_process_loads_once_and_a_killed_rank_fails_cleanly(
        wan_t2v_model: Path, tmp_path: Path, cpu_ranks: None) -> None:
    options = {"model": str(wan_t2v_model), "steps": 2}
    reqs = [VideoRequest(segment_id=f"s{i:03d}", prompt="waves at dusk on the sea", duration=0.5, width=64,
                         height=64, fps=16, seed=7 + i) for i in range(3)]
    one = wan(options).worker_backends()[0]
    for r in reqs:
        one.generate(r, tmp_path / f"one-{r.segment_id}.mp4", RecordingCtx())
    main, worker, group = group_worker(options)
    ctx = RecordingCtx()
    try:
        pids: list[list[int]] = []
        for r in reqs:
            worker.generate(r, tmp_path / f"two-{r.segment_id}.mp4", ctx)
            pids.append(group.pids())
            if len(pids) == 1:
                for pid in pids[0]:  # Ctrl-C in a terminal reaches the ranks too: they leave it to ttv
                    os.kill(pid, signal.SIGINT)
        diffs = [max_diff(tmp_path / f"one-{r.segment_id}.mp4", tmp_path / f"two-{r.segment_id}.mp4") for r in reqs]
        print(f"t2v 1-process vs 2-rank max abs diff per segment: {diffs}")
        assert max(diffs) <= TOL
        # one start, one load per rank, the same two processes for all three segments
        assert group.starts == 1 and [i["load_count"] for i in group.rank_info] == [1, 1]
        assert [i["text_encoder"] for i in group.rank_info] == [True, False]  # rank 0 encodes for both
        assert pids[0] == pids[1] == pids[2] and len(pids[0]) == 2
        assert [t for t, _ in ctx.events].count("model.loaded") == 1 and worker.load_count == 1
        assert ctx.steps() == [(1, 2), (2, 2)] * 3

        os.kill(pids[0][1], signal.SIGKILL)  # rank 1 dies between segments
        t0 = time.monotonic()
        with pytest.raises(BackendError) as exc:
            worker.generate(reqs[0], tmp_path / "dead.mp4", ctx)
        assert exc.value.code == "RANK_DIED" and "rank 1 (exit code -9)" in exc.value.message
        assert time.monotonic() - t0 < 15  # the watcher, not a collective timeout, noticed it
        assert not group.procs and gone(pids[0])
        assert not (tmp_path / "dead.mp4").exists()
    finally:
        main.close()
    assert not group.procs


class StopAt(RecordingCtx):
    """Ctrl-C at the first denoising step (the runner's context raises Interrupted), noting the rank pids."""

    def __init__(self, group: parallel.RankGroup) -> None:
        super().__init__(stop_after=1, exc=Interrupted)
        self.group = group
        self.pids: list[int] = []

    def progress(self, *args: Any, **kwargs: Any) -> None:
        self.pids = self.pids or self.group.pids()
        super().progress(*args, **kwargs)


def test_ctrl_c_stops_every_rank(wan_t2v_model: Path, tmp_path: Path, cpu_ranks: None) -> None:
    main, worker, group = group_worker({"model": str(wan_t2v_model), "steps": 3})
    ctx = StopAt(group)
    req = VideoRequest(segment_id="s000", prompt="a cat", duration=0.5, width=64, height=64, fps=16, seed=3)
    try:
        with pytest.raises(Interrupted):
            worker.generate(req, tmp_path / "c.mp4", ctx)
        assert len(ctx.pids) == 2 and not group.procs and gone(ctx.pids)
    finally:
        main.close()


@pytest.mark.parametrize("model", ["wan_flf_model", "wan22_model"])  # Wan 2.1 FLF2V; Wan 2.2 A14B (2 experts)
def test_flf2v_with_last_image_on_two_ranks_equals_one_process(model: str, keyframes: list[Path], tmp_path: Path,
                                                              cpu_ranks: None, request: pytest.FixtureRequest) -> None:
    options = {"model": str(request.getfixturevalue(model)), "steps": 2}
    req = VideoRequest(segment_id="s000", prompt="a dog on the beach", duration=0.5, width=64, height=64, fps=16,
                       seed=11, first_image=keyframes[0], last_image=keyframes[1])
    res1 = wan(options).worker_backends()[0].generate(req, tmp_path / "one.mp4", RecordingCtx())
    main, worker, group = group_worker(options)
    try:
        res2 = worker.generate(req, tmp_path / "two.mp4", RecordingCtx())
    finally:
        main.close()
    assert res1.info["mode"] == res2.info["mode"] == "flf2v"
    diff = max_diff(tmp_path / "one.mp4", tmp_path / "two.mp4")
    print(f"{model} flf2v (last_image) 1-process vs 2-rank max abs diff: {diff}")
    assert diff <= TOL


def test_ti2v_style_per_token_timesteps_on_two_ranks_equal_one_process(tiny_dir: Path, tmp_path: Path,
                                                                        cpu_ranks: None) -> None:
    import local_tiny

    model = tiny_dir / "wan22-ti2v"
    if not (model / "model_index.json").exists():
        local_tiny.wan22_ti2v(model)
    options = {"model": str(model), "steps": 2}
    req = VideoRequest(segment_id="s000", prompt="the sea at dusk", duration=0.5, width=64, height=64, fps=16, seed=5)
    wan(options).worker_backends()[0].generate(req, tmp_path / "one.mp4", RecordingCtx())
    main, worker, _ = group_worker(options)
    try:
        worker.generate(req, tmp_path / "two.mp4", RecordingCtx())
    finally:
        main.close()
    diff = max_diff(tmp_path / "one.mp4", tmp_path / "two.mp4")
    print(f"ti2v-style (expand_timesteps) 1-process vs 2-rank max abs diff: {diff}")
    assert diff <= TOL


def _watch(parent: int) -> None:
    parallel._watch_parent(parent)


def test_a_rank_exits_when_the_ttv_process_is_gone() -> None:
    """ttv killed with SIGKILL cannot stop its ranks: each rank watches it and exits by itself."""
    import multiprocessing
    import subprocess

    ttv = subprocess.Popen(["sleep", "60"])  # stands in for the ttv process
    rank = multiprocessing.get_context("fork").Process(target=_watch, args=(ttv.pid,))
    rank.start()
    try:
        time.sleep(0.3)
        assert rank.is_alive()
        ttv.kill()
        ttv.wait()
        rank.join(timeout=5)
        assert rank.exitcode == 3
    finally:
        ttv.kill()
        if rank.is_alive():
            rank.kill()


def decoded(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])])


def test_a_chain_film_on_two_ranks_equals_the_one_process_film(small_project: Any, cli: Any, wan_flf_model: Path,
                                                               cpu_ranks: None) -> None:
    roots = {}
    for name, extra in (("one", ""), ("two", 'parallel = "ulysses"\nparallel_gpus = 2\n')):
        root = small_project("chain", segments=2, backend="wan", name=name)
        toml = root / "ttv.toml"
        toml.write_text(toml.read_text() + f'\n[backends.wan]\nmodel = "{wan_flf_model}"\nsteps = 2\n{extra}')
        result = cli("run", "-p", root)
        assert result.exit_code == 0, result.output
        roots[name] = root
    for seg in ("s000", "s001"):
        [a] = (roots["one"] / "clips").glob(f"{seg}*.npy")
        [b] = (roots["two"] / "clips").glob(f"{seg}*.npy")
        diff = float(np.abs(np.load(a) - np.load(b)).max())
        print(f"chain {seg} 1-process vs 2-rank max abs diff: {diff}")
        assert diff <= TOL
    one, two = decoded(roots["one"] / "final.mp4"), decoded(roots["two"] / "final.mp4")
    assert one.shape == two.shape and np.array_equal(one, two)  # the same film, frame for frame
    events = (roots["two"] / ".ttv" / "events.jsonl").read_text()
    assert events.count('"model.loaded"') == 1 and "CPU (2 ranks, ulysses)" in events


# --------------------------------------------------------------------------- doctor and estimate


def fake_gpus(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    from ttv.core import gpu

    gpus = [{"index": i, "name": "NVIDIA H100 80GB HBM3", "mem_total": 80 * 2**30} for i in range(n)]
    monkeypatch.setattr(gpu, "query_gpus", lambda: (gpus, ""))


def parallel_project(small_project: Any, mode: str, segments: int, options: str, name: str = "film") -> Path:
    root = small_project(mode, segments=segments, backend="wan", name=name)
    toml = root / "ttv.toml"
    toml.write_text(toml.read_text() + f'\n[backends.wan]\nmodel = "{WAN_14B}"\n{options}')
    return root


@pytest.mark.parametrize(("mode", "segments", "options", "line", "status"), [
    ("chain", 3, 'parallel = "ulysses"\n', "chain: one clip on 4 GPUs, ulysses", "ok"),
    ("keyframe", 2, 'parallel = "ulysses"\n', "keyframe: 2 clips at once, each on 2 GPUs, ulysses", "ok"),
    ("chain", 3, 'parallel = "ulysses"\nparallel_gpus = 3\n',
     'parallel refused: wan: parallel = "ulysses" cannot use a group of 3 GPUs', "fail"),
])
def test_doctor_shows_the_gpu_plan(small_project: Any, monkeypatch: pytest.MonkeyPatch, mode: str, segments: int,
                                   options: str, line: str, status: str) -> None:
    from ttv.pipeline import doctor
    from ttv.pipeline.project import Project

    fake_gpus(monkeypatch, 4)
    project = Project.load(parallel_project(small_project, mode, segments, options))
    backend = registry.create("wan", project.config.backends.get("wan"), kind="video")
    check = doctor._parallel_plan(project, doctor.Use("wan", "video", True, "backend"), backend, 4)
    assert check.detail.startswith(line) and check.status == status
    if status == "fail":
        assert check.detail.endswith("valid GPUs per clip (parallel_gpus) for this model: 2, 4, 5, 8)")


def test_estimate_shows_the_gpu_plan_and_divides_the_chain_time(small_project: Any, cli: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    fake_gpus(monkeypatch, 4)
    roots = {name: parallel_project(small_project, "chain", 2, opts, name)
             for name, opts in (("plain", ""), ("par", 'parallel = "ulysses"\n'))}
    seconds = {}
    for name, root in roots.items():
        result = cli("estimate", "-p", root, "--json")
        assert result.exit_code == 0, result.output
        clips = [i for i in json.loads(result.stdout)["items"] if i["kind"] == "clip"]
        seconds[name] = [i["seconds"] for i in clips]
        if name == "par":
            assert "on 4 GPUs (ulysses): projected 3.5x faster" in clips[0]["source"]
    speedup = parallel_rules.projected_speedup("ulysses", 4)
    assert seconds["par"] == pytest.approx([s / speedup for s in seconds["plain"]], abs=0.06)  # 0.1 s rounding
    text = cli("estimate", "-p", roots["par"])
    assert "GPU plan: wan: chain: one clip on 4 GPUs, ulysses" in text.output


def test_the_keyframe_provider_refuses_parallel() -> None:
    provider = registry.create("diffusers", {"parallel": "ulysses"}, kind="image")
    with pytest.raises(ConfigError, match="is for video backends"):
        provider.worker_backends()  # type: ignore[attr-defined]


def test_an_error_on_every_rank_is_reported_as_itself(wan_flf_model: Path, tmp_path: Path, cpu_ranks: None) -> None:
    """A failure before any collective (an unreadable start image) reaches the user as the ranks' own error,
    not as a dead rank; the group is stopped (the next segment starts a fresh one)."""
    bad = tmp_path / "k.png"
    bad.write_text("not an image")
    main, worker, group = group_worker({"model": str(wan_flf_model), "steps": 2})
    req = VideoRequest(segment_id="s001", prompt="a dog", duration=0.5, width=64, height=64, fps=16, seed=1,
                       first_image=bad)
    try:
        with pytest.raises(InputRejected, match="cannot read conditioning image"):
            worker.generate(req, tmp_path / "x.mp4", RecordingCtx())
        assert not group.procs and group.starts == 1
    finally:
        main.close()



@pytest.mark.parametrize(("mode", "segments", "groups"), [
    ("chain", 3, [[0, 1]]),  # the tiny model has 2 heads: 2 is its largest valid group
    ("keyframe", 2, [[0, 1], [2, 3]]),  # 2 clips, 4 GPUs: each clip on 2
    ("keyframe", 4, [[0], [1], [2], [3]]),  # as many clips as GPUs: one clip per GPU
])
def test_the_runner_tells_the_backend_its_mode_and_clip_count(small_project: Any, cli: Any, wan_flf_model: Path,
                                                              monkeypatch: pytest.MonkeyPatch, mode: str,
                                                              segments: int, groups: list[list[int]]) -> None:
    monkeypatch.setattr(common, "visible_gpus", lambda: [0, 1, 2, 3])
    plans: list[parallel_rules.GroupPlan] = []
    make = parallel.parallel_workers

    def spy(backend: LocalVideoBackend) -> list[Any]:
        workers = make(backend)
        assert backend.group_plan is not None
        plans.append(backend.group_plan)
        return workers

    monkeypatch.setattr(parallel, "parallel_workers", spy)
    root = small_project(mode, segments=segments, backend="wan")
    toml = root / "ttv.toml"
    toml.write_text(toml.read_text() + f'\n[backends.wan]\nmodel = "{wan_flf_model}"\nsteps = 2\nparallel = "ulysses"\n')
    for step in ("plan", "keyframes"):
        assert cli(step, "-p", root).exit_code == 0
    result = cli("render" if mode == "keyframe" else "chain", "-p", root, "--dry-run")
    assert result.exit_code == 0, result.output
    assert [p.groups for p in plans] == [groups]  # nothing started: a dry run only plans
