"""Backends imported inside Ray actors by tests (on the actors' PYTHONPATH, set by conftest)."""

from __future__ import annotations

from typing import Any, ClassVar

from ttv.backends.local.wan import WanBackend


class OomWan(WanBackend):
    """Wan whose model load runs out of GPU memory: classify_errors turns it into BackendError(code=OOM)."""

    name: ClassVar[str] = "wan"

    def _load_pipeline(self, device: str, dtype: Any, device_map: dict[str, Any]) -> Any:
        import torch

        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 79.1 GiB total)")


class BrokenWorkersWan(WanBackend):
    """Wan whose workers cannot be planned (as on a node with a broken CUDA driver): the actor cannot start."""

    name: ClassVar[str] = "wan"

    def worker_backends(self) -> list[Any]:
        raise RuntimeError("CUDA driver initialization failed (fake)")


class CpuRankGroupWan(WanBackend):
    """Wan with `parallel` whose rank group runs on the CPU inside the actor (the session's GPUs are only
    declared to Ray; torch is CPU-only): the CPU-rank switch and device-count patch of tests/local."""

    name: ClassVar[str] = "wan"

    def worker_backends(self) -> list[Any]:
        import sys
        from pathlib import Path

        local = str(Path(__file__).resolve().parents[1] / "local")
        if local not in sys.path:
            sys.path.append(local)
        from ttv.backends.local import parallel

        parallel.CPU_RANKS = True
        parallel.RANK_SETUP = ["parallel_harness:rank_setup"]
        return super().worker_backends()
