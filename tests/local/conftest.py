"""Fixtures for the local diffusers backends: tiny random-weight pipelines saved to tmp dirs (loaded back
through the real `from_pretrained` path), a recording JobContext, and a no-network guard."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")
torch.set_num_threads(1)  # tiny models + OpenMP oversubscription = 20x slower (environment.md 3.4)

import local_tiny  # noqa: E402

from tests.fakeserver import RecordingCtx  # noqa: E402  (tests import it from this conftest)


@pytest.fixture
def ctx() -> RecordingCtx:
    return RecordingCtx()


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test (models must load from disk only)."""

    def guard(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access attempted: {args[:1]}")

    monkeypatch.setattr(socket, "create_connection", guard)
    monkeypatch.setattr(socket.socket, "connect", guard)


@pytest.fixture(autouse=True)
def _no_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run as on a CPU-only machine unless they patch visible_gpus themselves."""
    from ttv.backends.local import common

    monkeypatch.setattr(common, "visible_gpus", lambda: [])


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny-models")


def _once(tiny_dir: Path, name: str, build: Any) -> Any:
    target = tiny_dir / name
    marker = tiny_dir / f"{name}.done"
    if not marker.exists():
        result = build(target)
        marker.write_text("ok")
        return result
    return target


@pytest.fixture(scope="session")
def wan_t2v_model(tiny_dir: Path) -> Path:
    return _once(tiny_dir, "wan-t2v", local_tiny.wan_t2v)


@pytest.fixture(scope="session")
def wan_flf_model(tiny_dir: Path) -> Path:
    return _once(tiny_dir, "wan-flf", local_tiny.wan_flf)


@pytest.fixture(scope="session")
def wan_i2v_model(tiny_dir: Path) -> Path:
    return _once(tiny_dir, "wan-i2v", local_tiny.wan_i2v)


@pytest.fixture(scope="session")
def wan22_model(tiny_dir: Path) -> Path:
    return _once(tiny_dir, "wan22-i2v-moe", local_tiny.wan22_i2v_moe)


@pytest.fixture(scope="session")
def ltx_model(tiny_dir: Path) -> Path:
    return _once(tiny_dir, "ltx", local_tiny.ltx_t2v)


@pytest.fixture(scope="session")
def ltx_condition_model(tiny_dir: Path) -> Path:
    return _once(tiny_dir, "ltx-condition", local_tiny.ltx_condition)


@pytest.fixture(scope="session")
def wan_vace_model(tiny_dir: Path) -> Path:
    return _once(tiny_dir, "wan-vace", local_tiny.wan_vace)


@pytest.fixture(scope="session")
def skyreels_model(tiny_dir: Path) -> Path:
    return _once(tiny_dir, "skyreels-df", local_tiny.skyreels_df)


@pytest.fixture(scope="session")
def hunyuan_model(tiny_dir: Path) -> Path:
    return _once(tiny_dir, "hunyuan", local_tiny.hunyuan_t2v)


@pytest.fixture(scope="session")
def hunyuan_i2v_model(tiny_dir: Path) -> Path:
    return _once(tiny_dir, "hunyuan-i2v", local_tiny.hunyuan_i2v)

@pytest.fixture(scope="session")
def framepack_models(tiny_dir: Path) -> dict[str, Path]:
    return local_tiny.framepack(tiny_dir / "framepack")


@pytest.fixture(scope="session")
def sd_model(tiny_dir: Path) -> Path:
    return _once(tiny_dir, "sd", local_tiny.sd_text2image)


@pytest.fixture(scope="session")
def keyframes(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three 64x64 PNG keyframes with different colours."""
    import numpy as np
    from PIL import Image

    d = tmp_path_factory.mktemp("keyframes")
    out = []
    rng = np.random.default_rng(0)
    for i in range(3):
        arr = (rng.random((64, 64, 3)) * 80 + 60 * i).clip(0, 255).astype("uint8")
        p = d / f"k{i:03d}.png"
        Image.fromarray(arr).save(p)
        out.append(p)
    return out
