"""`ttv plan` / plan_step: LLM planners end to end, an unavailable planner is an error, audit, no partial plan, locked segments."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ttv.cli import app
from ttv.core.schemas import Plan
from ttv.pipeline.planning import audit_dir, plan_step
from ttv.pipeline.project import Project, save_config

from .conftest import GOOGLE_KEY, OPENAI_KEY
from .fakes import GeminiFake, OpenAIFake, gemini_plan, gemini_text, google_error, openai_message, plan_json

runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def use(project: Project, planner: str, url: str, **opts: object) -> Project:
    project.config.planner = planner
    project.config.backends[planner] = {"base_url": url, **opts}
    save_config(project.root, project.config)
    return Project.load(project.root)


def all_project_text(root: Path) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in root.rglob("*") if p.is_file())


def test_no_key_is_an_error_that_changes_nothing(make_project: Callable[..., Project]) -> None:
    # The user chose gemini in ttv.toml: a heuristic plan instead would be a plan they did not ask for.
    proj = make_project(planner="gemini")
    config_before = proj.config_path.read_bytes()
    code, out, err = cli("plan", "-p", str(proj.root))
    assert code == 3, err
    assert "GOOGLE_API_KEY" in err and "ttv keys set google" in err and "--planner heuristic" in err
    assert not proj.plan_path.exists()
    assert proj.config_path.read_bytes() == config_before


def test_no_key_openai_names_its_variable(make_project: Callable[..., Project]) -> None:
    proj = make_project()
    config_before = proj.config_path.read_bytes()
    code, _, err = cli("plan", "-p", str(proj.root), "--planner", "openai")
    assert code == 3 and "OPENAI_API_KEY" in err and "--planner" in err
    assert not proj.plan_path.exists() and proj.config_path.read_bytes() == config_before


def test_no_key_on_replan_keeps_the_old_plan(make_project: Callable[..., Project]) -> None:
    proj = make_project()
    plan_step(proj)  # heuristic
    before = proj.plan_path.read_bytes()
    code, _, err = cli("plan", "-p", str(proj.root), "--planner", "gemini", "--force")
    assert code == 3 and "plan.toml was not changed" in err
    assert proj.plan_path.read_bytes() == before


def test_gemini_plan_end_to_end_with_audit(make_project, google_key, gemini_fake: GeminiFake) -> None:
    # gen4_turbo (first frame only, so the explicit opt-in; keyframe mode's default would be veo3.1_fast)
    proj = use(make_project(backend="runway", backends={"runway": {"model": "gen4_turbo", "end_frame": "ignore"}}),
               "gemini", gemini_fake.url)
    gemini_fake.queue(gemini_plan(plan_json(3, durations=[12, 1.5, 5])))
    code, out, err = cli("plan", "-p", str(proj.root))
    assert code == 0, err
    plan = Project.load(proj.root).plan
    assert plan.planner == "gemini"
    assert [s.duration for s in plan.segments] == [10, 2, 5]  # Runway gen4_turbo: 2-10 s
    assert [(s.start_keyframe, s.end_keyframe) for s in plan.segments] == [("k000", "k001"), ("k001", "k002"),
                                                                           ("k002", "k003")]
    assert plan.segments[0].camera == "medium shot, move 0" and plan.segments[0].continuity
    assert "snapped" in err and ".ttv/planner/" in err
    (audit,) = audit_dir(proj).glob("*-gemini.json")
    doc = json.loads(audit.read_text())
    assert doc["ok"] is True and doc["model"] == "gemini-2.5-flash" and doc["request"]["video_backend"] == "runway"
    assert doc["usage"]["output_tokens"] == 480 and doc["cost_usd"] > 0
    assert json.loads(doc["exchanges"][1]["response"]["text"])["segments"][0]["duration"] == 12
    assert "responseJsonSchema" not in audit.read_text() and "schema" in doc["exchanges"][0]
    # The request went with the key in a header; no project file holds it.
    assert gemini_fake.posts()[0].headers["x-goog-api-key"] == GOOGLE_KEY
    assert GOOGLE_KEY not in all_project_text(proj.root)


def test_invalid_answer_writes_no_plan(make_project, google_key, gemini_fake: GeminiFake) -> None:
    proj = use(make_project(), "gemini", gemini_fake.url)
    gemini_fake.queue(gemini_text("not json"), gemini_text("still not json"))
    code, out, err = cli("plan", "-p", str(proj.root))
    assert code == 3
    assert "did not return a valid plan" in err
    assert not proj.plan_path.exists()
    (audit,) = audit_dir(proj).glob("*.json")
    doc = json.loads(audit.read_text())
    assert doc["ok"] is False and doc["error"]["code"] == "invalid-plan"
    assert [e["response"]["text"] for e in doc["exchanges"][1:]] == ["not json", "still not json"]


def test_failed_replan_keeps_the_old_plan(make_project, google_key, gemini_fake: GeminiFake) -> None:
    proj = make_project()
    plan_step(proj)  # heuristic
    before = proj.plan_path.read_bytes()
    proj = use(proj, "gemini", gemini_fake.url, retries=1)
    gemini_fake.queue(google_error(500, "INTERNAL", "boom"), google_error(500, "INTERNAL", "boom"))
    code, _, err = cli("plan", "-p", str(proj.root), "--force")
    assert code == 3 and "HTTP 500" in err
    assert proj.plan_path.read_bytes() == before


def test_refusal_is_clear(make_project, google_key, gemini_fake: GeminiFake) -> None:
    from .fakes import gemini_blocked

    proj = use(make_project(), "gemini", gemini_fake.url)
    gemini_fake.queue(gemini_blocked("SAFETY"))
    code, _, err = cli("plan", "-p", str(proj.root))
    assert code == 3 and "refused" in err and not proj.plan_path.exists()


def test_locked_segments_kept_and_sent_as_context(make_project, google_key, gemini_fake: GeminiFake) -> None:
    proj = make_project()
    plan_step(proj, segments=3)
    plan = proj.plan
    plan.segments[1].prompt = "MY OWN SHOT: the bottle glints in the surf"
    plan.segments[1].locked = True
    plan.keyframes[1].prompt = "MY OWN START FRAME"
    proj.save_plan(Plan.model_validate(plan.model_dump(by_alias=True)))
    proj = use(Project.load(proj.root), "gemini", gemini_fake.url)
    gemini_fake.queue(gemini_plan(plan_json(3)))
    code, _, err = cli("plan", "-p", str(proj.root), "--force")
    assert code == 0, err
    new = Project.load(proj.root).plan
    assert new.planner == "gemini"
    assert new.segments[1].prompt == "MY OWN SHOT: the bottle glints in the surf" and new.segments[1].locked
    assert new.keyframe("k001").prompt == "MY OWN START FRAME"
    assert new.segments[0].prompt.startswith("Shot 0") and new.segments[2].prompt.startswith("Shot 2")
    user = gemini_fake.bodies()[0]["contents"][0]["parts"][0]["text"]
    assert "LOCKED" in user and "MY OWN SHOT" in user


def test_locked_segment_beyond_new_plan_is_not_lost(make_project) -> None:
    proj = make_project()
    plan_step(proj, segments=4)
    plan = proj.plan
    plan.segments[3].locked = True
    proj.save_plan(plan)
    new, changed = plan_step(Project.load(proj.root), force=True, segments=2)
    assert changed and [s.id for s in new.segments] == ["s000", "s001", "s003"]
    assert {"k003", "k004"} <= {k.id for k in new.keyframes}


def test_steering_segments_duration_style(make_project, google_key, gemini_fake: GeminiFake) -> None:
    proj = use(make_project(), "gemini", gemini_fake.url)
    gemini_fake.queue(gemini_plan(plan_json(4)))
    code, _, err = cli("plan", "-p", str(proj.root), "--segments", "4", "--duration", "20", "--style", "film noir")
    assert code == 0, err
    body = gemini_fake.bodies()[0]
    assert "Plan exactly 4 segments (about 20 seconds" in body["contents"][0]["parts"][0]["text"]
    assert 'asked for: "film noir"' in body["systemInstruction"]["parts"][0]["text"]
    assert Project.load(proj.root).plan.style == "film noir"
    # --duration alone lets the planner derive the count (default 5 s per segment on the animatic)
    gemini_fake.queue(gemini_plan(plan_json(8)))
    code, _, err = cli("plan", "-p", str(proj.root), "--force", "--duration", "40")
    assert code == 0, err
    assert "Plan exactly 8 segments" in gemini_fake.bodies()[1]["contents"][0]["parts"][0]["text"]


def test_heuristic_steering(make_project) -> None:
    proj = make_project()
    plan, _ = plan_step(proj, segments=5, style="watercolour")
    assert len(plan.segments) == 5 and all("watercolour" in s.prompt for s in plan.segments)


def test_openai_plan_cli(make_project, openai_key, openai_fake: OpenAIFake) -> None:
    proj = use(make_project(), "openai", openai_fake.url + "/v1")
    openai_fake.queue(openai_message(json.dumps(plan_json(3))))
    code, out, err = cli("plan", "-p", str(proj.root), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["changed"] and doc["audit"].startswith(".ttv/planner/") and len(doc["plan"]["segments"]) == 3
    assert OPENAI_KEY not in all_project_text(proj.root)


def test_existing_plan_kept_without_force(make_project, google_key, gemini_fake: GeminiFake) -> None:
    proj = make_project()
    plan_step(proj)
    proj = use(proj, "gemini", gemini_fake.url)
    code, _, err = cli("plan", "-p", str(proj.root))
    assert code == 0 and "kept" in err and gemini_fake.posts() == []


@pytest.mark.parametrize("bad", [["--segments", "0"], ["--duration", "-3"]])
def test_bad_steering_values(make_project, bad: list[str]) -> None:
    proj = make_project()
    code, _, err = cli("plan", "-p", str(proj.root), *bad)
    assert code == 2


@pytest.mark.parametrize(("backend", "allowed"), [
    ("veo", {4.0, 6.0, 8.0}),
    ("runway", {float(d) for d in range(2, 11)}),
    ("wan", None),
])
def test_durations_snapped_to_the_project_backend(make_project, google_key, gemini_fake: GeminiFake,
                                                  backend: str, allowed: set[float] | None) -> None:
    proj = use(make_project(backend=backend, segments=3), "gemini", gemini_fake.url)
    gemini_fake.queue(gemini_plan(plan_json(3, durations=[3.1, 7.4, 11.0])))
    plan, _ = plan_step(proj)
    got = [s.duration for s in plan.segments]
    if allowed is not None:
        assert set(got) <= allowed
    else:  # Wan 2.1: 81 frames at 16 fps is the longest clip
        assert max(got) <= 81.49 / 16 and round(max(got) * 16) == 81
    system = gemini_fake.bodies()[0]["systemInstruction"]["parts"][0]["text"]
    assert ("exactly one of" in system) == (allowed is not None)


def test_heuristic_respects_discrete_durations(make_project) -> None:
    plan, _ = plan_step(make_project(backend="veo", duration=30.0))
    assert {s.duration for s in plan.segments} <= {4.0, 6.0, 8.0}


def test_rejected_key_never_reaches_project_files(make_project, monkeypatch, gemini_fake: GeminiFake) -> None:
    bad = "AIza_rejected_SECRET_key_0123456789"
    monkeypatch.setenv("GEMINI_API_KEY", bad)
    proj = use(make_project(), "gemini", gemini_fake.url)
    gemini_fake.queue(google_error(400, "INVALID_ARGUMENT", f"API key not valid: {bad}"))
    code, out, err = cli("plan", "-p", str(proj.root))
    assert code == 3 and "API key not valid" in err
    assert bad not in out + err
    assert list(audit_dir(proj).glob("*.json")) and bad not in all_project_text(proj.root)
