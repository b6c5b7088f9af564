"""A sample project for the dashboard tests, written by hand (no ttv command runs).

`build_project` writes ttv.toml, plan.toml, keyframe and clip records; `SCENARIO` is an event log
that leaves the nine segments in every interesting state. `FakeNvml` stands in for `pynvml`.
"""

from __future__ import annotations

import json
import os
import time
import types
from pathlib import Path
from typing import Any

import tomli_w

T0 = 1_790_000_000.0  # 2026-09-21T14:13:20Z; every timestamp in the sample is relative to it
NOW = T0 + 300.0  # the pinned clock of the tests


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ts))


SEGMENTS = [
    # id, backend override, prompt
    ("s000", "", "Wide shot: a lighthouse on a cliff at dusk, waves crashing"),
    ("s001", "", "The keeper climbs the spiral stairs with a lantern"),
    ("s002", "wan", "Close-up: the lamp turns, light sweeps the sea"),
    ("s003", "", "A green bottle bobs in the surf below the rocks"),
    ("s004", "", "The keeper wades in and grabs the bottle"),
    ("s005", "", "Inside, he uncorks it by the fire"),
    ("s006", "", "The message unrolls: a child's drawing of the lighthouse"),
    ("s007", "", "He looks out the window at a distant ship"),
    ("s008", "", "Dawn: the ship signals back with its lamp"),
]


def write_toml(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tomli_w.dumps(data).encode())


def clip_record(seg: str, **kw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "schema": 1,
        "kind": "clip",
        "id": seg,
        "output": f"{seg}.mp4",
        "backend": "runway",
        "model": "gen4_turbo",
        "estimated_cost_usd": 1.25,
    }
    rec.update(kw)
    return rec


# s001 as the runner leaves it when SCENARIO says it is done (the record is written before the event)
S001_DONE = clip_record("s001", status="done", cost_usd=1.25, seconds=80.0, job_id="task-0001",
                        started_at=iso(T0 + 1), finished_at=iso(T0 + 81))


def build_project(root: Path, *, records: bool = True) -> Path:
    """The project folder as `ttv keyframes` + a `ttv render` in progress would leave it."""
    root.mkdir(parents=True, exist_ok=True)
    write_toml(
        root / "ttv.toml",
        {
            "schema": 1,
            "idea": "A lighthouse keeper finds a message in a bottle",
            "mode": "keyframe",
            "duration": 45,
            "backend": "runway",
            "fallback": ["veo"],
            "keyframes": "card",
            "max_cost_usd": 20.0,
            "backends": {"runway": {"model": "gen4_turbo", "concurrency": 4}, "wan": {"steps": 30}},
        },
    )
    write_toml(
        root / "plan.toml",
        {
            "schema": 1,
            "segments": [
                {
                    "id": sid,
                    "duration": 5,
                    "prompt": prompt,
                    "start_keyframe": f"k{i:03d}",
                    "end_keyframe": f"k{i + 1:03d}",
                    **({"backend": be} if be else {}),
                }
                for i, (sid, be, prompt) in enumerate(SEGMENTS)
            ],
            "keyframes": [{"id": f"k{i:03d}", "prompt": f"keyframe {i}"} for i in range(len(SEGMENTS) + 1)],
        },
    )
    (root / ".ttv").mkdir(exist_ok=True)
    if not records:
        return root
    for i in range(8):  # k008 and k009 are not made yet
        kf = f"k{i:03d}"
        (root / "keyframes").mkdir(exist_ok=True)
        (root / "keyframes" / f"{kf}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        write_toml(
            root / "keyframes" / f"{kf}.toml",
            {
                "schema": 1,
                "kind": "keyframe",
                "id": kf,
                "status": "done",
                "backend": "card",
                "output": f"{kf}.png",
                "started_at": iso(T0 - 100),
                "finished_at": iso(T0 - 99),
                "seconds": 0.4,
            },
        )
    clips = root / "clips"
    clips.mkdir(exist_ok=True)
    (clips / "s000.mp4").write_bytes(b"\x00" * 64)
    write_toml(
        clips / "s000.toml",
        clip_record(
            "s000",
            status="done",
            cost_usd=1.25,
            seconds=61.0,
            job_id="task-0000",
            started_at=iso(T0 - 200),
            finished_at=iso(T0 - 139),
            attempts=[{"n": 1, "backend": "runway", "started_at": iso(T0 - 200), "status": "done", "cost_usd": 1.25}],
        ),
    )
    write_toml(clips / "s001.toml", S001_DONE)
    write_toml(
        clips / "s004.toml",
        clip_record(
            "s004",
            status="failed",
            job_id="task-0004",
            started_at=iso(T0 + 4),
            finished_at=iso(T0 + 60),
            error="Runway rejected the input: SAFETY.INPUT.TEXT",
            attempts=[
                {
                    "n": 1,
                    "backend": "runway",
                    "started_at": iso(T0 + 4),
                    "status": "failed",
                    "error": "SAFETY.INPUT.TEXT",
                    "error_kind": "request",
                    "job_id": "task-0004",
                }
            ],
        ),
    )
    return root


def ev(dt: float, type: str, **data: Any) -> dict[str, Any]:
    return {"ts": round(T0 + dt, 3), "type": type, **data}


