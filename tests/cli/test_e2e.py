"""End to end, offline: a whole film in both modes, checked by decoding the mp4."""

from __future__ import annotations

import json

import numpy as np

from tests.helpers import frames_of, probe, record


def test_keyframe_mode_run_makes_a_real_film(small_project, cli):
    root = small_project("keyframe", segments=3)
    result = cli("run", "-p", root)
    assert result.exit_code == 0, result.output
    final = root / "final.mp4"
    info = probe(final)
    assert (info.width, info.height) == (160, 96)
    assert abs(info.fps - 8) < 1e-6
    # 3 segments x 1 s x 8 fps; the animatic repeats no seam frame, so nothing is dropped.
    assert info.frames == 24
    frames = frames_of(final)
    assert len(frames) == 24
    # Visible motion: frames change over time, and the film does not stand still anywhere for long.
    diffs = [float(np.abs(frames[i + 1].astype(int) - frames[i].astype(int)).mean()) for i in range(23)]
    assert sum(d > 0.5 for d in diffs) >= 20
    # Records: every clip done with an inputs hash and an output digest; plan and keyframes on disk.
    for i in range(3):
        rec = record(root, f"clips/s{i:03d}.toml")
        assert rec["status"] == "done" and rec["inputs_hash"].startswith("sha256:")
        assert rec["output_digest"].startswith("sha256:") and rec["media"]["frames"] == 8
        assert rec["attempts"][0]["status"] == "done"
    assert sorted(p.name for p in (root / "keyframes").glob("k*.png")) == ["k000.png", "k001.png", "k002.png", "k003.png"]
    assert record(root, "final.toml")["status"] == "done"
    events = [json.loads(line) for line in (root / ".ttv" / "events.jsonl").read_text().splitlines()]
    assert {"run.started", "item.started", "item.progress", "item.done", "run.finished"} <= {e["type"] for e in events}


def test_keyframe_mode_clips_end_on_their_end_keyframe(small_project, cli):
    root = small_project("keyframe", segments=2)
    assert cli("run", "-p", root).exit_code == 0
    from PIL import Image

    k1 = np.asarray(Image.open(root / "keyframes" / "k001.png").convert("RGB")).astype(int)
    last = frames_of(root / "clips" / "s000.mp4")[-1].astype(int)
    first_next = frames_of(root / "clips" / "s001.mp4")[0].astype(int)
    assert np.abs(last - k1).mean() < 6  # lossy h264, same picture
    assert np.abs(first_next - k1).mean() < 25  # the next clip starts one step into its move from k001


def test_chain_mode_step_by_step(small_project, cli):
    root = small_project("chain", segments=3)
    for step in ("plan", "keyframes", "chain", "stitch"):
        result = cli(step, "-p", root)
        assert result.exit_code == 0, f"{step}: {result.output}"
    # Chaining: only the first frame is a keyframe; each clip starts from the previous clip's exact last frame.
    assert sorted(p.name for p in (root / "keyframes").glob("k*.png")) == ["k000.png"]
    assert (root / "frames" / "s000-last.png").is_file()
    s0_last = frames_of(root / "clips" / "s000.mp4")[-1].astype(int)
    s1_first = frames_of(root / "clips" / "s001.mp4")[0].astype(int)
    assert np.abs(s0_last - s1_first).mean() < 25
    rec = record(root, "clips/s001.toml")
    assert rec["inputs"]["first"]["from"] == "last frame of s000"
    assert probe(root / "final.mp4").frames == 24
    status = cli("status", "-p", root, "--json")
    data = json.loads(status.stdout)
    assert data["todo"] == 0 and all(item["status"] == "done" for item in data["items"])


def test_render_in_chain_mode_is_a_clear_usage_error(small_project, cli):
    root = small_project("chain", segments=2)
    assert cli("plan", "-p", root).exit_code == 0
    result = cli("render", "-p", root)
    assert result.exit_code == 2
    assert "ttv chain" in result.output


def test_stitch_before_render_says_what_to_run(small_project, cli):
    root = small_project("keyframe", segments=2)
    assert cli("plan", "-p", root).exit_code == 0
    result = cli("stitch", "-p", root)
    assert result.exit_code == 2
    assert "ttv render" in result.output


def test_user_images_are_honoured(small_project, cli, tmp_path):
    from PIL import Image

    root = small_project("keyframe", segments=1)
    assert cli("plan", "-p", root).exit_code == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    # A 4:3 image: it is centre-cropped to 160x96, not stretched.
    Image.new("RGB", (400, 300), (200, 30, 40)).save(mine / "k000.png")
    result = cli("keyframes", "-p", root, "--from-dir", mine)
    assert result.exit_code == 0, result.output
    kf = np.asarray(Image.open(root / "keyframes" / "k000.png").convert("RGB"))
    assert kf.shape == (96, 160, 3)
    assert np.abs(kf.astype(int) - [200, 30, 40]).max() <= 1
    assert record(root, "keyframes/k000.toml")["inputs"]["provider"] == "files"


def test_status_follow_prints_another_process_run_until_it_finishes(small_project, cli):
    import subprocess
    import sys
    import time

    root = small_project("keyframe", segments=2)
    assert cli("plan", "-p", root).exit_code == 0
    follower = subprocess.Popen([sys.executable, "-m", "ttv", "status", "-p", str(root), "--follow"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Start the run only once the follower has read to the end of the log and says it waits (on a
    # loaded machine a fixed sleep was not always enough).
    assert follower.stderr is not None
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = follower.stderr.readline()
        seen.append(line)
        if "waiting for one" in line or not line:
            break
    assert any("waiting for one" in line for line in seen), seen
    assert cli("run", "-p", root).exit_code == 0
    out, err = follower.communicate(timeout=60)
    assert follower.returncode == 0, err
    assert "run started: ttv run" in out and "done s000" in out and "done final" in out
    assert out.strip().splitlines()[-1].endswith("run finished: ttv run (ok)")


def test_chain_stitch_report_says_what_the_colour_correction_did(small_project, cli):
    # Chaining turns colour correction on; the animatic's seams show no drift, so nothing is corrected
    # and the film stays a stream copy. The report says so per seam.
    root = small_project("chain", segments=3)
    assert cli("run", "-p", root).exit_code == 0
    result = cli("stitch", "-p", root, "--report", "--force", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["method"] == "copy"
    assert [row["seam"] for row in data["seams"]] == [1, 2]
    for row in data["seams"]:
        assert row["colour"] == "left" and "already matches" in row["why"], row
        assert row["delta_e_after"] == row["delta_e_before"]
    table = cli("stitch", "-p", root, "--report", "--force")
    assert table.exit_code == 0 and "colour" in table.output and "copy" in table.output, table.output
