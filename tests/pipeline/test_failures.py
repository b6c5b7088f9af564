"""Retry, fallback, request-level failures, keep-going, budget and detach/resume through the real runner."""

from __future__ import annotations

import json

import pytest

from tests.helpers import probe, record
from tests.pipeline import fake_backends
from ttv.core.tomlio import load_toml, write_toml
from ttv.pipeline.project import Project
from ttv.pipeline.runner import Clock
from ttv.pipeline.steps import RunOptions, clips_step, keyframes_step


@pytest.fixture(autouse=True)
def fakes(fake_registry):
    yield


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s

    def now(self) -> float:
        return self.t


def _configure(root, **changes):
    cfg = load_toml(root / "ttv.toml")
    cfg.update(changes)
    write_toml(root / "ttv.toml", cfg)


def _ready(cli, root):
    assert cli("plan", "-p", root).exit_code == 0
    assert cli("keyframes", "-p", root).exit_code == 0


def test_retryable_errors_are_retried_with_the_providers_delay(small_project, cli):
    root = small_project("keyframe", segments=1)
    _configure(root, backend="flaky")
    _ready(cli, root)
    clock = FakeClock()
    report = clips_step(Project.load(root), RunOptions(clock=Clock(clock.sleep, clock.now)), step="render")
    assert [o.status for o in report.outcomes] == ["done"]
    rec = record(root, "clips/s000.toml")
    assert [a["status"] for a in rec["attempts"]] == ["failed", "failed", "done"]
    assert rec["attempts"][0]["error_kind"] == "retryable" and rec["attempts"][0]["error_code"] == "503"
    assert sum(clock.slept) == pytest.approx(14.0)  # Retry-After 7 s, twice
    assert probe(root / "clips" / "s000.mp4").frames == 8


def test_permanent_backend_failure_falls_back_and_never_loops(small_project, cli):
    root = small_project("keyframe", segments=2)
    _configure(root, backend="broken", fallback=["animatic"])
    _ready(cli, root)
    result = cli("render", "-p", root, "--json")
    assert result.exit_code == 0, result.output
    for seg in ("s000", "s001"):
        rec = record(root, f"clips/{seg}.toml")
        assert rec["backend"] == "animatic"
        assert [(a["backend"], a["status"]) for a in rec["attempts"]] == [("broken", "failed"), ("animatic", "done")]
    # Each segment tried the broken backend exactly once: no retry of a permanent error, no loop.
    assert sorted(fake_backends.calls("broken")) == ["s000", "s001"]
    events = [json.loads(line) for line in (root / ".ttv" / "events.jsonl").read_text().splitlines()]
    assert any(e["type"] == "item.fallback" and e["to"] == "animatic" for e in events)


def test_chain_exhausted_fails_with_exit_3_and_clear_reason(small_project, cli):
    root = small_project("keyframe", segments=1)
    _configure(root, backend="broken")
    _ready(cli, root)
    result = cli("render", "-p", root)
    assert result.exit_code == 3  # an auth failure inside a step: exit 3 (backend or auth error)
    assert "401 invalid key" in result.output
    assert record(root, "clips/s000.toml")["status"] == "failed"
    why = json.loads(cli("status", "-p", root, "--json").stdout)
    assert {i["id"]: i["status"] for i in why["items"]}["s000"] == "failed"


def test_safety_rejection_stops_that_segment_and_keep_going_finishes_the_rest(small_project, cli):
    root = small_project("keyframe", segments=3)
    _configure(root, backend="picky", fallback=["animatic"])
    _ready(cli, root)
    result = cli("render", "-p", root, "--on-error", "keep-going")
    assert result.exit_code == 5, result.output
    assert "SAFETY.INPUT.TEXT" in result.output
    assert record(root, "clips/s001.toml")["status"] == "failed"
    assert [a["backend"] for a in record(root, "clips/s001.toml")["attempts"]] == ["picky"]  # no fallback
    assert record(root, "clips/s000.toml")["status"] == "done"
    assert record(root, "clips/s002.toml")["status"] == "done"


