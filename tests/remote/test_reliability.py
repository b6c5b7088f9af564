"""Issue 18, money items, through the real runner and CLI against the Runway fake: a local I/O fault after a
job succeeded never loses its id; a submit whose answer is lost stops as `uncertain` instead of paying again;
an unreadable record that may name a job is refused."""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Any

import pytest

from ttv.backends.remote.runway import RunwayBackend
from ttv.core.tomlio import load_toml, write_toml
from ttv.pipeline.project import Project
from ttv.pipeline.requests import spent_usd

from .fakes import RunwayFake


@pytest.fixture
def project(tmp_path: Path, cli: Any, runway_fake: RunwayFake, api_keys: dict[str, str]) -> Path:
    root = tmp_path / "film"
    r = cli("init", str(root), "--idea", "A lighthouse keeper finds a message in a bottle", "--mode", "keyframe",
            "--segments", "2", "--duration", "10", "--width", "320", "--height", "180", "--fps", "8")
    assert r.exit_code == 0, r.output
    _runway(root, runway_fake.url, retries=2)
    for step in ("plan", "keyframes"):
        assert cli(step, "-p", root).exit_code == 0
    return root


def _runway(root: Path, url: str, retries: int = 2, **options: Any) -> None:
    cfg = load_toml(root / "ttv.toml")
    cfg["backend"], cfg["retries"] = "runway", retries
    # gen4_turbo takes a first frame only: keyframe mode needs the explicit opt-in (these tests are about jobs)
    cfg.setdefault("backends", {})["runway"] = {"base_url": url, "poll_interval_s": 0.01, "model": "gen4_turbo",
                                                "end_frame": "ignore", **options}
    write_toml(root / "ttv.toml", cfg)


def _clip(root: Path, seg: str) -> dict[str, Any]:
    return load_toml(root / "clips" / f"{seg}.toml")


# ---- 1. a local I/O fault after the provider finished keeps the job ---------------------------------------


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "disk is full"), (errno.EACCES, "no permission"),
                                             (errno.EIO, "input/output error")])
def test_local_io_fault_after_success_keeps_the_job_and_the_rerun_pays_nothing(
        project: Path, cli: Any, runway_fake: RunwayFake, monkeypatch: pytest.MonkeyPatch, code: int,
        words: str) -> None:
    def broken_disk(self: Any, state: Any, dest: Path) -> None:
        dest.write_bytes(b"\0" * 100)  # half a file, then the fault
        raise OSError(code, "raw errno text", str(dest))

    with monkeypatch.context() as m:
        m.setattr(RunwayBackend, "fetch_output", broken_disk)
        r = cli("render", "-p", project, "--only", "s000")
    assert r.exit_code == 1 and runway_fake.submissions == 1
    rec = _clip(project, "s000")
    assert rec["status"] == "submitted" and rec["job_id"].startswith("task-"), "the paid job stays on record"
    assert words in rec["error"] and "Errno" not in rec["error"] and "nothing is paid twice" in rec["error"]
    assert not list((project / "clips").glob("*.partial.*"))
    assert words in cli("status", "-p", project, "--why", "--json").stdout, "status says what stopped it"
    r = cli("render", "-p", project, "--only", "s000")
    assert r.exit_code == 0, r.output
    assert runway_fake.submissions == 1 and _clip(project, "s000")["status"] == "done"


