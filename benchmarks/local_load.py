"""Local model, N segments on one worker: total time ~= one load + N generations (never a load per segment).

Builds a tiny random-weight Wan T2V pipeline, saves it with `save_pretrained`, then times, through the real
WanBackend code path (from_pretrained from disk, denoising with step callbacks, mp4 encoding):

  load      one pipeline load on a fresh worker
  generate  one segment on an already loaded worker (median)
  ttv       N segments on ONE worker (what `ttv render` does per GPU)
  naive     N segments with a fresh worker per segment (a load per segment; what a per-clip script does)

and prints the ratios the design targets:
  ttv / (N * (load + generate))   well below 1: the load is paid once
  ttv / (load + N * generate)     about 1

Usage: python benchmarks/local_load.py [--segments 6] [--size 64] [--frames 9] [--steps 2]
CPU only; needs the `local` extra. Takes a few seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "local"))


from tests.fakeserver import RecordingCtx as Ctx  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--segments", type=int, default=6)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    import local_tiny

    from ttv.backends import registry
    from ttv.backends.base import VideoRequest

    tmp = Path(tempfile.mkdtemp(prefix="ttv-local-load-"))
    model = local_tiny.wan_t2v(tmp / "wan-t2v")
    opts = {"model": str(model), "steps": args.steps, "frames": args.frames}
    n = args.segments

    def request(i: int) -> VideoRequest:
        return VideoRequest(
            segment_id=f"s{i:03d}",
            prompt="a lighthouse at dusk",
            duration=args.frames / 16,
            width=args.size,
            height=args.size,
            fps=16,
            seed=i,
        )

    def fresh_worker() -> Any:
        return registry.create("wan", opts, kind="video").worker_backends()[0]

    # warm up imports and kernels so the first measurement is not an import measurement
    w = fresh_worker()
    w.generate(request(0), tmp / "warm.mp4", Ctx())

    loads, gens = [], []
    for _ in range(3):
        w = fresh_worker()
        t0 = time.perf_counter()
        w.pipeline()
        loads.append(time.perf_counter() - t0)
        for i in range(2):
            t0 = time.perf_counter()
            w.generate(request(i), tmp / f"g{i}.mp4", Ctx())
            gens.append(time.perf_counter() - t0)
    load, gen = statistics.median(loads), statistics.median(gens)

    w = fresh_worker()
    t0 = time.perf_counter()
    for i in range(n):
        w.generate(request(i), tmp / f"ttv{i}.mp4", Ctx())
    ttv = time.perf_counter() - t0
    assert w.load_count == 1

    t0 = time.perf_counter()
    for i in range(n):
        fresh_worker().generate(request(i), tmp / f"naive{i}.mp4", Ctx())
    naive = time.perf_counter() - t0

    print(
        f"tiny Wan T2V, {args.size}x{args.size}, {args.frames} frames, {args.steps} steps, N={n}, "
        f"torch threads={args.threads}"
    )
    print(f"load            {load * 1000:8.1f} ms (median of 3)")
    print(f"generate        {gen * 1000:8.1f} ms per segment (median of 6, incl. mp4 encode)")
    print(f"ttv (1 worker)  {ttv:8.3f} s for {n} segments, pipeline loads: {w.load_count}")
    print(f"naive           {naive:8.3f} s for {n} segments, {n} loads")
    print(
        f"ratio ttv / (N*(load+generate)) = {ttv / (n * (load + gen)):.2f}   (naive measured: "
        f"{naive / (n * (load + gen)):.2f})"
    )
    print(f"ratio ttv / (load + N*generate) = {ttv / (load + n * gen):.2f}   (target ~1.0)")


if __name__ == "__main__":
    main()
