"""`--dry-run` writes nothing: every command that takes it, on a new, a half-done and a finished project,
leaves every byte of the project folder and of the user config folder as it was; and it shows the
whole run (plan, keyframes, clips, stitch) with its cost, even when a backend cannot run here."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from ttv.core.tomlio import load_toml, write_toml


def snapshot(*roots: Path) -> dict[str, tuple[bytes, int]]:
    files: dict[str, tuple[bytes, int]] = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() or path.is_symlink():
                st = path.lstat()
                files[str(path)] = (path.read_bytes() if path.is_file() else b"", st.st_mtime_ns)
    return files


def user_home() -> Path:
    return Path(os.environ["TTV_HOME"])


def dry_runs(root: Path, images: Path) -> list[list[str]]:
    return [
        ["run", "-p", str(root), "--dry-run"],
        ["run", "-p", str(root), "--dry-run", "--force", "--json"],
        ["keyframes", "-p", str(root), "--dry-run"],
        ["keyframes", "-p", str(root), "--dry-run", "--provider", "files", "--from-dir", str(images)],
        ["keyframes", "-p", str(root), "--dry-run", "--provider", "diffusers"],
        ["keyframes", "-p", str(root), "--dry-run", "--reroll", "k001"],
        ["render", "-p", str(root), "--dry-run", "--force", "-q"],
        ["stitch", "-p", str(root), "--dry-run", "--force"],
    ]


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "my-images"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (160, 96), (40 * i, 90, 120)).save(folder / f"k00{i}.png")
    return folder


@pytest.mark.parametrize("stage", ["new", "planned", "half-done", "finished"])
def test_every_dry_run_leaves_every_byte(small_project, cli, images: Path, stage: str) -> None:
    root = small_project("keyframe", segments=2)
    if stage != "new":
        assert cli("plan", "-p", root).exit_code == 0
    if stage == "half-done":
        assert cli("keyframes", "-p", root).exit_code == 0
    if stage == "finished":
        assert cli("run", "-p", root).exit_code == 0
    before = snapshot(root, user_home())
    for args in dry_runs(root, images):
        if stage in ("new", "planned") and args[0] == "stitch":
            continue  # nothing to stitch yet: an error, tested elsewhere
        result = cli(*args)
        assert result.exit_code in (0, 2, 3), (args, result.output)
        after = snapshot(root, user_home())
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        assert not changed, f"ttv {' '.join(args[:1] + args[3:])} changed {changed}"


def test_dry_run_before_plan_shows_the_whole_run_with_its_cost(small_project, cli) -> None:
    root = small_project("keyframe", segments=2)
    result = cli("run", "-p", root, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    steps = {s["step"]: s for s in json.loads(result.stdout)["steps"]}
    assert list(steps) == ["plan", "keyframes", "render", "stitch"]
    assert [w["id"] for w in steps["render"]["would_run"]] == ["s000", "s001"]
    assert [w["id"] for w in steps["stitch"]["would_run"]] == ["final"]
    assert not (root / "plan.toml").exists()


def test_dry_run_with_force_and_quiet_lists_the_ids(small_project, cli) -> None:
    root = small_project("keyframe", segments=3)
    assert cli("run", "-p", root).exit_code == 0
    result = cli("render", "-p", root, "--dry-run", "--force", "-q")
    assert result.exit_code == 0
    assert result.stdout.split() == ["s000", "s001", "s002"]


def test_dry_run_without_a_key_still_shows_the_work_and_its_cost(small_project, cli, monkeypatch) -> None:
    monkeypatch.delenv("RUNWAYML_API_SECRET", raising=False)
    root = small_project("keyframe", segments=2)
    cfg = load_toml(root / "ttv.toml")
    cfg.update(backend="runway", width=1280, height=720)
    write_toml(root / "ttv.toml", cfg)
    assert cli("plan", "-p", root).exit_code == 0
    assert cli("keyframes", "-p", root).exit_code == 0
    result = cli("render", "-p", root, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    (step,) = json.loads(result.stdout)["steps"]
    assert [w["id"] for w in step["would_run"]] == ["s000", "s001"]
    assert all(w["cost_usd"] > 0 and "RUNWAYML_API_SECRET" in w["note"] for w in step["would_run"])
    real = cli("render", "-p", root)
    assert real.exit_code == 3 and not (root / "clips").exists()


def test_estimate_quiet_exit_code_is_the_same_with_json(small_project, cli) -> None:
    root = small_project("keyframe", segments=2)
    assert cli("estimate", "-p", root, "-q").exit_code == 1
    assert cli("estimate", "-p", root, "-q", "--json").exit_code == 1
    assert cli("run", "-p", root).exit_code == 0
    assert cli("estimate", "-p", root, "-q", "--json").exit_code == 0


def test_keyframes_provider_that_cannot_run_leaves_ttv_toml(small_project, cli, monkeypatch) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    root = small_project("keyframe", segments=2)
    assert cli("plan", "-p", root).exit_code == 0
    before = (root / "ttv.toml").read_bytes()
    result = cli("keyframes", "-p", root, "--provider", "gemini-image")
    assert result.exit_code == 3
    assert (root / "ttv.toml").read_bytes() == before
