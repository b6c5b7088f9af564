"""`--executor ray` on a local Ray instance (CPU only) with the tiny Wan pipelines: a project rendered end to
end through `ttv render --executor ray` (one actor per GPU) and `ttv chain --executor ray` (one actor), loads
per actor, progress forwarding, BackendErrors crossing the process boundary intact, stopping a running
segment, GPUs handed over between backends (a fallback), a quiet terminal, and the `ray` extra being
optional."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from ray_support import FAKE_GPUS, RecordingCtx

from ttv.backends import registry
from ttv.backends.base import VideoBackend, VideoRequest
from ttv.core.errors import BackendError, ConfigError
from ttv.core.tomlio import load_toml
from ttv.pipeline.ray_executor import (
    ACTOR_TIMEOUT_ENV,
    AUTH_MODE_ENV,
    RayVideoBackend,
    actor_options,
    plan_actors,
    quiet_local_ray_auth,
    starts_local_ray,
)

ROOT = Path(__file__).resolve().parents[2]


def decode(path: Path) -> tuple[int, int, int]:
    """(decoded frames, width, height): every frame really decoded, not just counted."""
    import av

    with av.open(str(path)) as container:
        frames = [f for f in container.decode(video=0)]
    return len(frames), frames[0].width, frames[0].height


def events(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / ".ttv" / "events.jsonl").read_text().splitlines()]


def prepare(small_project: Any, cli: Any, model: Path, segments: int, mode: str = "keyframe") -> Path:
    """A keyframe-mode (or chaining) project (card keyframes, tiny Wan first-last-frame model, 2 steps), planned
    and with its keyframes made, ready for `ttv render` (`ttv chain`)."""
    root = small_project(mode, segments=segments, backend="wan")
    toml = root / "ttv.toml"
    toml.write_text(toml.read_text() + f'\n[backends.wan]\nmodel = "{model}"\nsteps = 2\n')
    for step in ("plan", "keyframes"):
        result = cli(step, "-p", root)
        assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def started_actors(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of actors each RayVideoBackend started, in order."""
    counts: list[int] = []
    original = RayVideoBackend._start_actors

    def spy(self: RayVideoBackend) -> None:
        original(self)
        counts.append(len(self._actors))

    monkeypatch.setattr(RayVideoBackend, "_start_actors", spy)
    return counts


def wan(model: Path, **options: Any) -> VideoBackend:
    backend = registry.create("wan", {"model": str(model), **options}, kind="video")
    assert isinstance(backend, VideoBackend)
    return backend


def request(**kw: Any) -> VideoRequest:
    base: dict[str, Any] = dict(segment_id="s000", prompt="a cat on the beach", duration=0.5, width=64, height=48,
                                fps=16, seed=3)
    base.update(kw)
    return VideoRequest(**base)


# ------------------------------------------------------------------------------------------ unit


def test_plan_actors_one_per_gpu_or_one_cpu_actor() -> None:
    assert plan_actors([]) == [0]
    assert plan_actors([0.0, 0.0]) == [0]
    assert plan_actors([8.0, 4.0]) == [1] * 12
    assert plan_actors([8.0, 3.0], per_worker=2) == [2] * 5  # an actor's GPUs share a node
    with pytest.raises(ConfigError, match="gpus_per_worker = 4"):
        plan_actors([2.0, 2.0], per_worker=4)
    # max_workers (1 for chaining, which renders one segment at a time) caps the actors, never the GPUs each
    assert plan_actors([8.0, 4.0], max_workers=1) == [1]
    assert plan_actors([8.0, 3.0], per_worker=2, max_workers=3) == [2] * 3
    assert plan_actors([2.0], max_workers=8) == [1] * 2
    assert plan_actors([], max_workers=1) == [0]


