"""What the CPU tests of `parallel` run inside every rank process (through parallel.RANK_SETUP) and in the
test process itself: the one-line device-count patch diffusers 0.42.1 needs on a CPU-only torch, one
thread per process, and a capture of the float frames each clip was encoded from (saved next to the clip
as `<clip>.npy`), so the tests compare 1-process and 2-process output before the lossy x264 step."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

SETUP = "parallel_harness:rank_setup"


def cpu_device_count() -> None:
    """diffusers 0.42.1 (modeling_utils.py, `_resolve_parallel_config`) picks the rank's device as
    `rank % torch.accelerator.device_count()`, which is 0 on a CPU-only torch."""
    import torch

    torch.accelerator.device_count = lambda: 1  # type: ignore[assignment]


def capture_floats(patch: Callable[[Any, str, Any], None] = setattr) -> None:
    """common.write_mp4 also saves the float frames its uint8 input came from, as `<output>.npy`
    (`patch`: the test's monkeypatch.setattr, so the test process gets its module back afterwards)."""
    import numpy as np

    from ttv.backends.local import common

    if getattr(common.write_mp4, "_captures", False):
        return
    last: dict[str, Any] = {}
    to_uint8, write = common.frames_to_uint8, common.write_mp4

    def frames_to_uint8(frames: Any) -> Any:
        last["frames"] = np.asarray(frames, dtype=np.float32)
        return to_uint8(frames)

    def write_mp4(frames: Any, output: Any, fps: int, crf: int) -> None:
        np.save(f"{output}.npy", last.pop("frames"))
        write(frames, output, fps, crf)

    write_mp4._captures = True  # type: ignore[attr-defined]
    patch(common, "frames_to_uint8", frames_to_uint8)
    patch(common, "write_mp4", write_mp4)


def rank_setup() -> None:
    import torch

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(1)
    cpu_device_count()
    capture_floats()
