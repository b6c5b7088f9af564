"""Fixtures for keyframe tests: isolated keys, fake Gemini and Runway text_to_image servers, projects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakeserver import FakeCtx
from tests.planning.fakes import GeminiFake
from ttv.pipeline.project import Project, parse_config, save_config

from .fakes import RunwayImageFake

GOOGLE_KEY = "AIza_google_SECRET_0123456789abcdef"
RUNWAY_KEY = "key_runway_SECRET_0123456789abcdef"
__all__ = ["FakeCtx"]


@pytest.fixture(autouse=True)
def _no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The runner's default clock: record sleeps, never block (retries and polls in CLI tests)."""
    from ttv.pipeline import runner

    slept: list[float] = []
    monkeypatch.setattr(runner.Clock, "__init__", _fake_clock_init(slept))
    return slept


def _fake_clock_init(slept: list[float]) -> Callable[..., None]:
    state = {"now": 0.0}

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        state["now"] += seconds

    def init(self: Any, sleep_fn: Any = None, now_fn: Any = None) -> None:
        self.sleep_fn = sleep_fn or sleep
        self.now_fn = now_fn or (lambda: state["now"])

    return init


@pytest.fixture
def keys_set(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("GOOGLE_API_KEY", GOOGLE_KEY)
    monkeypatch.setenv("RUNWAYML_API_SECRET", RUNWAY_KEY)
    return {"google": GOOGLE_KEY, "runway": RUNWAY_KEY}


@pytest.fixture
def gemini_fake() -> Iterator[GeminiFake]:
    fake = GeminiFake(GOOGLE_KEY)
    yield fake
    fake.close()


@pytest.fixture
def runway_fake() -> Iterator[RunwayImageFake]:
    fake = RunwayImageFake(RUNWAY_KEY)
    yield fake
    fake.close()


def make_png(path: Path, width: int = 64, height: int = 64, color: tuple[int, int, int] = (200, 40, 40)) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), color).save(path, format="PNG")
    return path


def png_bytes(width: int, height: int, color: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Project]:
    """A planned project (heuristic plan) with the given settings."""

    def make(name: str = "film", backends: dict[str, dict[str, Any]] | None = None, **settings: Any) -> Project:
        from ttv.pipeline.planning import plan_step

        root = tmp_path / name
        root.mkdir()
        data: dict[str, Any] = {"idea": "A lighthouse keeper finds a message in a bottle. He reads it at dawn.",
                                "segments": 3, "duration": 15.0, "width": 128, "height": 72, "fps": 8,
                                "backends": backends or {}}
        data.update(settings)
        save_config(root, parse_config(data, "test"))
        project = Project.load(root)
        plan_step(project)
        return Project.load(root)

    return make
