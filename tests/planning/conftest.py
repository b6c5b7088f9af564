"""Fixtures for planning tests: isolated keys, fake LLM servers, projects, a context with a virtual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ttv.pipeline.project import Project, parse_config, save_config

from .fakes import FakeCtx, GeminiFake, OpenAIFake

__all__ = ["FakeCtx"]

GOOGLE_KEY = "AIza_google_SECRET_0123456789abcdef"
OPENAI_KEY = "sk-openai_SECRET_0123456789abcdef"
@pytest.fixture(autouse=True)
def _no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Planning retries sleep through the context's clock: record, never block."""
    slept: list[float] = []
    from ttv.pipeline import planning

    monkeypatch.setattr(planning._SimpleContext, "sleep", lambda self, s: slept.append(s))
    return slept


@pytest.fixture
def google_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GOOGLE_API_KEY", GOOGLE_KEY)
    return GOOGLE_KEY


@pytest.fixture
def openai_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    return OPENAI_KEY


@pytest.fixture
def gemini_fake() -> Iterator[GeminiFake]:
    fake = GeminiFake(GOOGLE_KEY)
    yield fake
    fake.close()


@pytest.fixture
def openai_fake() -> Iterator[OpenAIFake]:
    fake = OpenAIFake(OPENAI_KEY)
    yield fake
    fake.close()


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Project]:
    """A project folder with ttv.toml (no plan yet)."""

    def make(name: str = "film", **settings: Any) -> Project:
        root = tmp_path / name
        root.mkdir()
        data: dict[str, Any] = {"idea": "A lighthouse keeper finds a message in a bottle. He reads it at dawn.",
                                "duration": 15.0, "width": 128, "height": 72, "fps": 8}
        data.update(settings)
        save_config(root, parse_config(data, "test"))
        return Project.load(root)

    return make
