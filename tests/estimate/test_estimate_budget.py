"""The budget guard refuses before any job is submitted (the fake Runway server counts zero submissions), and
`ttv estimate` follows a project as it gets done: done items cost 0, spent comes from the records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from typer.testing import CliRunner

from ttv.cli import app


def _remote_fakes() -> Any:
    """The remote engineer's fake servers (tests/remote/fakes.py), loaded by path: test folders are not one package."""
    import importlib.util
    import sys

    name = "ttv_tests_remote_fakes"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "remote" / "fakes.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_FAKES = _remote_fakes()  # RunwayFake, VideoFactory (typed Any here: loaded by path)

KEY = "key_runway_BUDGET_0123456789abcdef"


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _FAKES.VideoFactory(tmp_path_factory.mktemp("videos"))


@pytest.fixture
def fake(videos: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    server = _FAKES.RunwayFake(videos, KEY)
    monkeypatch.setenv("RUNWAYML_API_SECRET", KEY)
    yield server
    server.close()


def runway_project(root: Path, fake: Any, **extra: Any) -> Path:
    """Two 4-s gen4_turbo segments (4 x $0.05 = $0.20 each, $0.40 in all) at a small 16:9 size."""
    root.mkdir(parents=True)
    cfg = {"schema": 1, "idea": "A lighthouse keeper finds a message in a bottle", "mode": "keyframe", "duration": 8,
           "width": 320, "height": 180, "fps": 24, "backend": "runway", "keyframes": "card",
           "backends": {"runway": {"model": "gen4_turbo", "end_frame": "ignore", "base_url": fake.url, "poll_interval_s": 0.02,
                                   "concurrency": 2}}, **extra}
    (root / "ttv.toml").write_text(tomli_w.dumps(cfg))
    plan = {"schema": 1, "segments": [
        {"id": "s000", "duration": 4, "prompt": "the lighthouse at dusk", "start_keyframe": "k000",
         "end_keyframe": "k001"},
        {"id": "s001", "duration": 4, "prompt": "a bottle in the surf", "start_keyframe": "k001",
         "end_keyframe": "k002"}],
        "keyframes": [{"id": f"k{i:03d}", "prompt": f"keyframe {i}"} for i in range(3)]}
    (root / "plan.toml").write_text(tomli_w.dumps(plan))
    return root


def test_render_refuses_over_budget_before_any_submission(tmp_path: Path, fake: Any) -> None:
    runner = CliRunner()
    root = runway_project(tmp_path / "film", fake)
    assert runner.invoke(app, ["keyframes", "--project", str(root)]).exit_code == 0
    est = json.loads(runner.invoke(app, ["estimate", "--project", str(root), "--json"]).stdout)
    assert est["totals"]["usd"] == pytest.approx(0.40)

    result = runner.invoke(app, ["render", "--project", str(root), "--max-cost", "0.30"])
    assert result.exit_code == 2, result.output
    assert "budget" in result.stderr and "$0.40" in result.stderr and "$0.30" in result.stderr
    assert fake.submissions == 0 and fake.requests == []
    for rec in (root / "clips").glob("*.toml") if (root / "clips").is_dir() else []:
        assert "submitted" not in rec.read_text()

    # ttv.toml max_cost_usd guards the same way
    text = (root / "ttv.toml").read_text()
    (root / "ttv.toml").write_text("max_cost_usd = 0.35\n" + text)
    result = runner.invoke(app, ["render", "--project", str(root)])
    assert result.exit_code == 2 and fake.submissions == 0


def test_estimate_follows_a_half_finished_project(tmp_path: Path, fake: Any) -> None:
    runner = CliRunner()
    root = runway_project(tmp_path / "film", fake)
    assert runner.invoke(app, ["keyframes", "--project", str(root)]).exit_code == 0
    result = runner.invoke(app, ["render", "--project", str(root), "--max-cost", "1"])
    assert result.exit_code == 0, result.output
    assert fake.submissions == 2

    doc = json.loads(runner.invoke(app, ["estimate", "--project", str(root), "--json"]).stdout)
    clips = [i for i in doc["items"] if i["kind"] == "clip"]
    assert all(c["done"] and c["usd"] == 0 and c["seconds"] == 0 for c in clips)
    assert [c["spent_usd"] for c in clips] == [pytest.approx(0.20), pytest.approx(0.20)]  # 20 credits each
    assert doc["totals"]["spent_usd"] == pytest.approx(0.40)
    assert doc["totals"]["usd"] == 0 and doc["totals"]["remaining"] == 1  # only the stitch is left

    # Edit one prompt: only that segment is stale and costs again.
    plan = (root / "plan.toml").read_text().replace("a bottle in the surf", "a green bottle in the surf")
    (root / "plan.toml").write_text(plan)
    doc = json.loads(runner.invoke(app, ["estimate", "--project", str(root), "--json"]).stdout)
    s0, s1 = (i for i in doc["items"] if i["kind"] == "clip")
    assert s0["done"] and not s1["done"] and s1["status"] == "stale"
    assert s1["usd"] == pytest.approx(0.20) and "prompt changed" in s1["reasons"]
    assert doc["budget"]["projected_usd"] == pytest.approx(0.60)
    # spent + remaining is what the guard compares with the budget: $0.40 + $0.20 > $0.50
    result = runner.invoke(app, ["render", "--project", str(root), "--max-cost", "0.5"])
    assert result.exit_code == 2 and fake.submissions == 2

    assert runner.invoke(app, ["render", "--project", str(root), "--max-cost", "1"]).exit_code == 0
    assert runner.invoke(app, ["stitch", "--project", str(root)]).exit_code == 0
    quiet = runner.invoke(app, ["estimate", "--project", str(root), "-q"])
    assert quiet.exit_code == 0 and quiet.stdout.strip() == ""