def test_a_vanished_partial_keeps_the_job(project: Path, cli: Any, runway_fake: RunwayFake,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(RunwayBackend, "fetch_output", lambda self, state, dest: None)  # the file is gone
        r = cli("render", "-p", project, "--only", "s000")
    assert r.exit_code == 1
    rec = _clip(project, "s000")
    assert rec["status"] == "submitted" and rec["job_id"] and "vanished" in rec["error"]
    assert cli("render", "-p", project, "--only", "s000").exit_code == 0 and runway_fake.submissions == 1


def test_disk_full_names_the_space_needed(tmp_path: Path, runway_fake: RunwayFake, videos: Any) -> None:
    import httpx

    from ttv.backends.remote.common import stream_download
    from ttv.core.errors import LocalIOError

    job = runway_fake.new_job({}, 1.0)
    with httpx.Client() as client, pytest.raises(LocalIOError) as info:
        stream_download(client, runway_fake.result_url(job), Path("/dev/full"))  # every write: ENOSPC
    assert "disk is full" in info.value.message and "needed" in info.value.message


# ---- 2. ambiguous submits --------------------------------------------------------------------------------


def test_a_submit_whose_answer_is_lost_stops_uncertain_and_is_never_resubmitted(
        project: Path, cli: Any, runway_fake: RunwayFake) -> None:
    runway_fake.lose_submits = 1  # the provider creates the job, then the connection resets
    r = cli("render", "-p", project, "--on-error", "keep-going")
    assert runway_fake.submissions == 2, "one job per clip: the lost answer was not retried"
    assert r.exit_code != 0
    uncertain = [s for s in ("s000", "s001") if _clip(project, s)["status"] == "uncertain"]
    assert len(uncertain) == 1
    rec = _clip(project, uncertain[0])
    assert "a paid job may exist" in rec["error"] and f"--force --only {uncertain[0]}" in rec["error"]
    assert rec["uncertain_usd"] == pytest.approx(0.25)
    assert spent_usd(Project.load(project)) == pytest.approx(0.25 + 0.25), "the uncertain job counts as spent"
    status = cli("status", "-p", project, "--why", "--json")
    assert "a paid job may exist" in status.stdout
    r = cli("render", "-p", project)
    assert r.exit_code != 0 and runway_fake.submissions == 2, "a plain re-run never pays again"
    assert "a paid job may exist" in r.output
    r = cli("render", "-p", project, "--only", uncertain[0], "--force")
    assert r.exit_code == 0, r.output
    assert runway_fake.submissions == 3 and _clip(project, uncertain[0])["status"] == "done"
    assert _clip(project, uncertain[0])["uncertain_usd"] == 0


def test_a_submit_timeout_is_uncertain_not_retried(project: Path, cli: Any, runway_fake: RunwayFake) -> None:
    _runway(project, runway_fake.url, request_timeout_s=0.3)
    runway_fake.submit_delay = 1.0  # accepted, answered too late
    r = cli("render", "-p", project, "--only", "s000")
    assert r.exit_code != 0 and runway_fake.submissions == 1
    assert _clip(project, "s000")["status"] == "uncertain"


def test_a_submit_that_never_left_is_retried_safely(project: Path, cli: Any, runway_fake: RunwayFake) -> None:
    with socket.socket() as s:  # a port nobody listens on: connection refused before anything is sent
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _runway(project, f"http://127.0.0.1:{port}", retries=1)
    r = cli("render", "-p", project, "--only", "s000")
    rec = _clip(project, "s000")
    assert rec["status"] == "failed" and len(rec["attempts"]) == 2, "retried: the request never left"
    assert r.exit_code == 3, "a network failure inside a step exits 3"


def test_a_crash_during_submit_leaves_the_item_uncertain(project: Path, cli: Any, runway_fake: RunwayFake) -> None:
    # What kill -9 between "submit sent" and "job id written" leaves: the in-flight marker, no job id.
    assert cli("render", "-p", project, "--only", "s000").exit_code == 0
    rec = _clip(project, "s000")
    rec.update(status="running", job_id="", job_provider="", submitting="runway")
    write_toml(project / "clips" / "s000.toml", rec)
    before = runway_fake.submissions
    r = cli("render", "-p", project, "--only", "s000")
    assert r.exit_code != 0 and runway_fake.submissions == before
    assert _clip(project, "s000")["status"] == "uncertain" and "a paid job may exist" in r.output


# ---- 3. an unreadable record that may name a job ---------------------------------------------------------


@pytest.mark.parametrize("text", ['job_id = "task-7"\nstatus = "submitted"\nattempts = [[[', "status = 'submitted\n"
                                  'kind = "clip"\nid = "s000"\njob_id = "task-7"\ninputs_hash = 42\n'])
def test_a_broken_record_of_a_submitted_job_is_refused(project: Path, cli: Any, runway_fake: RunwayFake,
                                                       text: str) -> None:
    (project / "clips").mkdir(exist_ok=True)
    (project / "clips" / "s000.toml").write_text(text)
    r = cli("render", "-p", project, "--only", "s000")
    assert r.exit_code != 0 and runway_fake.submissions == 0
    assert "clips/s000.toml is unreadable" in r.output and "--force" in r.output
    assert (project / "clips" / "s000.toml").read_text() == text, "the evidence is kept"


def test_a_job_in_flight_whose_inputs_changed_is_cancelled_not_forgotten(project: Path, cli: Any,
                                                                          runway_fake: RunwayFake) -> None:
    assert cli("render", "-p", project, "--detach", "--only", "s000").exit_code == 0
    old = _clip(project, "s000")["job_id"]
    plan = load_toml(project / "plan.toml")
    plan["segments"][0]["prompt"] += " At night."
    write_toml(project / "plan.toml", plan)
    r = cli("render", "-p", project, "--only", "s000")
    assert r.exit_code == 0, r.output
    assert [rec.path for rec in runway_fake.requests if rec.method == "DELETE"] == [f"/v1/tasks/{old}"]
    events = (project / ".ttv" / "events.jsonl").read_text()
    assert '"item.job_dropped"' in events and '"inputs changed"' in events
