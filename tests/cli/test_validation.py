"""Broken ttv.toml / plan.toml: exit 2, a message naming the file and the key, and nothing changed."""

from __future__ import annotations

import pytest

from tests.helpers import tree_digest
from ttv.core.tomlio import load_toml, write_toml

CONFIG_CASES = [
    ({"backnd": "animatic"}, "unknown key 'backnd'; did you mean 'backend'?"),
    ({"fps": "fast"}, "fps"),
    ({"duration": -5}, "duration"),
    ({"segments": 0}, "segments"),
    ({"width": 1279}, "1279 is odd"),
    ({"mode": "keyframes"}, "mode"),
    ({"stitch": {"crosfade": 1.0}}, "did you mean 'crossfade'?"),
    ({"schema": 9}, "unsupported schema version 9"),
    ({"backend": "runwya"}, "did you mean 'runway'?"),
    ({"fallback": ["animatic"]}, "must not loop"),
    ({"backends": {"animatic": {"zooom": 0.1}}}, "[backends.animatic]: unknown key 'zooom'; did you mean 'zoom'?"),
]


@pytest.mark.parametrize(("patch", "expected"), CONFIG_CASES)
def test_broken_config_is_rejected_cleanly(small_project, cli, patch, expected):
    root = small_project("keyframe", segments=2)
    assert cli("plan", "-p", root).exit_code == 0
    cfg = load_toml(root / "ttv.toml")
    cfg.update(patch)
    write_toml(root / "ttv.toml", cfg)
    before = tree_digest(root)
    result = cli("run", "-p", root)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert tree_digest(root) == before


PLAN_CASES = [
    (lambda p: p["segments"][0].__setitem__("duration", -1), "segments[0] (id 's000').duration"),
    (lambda p: p["segments"][0].__setitem__("promt", "x"), "unknown key 'segments[0].promt'; did you mean 'prompt'?"),
    (lambda p: p["segments"][1].__setitem__("end_keyframe", "k099"), "keyframe 'k099'"),
    (lambda p: p.__setitem__("segments", []), "segments"),
    (lambda p: p["segments"][1].__setitem__("id", "s000"), "appears twice"),
    (lambda p: p["segments"][0].__setitem__("prompt", 42), "prompt"),
]


@pytest.mark.parametrize(("edit", "expected"), PLAN_CASES)
def test_broken_plan_is_rejected_cleanly(small_project, cli, edit, expected):
    root = small_project("keyframe", segments=2)
    assert cli("plan", "-p", root).exit_code == 0
    plan = load_toml(root / "plan.toml")
    edit(plan)
    write_toml(root / "plan.toml", plan)
    before = tree_digest(root)
    for command in ("keyframes", "render", "run", "status"):
        result = cli(command, "-p", root)
        assert result.exit_code == 2, f"{command}: {result.output}"
        assert "plan.toml" in result.output and expected in result.output, result.output
    assert tree_digest(root) == before


def test_toml_syntax_error_names_file_and_line(small_project, cli):
    root = small_project("keyframe", segments=2)
    text = (root / "ttv.toml").read_text().splitlines()
    text.insert(5, "fps = = 3")
    (root / "ttv.toml").write_text("\n".join(text) + "\n")
    before = tree_digest(root)
    result = cli("plan", "-p", root)
    assert result.exit_code == 2
    assert "ttv.toml: invalid TOML" in result.output and "line 6" in result.output
    assert tree_digest(root) == before


def test_hand_broken_record_means_redo_not_crash(small_project, cli):
    root = small_project("keyframe", segments=2)
    assert cli("run", "-p", root).exit_code == 0
    (root / "clips" / "s000.toml").write_text("status = [broken")
    result = cli("status", "-p", root, "--why", "--json")
    assert result.exit_code == 0
    items = {i["id"]: i for i in __import__("json").loads(result.stdout)["items"]}
    assert items["s000"]["why"] == ["record missing or unreadable"]
    assert cli("run", "-p", root).exit_code == 0
    assert load_toml(root / "clips" / "s000.toml")["status"] == "done"


def test_init_rejects_bad_values_and_creates_nothing(cli, tmp_path):
    result = cli("init", tmp_path / "x", "--idea", "an idea", "--width", "641")
    assert result.exit_code == 2 and "641 is odd" in result.output
    assert not (tmp_path / "x").exists()
    result = cli("init", tmp_path / "y", "--idea", "an idea", "--backend", "nope")
    assert result.exit_code == 2 and "unknown backend 'nope'" in result.output
    assert not (tmp_path / "y").exists()
    assert cli("init", tmp_path / "z", "--idea", "an idea").exit_code == 0
    again = cli("init", tmp_path / "z", "--idea", "an idea")
    assert again.exit_code == 2 and "already exists" in again.output


def test_not_a_project(cli, tmp_path):
    result = cli("status", cwd=tmp_path)
    assert result.exit_code == 2
    assert "ttv init" in result.output