def test_local_ray_auth_mode_is_set_only_for_a_ray_ttv_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert starts_local_ray(None) and starts_local_ray("local")
    assert not starts_local_ray("auto") and not starts_local_ray("ray://head:10001")
    monkeypatch.setenv("RAY_ADDRESS", "head:6379")  # e.g. inside a Ray job: ray.init() joins that cluster
    assert not starts_local_ray(None)
    monkeypatch.setenv("RAY_ADDRESS", "local")
    assert starts_local_ray(None)

    monkeypatch.setenv(AUTH_MODE_ENV, "")  # recorded, so that teardown restores the value this process had
    monkeypatch.delenv(AUTH_MODE_ENV)
    quiet_local_ray_auth()  # ray is imported in this process: Ray has read the variable, so it stays unset
    assert AUTH_MODE_ENV not in os.environ
    monkeypatch.delitem(sys.modules, "ray")
    quiet_local_ray_auth()  # before `import ray`: the mode a new local Ray picks anyway, said explicitly
    assert os.environ[AUTH_MODE_ENV] == "token"
    monkeypatch.setenv(AUTH_MODE_ENV, "disabled")
    quiet_local_ray_auth()  # never overrides the user's choice
    assert os.environ[AUTH_MODE_ENV] == "disabled"


def test_actor_options_drop_local_gpu_indices_and_absolutise_paths(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "m").mkdir()
    monkeypatch.chdir(tmp_path)
    out = actor_options({"model": "./m", "gpus": [0, 1], "steps": 2, "negative_prompt": "./none"})
    assert out == {"model": str(tmp_path / "m"), "steps": 2, "negative_prompt": "./none"}  # only what exists


