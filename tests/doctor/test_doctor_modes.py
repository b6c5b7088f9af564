"""Keyframes are never ignored silently: every built-in video backend x run mode x (its default model for
the mode, another image-capable model) gets one verdict, the same in `ttv doctor` (mode: NAME), `ttv
estimate` (modes) and the steps, which refuse (exit 2) before a single keyframe is made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from typer.testing import CliRunner

from ttv.cli import app
from ttv.pipeline.doctor import check_modes
from ttv.pipeline.estimate import estimate_project
from ttv.pipeline.project import Project
from ttv.pipeline.verdict import mode_table, verdicts

from .conftest import write_project

DEFAULT = None  # the backend's default model for the run mode (no `model` in [backends.NAME])
IGNORE = {"end_frame": "ignore"}

# backend, run mode, model (None: the mode's default), extra options, expected model, expected outcome
TABLE: list[tuple[str, str, str | None, dict[str, Any], str, str]] = [
    ("animatic", "keyframe", DEFAULT, {}, "animatic", "ok"),
    ("animatic", "chain", DEFAULT, {}, "animatic", "ok"),
    ("wan", "keyframe", DEFAULT, {}, "Wan-AI/Wan2.1-FLF2V-14B-720P-Diffusers", "ok"),
    ("wan", "keyframe", "Wan-AI/Wan2.2-I2V-A14B-Diffusers", {}, "Wan-AI/Wan2.2-I2V-A14B-Diffusers", "ok"),
    ("wan", "keyframe", "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", {}, "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", "refused"),
    ("wan", "keyframe", "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", IGNORE, "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers",
     "first-frame-only"),
    ("wan", "keyframe", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", {}, "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "refused"),
    ("wan", "keyframe", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", IGNORE, "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "refused"),
    ("wan", "chain", DEFAULT, {}, "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers", "ok"),
    ("wan", "chain", "Wan-AI/Wan2.1-FLF2V-14B-720P-Diffusers", {}, "Wan-AI/Wan2.1-FLF2V-14B-720P-Diffusers", "ok"),
    ("wan", "chain", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", {}, "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "refused"),
    ("ltx", "keyframe", DEFAULT, {}, "Lightricks/LTX-Video-0.9.7-dev", "ok"),
    ("ltx", "keyframe", "Lightricks/LTX-Video", {}, "Lightricks/LTX-Video", "refused"),
    ("ltx", "keyframe", "Lightricks/LTX-Video", IGNORE, "Lightricks/LTX-Video", "first-frame-only"),
    ("ltx", "chain", DEFAULT, {}, "Lightricks/LTX-Video", "ok"),
    ("ltx", "chain", "Lightricks/LTX-Video-0.9.7-distilled", {}, "Lightricks/LTX-Video-0.9.7-distilled", "ok"),
    ("hunyuan", "keyframe", DEFAULT, {}, "hunyuanvideo-community/HunyuanVideo-I2V", "refused"),
    ("hunyuan", "keyframe", DEFAULT, IGNORE, "hunyuanvideo-community/HunyuanVideo-I2V", "first-frame-only"),
    ("hunyuan", "chain", DEFAULT, {}, "hunyuanvideo-community/HunyuanVideo-I2V", "ok"),
    ("hunyuan", "chain", "hunyuanvideo-community/HunyuanVideo", {}, "hunyuanvideo-community/HunyuanVideo", "refused"),
    ("wan-vace", "keyframe", DEFAULT, {}, "Wan-AI/Wan2.1-VACE-1.3B-diffusers", "ok"),
    ("wan-vace", "chain", DEFAULT, {}, "Wan-AI/Wan2.1-VACE-1.3B-diffusers", "ok"),
    ("skyreels", "keyframe", DEFAULT, {}, "Skywork/SkyReels-V2-DF-1.3B-540P-Diffusers", "ok"),
    ("skyreels", "chain", DEFAULT, {}, "Skywork/SkyReels-V2-DF-1.3B-540P-Diffusers", "ok"),
    ("framepack", "keyframe", DEFAULT, {}, "hunyuanvideo-community/HunyuanVideo", "ok"),
    ("framepack", "chain", DEFAULT, {}, "hunyuanvideo-community/HunyuanVideo", "ok"),
    ("runway", "keyframe", DEFAULT, {}, "veo3.1_fast", "ok"),
    ("runway", "keyframe", "gen4_turbo", {}, "gen4_turbo", "refused"),
    ("runway", "keyframe", "gen4_turbo", IGNORE, "gen4_turbo", "first-frame-only"),
    ("runway", "keyframe", "veo3.1", IGNORE, "veo3.1", "first-frame-only"),  # the user's choice, said
    ("runway", "chain", DEFAULT, {}, "gen4_turbo", "ok"),
    ("runway", "chain", "gen4.5", {}, "gen4.5", "ok"),
    ("veo", "keyframe", DEFAULT, {}, "veo-3.1-fast-generate-001", "ok"),
    ("veo", "keyframe", "veo-3.0-generate-001", {}, "veo-3.0-generate-001", "refused"),
    ("veo", "chain", DEFAULT, {}, "veo-3.1-fast-generate-001", "ok"),
    ("veo", "chain", "veo-3.0-generate-001", {}, "veo-3.0-generate-001", "ok"),
    ("fal", "keyframe", DEFAULT, {}, "fal-ai/wan/v2.2-a14b/image-to-video", "ok"),
    ("fal", "keyframe", "fal-ai/kling-video/v2.1/standard/image-to-video", {},
     "fal-ai/kling-video/v2.1/standard/image-to-video", "refused"),
    ("fal", "chain", DEFAULT, {}, "fal-ai/wan/v2.2-a14b/image-to-video", "ok"),
    ("fal", "chain", "fal-ai/kling-video/v2.1/standard/image-to-video", {},
     "fal-ai/kling-video/v2.1/standard/image-to-video", "ok"),
    ("minimax", "keyframe", DEFAULT, {}, "MiniMax-Hailuo-02", "ok"),
    ("minimax", "keyframe", "MiniMax-Hailuo-2.3", {}, "MiniMax-Hailuo-2.3", "refused"),
    ("minimax", "chain", DEFAULT, {}, "MiniMax-Hailuo-02", "ok"),
    ("minimax", "chain", "T2V-01", {}, "T2V-01", "refused"),
    ("minimax", "chain", "I2V-01", {}, "I2V-01", "ok"),
]
DOCTOR_STATUS = {"ok": "ok", "first-frame-only": "warn", "refused": "fail"}


def project(root: Path, backend: str, mode: str, model: str | None, extra: dict[str, Any]) -> Path:
    """Keyframe mode: s000 k000->k001, s001 k001->k002. Chaining: s000 from k000, s001 from s000's last frame."""
    root.mkdir(parents=True, exist_ok=True)
    options = {**({"model": model} if model else {}), **extra}
    cfg = {"schema": 1, "idea": "A lighthouse keeper finds a message in a bottle", "mode": mode, "duration": 10,
           "width": 1280, "height": 720, "fps": 24, "backend": backend, "keyframes": "card", "planner": "heuristic",
           **({"backends": {backend: options}} if options else {})}
    (root / "ttv.toml").write_text(tomli_w.dumps(cfg))
    if mode == "keyframe":
        segs = [{"id": f"s{i:03d}", "duration": 5, "prompt": f"shot {i}", "start_keyframe": f"k{i:03d}",
                 "end_keyframe": f"k{i + 1:03d}"} for i in range(2)]
        kfs = 3
    else:
        segs = [{"id": "s000", "duration": 5, "prompt": "shot 0", "start_keyframe": "k000"},
                {"id": "s001", "duration": 5, "prompt": "shot 1"}]
        kfs = 1
    plan = {"schema": 1, "segments": segs, "keyframes": [{"id": f"k{i:03d}", "prompt": f"kf {i}"} for i in range(kfs)]}
    (root / "plan.toml").write_text(tomli_w.dumps(plan))
    return root


