"""`ttv --help` cold start versus `python -c "import typer"` (target: at most 2x).

Run: python benchmarks/cli_startup.py [repeats]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def best_of(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    base = best_of([sys.executable, "-c", "import typer"], repeats)
    ttv = best_of([sys.executable, "-m", "ttv", "--help"], repeats)
    heavy = subprocess.run(
        [sys.executable, "-c", "import sys, ttv.cli; print(sorted(m for m in ('torch','diffusers','textual',"
         "'runwayml','google.genai','fal_client','openai') if m in sys.modules))"],
        check=True, capture_output=True, text=True).stdout.strip()
    print(f"python -c 'import typer': {base * 1000:.0f} ms (median of {repeats})")
    print(f"ttv --help:                {ttv * 1000:.0f} ms")
    print(f"ratio: {ttv / base:.2f}x (target <= 2.0x); heavy modules imported: {heavy}")


if __name__ == "__main__":
    main()