def test_is_available_without_ray_names_the_extra(wan_t2v_model: Path) -> None:
    code = f"""
import sys
sys.modules['ray'] = None
from ttv.backends import registry
from ttv.pipeline.ray_executor import RayVideoBackend
from ttv.core.errors import BackendError
wrapped = RayVideoBackend.wrap(registry.create('wan', {{'model': {str(wan_t2v_model)!r}}}, kind='video'), {{}},
                               address=None)
a = wrapped.is_available()
print(a.ok, wrapped.name, a.reason)
try:
    wrapped.worker_backends()
except BackendError as e:
    print(e.code, e.hint)
print('torch' in sys.modules, 'diffusers' in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("False wan ") and "pip install 'ttv[ray]'" in lines[0]
    assert lines[1].startswith("MISSING_EXTRA") and "pip install 'ttv[ray]'" in lines[1]
    assert lines[2] == "False False"  # wrapping loads no torch/diffusers here


# ------------------------------------------------------------------------------------ end to end


def test_render_through_ray_actors_loads_once_per_actor(ray_session: Any, small_project: Any, cli: Any,
                                                        wan_flf_model: Path, started_actors: list[int]) -> None:
    root = prepare(small_project, cli, wan_flf_model, segments=3)
    result = cli("render", "-p", root, "--executor", "ray")
    assert result.exit_code == 0, result.output
    assert started_actors == [FAKE_GPUS]  # keyframe mode: one actor per GPU
    per_actor: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for i in range(3):
        seg = f"s{i:03d}"
        # 1 s at Wan's 16 fps = 16 frames -> 17 (4k+1), at the project's 160x96, decoded here from the bytes
        assert decode(root / "clips" / f"{seg}.mp4") == (17, 160, 96)
        rec = load_toml(root / "clips" / f"{seg}.toml")
        assert rec["status"] == "done" and rec["backend"] == "wan"
        info = rec["info"]
        assert info["mode"] == "flf2v"  # both keyframes travelled to the actor as bytes and were used
        assert info["device"] == "cpu" and len(info["ray_gpus"]) == 1  # one (declared) GPU per actor
        per_actor[info["ray_actor"]].append(info)
    assert set(per_actor) == set(range(FAKE_GPUS))  # 3 segments, 2 free actors at the start: both worked
    for infos in per_actor.values():  # every actor loaded its pipeline once, however many segments it made
        assert all(i["ray_loads"] == 1 for i in infos)
        assert sorted(i["ray_segments"] for i in infos) == list(range(1, len(infos) + 1))
    ev = events(root)
    assert sum(e["type"] == "model.loaded" for e in ev) == len(per_actor)
    steps = [(e["item"], e.get("k"), e.get("n")) for e in ev if e["type"] == "item.progress" and e.get("k")]
    for seg in ("s000", "s001", "s002"):  # every denoising step of every segment reached events.jsonl
        assert [(k, n) for item, k, n in steps if item == seg] == [(1, 2), (2, 2)]
    assert any(e["type"] == "item.progress" and e.get("status") == "loading" for e in ev)
    # close() killed the actors (their GPUs are free again) but left the session's Ray running
    deadline = time.monotonic() + 10
    while ray_session.available_resources().get("GPU", 0) < FAKE_GPUS and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ray_session.is_initialized() and ray_session.available_resources().get("GPU", 0) == FAKE_GPUS


def test_chain_starts_one_actor_however_many_gpus(ray_session: Any, small_project: Any, cli: Any,
                                                   wan_flf_model: Path, started_actors: list[int]) -> None:
    """Chaining is sequential (each segment starts from the previous clip's last frame): one actor, one model
    load, one GPU held -- not one idle actor with a loaded pipeline per GPU of the cluster."""
    assert ray_session.cluster_resources().get("GPU", 0) == FAKE_GPUS > 1
    root = prepare(small_project, cli, wan_flf_model, segments=2, mode="chain")
    result = cli("chain", "-p", root, "--executor", "ray")
    assert result.exit_code == 0, result.output
    assert started_actors == [1]
    infos = [load_toml(root / "clips" / f"s{i:03d}.toml")["info"] for i in range(2)]
    assert [i["ray_actor"] for i in infos] == [0, 0] and [i["ray_segments"] for i in infos] == [1, 2]
    assert all(i["ray_loads"] == 1 and len(i["ray_gpus"]) == 1 for i in infos)
    assert sum(e["type"] == "model.loaded" for e in events(root)) == 1
    for i in range(2):
        assert decode(root / "clips" / f"s{i:03d}.mp4")[0] == 17


def test_backend_error_in_actor_keeps_kind_code_and_hint(ray_session: Any, wan_t2v_model: Path,
                                                         tmp_path: Path) -> None:
    from ray_fakes import OomWan

    inner = OomWan(OomWan.OptionsModel.model_validate({"model": str(wan_t2v_model), "steps": 2}))
    backend = RayVideoBackend.wrap(inner, {"model": str(wan_t2v_model), "steps": 2}, address=None)
    try:
        workers = backend.worker_backends()
        assert len(workers) == FAKE_GPUS and all(w.concurrency() == 1 for w in workers)
        with pytest.raises(BackendError) as exc:
            workers[1].generate(request(), tmp_path / "x.mp4", RecordingCtx())
    finally:
        backend.close()
    err = exc.value
    assert type(err) is BackendError  # the actor's own exception, unwrapped from RayTaskError
    assert (err.kind, err.code) == ("backend", "OOM")
    assert "out of memory" in err.message and 'offload = "group"' in (err.hint or "")
    assert not (tmp_path / "x.mp4").exists()


def test_actors_that_cannot_start_fail_before_any_segment(ray_session: Any, wan_t2v_model: Path) -> None:
    from ray_fakes import BrokenWorkersWan

    raw = {"model": str(wan_t2v_model)}
    backend = RayVideoBackend.wrap(BrokenWorkersWan(BrokenWorkersWan.OptionsModel.model_validate(raw)), raw,
                                   address=None)
    with pytest.raises(BackendError) as exc:
        backend.worker_backends()
    assert exc.value.code == "RAY_ACTOR_START" and "CUDA driver initialization failed" in exc.value.message
    assert "ttv with the `local` extra" in (exc.value.hint or "")
    with pytest.raises(ConfigError, match="gpus_per_worker = 4"):  # 2 GPUs in the cluster, 4 per actor
        RayVideoBackend.wrap(wan(wan_t2v_model), {**raw, "gpus_per_worker": 4}, address=None).worker_backends()
    assert ray_session.is_initialized()  # a Ray this backend did not start stays up


def test_stop_during_a_segment_cancels_the_remote_task(ray_session: Any, wan_t2v_model: Path,
                                                       tmp_path: Path) -> None:
    # 300 steps (~2 s here): long enough that the stop reaches the actor before the segment ends
    opts = {"model": str(wan_t2v_model), "steps": 300}
    backend = RayVideoBackend.wrap(wan(wan_t2v_model, steps=300), opts, address=None)
    try:
        worker = backend.worker_backends()[0]
        assert isinstance(worker, RayVideoBackend)
        ctx = RecordingCtx(stop_after=1)  # the runner's ctx raises Interrupted (a KeyboardInterrupt) like this
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            worker.generate(request(), tmp_path / "x.mp4", ctx)
        assert time.monotonic() - t0 < 30
        # the actor leaves the pipeline at its next step (generate waits up to 1 s for that; a loaded CI may not)
        deadline = time.monotonic() + 15
        while True:
            stats = ray_session.get(worker.actor.stats.options(concurrency_group="control").remote())
            if stats["running"] is None or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert (stats["stopped"], stats["running"], stats["segments"]) == (1, None, 0), stats
        # the actor is free and its pipeline stays loaded: the next segment renders without a second load
        ctx2 = RecordingCtx()
        result = worker.generate(request(seed=4), tmp_path / "y.mp4", ctx2)
        assert result.info["ray_loads"] == 1 and len(ctx2.steps()) == 300
        assert decode(tmp_path / "y.mp4") == (9, 64, 48)
        assert not [e for e in ctx2.events if e[0] == "model.loaded"]
    finally:
        backend.close()


def wait_for_gpus(ray: Any, count: int) -> float:
    deadline = time.monotonic() + 15
    while ray.available_resources().get("GPU", 0) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return float(ray.available_resources().get("GPU", 0))


def test_fallback_backend_gets_the_gpus_the_first_backends_actors_hold(ray_session: Any, wan_t2v_model: Path,
                                                                       tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Two Ray backends of one run on the same GPUs (a fallback chain of local models): the second one starts
    its actors at once, not after TTV_RAY_ACTOR_TIMEOUT (300 s) spent waiting for GPUs that the first one's
    actors hold. Idle actors are killed at once, a busy one hands over its GPU when its segment ends; the
    first backend gets an actor again (taking an idle GPU back) when next used."""
    monkeypatch.setenv(ACTOR_TIMEOUT_ENV, "90")  # the test fails with RAY_ACTORS_PENDING instead of hanging
    wait_for_gpus(ray_session, FAKE_GPUS)
    first = RayVideoBackend.wrap(wan(wan_t2v_model, steps=300), {"model": str(wan_t2v_model), "steps": 300},
                                 address=None)
    second = RayVideoBackend.wrap(wan(wan_t2v_model, steps=2), {"model": str(wan_t2v_model), "steps": 2},
                                  address=None)
    try:
        busy, idle = first.worker_backends()  # both GPUs
        assert isinstance(busy, RayVideoBackend) and isinstance(idle, RayVideoBackend)
        done: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: done.update(
            result=busy.generate(request(), tmp_path / "busy.mp4", RecordingCtx())))
        thread.start()
        while not busy._gate.locked():
            time.sleep(0.01)
        workers = second.worker_backends()  # kills `idle`, waits for `busy` to finish its segment
        thread.join(timeout=120)
        assert done["result"].info["ray_loads"] == 1 and decode(tmp_path / "busy.mp4") == (9, 64, 48)
        assert len(workers) == FAKE_GPUS and busy._released and idle._released
        result = workers[0].generate(request(), tmp_path / "second.mp4", RecordingCtx())
        assert result.info["ray_loads"] == 1 and decode(tmp_path / "second.mp4") == (9, 64, 48)
        # the first backend again: a new actor for `idle`, on the GPU of an idle actor of the second backend
        ctx = RecordingCtx()
        result = idle.generate(request(seed=5), tmp_path / "again.mp4", ctx)
        assert result.info["ray_loads"] == 1 and not idle._released and len(ctx.steps()) == 300
        assert sum(w._released for w in workers if isinstance(w, RayVideoBackend)) == 1  # only as many as needed
    finally:
        first.close()
        second.close()
    assert wait_for_gpus(ray_session, FAKE_GPUS) == FAKE_GPUS  # close() killed the new actors too


