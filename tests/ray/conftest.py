"""Fixtures for `--executor ray`: ONE local Ray instance per session (num_cpus=2, and 2 *declared* GPUs so
the one-actor-per-GPU path runs: the actors see CUDA_VISIBLE_DEVICES but torch is CPU-only, so they render
on the CPU), and the tiny random-weight Wan pipelines of tests/local saved to a tmp dir."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "local"))  # local_tiny: the same tiny pipelines as tests/local
sys.path.insert(0, str(HERE))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Actors are separate processes: they import ray_fakes from here, and must not oversubscribe 2 cores.
os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])])
os.environ.setdefault("OMP_NUM_THREADS", "1")

ray = pytest.importorskip("ray")
torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")
torch.set_num_threads(1)  # tiny models + OpenMP oversubscription = 20x slower (environment.md 3.4)

import local_tiny  # noqa: E402

FAKE_GPUS = 2


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """Started once; RayVideoBackend joins it (and so never shuts it down)."""
    ray.init(num_cpus=2, num_gpus=FAKE_GPUS, include_dashboard=False, logging_level=logging.WARNING,
             log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny-models")


@pytest.fixture(scope="session")
def wan_flf_model(tiny_dir: Path) -> Path:
    return local_tiny.wan_flf(tiny_dir / "wan-flf")


@pytest.fixture(scope="session")
def wan_t2v_model(tiny_dir: Path) -> Path:
    return local_tiny.wan_t2v(tiny_dir / "wan-t2v")


class RecordingCtx:
    """A JobContext that records progress and events; `stop_after` running steps, progress raises."""

    def __init__(self, stop_after: int | None = None, exc: type[BaseException] = KeyboardInterrupt) -> None:
        self.job_id: str | None = None
        self.progress_calls: list[dict[str, Any]] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.stop_after = stop_after
        self.exc = exc

    def remember_job(self, job_id: str, **info: Any) -> None:
        self.job_id = job_id

    def progress(self, fraction: float | None = None, *, step: int | None = None, total: int | None = None,
                 status: str | None = None, message: str | None = None) -> None:
        self.progress_calls.append({"fraction": fraction, "step": step, "total": total, "status": status})
        if self.stop_after is not None and len(self.steps()) >= self.stop_after:
            raise self.exc()

    def event(self, type: str, **data: Any) -> None:
        self.events.append((type, data))

    def sleep(self, seconds: float) -> None:
        pass

    def now(self) -> float:
        return time.monotonic()

    def steps(self) -> list[tuple[int, int]]:
        return [(c["step"], c["total"]) for c in self.progress_calls if c["status"] == "running"]
