"""`ttv keyframes`: contact sheet, --reroll, remote providers end to end (durable jobs, cost, budget), no keys."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.planning.fakes import GeminiFake, gemini_image
from ttv.cli import app
from ttv.core.fsutil import file_digest
from ttv.core.tomlio import load_toml
from ttv.pipeline.project import Project

from .conftest import GOOGLE_KEY, RUNWAY_KEY, make_png, png_bytes
from .fakes import RunwayImageFake

runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def digests(root: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (file_digest(p), p.stat().st_mtime_ns) for p in sorted((root / "keyframes").glob("k*.png"))}


def test_card_keyframes_write_a_contact_sheet(make_project: Callable[..., Project]) -> None:
    from PIL import Image

    proj = make_project()
    code, out, err = cli("keyframes", "-p", str(proj.root))
    assert code == 0, err
    assert "contact sheet: keyframes/contact-sheet.png" in err
    sheet = proj.root / "keyframes" / "contact-sheet.png"
    with Image.open(sheet) as im:
        im.load()
        assert im.format == "PNG" and im.width >= 320 and im.height > 180
        # Four keyframes (3 segments): tiles carry real pixels, not only the background.
        import numpy as np

        assert len(np.unique(np.asarray(im.convert("RGB")).reshape(-1, 3), axis=0)) > 50
    assert not list((proj.root / "keyframes").glob(".*tmp"))
    code, _, err = cli("status", "-p", str(proj.root))
    assert "keyframes/contact-sheet.png" in err


def test_contact_sheet_marks_missing_keyframes(make_project: Callable[..., Project]) -> None:
    from ttv.pipeline.contact_sheet import write_contact_sheet

    proj = make_project()
    cli("keyframes", "-p", str(proj.root), "--only", "k000")
    path = write_contact_sheet(Project.load(proj.root))
    assert path is not None and path.is_file()


def test_reroll_one_keyframe_keeps_the_others(make_project: Callable[..., Project]) -> None:
    proj = make_project()
    assert cli("keyframes", "-p", str(proj.root))[0] == 0
    before = digests(proj.root)
    code, _, err = cli("keyframes", "-p", str(proj.root), "--reroll", "k002")
    assert code == 0, err and "re-rolling k002" in err
    after = digests(proj.root)
    assert after["k002.png"][0] != before["k002.png"][0]
    assert {k: v for k, v in after.items() if k != "k002.png"} == {k: v for k, v in before.items() if k != "k002.png"}
    seed = Project.load(proj.root).plan.keyframe("k002").seed
    assert seed is not None
    assert load_toml(proj.root / "keyframes" / "k002.toml")["inputs"]["seed"] == seed
    # Re-rolling again draws another seed; running without --reroll keeps everything.
    assert cli("keyframes", "-p", str(proj.root), "--reroll", "k002")[0] == 0
    assert Project.load(proj.root).plan.keyframe("k002").seed != seed
    snapshot = digests(proj.root)
    assert cli("keyframes", "-p", str(proj.root))[0] == 0
    assert digests(proj.root) == snapshot


def test_reroll_unknown_keyframe(make_project: Callable[..., Project]) -> None:
    proj = make_project()
    code, _, err = cli("keyframes", "-p", str(proj.root), "--reroll", "k042")
    assert code == 2 and "k042" in err


def test_reroll_dry_run_changes_nothing(make_project: Callable[..., Project]) -> None:
    proj = make_project()
    cli("keyframes", "-p", str(proj.root))
    plan_before = (proj.root / "plan.toml").read_bytes()
    code, out, _ = cli("keyframes", "-p", str(proj.root), "--reroll", "k001", "--dry-run", "--json")
    assert code == 0
    assert [w["id"] for w in json.loads(out)["steps"][0]["would_run"]] == ["k001"]
    assert (proj.root / "plan.toml").read_bytes() == plan_before


def runway_project(make_project: Callable[..., Project], fake: RunwayImageFake, **settings: object) -> Project:
    return make_project(keyframes="runway-image",
                        # One task at a time, so task ids follow keyframe order (task-2 is k001).
                        backends={"runway-image": {"base_url": fake.url, "poll_interval_s": 1, "concurrency": 1}},
                        **settings)


def test_runway_image_end_to_end_records_job_and_cost(make_project, keys_set, runway_fake: RunwayImageFake) -> None:
    runway_fake.script = ["RUNNING:0.5", "SUCCEEDED"]
    proj = runway_project(make_project, runway_fake)
    code, out, err = cli("keyframes", "-p", str(proj.root), "--json")
    assert code == 0, err
    doc = json.loads(out)["steps"][0]
    assert doc["done"] == ["k000", "k001", "k002", "k003"] and doc["cost_usd"] == pytest.approx(0.2)
    rec = load_toml(proj.root / "keyframes" / "k001.toml")
    assert rec["status"] == "done" and rec["job_id"] == "task-2" and rec["job_provider"] == "runway-image"
    assert rec["cost_usd"] == pytest.approx(0.05) and rec["attempts"][0]["credits"] == 5
    assert len(runway_fake.submissions()) == 4
    # A second run submits nothing.
    assert cli("keyframes", "-p", str(proj.root))[0] == 0
    assert len(runway_fake.submissions()) == 4


def test_runway_image_resume_after_interrupt_never_resubmits(make_project, keys_set, runway_fake: RunwayImageFake,
                                                             monkeypatch) -> None:
    from ttv.backends.remote import runway_image

    runway_fake.script = ["RUNNING:0.5", "SUCCEEDED"]
    proj = runway_project(make_project, runway_fake)
    real_poll = runway_image.RunwayImageKeyframes.poll_once
    calls = {"n": 0}

    def crash_on_second_keyframe(self, job_id):  # type: ignore[no-untyped-def]
        if job_id == "task-2":
            calls["n"] += 1
            raise KeyboardInterrupt
        return real_poll(self, job_id)

    monkeypatch.setattr(runway_image.RunwayImageKeyframes, "poll_once", crash_on_second_keyframe)
    code, _, _ = cli("keyframes", "-p", str(proj.root))
    assert code == 130 and calls["n"] == 1
    rec = load_toml(proj.root / "keyframes" / "k001.toml")
    assert rec["status"] == "submitted" and rec["job_id"] == "task-2"
    monkeypatch.setattr(runway_image.RunwayImageKeyframes, "poll_once", real_poll)
    code, _, err = cli("keyframes", "-p", str(proj.root))
    assert code == 0, err
    assert len(runway_fake.submissions()) == 4  # k000, k001 (once), k002, k003
    assert runway_fake.polls("task-2")  # polled again after the restart
    rec = load_toml(proj.root / "keyframes" / "k001.toml")
    assert rec["status"] == "done" and rec["job_id"] == "task-2"


def test_runway_image_safety_failure_is_classified(make_project, keys_set, runway_fake: RunwayImageFake) -> None:
    runway_fake.script = ["FAILED:SAFETY.INPUT.TEXT"]
    proj = runway_project(make_project, runway_fake)
    code, _, err = cli("keyframes", "-p", str(proj.root), "--only", "k000")
    assert code == 1 and "SAFETY.INPUT.TEXT" in err
    rec = load_toml(proj.root / "keyframes" / "k000.toml")
    assert rec["status"] == "failed" and len(rec["attempts"]) == 1
    assert rec["attempts"][0]["error_kind"] == "request"


def test_runway_image_retries_internal_failure(make_project, keys_set, runway_fake: RunwayImageFake) -> None:
    proj = runway_project(make_project, runway_fake)
    runway_fake.script = ["FAILED:INTERNAL"]
    first = runway_fake.add_task  # the first task fails, the next one succeeds

    def add_task(task_id, script=None):  # type: ignore[no-untyped-def]
        return first(task_id, ["FAILED:INTERNAL"] if task_id == "task-1" else ["SUCCEEDED"])

    runway_fake.add_task = add_task  # type: ignore[method-assign]
    code, _, err = cli("keyframes", "-p", str(proj.root), "--only", "k000")
    assert code == 0, err
    rec = load_toml(proj.root / "keyframes" / "k000.toml")
    assert [a["status"] for a in rec["attempts"]] == ["failed", "done"] and rec["job_id"] == "task-2"


def test_budget_refuses_before_submitting(make_project, keys_set, runway_fake: RunwayImageFake) -> None:
    proj = runway_project(make_project, runway_fake, max_cost_usd=0.1)
    code, out, _ = cli("keyframes", "-p", str(proj.root), "--dry-run", "--json")
    assert code == 0
    assert [w["cost_usd"] for w in json.loads(out)["steps"][0]["would_run"]] == [0.05] * 4
    code, _, err = cli("keyframes", "-p", str(proj.root))
    assert code == 2 and "budget" in err
    assert runway_fake.submissions() == []
    code, _, err = cli("keyframes", "-p", str(proj.root), "--max-cost", "1")
    assert code == 0, err


def test_gemini_image_end_to_end_and_no_key_in_project(make_project, keys_set, gemini_fake: GeminiFake,
                                                        runway_fake: RunwayImageFake) -> None:
    gemini_fake.default = lambda rec: gemini_image(png_bytes(1344, 768))
    proj = make_project(keyframes="gemini-image",
                        backends={"gemini-image": {"base_url": gemini_fake.url, "reference_images": ["refs/hero.png"]},
                                  "runway-image": {"base_url": runway_fake.url, "poll_interval_s": 1}})
    make_png(proj.root / "refs" / "hero.png")
    code, _, err = cli("keyframes", "-p", str(proj.root))
    assert code == 0, err
    rec = load_toml(proj.root / "keyframes" / "k000.toml")
    assert rec["backend"] == "gemini-image" and rec["cost_usd"] == pytest.approx(0.039)
    assert all(len(r.body["contents"][0]["parts"]) == 2 for r in gemini_fake.posts())
    # Switch provider: everything is redone with runway-image.
    code, _, err = cli("keyframes", "-p", str(proj.root), "--provider", "runway-image")
    assert code == 0, err
    assert len(runway_fake.submissions()) == 4
    text = "\n".join(p.read_bytes().decode("latin-1") for p in proj.root.rglob("*") if p.is_file())
    assert GOOGLE_KEY not in text and RUNWAY_KEY not in text


def test_remote_provider_without_key_fails_clearly(make_project, runway_fake: RunwayImageFake) -> None:
    proj = runway_project(make_project, runway_fake)
    code, _, err = cli("keyframes", "-p", str(proj.root))
    assert code == 3 and "RUNWAYML_API_SECRET" in err
    assert runway_fake.requests == [] and not (proj.root / "keyframes" / "k000.toml").exists()
