"""Shared fixtures: small offline projects (tiny size, few frames) so end-to-end tests stay fast."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fakeserver import PROVIDER_ENV, isolated_keys

IDEA = "A lighthouse keeper finds a message in a bottle. She sails to the island on the map. At dawn she finds her brother."


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test: a private TTV_HOME, no API keys or base URLs from the developer's environment, and no
    --key values or price overrides left by another test; no colour codes in captured output."""
    monkeypatch.setenv("NO_COLOR", "1")
    with isolated_keys(monkeypatch, tmp_path_factory, PROVIDER_ENV):
        yield


@pytest.fixture
def cli() -> Callable[..., object]:
    from ttv.cli import app

    runner = CliRunner()

    def invoke(*args: str, cwd: Path | None = None) -> object:
        old = os.getcwd()
        if cwd is not None:
            os.chdir(cwd)
        try:
            return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        finally:
            os.chdir(old)

    return invoke


@pytest.fixture
def small_project(tmp_path: Path, cli: Callable[..., object]) -> Callable[..., Path]:
    """Create a tiny project: 160x96 at 8 fps, `segments` segments of 1 s each."""

    def make(mode: str = "keyframe", segments: int = 3, name: str = "film", **extra: object) -> Path:
        root = tmp_path / name
        args = ["init", str(root), "--idea", IDEA, "--mode", mode, "--segments", str(segments),
                "--duration", str(float(segments)), "--width", "160", "--height", "96", "--fps", "8"]
        for key, value in extra.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        result = cli(*args)
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
        return root

    return make
