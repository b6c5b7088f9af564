"""Estimates checked against figures computed by hand from the dated price and timing tables."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from ttv.cli import app
from ttv.pipeline.estimate import estimate_project, makespan
from ttv.pipeline.project import Project

ITEM_KEYS = {"kind", "id", "backend", "model", "duration", "status", "done", "reasons", "usd", "worst_usd", "credits",
             "seconds", "worst_seconds", "spent_usd", "remote", "chain", "source", "error"}
TOP_KEYS = {"schema", "command", "ok", "project", "mode", "planned", "provisional", "worst_case", "currency", "price_date", "items",
            "by_backend", "totals", "budget", "warnings", "modes"}
TOTAL_KEYS = {"items", "remaining", "usd", "worst_usd", "credits", "seconds", "wall_seconds", "worst_wall_seconds",
              "spent_usd", "projected_usd", "complete"}
BUDGET_KEYS = {"max_usd", "spent_usd", "remaining_usd", "projected_usd", "over"}
BACKEND_KEYS = {"backend", "items", "remaining", "usd", "worst_usd", "credits", "seconds", "spent_usd"}


def estimate_json(runner: CliRunner, root: Any, *extra: str) -> dict[str, Any]:
    result = runner.invoke(app, ["estimate", "--project", str(root), "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def clips(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in doc["items"] if i["kind"] == "clip"]


def test_keyframe_mode_runway_gen4_turbo(runner: CliRunner, project_factory: Any) -> None:
    # 4 segments x 5 s at gen4_turbo $0.05/s (5 credits/s): $0.25 and 25 credits per segment.
    root = project_factory(backend="runway", backends={"runway": {"model": "gen4_turbo", "concurrency": 2}},
                           max_cost_usd=5.0, segments=[{}, {}, {}, {}])
    doc = estimate_json(runner, root)
    assert set(doc) == TOP_KEYS
    assert set(doc["totals"]) == TOTAL_KEYS and set(doc["budget"]) == BUDGET_KEYS
    assert all(set(i) == ITEM_KEYS for i in doc["items"])
    assert all(set(b) == BACKEND_KEYS for b in doc["by_backend"])
    assert doc["schema"] == 1 and doc["mode"] == "keyframe" and doc["planned"] is True
    assert [i["kind"] for i in doc["items"]] == ["plan"] + ["keyframe"] * 5 + ["clip"] * 4 + ["final"]
    for c in clips(doc):
        assert c["backend"] == "runway" and c["model"] == "gen4_turbo" and c["remote"] is True
        assert c["usd"] == pytest.approx(0.25) and c["credits"] == pytest.approx(25)
        assert c["seconds"] == pytest.approx(45 + 3 * 5)  # runway: 45 s + 3 s per output second
        assert "gen4_turbo" in c["source"] and "2026-11" in c["source"]
    for k in (i for i in doc["items"] if i["kind"] == "keyframe"):
        assert k["backend"] == "card" and k["usd"] == 0
    assert doc["totals"]["usd"] == pytest.approx(1.00)
    assert doc["totals"]["credits"] == {"runway": pytest.approx(100)}
    assert doc["totals"]["remaining"] == 10  # 5 keyframes, 4 clips, final (the plan exists)
    assert doc["totals"]["complete"] is True
    # concurrency 2: two waves of 60 s; plus the stitch estimate
    final = doc["items"][-1]
    assert doc["totals"]["wall_seconds"] == pytest.approx(120 + final["seconds"], abs=0.2)
    assert doc["budget"] == {"max_usd": 5.0, "spent_usd": 0.0, "remaining_usd": 1.0, "projected_usd": 1.0,
                             "over": False}


def test_chain_mode_with_fallback_override_and_worst_case(runner: CliRunner, project_factory: Any) -> None:
    # runway gen4.5 ($0.12/s) falls back to veo-3.1-generate-001 ($0.40/s); s002 is rendered by the offline animatic.
    root = project_factory(mode="chain", backend="runway", fallback=["veo"],
                           backends={"runway": {"model": "gen4.5"}, "veo": {"model": "veo-3.1-generate-001"}},
                           segments=[{"duration": 8}, {"duration": 6}, {"duration": 4, "backend": "animatic"}])
    doc = estimate_json(runner, root)
    assert doc["mode"] == "chain"
    s0, s1, s2 = clips(doc)
    assert s0["usd"] == pytest.approx(8 * 0.12) and s0["credits"] == pytest.approx(8 * 12)
    assert s1["usd"] == pytest.approx(6 * 0.12)
    assert s0["worst_usd"] == pytest.approx(8 * 0.12 + 8 * 0.40)
    assert s1["worst_usd"] == pytest.approx(6 * 0.12 + 6 * 0.40)
    assert s0["chain"] == ["runway", "veo"]
    assert s2["backend"] == "animatic" and s2["usd"] == 0 and s2["chain"] == ["animatic", "veo"]
    assert s2["worst_usd"] == pytest.approx(4 * 0.40)
    assert [i["id"] for i in doc["items"] if i["kind"] == "keyframe"] == ["k000"]  # chaining: first frame only
    assert doc["totals"]["usd"] == pytest.approx(14 * 0.12)
    assert doc["totals"]["worst_usd"] == pytest.approx(14 * 0.12 + 18 * 0.40)
    # chaining is sequential: the wall time is the sum of the items
    assert doc["totals"]["wall_seconds"] == pytest.approx(doc["totals"]["seconds"], abs=0.5)
    worst = estimate_json(runner, root, "--worst-case")
    assert worst["worst_case"] is True
    assert worst["budget"]["remaining_usd"] == pytest.approx(14 * 0.12 + 18 * 0.40)


def test_price_override_from_ttv_toml(runner: CliRunner, project_factory: Any) -> None:
    root = project_factory(backend="runway", prices={"runway/gen4_turbo": 0.10}, segments=[{}, {"duration": 10}])
    doc = estimate_json(runner, root)
    a, b = clips(doc)
    assert a["usd"] == pytest.approx(0.50) and b["usd"] == pytest.approx(1.00)
    assert "ttv.toml [prices]" in a["source"]
    from ttv.core import prices

    # A process works on one project: loading it puts its `[prices]` in force for every estimate.
    assert prices.current_overrides() == {"runway/gen4_turbo": 0.10}
    # The next project in the same process gets its own prices, not the previous project's overrides.
    other = project_factory(backend="runway", segments=[{}])
    assert clips(estimate_json(runner, other))[0]["usd"] == pytest.approx(0.25)


def test_local_wan_time_from_timing_table(runner: CliRunner, project_factory: Any) -> None:
    # Wan2.1 T2V-1.3B: 261.4 s / 50 steps at 832x480x81 on an RTX 4090 -> 10 steps = 52.28 s, and $0.
    root = project_factory(backend="wan", width=832, height=480, fps=16, with_keyframes=False,
                           backends={"wan": {"model": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "steps": 10,
                                             "gpu_type": "RTX 4090"}},
                           segments=[{"duration": 5}, {"duration": 5}])
    doc = estimate_json(runner, root)
    for c in clips(doc):
        assert c["usd"] == 0 and c["remote"] is False
        assert c["seconds"] == pytest.approx(261.4 / 50 * 10, abs=0.1)
        assert "RTX 4090" in c["source"]
    # one local worker: the two segments run one after another
    assert doc["totals"]["wall_seconds"] == pytest.approx(2 * 52.3 + doc["items"][-1]["seconds"], abs=0.3)


def test_mixed_backends_per_backend_totals(runner: CliRunner, project_factory: Any) -> None:
    root = project_factory(backend="runway", segments=[{}, {"backend": "animatic"}, {"duration": 10}])
    doc = estimate_json(runner, root)
    by = {b["backend"]: b for b in doc["by_backend"]}
    assert by["runway"]["usd"] == pytest.approx(0.25 + 0.50) and by["runway"]["remaining"] == 2
    assert by["animatic"]["usd"] == 0 and by["animatic"]["remaining"] == 1
    assert by["card"]["remaining"] == 4


def test_no_plan_yet_uses_a_provisional_plan(runner: CliRunner, project_factory: Any) -> None:
    root = project_factory(backend="runway", duration=30)  # no plan.toml: heuristic splits 30 s into 6 x 5 s
    doc = estimate_json(runner, root)
    assert doc["planned"] is False and doc["provisional"] is True
    assert doc["items"][0]["kind"] == "plan" and doc["items"][0]["done"] is False
    assert len(clips(doc)) == 6 and doc["totals"]["usd"] == pytest.approx(6 * 0.25)
    assert any("provisional" in w for w in doc["warnings"])
    assert not (root / "plan.toml").exists()  # estimate writes nothing
    assert not (root / ".ttv").exists()


def test_unknown_price_is_reported_not_guessed(runner: CliRunner, project_factory: Any) -> None:
    root = project_factory(backend="runway", backends={"runway": {"model": "gen9_imaginary"}}, segments=[{}])
    doc = estimate_json(runner, root)
    (c,) = clips(doc)
    assert c["error"] and c["usd"] == 0
    assert doc["totals"]["complete"] is False
    result = runner.invoke(app, ["estimate", "--project", str(root)])
    assert result.exit_code == 0 and "?" in result.stdout


def test_table_and_quiet(runner: CliRunner, project_factory: Any) -> None:
    root = project_factory(backend="runway", max_cost_usd=0.3, segments=[{}, {}])
    result = runner.invoke(app, ["estimate", "--project", str(root)])
    assert result.exit_code == 0
    assert "s000" in result.stdout and "$0.25" in result.stdout and "$0.50" in result.stdout
    assert "over budget" in result.stderr
    doc = estimate_json(runner, root, "--max-cost", "2")
    assert doc["budget"]["max_usd"] == 2.0 and doc["budget"]["over"] is False
    quiet = runner.invoke(app, ["estimate", "--project", str(root), "-q"])
    assert quiet.exit_code == 1
    assert quiet.stdout.split() == ["k000", "k001", "k002", "s000", "s001", "final"]


def test_library_matches_render_budget_figure(project_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The clips' estimate equals what `check_budget` in steps.py sums (same backends, same requests)."""
    monkeypatch.setenv("RUNWAYML_API_SECRET", "key_runway_ESTIMATE_0123456789")  # the pool warms clients up
    from ttv.backends import registry
    from ttv.pipeline.graph import build_graph
    from ttv.pipeline.runner import BackendPool
    from ttv.pipeline.steps import estimate_clip

    root = project_factory(backend="runway", segments=[{}, {"duration": 7}, {"duration": 3}])
    project = Project.load(root)
    est = estimate_project(project)
    pool = BackendPool(lambda name: registry.create(name, project.config.backends.get(name), kind="video"))
    graph = build_graph(project)
    planned = [estimate_clip(project, i, st, pool) for i, st in enumerate(graph.clips)]
    assert sum(p.cost_usd for p in planned) == pytest.approx(sum(i.usd for i in est.items if i.kind == "clip"))
    assert sum(p.cost_usd for p in planned) == pytest.approx(15 * 0.05)


