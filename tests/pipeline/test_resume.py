"""Resume and staleness: re-runs do nothing, edits redo exactly what depends on them, crashes lose nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import mtimes, probe, record
from ttv.core.tomlio import load_toml, write_toml


def _run_json(cli, root: Path, *args: str) -> dict:
    result = cli("run", "-p", root, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _done(data: dict) -> set[str]:
    return {i for step in data["steps"] for i in step["done"]}


def test_rerun_of_finished_project_does_nothing(small_project, cli):
    root = small_project("keyframe", segments=3)
    _run_json(cli, root)
    before = mtimes(root, "**/*.toml") | mtimes(root, "**/*.mp4")
    data = _run_json(cli, root)
    assert _done(data) == set()
    assert sum(len(s["skipped"]) for s in data["steps"]) == 4 + 3 + 1
    assert mtimes(root, "**/*.toml") | mtimes(root, "**/*.mp4") == before
    result = cli("run", "-p", root)
    assert "up to date" in result.stderr


def _edit_plan(root: Path, edit) -> None:
    plan = load_toml(root / "plan.toml")
    edit(plan)
    write_toml(root / "plan.toml", plan)


def test_editing_one_segment_prompt_redoes_only_that_clip(small_project, cli):
    root = small_project("keyframe", segments=3)
    _run_json(cli, root)
    _edit_plan(root, lambda p: p["segments"][1].__setitem__("prompt", "A storm breaks over the lighthouse"))
    why = cli("status", "-p", root, "--why", "--json")
    items = {i["id"]: i for i in json.loads(why.stdout)["items"]}
    assert items["s001"]["status"] == "stale" and items["s001"]["why"] == ["prompt changed"]
    assert items["s000"]["status"] == "done" and items["s002"]["status"] == "done"
    assert items["final"]["status"] == "stale" and items["final"]["why"] == ["clip s001 will be redone"]
    data = _run_json(cli, root)
    assert _done(data) == {"s001", "final"}
    assert record(root, "clips/s001.toml")["inputs"]["prompt"] == "A storm breaks over the lighthouse"


def test_editing_a_keyframe_redoes_it_and_its_two_segments(small_project, cli):
    root = small_project("keyframe", segments=3)
    _run_json(cli, root)
    _edit_plan(root, lambda p: p["keyframes"][1].__setitem__("prompt", "The bottle glints in the surf"))
    items = {i["id"]: i for i in json.loads(cli("status", "-p", root, "--why", "--json").stdout)["items"]}
    assert items["k001"]["why"] == ["prompt changed"]
    assert items["s000"]["why"] == ["end frame (keyframe k001) will be redone"]
    assert items["s001"]["why"] == ["start frame (keyframe k001) will be redone"]
    assert _done(_run_json(cli, root)) == {"k001", "s000", "s001", "final"}


def test_chain_mode_edit_redoes_that_segment_and_every_later_one(small_project, cli):
    root = small_project("chain", segments=4)
    _run_json(cli, root)
    _edit_plan(root, lambda p: p["segments"][1].__setitem__("prompt", "She rows through fog"))
    data = _run_json(cli, root)
    assert _done(data) == {"s001", "s002", "s003", "final"}
    assert probe(root / "final.mp4").frames == 32


def test_force_and_only_select_work(small_project, cli):
    root = small_project("keyframe", segments=3)
    _run_json(cli, root)
    result = cli("render", "-p", root, "--only", "s002", "--force", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["steps"][0]["done"] == ["s002"]
    assert len(record(root, "clips/s002.toml")["attempts"]) == 2
    bad = cli("render", "-p", root, "--only", "s009")
    assert bad.exit_code == 2 and "s009" in bad.output


def test_modified_output_is_detected_and_redone(small_project, cli):
    root = small_project("keyframe", segments=2)
    _run_json(cli, root)
    with open(root / "clips" / "s000.mp4", "ab") as f:
        f.write(b"garbage")
    items = {i["id"]: i for i in json.loads(cli("status", "-p", root, "--why", "--json").stdout)["items"]}
    assert items["s000"]["why"] == ["output modified since it was made (digest differs)"]
    (root / "clips" / "s001.mp4").unlink()
    items = {i["id"]: i for i in json.loads(cli("status", "-p", root, "--why", "--json").stdout)["items"]}
    assert items["s001"]["why"] == ["output missing"]
    # The animatic is deterministic: the remade clips are byte-identical, so final.mp4 is still fresh.
    assert _done(_run_json(cli, root)) == {"s000", "s001"}
    assert record(root, "clips/s000.toml")["status"] == "done"


def test_dry_run_changes_nothing(small_project, cli):
    root = small_project("keyframe", segments=2)
    result = cli("run", "-p", root, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert not (root / "plan.toml").exists()
    assert cli("plan", "-p", root).exit_code == 0
    result = cli("render", "-p", root, "--dry-run", "--json")
    assert result.exit_code == 0
    planned = json.loads(result.stdout)["steps"][0]["would_run"]
    assert [p["id"] for p in planned] == ["s000", "s001"]
    assert not (root / "clips").exists()


def _spawn(root: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "ttv", *args, "-p", str(root)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_done_clips(root: Path, n: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in (root / "clips").glob("*.toml") if load_toml(p).get("status") == "done"] \
            if (root / "clips").is_dir() else []
        if len(done) >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("clips did not finish in time")


def _slow_project(small_project, mode: str) -> Path:
    # Bigger frames so each clip takes a moment: room to kill the process mid-render.
    root = small_project(mode, segments=4)
    cfg = load_toml(root / "ttv.toml")
    cfg.update(width=640, height=360, fps=24, duration=8.0)
    write_toml(root / "ttv.toml", cfg)
    return root


def test_kill_9_mid_render_then_rerun_completes_keeping_finished_clips(small_project, cli):
    root = _slow_project(small_project, "chain")
    proc = _spawn(root, "run")
    _wait_for_done_clips(root, 1, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in (root / "clips").glob("*.mp4")
                if load_toml(p.with_suffix(".toml")).get("status") == "done"}
    assert finished
    # Whatever was half-written is not taken as done.
    statuses = {p.stem: load_toml(p)["status"] for p in (root / "clips").glob("*.toml")}
    assert "s003" not in statuses or statuses["s003"] != "done" or len(finished) == 4
    data = _run_json(cli, root)
    assert probe(root / "final.mp4").frames == 4 * 2 * 24
    for name, mtime in finished.items():
        assert (root / "clips" / name).stat().st_mtime_ns == mtime  # kept, not redone
        assert Path(name).stem not in _done(data)
    assert not list(root.rglob("*.partial.*"))


def test_ctrl_c_mid_render_exits_130_and_resumes(small_project, cli):
    root = _slow_project(small_project, "keyframe")
    assert cli("plan", "-p", root).exit_code == 0
    assert cli("keyframes", "-p", root).exit_code == 0
    proc = _spawn(root, "render")
    _wait_for_done_clips(root, 1, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert b"resume" in err
    assert b"Traceback" not in err
    statuses = {p.stem: load_toml(p)["status"] for p in (root / "clips").glob("*.toml")}
    assert "done" in statuses.values()
    result = cli("run", "-p", root)
    assert result.exit_code == 0, result.output
    assert probe(root / "final.mp4").frames == 4 * 2 * 24


def test_operational_options_do_not_make_work_stale(small_project, cli):
    root = small_project("keyframe", segments=2)
    _run_json(cli, root)
    cfg = load_toml(root / "ttv.toml")
    cfg["backends"] = {"animatic": {"concurrency": 1}}
    write_toml(root / "ttv.toml", cfg)
    assert _done(_run_json(cli, root)) == set()
    cfg["backends"] = {"animatic": {"concurrency": 1, "zoom": 0.2}}
    write_toml(root / "ttv.toml", cfg)
    items = {i["id"]: i for i in json.loads(cli("status", "-p", root, "--why", "--json").stdout)["items"]}
    assert items["s000"]["why"] == ["backend options changed"]
