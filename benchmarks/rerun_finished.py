"""Re-running a finished 100-segment offline project: wall time and jobs run (target: 0 jobs, < 1 s).

Builds the project once with tiny frames (that part is not timed), then times `ttv run` on it.
Run: python benchmarks/rerun_finished.py [segments]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def ttv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ttv", *args], check=True, capture_output=True, text=True)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        ttv("init", str(root), "--idea", "A long journey in many small steps.", "--segments", str(n),
            "--duration", str(n * 0.5), "--width", "64", "--height", "64", "--fps", "4")
        t0 = time.perf_counter()
        ttv("run", "-p", str(root))
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = ttv("run", "-p", str(root), "--json")
        rerun = time.perf_counter() - t0
        steps = json.loads(out.stdout)["steps"]
        jobs = sum(len(s["done"]) + len(s["failed"]) + len(s["submitted"]) for s in steps)
        t0 = time.perf_counter()
        ttv("--help")
        startup = time.perf_counter() - t0
    print(f"segments: {n}; first build {build:.1f} s")
    print(f"re-run of the finished project: {rerun:.2f} s wall (process start {startup:.2f} s included), "
          f"{jobs} jobs run (target: 0 jobs, < 1 s)")


if __name__ == "__main__":
    main()