SCENARIO: list[dict[str, Any]] = [
    ev(0, "run.started", command="render", pid=4242),
    ev(0.5, "item.skipped", item="s000", step="render", reason="fresh: inputs unchanged"),
    ev(1, "item.started", item="s001", step="render", backend="runway", attempt=1),
    ev(1.2, "item.submitted", item="s001", backend="runway", job_id="task-0001"),
    ev(2, "item.started", item="s002", step="render", backend="wan", attempt=1),
    ev(3, "item.started", item="s003", step="render", backend="runway", attempt=1),
    ev(3.2, "item.submitted", item="s003", backend="runway", job_id="task-0003"),
    ev(4, "item.started", item="s004", step="render", backend="runway", attempt=1),
    ev(4.2, "item.submitted", item="s004", backend="runway", job_id="task-0004"),
    ev(5, "item.started", item="s005", step="render", backend="runway", attempt=1),
    ev(5.1, "item.progress", item="s005", step="render", status="throttled", message="429: too many tasks"),
    ev(6, "item.started", item="s006", step="render", backend="runway", attempt=1),
    ev(6.2, "item.submitted", item="s006", backend="runway", job_id="task-0006"),
    ev(10, "item.started", item="k008", step="keyframes", backend="card", attempt=1),
    ev(20, "item.progress", item="s002", step="render", k=6, n=30),
    ev(40, "item.progress", item="s001", step="render", status="running", fraction=0.5),
    ev(
        60,
        "item.failed",
        item="s004",
        step="render",
        error="Runway rejected the input: SAFETY.INPUT.TEXT",
        error_kind="request",
    ),
    ev(61, "log", level="warning", message="runway: 429 Too Many Requests, backing off 8s"),
    ev(80, "cost", item="s001", usd=1.25, backend="runway"),
    ev(81, "item.done", item="s001", step="render", seconds=80.0, cost_usd=1.25),
    ev(100, "item.progress", item="s002", step="render", k=12, n=30),
    ev(120, "item.progress", item="s006", step="render", status="downloading", fraction=0.9),
    ev(150, "item.started", item="s008", step="render", backend="runway", attempt=1),
    ev(151, "item.retry", item="s008", backend="runway", attempt=2, delay=4, error="503 Service Unavailable"),
    ev(160, "item.fallback", item="s008", **{"from": "runway", "to": "veo"}, reason="quota exhausted"),
    ev(161, "item.started", item="s008", step="render", backend="veo", attempt=3),
    ev(170, "item.submitted", item="s008", backend="veo", job_id="operations/veo-8"),
    ev(200, "item.progress", item="s008", step="render", status="running", fraction=0.4),
    ev(240, "item.progress", item="s003", step="render", status="queued", message="position 3 in queue"),
]


def write_events(root: Path, events: list[dict[str, Any]]) -> Path:
    path = root / ".ttv" / "events.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")
    return path


def append_raw(root: Path, data: bytes) -> None:
    with (root / ".ttv" / "events.jsonl").open("ab") as f:
        f.write(data)


class FakeNvml(types.ModuleType):
    """Enough of `pynvml` for ttv.core.gpu: two GPUs, one without power readings."""

    class NVMLError(Exception):
        pass

    NVML_TEMPERATURE_GPU = 0
    NVML_CLOCK_SM = 1

    def __init__(self, count: int = 2, fail_init: bool = False) -> None:
        super().__init__("pynvml")
        self.count = count
        self.fail_init = fail_init
        self.calls = 0
        self.util_series = [10, 35, 60, 80, 95, 99, 97, 88, 70, 92, 98, 100]
        self.shutdowns = 0

    def nvmlInit(self) -> None:  # noqa: N802 - NVML's names
        if self.fail_init:
            raise self.NVMLError("NVML Shared Library Not Found")

    def nvmlShutdown(self) -> None:  # noqa: N802
        self.shutdowns += 1

    def nvmlSystemGetDriverVersion(self) -> str:  # noqa: N802
        return "570.86.15"

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        return self.count

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:  # noqa: N802
        return i

    def nvmlDeviceGetName(self, h: int) -> str:  # noqa: N802
        return "NVIDIA H100 80GB HBM3" if h == 0 else "NVIDIA RTX 4090"

    def nvmlDeviceGetUUID(self, h: int) -> str:  # noqa: N802
        return f"GPU-{h:08d}"

    def nvmlDeviceGetUtilizationRates(self, h: int) -> Any:  # noqa: N802
        self.calls += 1
        u = self.util_series[(self.calls - 1) % len(self.util_series)]
        return types.SimpleNamespace(gpu=u if h == 0 else u // 3, memory=40)

    def nvmlDeviceGetMemoryInfo(self, h: int) -> Any:  # noqa: N802
        gib = 2**30
        return types.SimpleNamespace(used=61 * gib if h == 0 else 3 * gib, total=80 * gib if h == 0 else 24 * gib)

    def nvmlDeviceGetTemperature(self, h: int, sensor: int) -> int:  # noqa: N802
        return 71 if h == 0 else 45

    def nvmlDeviceGetPowerUsage(self, h: int) -> int:  # noqa: N802
        if h == 1:
            raise self.NVMLError("Not Supported")
        return 301_000

    def nvmlDeviceGetEnforcedPowerLimit(self, h: int) -> int:  # noqa: N802
        if h == 1:
            raise self.NVMLError("Not Supported")
        return 700_000

    def nvmlDeviceGetPowerManagementLimit(self, h: int) -> int:  # noqa: N802
        raise self.NVMLError("Not Supported")

    def nvmlDeviceGetClockInfo(self, h: int, clock: int) -> int:  # noqa: N802
        return 1980


def tree_snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every file under root: the dashboard must leave it unchanged."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            st = p.stat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out
