"""The remote backends under the real runner and CLI (`ttv render`, `--detach`, `ttv wait`, `ttv cancel`)
against the Runway fake: durable job ids, zero re-submissions, costs recorded, no key in the project."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ttv.core.tomlio import load_toml, write_toml

from .conftest import KEYS
from .fakes import RunwayFake


@pytest.fixture
def project(tmp_path: Path, cli: Any, runway_fake: RunwayFake, api_keys: dict[str, str]) -> Path:
    root = tmp_path / "film"
    r = cli("init", str(root), "--idea", "A lighthouse keeper finds a message in a bottle", "--mode", "keyframe",
            "--segments", "2", "--duration", "10", "--width", "320", "--height", "180", "--fps", "8")
    assert r.exit_code == 0, r.output
    cfg = load_toml(root / "ttv.toml")
    cfg["backend"] = "runway"
    cfg.setdefault("backends", {})["runway"] = {"base_url": runway_fake.url, "poll_interval_s": 0.01,
                                                "model": "gen4_turbo", "end_frame": "ignore"}  # first frame only
    write_toml(root / "ttv.toml", cfg)
    for step in ("plan", "keyframes"):
        r = cli(step, "-p", root)
        assert r.exit_code == 0, r.output
    return root


def _clip(root: Path, seg: str) -> dict[str, Any]:
    return load_toml(root / "clips" / f"{seg}.toml")


def _no_keys_in(root: Path, *outputs: str) -> None:
    blob = "\n".join(outputs)
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".toml", ".jsonl", ".json", ".txt", ".log"):
            blob += path.read_text(errors="replace")
    for key in KEYS.values():
        assert key not in blob


def test_render_records_job_ids_costs_and_never_resubmits(project: Path, cli: Any, runway_fake: RunwayFake) -> None:
    r = cli("render", "-p", project, "--json")
    assert r.exit_code == 0, r.output
    assert runway_fake.submissions == 2
    # gen4_turbo with end_frame = "ignore": the summary says the end keyframes were not used
    [step] = json.loads(r.stdout)["steps"]
    assert any("end keyframes not used" in n for n in step["notes"])
    for seg in ("s000", "s001"):
        rec = _clip(project, seg)
        assert rec["status"] == "done" and rec["job_id"].startswith("task-") and rec["cost_usd"] == pytest.approx(0.25)
    events = (project / ".ttv" / "events.jsonl").read_text()
    assert '"status":"running"' in events and "item.submitted" in events
    r = cli("render", "-p", project, "--json")
    assert r.exit_code == 0 and runway_fake.submissions == 2
    _no_keys_in(project, r.stdout, r.stderr)
    text = cli("render", "-p", project, "--force", "--only", "s000")
    assert text.exit_code == 0 and "end keyframes not used" in text.output


def test_detach_then_wait_polls_the_same_jobs(project: Path, cli: Any, runway_fake: RunwayFake) -> None:
    r = cli("render", "-p", project, "--detach", "--json")
    assert r.exit_code == 0, r.output
    assert runway_fake.submissions == 2 and runway_fake.polls == 0
    assert {_clip(project, s)["status"] for s in ("s000", "s001")} == {"submitted"}
    r = cli("wait", "-p", project, "--json")
    assert r.exit_code == 0, r.output
    assert runway_fake.submissions == 2
    assert {_clip(project, s)["status"] for s in ("s000", "s001")} == {"done"}
    _no_keys_in(project, r.stdout, r.stderr)


def test_safety_rejection_stops_the_segment(project: Path, cli: Any, runway_fake: RunwayFake) -> None:
    runway_fake.script = ["running:0.5", "failed:SAFETY.INPUT.TEXT"]
    r = cli("render", "-p", project, "--json", "--on-error", "keep-going")
    assert r.exit_code != 0
    rec = _clip(project, "s000")
    assert rec["status"] == "failed" and "SAFETY.INPUT.TEXT" in rec["error"]
    assert runway_fake.submissions == 2  # one per segment, no retry of a safety rejection
    _no_keys_in(project, r.stdout, r.stderr)


def test_auth_failure_falls_back_to_animatic(project: Path, cli: Any, runway_fake: RunwayFake,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWAYML_API_SECRET", "key_rejected_by_the_fake_0123")
    cfg = load_toml(project / "ttv.toml")
    cfg["fallback"] = ["animatic"]
    write_toml(project / "ttv.toml", cfg)
    r = cli("render", "-p", project, "--json")
    assert r.exit_code == 0, r.output
    rec = _clip(project, "s000")
    assert rec["backend"] == "animatic" and rec["attempts"][0]["error_code"] == "401"
    assert "key_rejected_by_the_fake_0123" not in json.dumps(rec) + r.output


def test_kill_9_mid_poll_then_rerun_submits_nothing_new(project: Path, cli: Any, runway_fake: RunwayFake) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    runway_fake.script = ["running:0.1"] * 100_000  # never finishes while the first process lives
    proc = subprocess.Popen([sys.executable, "-m", "ttv", "render", "-p", str(project)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(project))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if runway_fake.submissions == 2 and runway_fake.polls >= 4:
                break
            time.sleep(0.05)
        assert runway_fake.submissions == 2
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert {_clip(project, s)["status"] for s in ("s000", "s001")} == {"submitted"}
    for job in runway_fake.jobs.values():  # the provider finishes the jobs meanwhile
        job.script, job.step = ["succeeded"], 0
    r = cli("render", "-p", project, "--json")
    assert r.exit_code == 0, r.output
    assert runway_fake.submissions == 2
    assert {_clip(project, s)["status"] for s in ("s000", "s001")} == {"done"}


def test_budget_refuses_before_any_submit(project: Path, cli: Any, runway_fake: RunwayFake) -> None:
    r = cli("render", "-p", project, "--max-cost", "0.3", "--json")  # 2 clips x 5 s x $0.05 = $0.50
    assert r.exit_code != 0
    assert runway_fake.submissions == 0 and runway_fake.requests == []
    r = cli("render", "-p", project, "--max-cost", "0.6", "--json")
    assert r.exit_code == 0, r.output
    assert runway_fake.submissions == 2


def test_a_result_that_cannot_be_fetched_is_polled_again_and_force_submits_anew(project: Path, cli: Any,
                                                                               runway_fake: RunwayFake) -> None:
    """A finished job whose file keeps failing: re-runs poll the same job (never pay twice) and the error says
    how to get out; `--force --only` drops that job and submits a new one."""
    cfg = load_toml(project / "ttv.toml")
    cfg["retries"] = 0
    write_toml(project / "ttv.toml", cfg)
    runway_fake.expire_urls = 10**6  # every result URL answers 403
    r = cli("render", "-p", project, "--only", "s000")
    assert r.exit_code == 1 and runway_fake.submissions == 1
    rec = _clip(project, "s000")
    job = rec["job_id"]
    # The job finished at the provider: it stays on record, resumable ("submitted"), never "failed" and lost.
    assert rec["status"] == "submitted" and job and "--force --only s000" in r.output
    r = cli("render", "-p", project, "--only", "s000")
    assert r.exit_code == 1 and runway_fake.submissions == 1, "the same job was polled, not resubmitted"
    runway_fake.expire_urls = 0
    r = cli("render", "-p", project, "--only", "s000", "--force")
    assert r.exit_code == 0, r.output
    rec = _clip(project, "s000")
    assert runway_fake.submissions == 2 and rec["status"] == "done" and rec["job_id"] != job
    events = (project / ".ttv" / "events.jsonl").read_text()
    assert '"item.job_dropped"' in events and job in events


def test_force_over_jobs_in_flight_cancels_them_before_submitting_new_ones(project: Path, cli: Any,
                                                                          runway_fake: RunwayFake) -> None:
    r = cli("render", "-p", project, "--detach")
    assert r.exit_code == 0 and runway_fake.submissions == 2
    old = {s: _clip(project, s)["job_id"] for s in ("s000", "s001")}
    r = cli("render", "-p", project, "--force")
    assert r.exit_code == 0, r.output
    assert runway_fake.submissions == 4
    assert {_clip(project, s)["job_id"] for s in old}.isdisjoint(old.values())
    deleted = [rec.path for rec in runway_fake.requests if rec.method == "DELETE"]
    assert sorted(deleted) == sorted(f"/v1/tasks/{job}" for job in old.values()), "the earlier jobs were cancelled"
    assert "earlier job" in r.output and "cancelled" in r.output
    events = [json.loads(line) for line in (project / ".ttv" / "events.jsonl").read_text().splitlines()]
    assert sorted(e["job_id"] for e in events if e["type"] == "item.job_dropped") == sorted(old.values())


def test_veo_with_an_ai_studio_key_detach_wait_and_rerun(tmp_path: Path, cli: Any, veo_fake: Any,
                                                          api_keys: dict[str, str]) -> None:
    """Veo's Gemini API route (httpx, no google-genai involved) under the runner: the operation names are
    recorded at submit, `ttv wait` polls them, a re-run pays nothing, and no key lands in the project."""
    root = tmp_path / "film"
    r = cli("init", str(root), "--idea", "A lighthouse keeper finds a message in a bottle", "--mode", "keyframe",
            "--segments", "2", "--duration", "16", "--width", "320", "--height", "180", "--fps", "8")
    assert r.exit_code == 0, r.output
    cfg = load_toml(root / "ttv.toml")
    cfg["backend"] = "veo"
    cfg.setdefault("backends", {})["veo"] = {"base_url": veo_fake.url, "poll_interval_s": 0.01, "api": "gemini",
                                             "model": "veo-3.1-fast-generate-preview"}
    write_toml(root / "ttv.toml", cfg)
    for step in ("plan", "keyframes"):
        r = cli(step, "-p", root)
        assert r.exit_code == 0, r.output
    r = cli("render", "-p", root, "--detach", "--json")
    assert r.exit_code == 0, r.output
    assert veo_fake.submissions == 2 and veo_fake.polls == 0
    names = {_clip(root, s)["job_id"] for s in ("s000", "s001")}
    assert names == {"models/veo-3.1-fast-generate-preview/operations/op1",
                     "models/veo-3.1-fast-generate-preview/operations/op2"}
    r = cli("wait", "-p", root, "--json")
    assert r.exit_code == 0, r.output
    assert veo_fake.submissions == 2 and veo_fake.downloads == 2
    for seg in ("s000", "s001"):
        rec = _clip(root, seg)
        assert rec["status"] == "done" and rec["cost_usd"] == pytest.approx(0.8)  # 8 s at $0.10/s
        assert rec["info"]["video_uri"].endswith(":download?alt=media")  # for extension while Google keeps it
    r = cli("render", "-p", root, "--json")
    assert r.exit_code == 0 and veo_fake.submissions == 2
    _no_keys_in(root, r.stdout, r.stderr)
