"""Shared fixtures: small offline projects (tiny size, few frames) so end-to-end tests stay fast."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

IDEA = "A lighthouse keeper finds a message in a bottle. She sails to the island on the map. At dawn she finds her brother."


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read or write the real user's config or keys; never pick up real API keys."""
    monkeypatch.setenv("TTV_HOME", str(tmp_path_factory.mktemp("ttv-home")))
    for var in ("RUNWAYML_API_SECRET", "GOOGLE_API_KEY", "GEMINI_API_KEY", "FAL_KEY", "MINIMAX_API_KEY",
                "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture(autouse=True)
def _reset_process_state() -> object:
    """Price overrides and --key values are process-wide: never let one test's leak into another."""
    from ttv.core import keys, prices

    yield
    prices.set_overrides({})
    keys._session.clear()


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