@pytest.mark.parametrize(("backend", "mode", "model", "extra", "expected_model", "outcome"), TABLE,
                         ids=[f"{b}-{m}-{(mo or 'default').rsplit('/', 1)[-1]}{'-ignore' if e else ''}"
                              for b, m, mo, e, _, _ in TABLE])
def test_mode_verdict_table(tmp_path: Path, backend: str, mode: str, model: str | None, extra: dict[str, Any],
                            expected_model: str, outcome: str) -> None:
    root = project(tmp_path / "film", backend, mode, model, extra)
    proj = Project.load(root)
    [verdict] = verdicts(proj)
    assert (verdict.model, verdict.outcome) == (expected_model, outcome), verdict
    # doctor and estimate say the same before anything runs
    [row] = check_modes(proj)
    assert row.name == f"mode: {backend}" and row.status == DOCTOR_STATUS[outcome]
    assert [(m["model"], m["outcome"]) for m in estimate_project(proj).modes] == [(expected_model, outcome)]
    est_clips = [i for i in estimate_project(proj).items if i.kind == "clip"]
    assert all(i.model == expected_model for i in est_clips)  # estimate prices the model that will run
    if outcome == "refused":
        assert row.fix and verdict.fix  # names the model to set, the opt-in or chaining
        if mode == "keyframe" and "i2v" in verdict.modes:
            assert 'end_frame = "ignore"' in verdict.fix and "chain" in verdict.fix
        if verdict.modes == ["t2v"] or mode == "chain":
            assert "set model =" in verdict.fix
        # the keyframes step refuses before making (or paying for) anything: exit 2, nothing written
        result = CliRunner().invoke(app, ["keyframes", "--project", str(root)])
        assert result.exit_code == 2, result.output
        assert "nothing was made" in result.output
        assert not list((root / "keyframes").glob("*.png")) if (root / "keyframes").exists() else True
        result = CliRunner().invoke(app, ["run", "--project", str(root), "--dry-run"])
        assert result.exit_code == 2, result.output


def test_every_builtin_backend_is_in_the_table() -> None:
    from ttv.backends import registry

    covered = {(b, m) for b, m, *_ in TABLE}
    for name in registry.names("video"):
        for mode in ("keyframe", "chain"):
            assert (name, mode) in covered, (name, mode)


