"""Fixtures for the remote backends: fake servers, a fake JobContext, keys, keyframe PNGs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakeserver import FakeCtx
from ttv.backends.base import VideoRequest

from .fakes import FalFake, MiniMaxFake, RunwayFake, VeoFake, VideoFactory

__all__ = ["FakeCtx"]  # re-exported: the remote tests import it from here

KEYS = {
    "RUNWAYML_API_SECRET": "key_runway_SECRET_0123456789abcdef",
    "GOOGLE_API_KEY": "AQ.google_SECRET_0123456789abcdef",
    "FAL_KEY": "fal_SECRET_0123456789abcdef:0123",
    "MINIMAX_API_KEY": "mm_SECRET_0123456789abcdef",
}
@pytest.fixture
def api_keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for var, value in KEYS.items():
        monkeypatch.setenv(var, value)
    return dict(KEYS)


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> VideoFactory:
    return VideoFactory(tmp_path_factory.mktemp("videos"))


@pytest.fixture(autouse=True)
def _fal_no_sdk_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """fal-client retries 429/408/409 ten times with real sleeps; ttv owns retries, so tests turn it off."""
    try:
        import fal_client.client as fc
    except ImportError:  # pragma: no cover
        return
    monkeypatch.setattr(fc, "MAX_ATTEMPTS", 1)


@pytest.fixture
def runway_fake(videos: VideoFactory) -> Iterator[RunwayFake]:
    fake = RunwayFake(videos, KEYS["RUNWAYML_API_SECRET"])
    yield fake
    fake.close()


@pytest.fixture
def veo_fake(videos: VideoFactory) -> Iterator[VeoFake]:
    fake = VeoFake(videos, KEYS["GOOGLE_API_KEY"])
    yield fake
    fake.close()


@pytest.fixture
def fal_fake(videos: VideoFactory) -> Iterator[FalFake]:
    fake = FalFake(videos, KEYS["FAL_KEY"])
    yield fake
    fake.close()


@pytest.fixture
def minimax_fake(videos: VideoFactory) -> Iterator[MiniMaxFake]:
    fake = MiniMaxFake(videos, KEYS["MINIMAX_API_KEY"])
    yield fake
    fake.close()


def make_png(path: Path, width: int = 128, height: int = 72, color: tuple[int, int, int] = (200, 40, 40)) -> Path:
    from PIL import Image

    Image.new("RGB", (width, height), color).save(path, format="PNG")
    return path


@pytest.fixture
def keyframes(tmp_path: Path) -> tuple[Path, Path]:
    return make_png(tmp_path / "k000.png"), make_png(tmp_path / "k001.png", color=(40, 40, 200))


def request(first: Path | None = None, last: Path | None = None, *, duration: float = 5, width: int = 1280,
            height: int = 720, prompt: str = "a lighthouse at dusk", segment_id: str = "s000") -> VideoRequest:
    return VideoRequest(segment_id=segment_id, prompt=prompt, duration=duration, width=width, height=height, fps=24,
                        seed=7, first_image=first, last_image=last)
