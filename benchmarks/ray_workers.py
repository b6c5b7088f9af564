"""`--executor ray` overhead: what running a local model in Ray actors costs on top of running it here.

Builds the tiny random-weight Wan T2V pipeline of tests/local, then times, through the real code paths:

  ray.init      starting a local Ray (declaring --actors fake GPUs, so that many actors start)
  actors        RayVideoBackend.worker_backends(): the actors start and build the backend (no load yet)
  first         the first segment on one actor (includes its one pipeline load)
  ray           one more segment on a loaded actor (median): request out, progress polled, mp4 bytes back
  local         the same segment with the backend in this process (median)
  overhead      ray - local per segment (polling granularity is 0.2 s, so expect up to ~0.2 s)
  N on K        N segments spread over the K actors from K threads, as the runner schedules them

Usage: python benchmarks/ray_workers.py [--segments 6] [--actors 2] [--size 64] [--frames 9] [--steps 2]
CPU only; needs the `local` and `ray` extras. Takes about half a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "local"))


from tests.fakeserver import RecordingCtx as Ctx  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--segments", type=int, default=6)
    ap.add_argument("--actors", type=int, default=2, help="fake GPUs declared to the local Ray (0: one CPU actor)")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    import local_tiny
    import ray

    from ttv.backends import registry
    from ttv.backends.base import VideoBackend, VideoRequest
    from ttv.pipeline.ray_executor import RayVideoBackend

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        model = local_tiny.wan_t2v(tmp / "wan")
        raw = {"model": str(model), "steps": args.steps, "frames": args.frames}

        def req(i: int) -> VideoRequest:
            return VideoRequest(segment_id=f"s{i:03d}", prompt="a cat on the beach", duration=args.frames / 16,
                                width=args.size, height=args.size, fps=16, seed=i)

        def make() -> VideoBackend:
            backend = registry.create("wan", raw, kind="video")
            assert isinstance(backend, VideoBackend)
            return backend

        # local: the backend in this process
        local = make().worker_backends()[0]
        local.generate(req(0), tmp / "warm.mp4", Ctx())  # the load
        local_times = []
        for r in range(args.repeats):
            t = time.perf_counter()
            local.generate(req(r + 1), tmp / f"l{r}.mp4", Ctx())
            local_times.append(time.perf_counter() - t)
        local.close()

        t = time.perf_counter()
        ray.init(num_cpus=max(2, args.actors), num_gpus=args.actors, include_dashboard=False,
                 logging_level=logging.WARNING, log_to_driver=False)
        init_s = time.perf_counter() - t
        backend = RayVideoBackend.wrap(make(), raw, address=None)
        try:
            t = time.perf_counter()
            workers = backend.worker_backends()
            actors_s = time.perf_counter() - t
            # first segment on each actor (its one load), in parallel
            t = time.perf_counter()
            with ThreadPoolExecutor(len(workers)) as ex:
                list(ex.map(lambda iw: iw[1].generate(req(100 + iw[0]), tmp / f"f{iw[0]}.mp4", Ctx()),
                            enumerate(workers)))
            first_s = time.perf_counter() - t
            ray_times = []
            for r in range(args.repeats):
                t = time.perf_counter()
                workers[0].generate(req(r + 1), tmp / f"r{r}.mp4", Ctx())
                ray_times.append(time.perf_counter() - t)
            # N segments over K actors, one thread per actor taking the next segment
            todo = list(range(args.segments))

            def drain(worker: VideoBackend) -> int:
                done = 0
                while todo:
                    try:
                        i = todo.pop()
                    except IndexError:
                        break
                    worker.generate(req(200 + i), tmp / f"n{i}.mp4", Ctx())
                    done += 1
                return done

            t = time.perf_counter()
            with ThreadPoolExecutor(len(workers)) as ex:
                per_actor = list(ex.map(drain, workers))
            total_s = time.perf_counter() - t
        finally:
            backend.close()
            ray.shutdown()

    ray_med, local_med = statistics.median(ray_times), statistics.median(local_times)
    print(f"segment: {args.size}x{args.size}, {args.frames} frames, {args.steps} steps (tiny Wan T2V, CPU)")
    print(f"ray.init            {init_s:7.2f} s")
    print(f"actors ({len(workers)})         {actors_s:7.2f} s")
    print(f"first (load+gen)    {first_s:7.2f} s")
    print(f"ray segment         {ray_med:7.3f} s (median of {args.repeats})")
    print(f"local segment       {local_med:7.3f} s (median of {args.repeats})")
    print(f"overhead            {ray_med - local_med:7.3f} s per segment")
    print(f"{args.segments} on {len(workers)} actor(s)     {total_s:7.2f} s  (segments per actor: {per_actor})")


if __name__ == "__main__":
    main()