def test_cli_starts_its_own_ray_with_one_cpu_actor(small_project: Any, cli: Any, wan_flf_model: Path) -> None:
    """A real `ttv render --executor ray` process: no Ray running, so it starts a local one (no GPU: one CPU
    actor for both segments), and shuts it down again before it exits. Ray says nothing on the terminal: no
    token authentication warning (ray >= 2.59 logs one for every new local instance unless RAY_AUTH_MODE is
    set), no "Started a local Ray instance", no dashboard."""
    root = prepare(small_project, cli, wan_flf_model, segments=2)
    env = {**os.environ, "RAY_ADDRESS": "local"}  # never join a cluster `ray start`ed on this machine
    env.pop(AUTH_MODE_ENV, None)  # as a user has it (the session's own ray.init set it in this process)
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "ttv", "render", "-p", str(root), "--executor", "ray"],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert time.monotonic() - t0 < 180
    for noise in ("Token authentication", "RAY_AUTH_MODE", "Started a local Ray instance", "dashboard"):
        assert noise not in out.stderr, out.stderr
    infos = [load_toml(root / "clips" / f"s{i:03d}.toml")["info"] for i in range(2)]
    assert [i["ray_actor"] for i in infos] == [0, 0] and all(i["ray_gpus"] == [] for i in infos)
    assert sorted(i["ray_segments"] for i in infos) == [1, 2] and all(i["ray_loads"] == 1 for i in infos)
    assert sum(e["type"] == "model.loaded" for e in events(root)) == 1
    for i in range(2):
        assert decode(root / "clips" / f"s{i:03d}.mp4") == (17, 160, 96)


