"""Fixtures for `ttv estimate` tests: hand-written projects (ttv.toml + plan.toml), isolated keys and prices."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from typer.testing import CliRunner


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No GPUs and no debug mode from the developer's machine (keys, TTV_HOME and price overrides are
    isolated by tests/conftest.py)."""
    monkeypatch.delenv("TTV_DEBUG", raising=False)
    monkeypatch.setitem(sys.modules, "pynvml", None)  # no GPUs: local work is estimated on one worker


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write_project(root: Path, *, segments: list[dict[str, Any]] | None = None, with_keyframes: bool = True,
                  **config: Any) -> Path:
    """A project folder with ttv.toml and (unless segments is None) a plan.toml written by hand.

    Keyframe mode: segment i runs from keyframe k{i} to k{i+1}. Chaining: only s000 has a start keyframe.
    """
    root.mkdir(parents=True, exist_ok=True)
    cfg: dict[str, Any] = {"schema": 1, "idea": "A lighthouse keeper finds a message in a bottle", "mode": "keyframe",
                           "duration": 20, "width": 1280, "height": 720, "fps": 24, "backend": "animatic",
                           "keyframes": "card", "planner": "heuristic"}
    cfg.update(config)
    if "runway" in (cfg["backend"], *cfg.get("fallback", [])) and cfg["mode"] == "keyframe":
        # These figures are gen4_turbo's, which takes a first frame only: the explicit opt-in it needs in
        # keyframe mode (without it keyframe mode's default is veo3.1_fast, which takes both).
        runway = cfg.setdefault("backends", {}).setdefault("runway", {})
        runway.setdefault("model", "gen4_turbo")
        if runway["model"] == "gen4_turbo":
            runway.setdefault("end_frame", "ignore")
    (root / "ttv.toml").write_text(tomli_w.dumps(cfg))
    if segments is None:
        return root
    segs = []
    for i, seg in enumerate(segments):
        entry = {"id": f"s{i:03d}", "duration": 5, "prompt": f"shot {i} of the lighthouse", **seg}
        if with_keyframes and cfg["mode"] == "keyframe":
            entry.setdefault("start_keyframe", f"k{i:03d}")
            entry.setdefault("end_keyframe", f"k{i + 1:03d}")
        elif with_keyframes and i == 0:
            entry.setdefault("start_keyframe", "k000")
        segs.append(entry)
    count = (len(segments) + 1) if cfg["mode"] == "keyframe" else 1
    plan: dict[str, Any] = {"schema": 1, "planner": "heuristic", "segments": segs}
    if with_keyframes:
        plan["keyframes"] = [{"id": f"k{i:03d}", "prompt": f"keyframe {i}"} for i in range(count)]
    (root / "plan.toml").write_text(tomli_w.dumps(plan))
    return root


@pytest.fixture
def project_factory(tmp_path: Path) -> Any:
    counter = {"n": 0}

    def make(**kw: Any) -> Path:
        counter["n"] += 1
        return write_project(tmp_path / f"p{counter['n']}", **kw)

    return make