def test_budget_refuses_before_anything_is_submitted(small_project, cli):
    root = small_project("keyframe", segments=3)
    _configure(root, backend="paid", max_cost_usd=2.5)
    _ready(cli, root)
    result = cli("render", "-p", root)
    assert result.exit_code == 2
    assert "$3.00" in result.output and "$2.50" in result.output
    assert fake_backends.calls("paid") == []
    assert not list((root / "clips").glob("*.toml")) if (root / "clips").exists() else True
    ok = cli("render", "-p", root, "--max-cost", "10")
    assert ok.exit_code == 0
    assert json.loads(cli("status", "-p", root, "--json").stdout)["spent_usd"] == 3.0


def test_detach_submits_then_a_rerun_polls_the_same_jobs(small_project, cli):
    root = small_project("keyframe", segments=2)
    _configure(root, backend="paid")
    _ready(cli, root)
    result = cli("render", "-p", root, "--detach", "--json")
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.stdout)["steps"][0]["submitted"]) == ["s000", "s001"]
    rec = record(root, "clips/s000.toml")
    assert rec["status"] == "submitted" and rec["job_id"] == "job-s000" and rec["job_provider"] == "paid"
    assert not (root / "clips" / "s000.mp4").exists()
    items = {i["id"]: i for i in json.loads(cli("status", "-p", root, "--json", "--why").stdout)["items"]}
    assert items["s000"]["status"] == "submitted" and "polled again" in items["s000"]["why"][0]
    # A second detached render neither submits again nor waits.
    assert cli("render", "-p", root, "--detach").exit_code == 0
    assert sorted(fake_backends.calls("paid")) == ["submit s000", "submit s001"]
    result = cli("run", "-p", root)
    assert result.exit_code == 0, result.output
    assert sorted(fake_backends.calls("paid")) == ["poll job-s000", "poll job-s001", "submit s000", "submit s001"]
    assert probe(root / "final.mp4").frames == 16


def test_keyframe_failure_is_recorded(small_project, cli, monkeypatch):
    root = small_project("keyframe", segments=1)
    assert cli("plan", "-p", root).exit_code == 0
    plan = load_toml(root / "plan.toml")
    plan["keyframes"][0]["image"] = "does-not-exist.png"
    write_toml(root / "plan.toml", plan)
    report = keyframes_step(Project.load(root), RunOptions())
    assert [o.status for o in report.outcomes][0] == "failed"
    assert "does not exist" in record(root, "keyframes/k000.toml")["error"]


def test_wait_collects_detached_jobs(small_project, cli):
    root = small_project("keyframe", segments=2)
    _configure(root, backend="paid")
    _ready(cli, root)
    assert cli("render", "-p", root, "--detach").exit_code == 0
    result = cli("wait", "-p", root, "--json")
    assert result.exit_code == 0, result.output
    jobs = {j["id"]: j for j in json.loads(result.stdout)["jobs"]}
    assert jobs["s000"]["status"] == "done" and jobs["s000"]["job_id"] == "job-s000"
    assert jobs["s001"]["cost_usd"] == 1.0
    assert sorted(fake_backends.calls("paid")) == ["poll job-s000", "poll job-s001", "submit s000", "submit s001"]
    again = cli("wait", "-p", root)
    assert again.exit_code == 0 and "no remote jobs in flight" in again.output


