"""`ttv run --only`: segment and keyframe ids both work; the keyframes a named segment needs are made;
a partial run does not stitch until every clip is done."""

from __future__ import annotations

import json

from tests.helpers import record
from ttv.core.tomlio import load_toml, write_toml


def _done(root, rel):
    return (root / rel).is_file() and record(root, rel.replace(".mp4", ".toml").replace(".png", ".toml"))["status"] == "done"


def test_run_only_a_segment_makes_its_keyframes_and_waits_with_the_stitch(small_project, cli):
    root = small_project("keyframe", segments=3)
    result = cli("run", "-p", root, "--only", "s001")
    assert result.exit_code == 0, result.output
    assert _done(root, "keyframes/k001.png") and _done(root, "keyframes/k002.png")
    assert not (root / "keyframes" / "k000.png").exists() and not (root / "keyframes" / "k003.png").exists()
    assert _done(root, "clips/s001.mp4") and not (root / "clips" / "s000.mp4").exists()
    assert not (root / "final.mp4").exists() and "not stitching" in result.output
    # the rest, then the film
    assert cli("run", "-p", root).exit_code == 0 and (root / "final.mp4").is_file()


def test_run_only_after_an_edit_redoes_that_segment_and_the_film(small_project, cli):
    root = small_project("keyframe", segments=3)
    assert cli("run", "-p", root).exit_code == 0
    plan = (root / "plan.toml").read_text()
    first_prompt = plan.index("prompt = ")
    (root / "plan.toml").write_text(plan[:first_prompt] + 'prompt = "a different opening shot"\n'
                                    + plan[plan.index("\n", first_prompt) + 1:])
    before = {p.name: p.stat().st_mtime_ns for p in (root / "clips").glob("*.mp4")}
    result = cli("run", "-p", root, "--only", "s000,k003", "--json")
    assert result.exit_code == 0, result.output
    steps = {r["step"]: r for r in json.loads(result.stdout)["steps"]}
    assert steps["render"]["done"] == ["s000"] and steps["keyframes"]["skipped"] == ["k000", "k001", "k003"]
    assert steps["stitch"]["done"] == ["final"]
    after = {p.name: p.stat().st_mtime_ns for p in (root / "clips").glob("*.mp4")}
    assert [n for n in before if before[n] != after[n]] == ["s000.mp4"]


def test_run_only_with_force_remakes_only_what_is_named(small_project, cli):
    root = small_project("keyframe", segments=2)
    assert cli("run", "-p", root).exit_code == 0
    k1 = (root / "keyframes" / "k001.png").stat().st_mtime_ns
    result = cli("run", "-p", root, "--only", "s001", "--force", "--json")
    assert result.exit_code == 0, result.output
    steps = {r["step"]: r for r in json.loads(result.stdout)["steps"]}
    assert steps["render"]["done"] == ["s001"] and steps["keyframes"]["done"] == []
    assert (root / "keyframes" / "k001.png").stat().st_mtime_ns == k1, "its keyframes were not re-rolled"


def test_run_only_unknown_id_is_a_usage_error(small_project, cli):
    root = small_project("keyframe", segments=2)
    result = cli("run", "-p", root, "--only", "s009")
    assert result.exit_code == 2
    assert "unknown items: s009" in result.output and "segments: s000, s001" in result.output


def test_run_only_with_force_still_makes_a_stale_keyframe_the_segment_needs(small_project, cli):
    root = small_project("keyframe", segments=2)
    assert cli("run", "-p", root).exit_code == 0
    plan = load_toml(root / "plan.toml")
    k2 = next(k for k in plan["keyframes"] if k["id"] == "k002")
    k2["prompt"] = "A new closing image. " + k2["prompt"]
    write_toml(root / "plan.toml", plan)
    k0 = (root / "keyframes" / "k000.png").stat().st_mtime_ns
    result = cli("run", "-p", root, "--only", "s001", "--force", "--json")
    assert result.exit_code == 0, result.output
    steps = {r["step"]: r for r in json.loads(result.stdout)["steps"]}
    assert steps["keyframes"]["done"] == ["k002"], "the stale end keyframe is remade, not rendered from"
    assert steps["keyframes"]["skipped"] == ["k001"] and steps["render"]["done"] == ["s001"]
    assert (root / "keyframes" / "k000.png").stat().st_mtime_ns == k0
    status = cli("status", "-p", root, "--json")
    assert status.exit_code == 0
    assert all(item["status"] == "done" for item in json.loads(status.stdout)["items"])
