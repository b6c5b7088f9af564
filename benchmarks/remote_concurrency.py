"""Remote keyframe-mode throughput against a fake provider (DESIGN §8).

N segments, each a remote job that takes L seconds on the (fake) provider, run with concurrency C
through `backend.generate` in a ThreadPoolExecutor (the runner's scheduler will replace this).
Ideal wall time is ceil(N/C) * L; target ratio <= 1.10. Also prints HTTP requests per job.

    .venv/bin/python benchmarks/remote_concurrency.py                 # runway, N=12, C=4, L=0.5
    .venv/bin/python benchmarks/remote_concurrency.py --provider all --latency 1.0
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.remote.fakes import FAKES, VideoFactory  # noqa: E402
from ttv.backends import registry  # noqa: E402
from ttv.backends.base import VideoRequest  # noqa: E402

KEY_ENV = {"runway": "RUNWAYML_API_SECRET", "veo": "GOOGLE_API_KEY", "fal": "FAL_KEY", "minimax": "MINIMAX_API_KEY"}
DURATION = {"runway": 5, "veo": 8, "fal": 5, "minimax": 6}


class RealCtx:
    """A JobContext on the real clock."""

    def __init__(self) -> None:
        self.job_id: str | None = None

    def remember_job(self, job_id: str, **info: Any) -> None:
        self.job_id = job_id

    def progress(self, fraction: float | None = None, **kw: Any) -> None:
        pass

    def event(self, type: str, **data: Any) -> None:
        pass

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def now(self) -> float:
        return time.monotonic()


def serve(provider: str, key: str, latency: float, folder: str, conn: Connection) -> None:
    """Child process: the fake provider (a real provider does not share our GIL)."""
    fake = FAKES[provider](VideoFactory(Path(folder)), key)
    fake.latency = latency
    fake.videos.get(DURATION[provider])
    conn.send(fake.url)
    conn.recv()  # "stop"
    conn.send(
        {
            "requests": len(fake.requests),
            "api_requests": len([r for r in fake.requests if not r.path.startswith("/files/")]),
            "submissions": fake.submissions,
        }
    )
    fake.close()


def through_runner(provider: str, url: str, n: int, c: int, interval: float, folder: Path) -> tuple[float, list[float]]:
    """The same N jobs as a real keyframe-mode project through ttv's scheduler (records, events, slots)."""
    from ttv.core.schemas import ProjectConfig
    from ttv.pipeline.planning import plan_step
    from ttv.pipeline.project import Project, save_config
    from ttv.pipeline.steps import RunOptions, clips_step, keyframes_step

    root = Path(tempfile.mkdtemp(prefix=f"project-{provider}-", dir=folder))
    save_config(root, ProjectConfig.model_validate({
        "idea": "A benchmark film.", "mode": "keyframe", "segments": n, "duration": n * DURATION[provider],
        "width": 1280, "height": 720, "fps": 24, "backend": provider,
        "backends": {provider: {"base_url": url, "poll_interval_s": interval, "concurrency": c}}}))
    project = Project.load(root)
    plan_step(project)
    keyframes_step(project, RunOptions())  # card keyframes: not timed
    t0 = time.perf_counter()
    report = clips_step(project, RunOptions(), step="render")
    wall = time.perf_counter() - t0
    assert len(report.done) == n, [o.error for o in report.failed]
    return wall, [o.cost_usd for o in report.outcomes]


def run(provider: str, n: int, c: int, latency: float, interval: float, folder: Path, videos: VideoFactory,
        via_runner: bool = False) -> dict:
    key = f"bench_key_{provider}_0123456789"
    os.environ[KEY_ENV[provider]] = key
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=serve, args=(provider, key, latency, str(folder), child))
    proc.start()
    url = parent.recv()
    try:
        backend = registry.create(
            provider, {"base_url": url, "poll_interval_s": interval, "concurrency": c}, kind="video"
        )
        from PIL import Image

        frame = folder / "k.png"
        Image.new("RGB", (640, 360), (90, 120, 200)).save(frame)
        reqs = [
            VideoRequest(
                segment_id=f"s{i:03d}",
                prompt=f"shot {i}",
                duration=DURATION[provider],
                width=1280,
                height=720,
                fps=24,
                seed=i,
                first_image=frame,
            )
            for i in range(n)
        ]
        backend.warm_up()  # SDK import + client, once per run (the runner can do the same)

        def one(req: VideoRequest) -> float:
            return backend.generate(req, folder / f"{provider}-{req.segment_id}.mp4", RealCtx()).cost_usd

        if via_runner:
            wall, costs = through_runner(provider, url, n, c, interval, folder)
        else:
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=backend.concurrency()) as pool:
                costs = list(pool.map(one, reqs))
            wall = time.perf_counter() - t0
        backend.close()
    finally:
        parent.send("stop")
        stats = parent.recv()
        proc.join()
    ideal = math.ceil(n / c) * latency
    return {
        "provider": provider,
        "wall": wall,
        "ideal": ideal,
        "ratio": wall / ideal,
        "sequential": n * latency,
        "requests_per_job": stats["requests"] / n,
        "api_requests_per_job": stats["api_requests"] / n,
        "submissions": stats["submissions"],
        "cost": sum(costs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--provider", default="runway", choices=[*FAKES, "all"])
    ap.add_argument("-n", type=int, default=12)
    ap.add_argument("-c", type=int, default=4)
    ap.add_argument("--latency", type=float, default=0.5, help="seconds each fake job takes")
    ap.add_argument("--poll-interval", type=float, default=0.05)
    ap.add_argument("--repeat", type=int, default=1, help="runs per provider; the best is printed")
    ap.add_argument("--runner", action="store_true", help="go through ttv's own scheduler (a real project)")
    args = ap.parse_args()
    providers = list(FAKES) if args.provider == "all" else [args.provider]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        videos = VideoFactory(folder)
        via = "ttv's scheduler (clips_step)" if args.runner else "a bare thread pool"
        print(f"N={args.n} C={args.c} L={args.latency}s poll={args.poll_interval}s via {via}; target ratio <= 1.10")
        for p in providers:
            runs = [run(p, args.n, args.c, args.latency, args.poll_interval, folder, videos, via_runner=args.runner)
                    for _ in range(max(1, args.repeat))]
            r = min(runs, key=lambda x: x["wall"])
            print(
                f"{r['provider']:8s} wall {r['wall']:.3f}s  ideal {r['ideal']:.2f}s  ratio {r['ratio']:.3f}  "
                f"(sequential would be {r['sequential']:.1f}s)  requests/job {r['requests_per_job']:.1f} "
                f"(API {r['api_requests_per_job']:.1f})  submissions {r['submissions']}  cost ${r['cost']:.2f}"
            )


if __name__ == "__main__":
    main()
