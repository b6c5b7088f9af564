"""Chaining by remote video extension (`continue_frames` > 1 on Veo 3.1) against the loopback fake, which
returns the input followed by 7 new seconds as Veo does: the Gemini API route by the previous result's file
URI (with the fallback to last-frame chaining when that file has expired), the Vertex route by the video's
bytes, the exact trim at the stitch, extension pricing, and resume after a kill."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from ttv.backends.base import PreviousClip
from ttv.backends.remote.veo import VeoBackend, VeoOptions
from ttv.core.media import probe
from ttv.core.tomlio import load_toml, write_toml

from .conftest import FakeCtx, request
from .fakes import VeoFake

GEMINI_KEY = "AIzaSy_gemini_SECRET_0123456789abcdef"
MODEL = "veo-3.1-fast-generate-preview"  # $0.10 per second in the price table


@pytest.fixture
def gemini_fake(videos, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    fake = VeoFake(videos, GEMINI_KEY)
    yield fake
    fake.close()


def _project(tmp_path: Path, cli: Any, fake: VeoFake, segments: int = 3, **veo: Any) -> Path:
    root = tmp_path / "film"
    r = cli("init", str(root), "--idea", "A lighthouse keeper finds a message in a bottle", "--mode", "chain",
            "--segments", str(segments), "--duration", str(8.0 * segments), "--width", "320", "--height", "180",
            "--fps", "24")
    assert r.exit_code == 0, r.output
    cfg = load_toml(root / "ttv.toml")
    cfg["backend"] = "veo"
    cfg.setdefault("backends", {})["veo"] = {"base_url": fake.url, "poll_interval_s": 0.01, "api": "gemini",
                                             "model": MODEL, "continue_frames": 2, **veo}
    cfg.setdefault("stitch", {})["color_match"] = False
    write_toml(root / "ttv.toml", cfg)
    assert cli("plan", "-p", root).exit_code == 0
    plan = load_toml(root / "plan.toml")
    for seg in plan["segments"]:
        seg["duration"] = 8.0
    write_toml(root / "plan.toml", plan)
    return root


def _rec(root: Path, item: str) -> dict[str, Any]:
    return load_toml(root / ("final.toml" if item == "final" else f"clips/{item}.toml"))


def _submits(fake: VeoFake) -> list[dict[str, Any]]:
    return [r.body["instances"][0] for r in fake.requests if r.path.endswith(":predictLongRunning")]


def test_gemini_extension_chain_trims_the_repeated_input_exactly(tmp_path: Path, cli: Any, gemini_fake: VeoFake) -> None:
    root = _project(tmp_path, cli, gemini_fake)
    r = cli("run", "-p", root)
    assert r.exit_code == 0, r.output
    sent = _submits(gemini_fake)
    assert "video" not in sent[0]  # the first clip is generated
    assert sent[1] == {"prompt": sent[1]["prompt"], "video": {"uri": _rec(root, "s000")["info"]["video_uri"]}}
    assert sent[2]["video"]["uri"] == _rec(root, "s001")["info"]["video_uri"]
    # each extension holds its input, then 7 s (168 frames at 24 fps)
    assert [probe(root / f"clips/s00{i}.mp4").frames for i in range(3)] == [192, 360, 528]
    s1, s2 = _rec(root, "s001")["info"], _rec(root, "s002")["info"]
    assert (s1["continued"], s1["head_repeat"], s1["new_frames"]) == ("extend", 192, 168)
    assert (s2["head_repeat"], s2["new_frames"]) == (360, 168)
    # billed: 8 s, then 7 s per extension
    assert [_rec(root, f"s00{i}")["cost_usd"] for i in range(3)] == pytest.approx([0.8, 0.7, 0.7])
    assert probe(root / "final.mp4").frames == 192 + 168 + 168
    assert _rec(root, "final")["info"]["trimmed_heads"] == [0, 192, 360]


def test_estimate_prices_extensions_by_their_new_seconds(tmp_path: Path, cli: Any, gemini_fake: VeoFake) -> None:
    from ttv.pipeline.project import Project
    from ttv.pipeline.requests import planned_video_request

    root = _project(tmp_path, cli, gemini_fake)
    project = Project.load(root)
    backend = VeoBackend(VeoOptions(**project.config.backends["veo"]))
    first, second = (backend.estimate_cost(planned_video_request(project, i)) for i in (0, 1))
    assert first.usd == pytest.approx(0.8) and second.usd == pytest.approx(0.7)
    assert "extension: 7 s of new footage" in second.source
    r = cli("estimate", "-p", root, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["totals"]["usd"] == pytest.approx(0.8 + 0.7 + 0.7)  # keyframe: offline card


def test_gemini_expired_file_falls_back_to_the_last_frame_with_a_note(tmp_path: Path, cli: Any,
                                                                      gemini_fake: VeoFake) -> None:
    root = _project(tmp_path, cli, gemini_fake, segments=2)
    assert cli("run", "-p", root, "--only", "s000").exit_code == 0
    # the provider no longer keeps s000's file, though the record is not 2 days old: it answers 400
    gemini_fake.gone_files.update(gemini_fake.files)
    r = cli("run", "-p", root)
    assert r.exit_code == 0, r.output
    assert "s001: veo: extending the previous clip was refused" in r.output  # said, not only recorded
    sent = _submits(gemini_fake)
    assert "video" in sent[1] and "image" in sent[2] and "video" not in sent[2]
    info = _rec(root, "s001")["info"]
    assert info["continued"] == "frame" and "head_repeat" not in info
    assert "refused" in info["continue_note"] and "chained from its last frame" in info["continue_note"]
    assert _rec(root, "s001")["cost_usd"] == pytest.approx(0.8)  # a generated clip, billed as such


def test_gemini_file_older_than_two_days_is_not_even_tried(tmp_path: Path, cli: Any, gemini_fake: VeoFake) -> None:
    root = _project(tmp_path, cli, gemini_fake, segments=2)
    assert cli("run", "-p", root, "--only", "s000").exit_code == 0
    rec = _rec(root, "s000")
    rec["finished_at"] = "2020-01-01T00:00:00Z"
    write_toml(root / "clips/s000.toml", rec)
    assert cli("run", "-p", root).exit_code == 0
    assert "video" not in _submits(gemini_fake)[1]
    assert "has expired (kept 2 days)" in _rec(root, "s001")["info"]["continue_note"]


def test_resume_after_a_kill_polls_the_extension_and_trims_it(tmp_path: Path, cli: Any, gemini_fake: VeoFake) -> None:
    root = _project(tmp_path, cli, gemini_fake, segments=2)
    assert cli("run", "-p", root, "--only", "s000").exit_code == 0
    r = cli("chain", "-p", root, "--detach")  # submits s001's extension and stops, as a kill after submit would
    assert r.exit_code == 0, r.output
    assert _rec(root, "s001")["status"] == "submitted" and _rec(root, "s001")["info"]["continued"] == "extend"
    # by the time the run resumes, s000's copy would count as expired: the submitted job is still an extension
    rec = _rec(root, "s000")
    rec["finished_at"] = "2020-01-01T00:00:00Z"
    write_toml(root / "clips/s000.toml", rec)
    submissions = gemini_fake.submissions
    r = cli("run", "-p", root)
    assert r.exit_code == 0, r.output
    assert gemini_fake.submissions == submissions  # polled, never resubmitted
    info = _rec(root, "s001")["info"]
    assert info["head_repeat"] == 192 and info["resumed"] is True
    assert probe(root / "final.mp4").frames == 192 + 168


def test_vertex_extends_by_the_video_bytes(api_keys, veo_fake: VeoFake, tmp_path: Path, videos) -> None:
    prev = tmp_path / "s000.mp4"
    prev.write_bytes(videos.get(8.0))
    req = request(None, duration=8)
    req.previous = PreviousClip(path=prev, frames=2, backend="veo")
    backend = VeoBackend(VeoOptions(base_url=veo_fake.url, model="veo-3.1-fast-generate-001", continue_frames=2))
    res = backend.generate(req, tmp_path / "s001.mp4", FakeCtx())
    inst = veo_fake.requests[0].body["instances"][0]
    assert base64.b64decode(inst["video"]["bytesBase64Encoded"]) == prev.read_bytes()
    assert inst["video"]["mimeType"] == "video/mp4" and "image" not in inst
    assert res.info["head_repeat"] == 192 and res.info["new_frames"] == 168 and res.cost_usd == pytest.approx(0.7)
    # Vertex takes inputs up to 30 s: a longer chain continues from the last frame, said in the record
    prev.write_bytes(videos.get(31.0))
    req = request(None, duration=8)
    req.previous = PreviousClip(path=prev, frames=2, backend="veo")
    res = backend.generate(req, tmp_path / "s002.mp4", FakeCtx())
    assert res.info["continued"] == "frame" and "more than the 30 s" in res.info["continue_note"]


# -- Runway: video_to_video with mode="extend" (gemini_omni_flash_1.1, seedance2_5) ------------------------

def _runway_request(prev: Path, duration: float = 5.0):  # type: ignore[no-untyped-def]
    req = request(None, duration=duration)
    req.previous = PreviousClip(path=prev, frames=3, backend="runway")
    return req


@pytest.mark.parametrize(("model", "field", "returns_input"), [
    ("gemini_omni_flash_1.1", "videoUri", True), ("seedance2_5", "promptVideo", True),
    ("gemini_omni_flash_1.1", "videoUri", False),
])
def test_runway_extend_sends_the_clip_and_trims_what_comes_back(api_keys, runway_fake, videos, tmp_path: Path,
                                                                model: str, field: str, returns_input: bool) -> None:
    from ttv.backends.remote.runway import RunwayBackend, RunwayOptions

    runway_fake.extend_returns_input = returns_input
    prev = tmp_path / "s000.mp4"
    prev.write_bytes(videos.get(5.0))
    backend = RunwayBackend(RunwayOptions(base_url=runway_fake.url, poll_interval_s=2, model=model,
                                          continue_frames=3))
    res = backend.generate(_runway_request(prev), tmp_path / "s001.mp4", FakeCtx())
    body = runway_fake.requests[0].body
    assert runway_fake.requests[0].path == "/v1/video_to_video"
    assert body["mode"] == "extend" and body["duration"] == 5 and body["model"] == model
    assert body[field] == "data:video/mp4;base64," + base64.b64encode(prev.read_bytes()).decode()
    assert "ratio" not in body
    # 5 s in, 5 s added at 24 fps: the head repeats the 120 input frames when the result holds them
    assert res.info["continued"] == "extend" and res.info["new_frames"] == 120
    assert res.info["head_repeat"] == (120 if returns_input else 0)


def test_runway_extension_resumes_as_an_extension(api_keys, runway_fake, videos, tmp_path: Path) -> None:
    from ttv.backends.remote.runway import RunwayBackend, RunwayOptions

    prev = tmp_path / "s000.mp4"
    prev.write_bytes(videos.get(5.0))
    backend = RunwayBackend(RunwayOptions(base_url=runway_fake.url, poll_interval_s=2,
                                          model="gemini_omni_flash_1.1", continue_frames=3))
    ctx = FakeCtx()
    ctx.sleep = lambda s: (_ for _ in ()).throw(KeyboardInterrupt())  # type: ignore[method-assign]  # killed
    with pytest.raises(KeyboardInterrupt):
        backend.generate(_runway_request(prev), tmp_path / "s001.mp4", ctx)
    job, remembered = ctx.remembered[0]
    assert remembered["continued"] == "extend"
    resumed = FakeCtx(job_id=job)
    resumed.job_info = dict(remembered)  # type: ignore[attr-defined]  # what the runner hands back on resume
    res = backend.generate(_runway_request(prev), tmp_path / "s001.mp4", resumed)
    assert runway_fake.submissions == 1 and res.info["head_repeat"] == 120 and res.info["resumed"] is True


def test_model_without_extension_chains_from_the_last_frame(api_keys, runway_fake, videos, keyframes,
                                                            tmp_path: Path) -> None:
    from ttv.backends.base import plan_continuation
    from ttv.backends.remote.runway import RunwayBackend, RunwayOptions

    backend = RunwayBackend(RunwayOptions(base_url=runway_fake.url, poll_interval_s=2, model="gen4_turbo"))
    assert backend.capabilities().continuation is None
    note = plan_continuation("runway", backend.capabilities(), 3).note
    assert note == "runway cannot continue from several frames: continue_frames = 3 falls back to its last frame"


# -- fal: a second app that extends (`extend_model`) ------------------------------------------------------

@pytest.mark.parametrize("returns_input", [True, False])
def test_fal_extend_app_gets_the_clip_and_is_priced_per_added_second(api_keys, fal_fake, videos, tmp_path: Path,
                                                                     returns_input: bool) -> None:
    from ttv.backends.remote.fal import FalBackend, FalOptions

    fal_fake.extend_returns_input = returns_input
    prev = tmp_path / "s000.mp4"
    prev.write_bytes(videos.get(5.0))
    backend = FalBackend(FalOptions(base_url=fal_fake.url, poll_interval_s=1, continue_frames=5,
                                    extend_model="fal-ai/ltx-2.3/extend-video"))
    req = _runway_request(prev)
    assert backend.estimate_cost(req).usd == pytest.approx(0.5)  # $0.10/s x 5 s added
    ctx = FakeCtx()
    res = backend.generate(req, tmp_path / "s001.mp4", ctx)
    sub = fal_fake.requests[0]
    assert sub.path == "/fal-ai/ltx-2.3/extend-video" and ctx.remembered[0][0].startswith("fal-ai/ltx-2.3/extend-video|")
    assert sub.body["duration"] == 5 and sub.body["mode"] == "end" and sub.body["prompt"] == req.prompt
    assert sub.body["video_url"].startswith("data:video/mp4;base64,")
    assert res.info["head_repeat"] == (120 if returns_input else 0) and res.info["new_frames"] == 120
    assert res.cost_usd == pytest.approx(0.5)


def test_fal_veo_extend_takes_inputs_up_to_8_s(api_keys, fal_fake, videos, keyframes, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from ttv.backends.remote.fal import FalBackend, FalOptions
    from ttv.core import prices

    # no dated price for fal's Veo extension: a [prices] row is needed (here, as a user would set it)
    monkeypatch.setattr(prices, "_overrides", {"fal/fal-ai/veo3.1/extend-video": 0.2})

    prev = tmp_path / "s000.mp4"
    prev.write_bytes(videos.get(8.0))
    backend = FalBackend(FalOptions(base_url=fal_fake.url, poll_interval_s=1, continue_frames=5,
                                    extend_model="fal-ai/veo3.1/extend-video",
                                    model="fal-ai/kling-video/v2.1/standard/image-to-video"))
    req = _runway_request(prev)
    req.first_image = keyframes[0]
    res = backend.generate(req, tmp_path / "s001.mp4", FakeCtx())
    assert "duration" not in fal_fake.requests[0].body  # Veo adds 7 s
    assert res.info["head_repeat"] == 192 and res.info["new_frames"] == 168
    assert res.cost_usd == pytest.approx(7 * 0.2)
    prev.write_bytes(videos.get(9.0))
    req = _runway_request(prev)
    req.first_image = keyframes[0]
    res = backend.generate(req, tmp_path / "s002.mp4", FakeCtx())
    assert res.info["continued"] == "frame" and "more than the 8 s" in res.info["continue_note"]
