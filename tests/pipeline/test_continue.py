"""`continue_frames = K` in chaining mode through the real runner and stitch: which frames the next clip is
conditioned on, what enters its inputs, what the stitch trims (exactly the repeated head), and the note when a
backend can only take the last frame."""

from __future__ import annotations

import json

import pytest

from tests.helpers import frames_of, probe, record
from tests.pipeline.fake_backends import counter_of
from ttv.core.tomlio import load_toml, write_toml


@pytest.fixture(autouse=True)
def fakes(fake_registry):
    yield


def _chain_project(small_project, backend: str = "continuer", k: int = 3):
    root = small_project("chain", segments=3)
    cfg = load_toml(root / "ttv.toml")
    cfg["backend"] = backend
    cfg.setdefault("backends", {})[backend] = {"continue_frames": k}
    cfg.setdefault("stitch", {})["color_match"] = False  # the frames count in grey levels: keep them as made
    write_toml(root / "ttv.toml", cfg)
    return root


def _run(cli, root):
    result = cli("run", "-p", root, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_chain_with_k_frames_stitches_every_new_frame_once(small_project, cli):
    root = _chain_project(small_project, k=3)
    _run(cli, root)
    # each clip: 8 new frames (1 s at 8 fps); continued clips start with the previous clip's last 3 frames
    assert [probe(root / f"clips/s00{i}.mp4").frames for i in range(3)] == [8, 11, 11]
    rec = record(root, "clips/s001.toml")
    assert rec["info"]["head_repeat"] == 3 and rec["info"]["continued"] == "tail"
    assert rec["inputs"]["first"]["frames"] == 3 and rec["inputs"]["first"]["from"] == "last 3 frames of s000"
    assert [counter_of(f) for f in frames_of(root / "clips/s001.mp4")][:4] == [5, 6, 7, 8]
    final = frames_of(root / "final.mp4")
    assert len(final) == 8 + 8 + 8  # = the sum of new frames
    assert [counter_of(f) for f in final] == list(range(24))  # no repeated, no missing frame at the seams
    assert record(root, "final.toml")["info"]["trimmed_heads"] == [0, 3, 3]


def test_seam_offset_and_k_frames(small_project, cli):
    root = _chain_project(small_project, k=2)
    cfg = load_toml(root / "ttv.toml")
    cfg.setdefault("stitch", {})["seam_offset"] = 2
    write_toml(root / "ttv.toml", cfg)
    _run(cli, root)
    # s001's tail is s000's frames 4, 5 (ending 2 before the end): the stitch cuts s000's last 2 frames
    assert [counter_of(f) for f in frames_of(root / "clips/s001.mp4")][:3] == [4, 5, 6]
    final = [counter_of(f) for f in frames_of(root / "final.mp4")]
    assert final == list(range(len(final))) and len(final) == 6 + 6 + 8


def test_redoing_a_clip_makes_the_next_stale_and_k_is_an_input(small_project, cli):
    root = _chain_project(small_project, k=3)
    _run(cli, root)
    plan = load_toml(root / "plan.toml")
    plan["segments"][0]["duration"] = 2.0  # s000 gets 16 frames: its tail (and so s001, s002) changes
    write_toml(root / "plan.toml", plan)
    items = {i["id"]: i for i in json.loads(cli("status", "-p", root, "--why", "--json").stdout)["items"]}
    assert items["s001"]["why"] == ["start frame (last 3 frames of s000) will be redone"]
    data = _run(cli, root)
    assert {i for s in data["steps"] for i in s["done"]} == {"s000", "s001", "s002", "final"}
    assert [counter_of(f) for f in frames_of(root / "final.mp4")] == list(range(32))
    # K per segment in plan.toml wins over the backend option and makes only what depends on it stale
    plan = load_toml(root / "plan.toml")
    plan["segments"][2]["continue_frames"] = 5
    write_toml(root / "plan.toml", plan)
    data = _run(cli, root)
    assert {i for s in data["steps"] for i in s["done"]} == {"s002", "final"}
    assert probe(root / "clips/s002.mp4").frames == 13
    assert [counter_of(f) for f in frames_of(root / "final.mp4")] == list(range(32))


def test_changing_k_redoes_only_continued_clips(small_project, cli):
    root = _chain_project(small_project, k=3)
    _run(cli, root)
    cfg = load_toml(root / "ttv.toml")
    cfg["backends"]["continuer"]["continue_frames"] = 2
    write_toml(root / "ttv.toml", cfg)
    items = {i["id"]: i for i in json.loads(cli("status", "-p", root, "--why", "--json").stdout)["items"]}
    assert items["s000"]["status"] == "done"  # the first clip continues nothing: K is not its input
    assert items["s001"]["status"] == "stale" and items["s002"]["status"] == "stale"
    data = _run(cli, root)
    assert {i for s in data["steps"] for i in s["done"]} == {"s001", "s002", "final"}
    assert [counter_of(f) for f in frames_of(root / "final.mp4")] == list(range(24))


def test_resume_after_losing_a_clip_redoes_it_and_the_film_stays_exact(small_project, cli):
    root = _chain_project(small_project, k=4)
    _run(cli, root)
    (root / "clips/s001.mp4").unlink()  # as if killed while s001 was being written
    data = _run(cli, root)
    # s001 is made again from the same tail: the same pixels, so s002 and the film stay fresh
    assert {i for s in data["steps"] for i in s["done"]} == {"s001"}
    assert [counter_of(f) for f in frames_of(root / "final.mp4")] == list(range(24))


def test_backend_without_continuation_uses_the_last_frame_and_says_so_once(small_project, cli):
    root = _chain_project(small_project, backend="animatic", k=3)
    result = cli("run", "-p", root)
    assert result.exit_code == 0, result.output
    note = "animatic cannot continue from several frames: continue_frames = 3 falls back to its last frame"
    assert result.output.count(note) == 1
    rec = record(root, "clips/s002.toml")
    assert rec["info"]["continued"] == "frame" and "head_repeat" not in rec["info"]