def test_makespan() -> None:
    assert makespan([], 3) == 0
    assert makespan([60, 60, 60, 60], 2) == 120
    assert makespan([100, 10, 10, 10], 2) == 100
    assert makespan([5, 5], 8) == 5


def test_every_remote_provider_from_the_price_table(runner: CliRunner, project_factory: Any) -> None:
    """fal (Wan 2.2 at 480p, $0.05/s), MiniMax Hailuo-02 768P ($0.045/s), Veo 3.1 fast at 1080p ($0.12/s), and
    runway-image keyframes (gen4_image: $0.05 = 5 credits each), all per segment override in one project."""
    root = project_factory(backend="runway", keyframes="runway-image",
                           backends={"fal": {"resolution": "480p"}, "minimax": {"model": "MiniMax-Hailuo-02"},
                                     "veo": {"model": "veo-3.1-fast-generate-001", "resolution": "1080p"}},
                           segments=[{"backend": "fal"}, {"backend": "minimax", "duration": 6},
                                     {"backend": "veo", "duration": 8}])
    doc = estimate_json(runner, root)
    fal, minimax, veo = clips(doc)
    assert fal["usd"] == pytest.approx(5 * 0.05) and fal["model"] == "fal-ai/wan/v2.2-a14b/image-to-video"
    assert minimax["usd"] == pytest.approx(6 * 0.045)
    assert veo["usd"] == pytest.approx(8 * 0.12) and "@1080p" in veo["source"]
    kfs = [i for i in doc["items"] if i["kind"] == "keyframe"]
    assert len(kfs) == 4 and all(k["usd"] == pytest.approx(0.05) and k["credits"] == 5 for k in kfs)
    assert doc["totals"]["credits"] == {"runway": pytest.approx(20)}  # runway-image spends Runway credits
    assert doc["totals"]["usd"] == pytest.approx(0.25 + 0.27 + 0.96 + 0.20)


def test_budget_helper_includes_keyframes_and_price_overrides(project_factory: Any) -> None:
    """`check_project_budget` (what a budget guard can call): keyframes count, [prices] apply, --max-cost wins."""
    from ttv.pipeline.estimate import check_project_budget

    root = project_factory(backend="runway", keyframes="runway-image", max_cost_usd=0.60,
                           prices={"runway/gen4_turbo": 0.04}, segments=[{}, {}])
    project = Project.load(root)
    # 3 keyframes x $0.05 + 2 x 5 s x $0.04 = $0.55
    check = check_project_budget(project)
    assert check.ok and check.remaining_usd == pytest.approx(0.55) and check.budget_usd == 0.60
    clips_only = check_project_budget(project, kinds=("clip",))
    assert clips_only.remaining_usd == pytest.approx(0.40)
    refused = check_project_budget(project, max_cost=0.50)
    assert not refused.ok and "$0.55" in refused.message and "$0.50" in refused.message
    assert check_project_budget(project, max_cost=None).budget_usd == 0.60
