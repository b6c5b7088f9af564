"""Veo through the real google-genai SDK (Vertex express mode) against the loopback fake."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from ttv.backends.remote.common import resume_job_id_of
from ttv.backends.remote.veo import VeoBackend, VeoOptions
from ttv.core.errors import AuthError, BackendError, InputRejected

from .conftest import FakeCtx, request
from .fakes import VeoFake

MODEL = "veo-3.1-fast-generate-001"


def backend(fake: VeoFake, **opts: object) -> VeoBackend:
    return VeoBackend(VeoOptions(base_url=fake.url, **opts))  # type: ignore[arg-type]


def test_happy_path_first_last_frame(api_keys, veo_fake, keyframes, tmp_path: Path) -> None:
    veo_fake.script = ["running", "running", "succeeded"]
    ctx = FakeCtx()
    res = backend(veo_fake).generate(request(*keyframes, duration=8), tmp_path / "o.mp4", ctx)
    create = veo_fake.requests[0]
    assert create.path == f"/v1beta1/publishers/google/models/{MODEL}:predictLongRunning"
    assert create.headers["x-goog-api-key"] == api_keys["GOOGLE_API_KEY"]
    inst = create.body["instances"][0]
    assert inst["prompt"] == "a lighthouse at dusk"
    assert base64.b64decode(inst["image"]["bytesBase64Encoded"]) == keyframes[0].read_bytes()
    assert base64.b64decode(inst["lastFrame"]["bytesBase64Encoded"]) == keyframes[1].read_bytes()
    params = create.body["parameters"]
    assert params["durationSeconds"] == 8 and params["aspectRatio"] == "16:9" and params["resolution"] == "720p"
    assert params["seed"] == 7 and params["generateAudio"] is False and params["sampleCount"] == 1
    poll = veo_fake.requests[1]
    assert poll.path.endswith(f"{MODEL}:fetchPredictOperation") and poll.body["operationName"] == ctx.job_id
    assert ctx.remembered[0][0] == f"publishers/google/models/{MODEL}/operations/op1"
    assert ctx.statuses == ["running", "running", "downloading"] and ctx.sleeps == [10, 10]
    assert res.cost_usd == pytest.approx(0.8) and res.info["media"]["frames"] == 192


def test_text_to_video_9_16(api_keys, veo_fake, tmp_path: Path) -> None:
    backend(veo_fake).generate(request(None, duration=4, width=720, height=1280), tmp_path / "o.mp4", FakeCtx())
    inst = veo_fake.requests[0].body["instances"][0]
    assert "image" not in inst and veo_fake.requests[0].body["parameters"]["aspectRatio"] == "9:16"


@pytest.mark.parametrize(("arg", "kind", "code"), [
    ("13", "retryable", "rpc-13"), ("3", "backend", "rpc-3"), ("RAI", "backend", "RAI_FILTERED"),
    ("7", "backend", "rpc-7"),
])
def test_operation_errors(api_keys, veo_fake, keyframes, tmp_path: Path, arg: str, kind: str, code: str) -> None:
    veo_fake.script = ["running", f"failed:{arg}"]
    with pytest.raises(BackendError) as info:
        backend(veo_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4", FakeCtx())
    assert info.value.kind == kind and info.value.code == code and resume_job_id_of(info.value) is None


def test_safety_message_is_permanent_for_request() -> None:
    from ttv.backends.remote.veo import classify_operation_error

    err = classify_operation_error("op", {"code": 3, "message": "The prompt violates the usage guidelines"})
    assert err.kind == "request"


def test_http_errors(api_keys, veo_fake, keyframes, tmp_path: Path, monkeypatch) -> None:
    veo_fake.inject("POST", "predictLongRunning", 429, {"Retry-After": "9"},
                    body={"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}})
    with pytest.raises(BackendError) as info:
        backend(veo_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4", FakeCtx())
    assert info.value.kind == "retryable" and info.value.retry_after == 9 and len(veo_fake.requests) == 1
    veo_fake.inject("POST", "fetchPredictOperation", 503,
                    body={"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}})
    ctx = FakeCtx()
    backend(veo_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4", ctx)
    assert veo_fake.submissions == 1
    monkeypatch.setenv("GOOGLE_API_KEY", "AQ.wrong_key_123456")
    with pytest.raises(AuthError):
        backend(veo_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4", FakeCtx())


def test_truncated_inline_video_is_refetched(api_keys, veo_fake, keyframes, tmp_path: Path) -> None:
    veo_fake.script = ["succeeded"]
    veo_fake.truncate = 1
    res = backend(veo_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4", FakeCtx())
    assert res.info["fetches"] == 2 and veo_fake.polls == 2


def test_resume_by_operation_name(api_keys, veo_fake, keyframes, tmp_path: Path) -> None:
    b = backend(veo_fake)
    name = b.submit(request(keyframes[0], duration=8))
    ctx = FakeCtx(job_id=name)
    res = backend(veo_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4", ctx)
    assert veo_fake.submissions == 1 and res.info["resumed"] is True


def test_gemini_mode_on_genai3_reports_sdk_mode(api_keys, veo_fake, keyframes, tmp_path: Path) -> None:
    import google.genai

    if not google.genai.__version__.startswith("3"):
        pytest.skip("google-genai 2.x supports the Gemini API route")
    with pytest.raises(BackendError) as info:
        backend(veo_fake, api="gemini").generate(request(keyframes[0], duration=8), tmp_path / "o.mp4", FakeCtx())
    assert info.value.code == "sdk-mode" and info.value.kind == "backend" and "google-genai<3" in (info.value.hint or "")
    assert veo_fake.requests == []


def test_cancel_unsupported_and_validation(keyframes) -> None:
    b = VeoBackend(VeoOptions())
    with pytest.raises(BackendError, match="no cancel"):
        b.cancel("x")
    with pytest.raises(InputRejected, match="allowed: 4, 6, 8"):
        b.validate_inputs(request(keyframes[0], duration=5))
    with pytest.raises(InputRejected, match=r"allowed: 16:9 \(1280x720\), 9:16"):
        b.validate_inputs(request(keyframes[0], duration=8, width=960, height=960))
    with pytest.raises(InputRejected, match="allowed: 720p, 1080p"):
        VeoBackend(VeoOptions(model="veo-3.1-lite-generate-preview", resolution="4k")).validate_inputs(
            request(keyframes[0], duration=8))
    assert VeoBackend(VeoOptions(resolution="1080p")).estimate_cost(request(keyframes[0], duration=8)).usd == \
        pytest.approx(0.96)
    assert not VeoBackend(VeoOptions()).is_available().ok
    assert VeoBackend(VeoOptions(project="p", location="us-central1")).is_available().ok
