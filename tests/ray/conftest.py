"""Fixtures for `--executor ray`: ONE local Ray instance per session (num_cpus=2, and 2 *declared* GPUs so
the one-actor-per-GPU path runs: the actors see CUDA_VISIBLE_DEVICES but torch is CPU-only, so they render
on the CPU), and the tiny random-weight Wan pipelines of tests/local saved to a tmp dir."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
# Appended, not prepended: tests/local's own `from conftest import ...` must keep finding its conftest.
for folder in (HERE.parent / "local", HERE):  # local_tiny (the tiny pipelines of tests/local); ray_support
    if str(folder) not in sys.path:
        sys.path.append(str(folder))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ray = pytest.importorskip("ray")
torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")
torch.set_num_threads(1)  # tiny models + OpenMP oversubscription = 20x slower (environment.md 3.4)

import local_tiny  # noqa: E402
from ray_support import FAKE_GPUS  # noqa: E402


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    """Started once; RayVideoBackend joins it (and so never shuts it down). The actors (processes forked by
    the raylet started here) import ray_fakes from this folder and keep to one thread on 2 cores."""
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "OMP_NUM_THREADS")}
    os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [saved["PYTHONPATH"]])])
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        ray.init(num_cpus=2, num_gpus=FAKE_GPUS, include_dashboard=False, logging_level=logging.WARNING,
                 log_to_driver=False)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
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