def test_mode_table_lists_each_model_with_its_modes_and_defaults() -> None:
    wan = {r["model"]: r for r in mode_table("wan")}
    assert wan["Wan-AI/Wan2.1-T2V-1.3B-Diffusers"]["modes"] == ["t2v"]
    assert wan["Wan-AI/Wan2.1-FLF2V-14B-720P-Diffusers"] == {
        "model": "Wan-AI/Wan2.1-FLF2V-14B-720P-Diffusers", "modes": ["i2v", "flf2v"], "default_for": ["keyframe"]}
    assert wan["Wan-AI/Wan2.1-I2V-14B-480P-Diffusers"]["default_for"] == ["chain"]
    runway = {r["model"]: r for r in mode_table("runway")}
    assert runway["gen4_turbo"]["modes"] == ["i2v"] and runway["veo3.1_fast"]["default_for"] == ["keyframe"]


def test_doctor_and_estimate_cli_show_the_refusal(tmp_path: Path) -> None:
    """The issue's case: keyframe mode, Wan with the text-to-video 1.3B model set."""
    root = project(tmp_path / "film", "wan", "keyframe", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", {})
    runner = CliRunner()
    result = runner.invoke(app, ["doctor", "--project", str(root), "--json"])
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert result.exit_code == 1 and checks["mode: wan"]["status"] == "fail"
    assert "Wan2.1-FLF2V-14B-720P" in checks["mode: wan"]["fix"]
    est = runner.invoke(app, ["estimate", "--project", str(root)])
    assert "refused:" in est.output and "Wan2.1-FLF2V-14B-720P" in est.output
    status = runner.invoke(app, ["status", "--project", str(root)])
    assert "refused:" in status.output


def test_a_refused_fallback_is_refused_too(tmp_path: Path) -> None:
    """A fallback that could not use the keyframes would drop them exactly when it runs."""
    root = write_project(tmp_path / "film", backend="animatic", fallback=["runway"],
                         backends={"runway": {"model": "gen4_turbo"}})
    [primary, fallback] = verdicts(Project.load(root))
    assert (primary.outcome, fallback.role, fallback.outcome) == ("ok", "fallback", "refused")


def test_an_unknown_remote_model_gets_no_borrowed_verdict(tmp_path: Path) -> None:
    """An unknown model's capabilities fell back to the provider's first model, so the verdict judged
    another model; now only the backend check speaks (and fails it)."""
    root = project(tmp_path / "film", "runway", "keyframe", "gen9_imaginary", {})
    assert verdicts(Project.load(root)) == []


def test_backends_info_lists_each_model_with_what_it_takes() -> None:
    result = CliRunner().invoke(app, ["backends", "info", "wan", "--json"])
    models = {m["model"]: m for m in json.loads(result.stdout)["models"]}
    assert models["Wan-AI/Wan2.1-T2V-1.3B-Diffusers"]["modes"] == ["t2v"]
    assert models["Wan-AI/Wan2.1-FLF2V-14B-720P-Diffusers"]["default_for"] == ["keyframe"]


def test_run_refuses_before_planning(tmp_path: Path) -> None:
    """An LLM plan may be paid for: with no plan.toml yet, `ttv run` judges the plan the offline planner
    would make and refuses before planning (nothing written)."""
    root = project(tmp_path / "film", "wan", "keyframe", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", {})
    (root / "plan.toml").unlink()
    result = CliRunner().invoke(app, ["run", "--project", str(root)])
    assert result.exit_code == 2 and "nothing was made" in result.output
    assert not (root / "plan.toml").exists()
    est = json.loads(CliRunner().invoke(app, ["estimate", "--project", str(root), "--json"]).stdout)
    assert [m["outcome"] for m in est["modes"]] == ["refused"]  # estimate's provisional plan says the same
    checks = {c.name: c for c in check_modes(Project.load(root))}
    assert checks["mode: wan"].status == "fail"  # doctor too, before any plan


def test_a_segment_backend_is_judged_and_first_frame_only_is_said_in_status_and_estimate(tmp_path: Path) -> None:
    root = project(tmp_path / "film", "animatic", "keyframe", None, {})
    plan = (root / "plan.toml").read_text().replace('prompt = "shot 1"', 'prompt = "shot 1"\nbackend = "runway"')
    (root / "plan.toml").write_text(plan)
    cfg = (root / "ttv.toml").read_text() + '\n[backends.runway]\nmodel = "gen4_turbo"\n'
    (root / "ttv.toml").write_text(cfg)
    found = {v.backend: v for v in verdicts(Project.load(root))}
    assert found["runway"].role == "segment backend" and found["runway"].outcome == "refused"
    assert found["runway"].segments == ["s001"]
    (root / "ttv.toml").write_text(cfg + 'end_frame = "ignore"\n')
    runner = CliRunner()
    status = runner.invoke(app, ["status", "--project", str(root)])
    assert "first frame only:" in status.output and "end keyframes not used" in status.output
    est = runner.invoke(app, ["estimate", "--project", str(root)])
    assert "first frame only:" in est.output
