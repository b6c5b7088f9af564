"""Issue 18, folder safety: the lock cannot be deleted from under a run, partial names are per process, ttv never
writes through a link planted in a project, records cannot point outside their folder, temp files of a killed
run are cleaned, and the error paths stay clear (exit codes, TTV_HOME, signals, --key with --monitor)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import record
from ttv.core.errors import UnsafePathError
from ttv.core.fsutil import guard_path, partial_path
from ttv.core.tomlio import load_toml, write_toml
from ttv.pipeline.project import Project

ROOT = Path(__file__).resolve().parents[2]


def test_deleting_the_lock_files_does_not_release_the_lock(small_project, cli):
    root = small_project("keyframe", segments=2)
    with Project.load(root).locked("render"):
        shutil.rmtree(root / ".ttv")  # `rm -rf .ttv` while a run holds the lock
        result = cli("run", "-p", root)
        assert result.exit_code == 2 and "another ttv process" in result.output
        assert Project.load(root).lock_holder() is not None
    assert Project.load(root).lock_holder() is None
    assert cli("run", "-p", root).exit_code == 0


def test_partial_names_are_unique_per_process_and_call(tmp_path):
    out = tmp_path / "clips" / "s000.mp4"
    a, b = partial_path(out), partial_path(out)
    assert a != b and f".partial.{os.getpid()}-" in a.name and a.suffix == ".mp4"


def test_a_planted_event_log_link_is_never_followed(small_project, cli, tmp_path):
    root = small_project("keyframe", segments=2)
    victim = tmp_path / "bashrc"
    victim.write_text("original\n")
    (root / ".ttv").mkdir(exist_ok=True)
    (root / ".ttv" / "events.jsonl").symlink_to(victim)
    result = cli("run", "-p", root)
    assert result.exit_code == 0, "nothing depends on the event log: the run goes on"
    assert victim.read_text() == "original\n"
    assert "event log is off" in result.output


def test_a_planted_record_link_is_refused_and_its_target_kept(small_project, cli, tmp_path):
    root = small_project("keyframe", segments=2)
    assert cli("plan", "-p", root).exit_code == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (root / "keyframes").mkdir(exist_ok=True)
    (root / "keyframes" / "k000.toml").symlink_to(victim)
    result = cli("keyframes", "-p", root)
    assert result.exit_code != 0 and "symbolic link" in result.output
    assert victim.read_text() == "precious\n"


def test_a_linked_output_folder_is_refused(small_project, cli, tmp_path):
    root = small_project("keyframe", segments=2)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "clips").symlink_to(elsewhere, target_is_directory=True)
    result = cli("run", "-p", root)
    assert result.exit_code != 0 and "symbolic link" in result.output
    assert not list(elsewhere.iterdir())


def test_guard_refuses_links_and_paths_outside(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        guard_path(root / "link", root)
    with pytest.raises(UnsafePathError, match="outside the project"):
        guard_path(root / "link" / "x", root)
    assert guard_path(root / "ok.txt", root) == root / "ok.txt"


def test_a_record_output_outside_its_folder_does_not_count_as_done(small_project, cli):
    root = small_project("keyframe", segments=2)
    assert cli("run", "-p", root).exit_code == 0
    rec = load_toml(root / "clips" / "s000.toml")
    final = root / "final.mp4"
    st = final.stat()
    rec.update(output="../final.mp4", output_size=st.st_size, output_mtime_ns=st.st_mtime_ns)
    write_toml(root / "clips" / "s000.toml", rec)
    (root / "clips" / "s000.mp4").unlink()
    items = {i["id"]: i for i in json.loads(cli("status", "-p", root, "--json").stdout)["items"]}
    assert items["s000"]["status"] != "done"


def test_temp_files_of_a_killed_run_are_cleaned_by_the_next(small_project, cli):
    root = small_project("keyframe", segments=2)
    assert cli("run", "-p", root).exit_code == 0
    leftovers = [root / "clips" / "s000.partial.4242-abcdef.mp4", root / ".final.partial.4242-ab.1234.tmp.mp4",
                 root / "keyframes" / ".k000.toml.x1y2.tmp"]
    for path in leftovers:
        path.write_bytes(b"half")
    (root / ".final.partial.4242-ab.stitch-xyz.tmp").mkdir()
    assert cli("run", "-p", root).exit_code == 0
    assert not [p for p in leftovers if p.exists()] and not (root / ".final.partial.4242-ab.stitch-xyz.tmp").exists()
    assert record(root, "clips/s000.toml")["status"] == "done"


def test_stitch_scratch_stays_in_the_project(small_project, cli, monkeypatch, tmp_path):
    import tempfile

    system_tmp = tmp_path / "systmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    root = small_project("chain", segments=2)  # chain mode colour-matches: the stitch uses a work folder
    assert cli("run", "-p", root).exit_code == 0
    assert not list(system_tmp.iterdir())
    assert not [p for p in root.rglob("*") if ".tmp" in p.name or ".partial." in p.name]


def test_error_handler_survives_ttv_home_pointing_at_a_file(small_project, cli, monkeypatch, tmp_path):
    home = tmp_path / "home-file"
    home.write_text("not a folder")
    monkeypatch.setenv("TTV_HOME", str(home))
    result = cli("status", "-p", tmp_path / "nowhere")
    assert result.exit_code == 2 and "Traceback" not in result.output and "no ttv.toml" in result.output


def _spawn_run(root: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "ttv", *extra, "run", "-p", str(root)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_take_the_ctrl_c_path(small_project, sig):
    root = small_project("keyframe", segments=40)
    proc = _spawn_run(root)
    deadline = time.monotonic() + 60
    events = root / ".ttv" / "events.jsonl"
    while time.monotonic() < deadline and not (events.exists() and b"item.started" in events.read_bytes()):
        time.sleep(0.05)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out.decode()
    assert b"interrupted" in out
    assert not (root / ".ttv" / "lock.json").exists()


def test_a_certain_rejection_is_found_before_the_keyframes_are_made(small_project, cli, monkeypatch):
    monkeypatch.setenv("RUNWAYML_API_SECRET", "key_runway_SECRET_0123456789abcdef")
    root = small_project("keyframe", segments=2, width=320, height=100)  # 3.2:1 matches no Runway ratio
    cfg = load_toml(root / "ttv.toml")
    cfg["backend"] = "runway"
    cfg["backends"] = {"runway": {"base_url": "http://127.0.0.1:9", "model": "gen4_turbo", "end_frame": "ignore"}}
    write_toml(root / "ttv.toml", cfg)
    result = cli("run", "-p", root)
    assert result.exit_code == 2 and "matches no allowed ratio" in result.output
    assert not list((root / "keyframes").glob("*.png")), "nothing (possibly paid) was made before the check"


def test_chain_mode_checks_later_segments_with_a_stand_in_start_frame(small_project, cli, monkeypatch):
    monkeypatch.setenv("RUNWAYML_API_SECRET", "key_runway_SECRET_0123456789abcdef")
    root = small_project("chain", segments=2, width=320, height=180)
    cfg = load_toml(root / "ttv.toml")
    cfg["backend"], cfg["retries"] = "runway", 0
    cfg["backends"] = {"runway": {"base_url": "http://127.0.0.1:9", "model": "gen4_turbo"}}
    write_toml(root / "ttv.toml", cfg)
    result = cli("run", "-p", root)
    # Before: "the start image frames/s000-last.png does not exist" (exit 2) before anything ran.
    assert "does not exist" not in result.output and result.exit_code == 3, result.output


def test_a_clip_corrupted_in_place_is_marked_stale_when_the_stitch_finds_it(small_project, cli):
    root = small_project("keyframe", segments=2)
    assert cli("run", "-p", root).exit_code == 0
    clip = root / "clips" / "s001.mp4"
    st = clip.stat()
    clip.write_bytes(b"\0" * st.st_size)  # same size, garbage
    os.utime(clip, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime: the shortcut says "unchanged"
    (root / "final.mp4").unlink()
    result = cli("run", "-p", root)
    assert result.exit_code != 0 and "s001 changed since" in result.output
    result = cli("run", "-p", root)  # a plain re-run, no --force
    assert result.exit_code == 0, result.output
    assert record(root, "clips/s001.toml")["status"] == "done" and (root / "final.mp4").exists()


def test_a_keyframe_corrupted_in_place_is_marked_stale_when_a_clip_finds_it(small_project, cli):
    root = small_project("keyframe", segments=2)
    assert cli("run", "-p", root).exit_code == 0
    cfg = load_toml(root / "ttv.toml")
    cfg["retries"] = 0
    write_toml(root / "ttv.toml", cfg)
    start = load_toml(root / "plan.toml")["segments"][0]["start_keyframe"]
    png = root / "keyframes" / f"{start}.png"
    st = png.stat()
    png.write_bytes(b"\0" * st.st_size)
    os.utime(png, ns=(st.st_atime_ns, st.st_mtime_ns))
    (root / "clips" / "s000.mp4").unlink()  # the clip must be redone from that keyframe
    result = cli("run", "-p", root)
    assert result.exit_code != 0 and f"{start} changed since" in result.output, result.output
    result = cli("run", "-p", root)  # a plain re-run redoes the keyframe, then the clip
    assert result.exit_code == 0, result.output


def test_a_media_error_from_a_full_disk_is_said_plainly():
    import errno

    from ttv.core.media import MediaError
    from ttv.pipeline.runner import _as_backend_error

    cause = OSError(errno.ENOSPC, "No space left on device", "/p/final.partial.1-a.mp4")
    try:
        raise MediaError(f"cannot write /p/final.partial.1-a.mp4: {cause}") from cause
    except MediaError as exc:
        err = _as_backend_error(exc)
    assert "Errno" not in err.message and "disk is full" in err.message and "cannot write" in err.message