def test_wait_timeout_exits_4_and_cancel_marks_segments(small_project, cli):
    root = small_project("keyframe", segments=2)
    _configure(root, backend="slowpaid")
    _ready(cli, root)
    assert cli("render", "-p", root, "--detach").exit_code == 0
    result = cli("wait", "-p", root, "--timeout", "0.5")
    assert result.exit_code == 4, result.output
    assert "ttv wait" in result.output
    assert record(root, "clips/s000.toml")["status"] == "submitted"
    result = cli("cancel", "s000", "-p", root, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["jobs"][0]["status"] == "cancelled"
    assert "cancel job-s000" in fake_backends.calls("slowpaid")
    assert record(root, "clips/s000.toml")["status"] == "cancelled"
    items = {i["id"]: i for i in json.loads(cli("status", "-p", root, "--json", "--why").stdout)["items"]}
    assert items["s000"]["why"] == ["cancelled"] and items["s001"]["status"] == "submitted"


def test_budget_is_rechecked_as_actual_costs_arrive(small_project, cli):
    root = small_project("keyframe", segments=3)
    _configure(root, backend="pricey", max_cost_usd=3.0, backends={"pricey": {"concurrency": 1}})
    _ready(cli, root)
    result = cli("render", "-p", root, "--on-error", "keep-going")
    # Estimated $1.50 fits; after two clips billed $4.00 the third may not start.
    assert result.exit_code == 5, result.output
    assert record(root, "clips/s000.toml")["cost_usd"] == 2.0
    assert record(root, "clips/s001.toml")["cost_usd"] == 2.0
    assert not (root / "clips" / "s002.toml").exists()
    assert "s002 not started" in result.output and "> max $3.00" in result.output
    assert [c for c in fake_backends.calls("pricey") if c.startswith("submit")] == ["submit s000", "submit s001"]


def test_run_checks_the_whole_budget_before_paying_for_keyframes(small_project, cli):
    root = small_project("keyframe", segments=3)
    _configure(root, backend="paid", max_cost_usd=2.0)
    result = cli("run", "-p", root)
    assert result.exit_code == 2
    assert "budget exceeded" in result.output
    assert not (root / "keyframes").exists() or not list((root / "keyframes").glob("*.png"))


def test_failure_while_another_item_waits_to_retry_is_not_an_internal_error(small_project, cli):
    root = small_project("keyframe", segments=2)
    _ready(cli, root)
    plan = load_toml(root / "plan.toml")
    plan["segments"][0]["backend"] = "flaky"  # sleeps 7 s before its retry
    plan["segments"][1]["backend"] = "broken"  # fails for good at once
    write_toml(root / "plan.toml", plan)
    result = cli("render", "-p", root)
    assert result.exit_code == 3, result.output  # auth inside a step
    assert "internal error" not in result.output and "401 invalid key" in result.output
    assert record(root, "clips/s000.toml")["status"] == "running"  # interrupted: resumable, not failed
    assert record(root, "clips/s001.toml")["status"] == "failed"


def test_unusable_primary_with_fallback_says_so_and_falls_back(small_project, cli):
    root = small_project("keyframe", segments=2)
    _configure(root, backend="runway", fallback=["animatic"])  # no RUNWAYML_API_SECRET in tests
    _ready(cli, root)
    result = cli("render", "-p", root)
    assert result.exit_code == 0, result.output
    assert "warning: backend 'runway' is not available" in result.output
    rec = record(root, "clips/s000.toml")
    assert rec["backend"] == "animatic"
    assert [(a["backend"], a["status"]) for a in rec["attempts"]] == [("runway", "failed"), ("animatic", "done")]
    assert "RUNWAYML_API_SECRET" in rec["attempts"][0]["error"] + rec["attempts"][0].get("error", "")


def test_unusable_backend_without_fallback_is_a_backend_error(small_project, cli):
    root = small_project("keyframe", segments=1)
    _configure(root, backend="runway")
    _ready(cli, root)
    result = cli("render", "-p", root)
    assert result.exit_code == 3
    assert "RUNWAYML_API_SECRET" in result.output
    assert not (root / "clips").exists() or not list((root / "clips").glob("*.toml"))


def test_summary_is_compact_and_names_fallbacks(small_project, cli):
    # 'broken' fails for good on every segment; the animatic makes them instead: each is named as a fallback.
    root = small_project("keyframe", segments=3)
    _configure(root, backend="broken", fallback=["animatic"])
    result = cli("run", "-p", root)
    assert result.exit_code == 0, result.output
    assert "3 by a fallback backend" in result.stderr
    assert "needs a look" in result.stdout and all(f"s00{i}" in result.stdout for i in range(3))
    forced = json.loads(cli("render", "-p", root, "--force", "--json").stdout)
    assert forced["steps"][0]["fallbacks"] == [{"id": f"s00{i}", "backend": "animatic", "instead_of": "broken"}
                                               for i in range(3)]
    rows = {r["id"]: r for r in json.loads(cli("status", "-p", root, "--json").stdout)["items"]}
    assert [rows[f"s00{i}"]["fallback_from"] for i in range(3)] == ["broken"] * 3
    _configure(root, backend="animatic", fallback=[])
    plain = cli("render", "-p", root, "--force")
    assert plain.exit_code == 0
    assert "needs a look" not in plain.stdout  # plain successes are counted, not listed
    doc = json.loads(cli("render", "-p", root, "--force", "--json").stdout)
    assert doc["steps"][0]["fallbacks"] == []