def test_an_actor_holding_two_gpus_runs_one_rank_group(ray_session: Any, wan_t2v_model: Path,
                                                       tmp_path: Path) -> None:
    """`parallel` under Ray: one actor holds parallel_gpus GPUs and its worker renders each clip on a group of
    that many rank processes (here CPU ranks over gloo: the session's GPUs are declared, torch is CPU-only)."""
    from ray_fakes import CpuRankGroupWan

    raw = {"model": str(wan_t2v_model), "steps": 2, "parallel": "ulysses"}
    with pytest.raises(ConfigError, match="needs parallel_gpus"):
        RayVideoBackend.wrap(wan(wan_t2v_model, steps=2, parallel="ulysses"), raw, address=None).worker_backends()
    raw["parallel_gpus"] = 2
    backend = RayVideoBackend.wrap(CpuRankGroupWan(CpuRankGroupWan.OptionsModel.model_validate(raw)), raw,
                                   address=None)
    try:
        workers = backend.worker_backends()
        assert len(workers) == 1  # FAKE_GPUS = 2: one actor of 2 GPUs
        ctx = RecordingCtx()
        for seed in (3, 4):
            result = workers[0].generate(request(seed=seed, width=64, height=64), tmp_path / f"{seed}.mp4", ctx)
            assert decode(tmp_path / f"{seed}.mp4") == (9, 64, 64)
        assert result.info["frames"] == 9
        loads = [data for kind, data in ctx.events if kind == "model.loaded"]
        assert len(loads) == 1 and loads[0]["device"] == "CPU (2 ranks, ulysses)"  # one group, loaded once
    finally:
        backend.close()
