"""Veo against the loopback fake: Vertex express mode through the real google-genai SDK, and the Gemini
Developer API (AI Studio key) through ttv's own httpx client."""

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
    with pytest.raises(AuthError) as auth:
        backend(veo_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4", FakeCtx())
    assert "express-mode key" in (auth.value.hint or "") and "api = \"gemini\"" in (auth.value.hint or "")


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


# -- the Gemini Developer API route (api = "gemini"): ttv's own httpx client -------------------------------------------
# The fake answers as the Gemini API does (the wire format google-genai 2.x sends in this mode).


GEMINI_MODEL = "veo-3.1-fast-generate-preview"
GEMINI_KEY = "AIzaSy_gemini_SECRET_0123456789abcdef"


@pytest.fixture
def gemini_fake(videos, monkeypatch: pytest.MonkeyPatch):
    """A VeoFake that expects an AI Studio key, given the way AI Studio users set it (GEMINI_API_KEY)."""
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    fake = VeoFake(videos, GEMINI_KEY)
    yield fake
    fake.close()


def gemini(fake: VeoFake, **opts: object) -> VeoBackend:
    return VeoBackend(VeoOptions(base_url=fake.url, api="gemini", model=GEMINI_MODEL, **opts))  # type: ignore[arg-type]


def _no_key(*texts: object) -> None:
    for text in texts:
        assert GEMINI_KEY not in repr(text)


def test_gemini_happy_path_first_last_frame(gemini_fake, keyframes, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")  # must not turn the route into Vertex
    gemini_fake.script = ["queued", "running", "succeeded"]
    ctx = FakeCtx()
    out = tmp_path / "o.mp4"
    res = gemini(gemini_fake).generate(request(*keyframes, duration=8), out, ctx)
    create, *polls, download = gemini_fake.requests
    assert (create.method, create.path) == ("POST", f"/v1beta/models/{GEMINI_MODEL}:predictLongRunning")
    assert create.headers["x-goog-api-key"] == GEMINI_KEY and create.headers["user-agent"].startswith("ttv/")
    inst = create.body["instances"][0]
    assert inst["prompt"] == "a lighthouse at dusk"
    assert base64.b64decode(inst["image"]["bytesBase64Encoded"]) == keyframes[0].read_bytes()
    assert base64.b64decode(inst["lastFrame"]["bytesBase64Encoded"]) == keyframes[1].read_bytes()
    assert inst["image"]["mimeType"] == "image/png"
    # No seed, no generateAudio: the Gemini API (and the SDK in this mode) refuses them.
    assert create.body["parameters"] == {"sampleCount": 1, "durationSeconds": 8, "aspectRatio": "16:9",
                                         "resolution": "720p"}
    name = f"models/{GEMINI_MODEL}/operations/op1"
    assert [(p.method, p.path) for p in polls] == [("GET", f"/v1beta/{name}")] * 3
    assert all(p.headers["x-goog-api-key"] == GEMINI_KEY for p in polls)
    assert (download.method, download.path, download.query) == ("GET", "/v1beta/files/op1v1:download",
                                                                {"alt": ["media"]})
    assert download.headers["x-goog-api-key"] == GEMINI_KEY
    assert ctx.remembered == [(name, {"provider": "veo", "model": GEMINI_MODEL})]
    assert ctx.statuses == ["running", "running", "downloading"] and ctx.sleeps == [10, 10]
    assert out.read_bytes() == gemini_fake.videos.get(8.0)
    assert res.info["media"]["frames"] == 192 and res.info["end_frame"] == "sent" and res.info["fetches"] == 1
    assert res.cost_usd == pytest.approx(0.8)
    _no_key(res, ctx.remembered, ctx.progress_calls, ctx.events)


def test_gemini_options_text_to_video(gemini_fake, tmp_path: Path) -> None:
    req = request(None, duration=4, width=720, height=1280)
    req.negative_prompt = "blur"
    gemini(gemini_fake, person_generation="allow_all", enhance_prompt=True, generate_audio=True).generate(
        req, tmp_path / "o.mp4", FakeCtx())
    body = gemini_fake.requests[0].body
    assert body["instances"] == [{"prompt": "a lighthouse at dusk"}]
    assert body["parameters"] == {"sampleCount": 1, "durationSeconds": 4, "aspectRatio": "9:16", "resolution": "720p",
                                  "negativePrompt": "blur", "personGeneration": "allow_all", "enhancePrompt": True}
    gemini_fake.requests.clear()
    b = VeoBackend(VeoOptions(base_url=gemini_fake.url, api="gemini", model="veo-2.0-generate-001"))
    b.generate(request(None, duration=5), tmp_path / "o2.mp4", FakeCtx())
    assert gemini_fake.requests[0].path == "/v1beta/models/veo-2.0-generate-001:predictLongRunning"
    assert "resolution" not in gemini_fake.requests[0].body["parameters"]


@pytest.mark.parametrize(("arg", "kind", "code", "error"), [
    ("13", "retryable", "rpc-13", BackendError), ("3", "backend", "rpc-3", InputRejected),
    ("RAI", "backend", "RAI_FILTERED", BackendError), ("7", "backend", "rpc-7", AuthError),
])
def test_gemini_operation_errors(gemini_fake, keyframes, tmp_path: Path, arg: str, kind: str, code: str,
                                 error: type) -> None:
    gemini_fake.script = ["running", f"failed:{arg}"]
    with pytest.raises(BackendError) as info:
        gemini(gemini_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4", FakeCtx())
    assert isinstance(info.value, error) and info.value.kind == kind and info.value.code == code
    assert resume_job_id_of(info.value) is None and gemini_fake.downloads == 0
    if arg == "RAI":
        assert "usage guidelines" in info.value.message and info.value.hint


@pytest.mark.parametrize(("status", "error", "kind", "hint"), [
    (400, InputRejected, "backend", "rejected the request"),
    (401, AuthError, "backend", "(AI Studio) key"),
    (403, AuthError, "backend", "(AI Studio) key"),
    (429, BackendError, "retryable", "rate or daily limit"),
    (500, BackendError, "retryable", None),
])
def test_gemini_submit_http_errors(gemini_fake, keyframes, tmp_path: Path, status: int, error: type, kind: str,
                                   hint: str | None) -> None:
    gemini_fake.inject("POST", "predictLongRunning", status, {"Retry-After": "9"} if status == 429 else None,
                       body={"error": {"code": status, "message": f"nope ({GEMINI_KEY})", "status": "X"}})
    ctx = FakeCtx()
    with pytest.raises(BackendError) as info:
        gemini(gemini_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4", ctx)
    err = info.value
    assert type(err) is error and err.code == str(status) and f"HTTP {status}" in err.message and err.kind == kind
    assert hint is None or hint in (err.hint or "")
    assert err.retry_after == (9 if status == 429 else None)
    assert len(gemini_fake.requests) == 1 and gemini_fake.submissions == 0  # no SDK retries
    assert "***" in err.message
    _no_key(err, err.message, err.hint, ctx.remembered, ctx.progress_calls)


def test_gemini_poll_and_download_errors_recover(gemini_fake, keyframes, tmp_path: Path) -> None:
    gemini_fake.script = ["running", "succeeded"]
    gemini_fake.inject("GET", r"/operations/", 503, body={"error": {"code": 503, "message": "overloaded",
                                                                    "status": "UNAVAILABLE"}})
    gemini_fake.inject("GET", r":download$", 500, body={"error": {"code": 500, "message": "internal",
                                                                  "status": "INTERNAL"}})
    ctx = FakeCtx()
    res = gemini(gemini_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4", ctx)
    assert gemini_fake.submissions == 1 and res.info["fetches"] == 2
    assert any("poll failed (503)" in (p["message"] or "") for p in ctx.progress_calls)
    # a wrong key: the first call answers 401 -> AuthError (not retried, not resumable)
    with pytest.raises(AuthError) as info:
        VeoBackend(VeoOptions(base_url=gemini_fake.url, api="gemini", model=GEMINI_MODEL),
                   api_key="AIzaSy_wrong_key_0123456789").generate(request(keyframes[0], duration=8),
                                                                    tmp_path / "o.mp4", FakeCtx())
    assert info.value.code == "401" and gemini_fake.submissions == 1


@pytest.mark.parametrize("fault", ["expire", "truncate", "drop", "redirect", "redirect-expire"])
def test_gemini_download_faults_refetch(gemini_fake, keyframes, tmp_path: Path, fault: str) -> None:
    gemini_fake.script = ["succeeded"]
    gemini_fake.file_redirect = fault.startswith("redirect")
    gemini_fake.expire_urls = int(fault.endswith("expire"))
    gemini_fake.truncate = int(fault == "truncate")
    gemini_fake.drop = int(fault == "drop")
    out = tmp_path / "o.mp4"
    res = gemini(gemini_fake).generate(request(keyframes[0], duration=8), out, FakeCtx())
    assert res.info["fetches"] == (1 if fault == "redirect" else 2) and gemini_fake.submissions == 1
    assert out.read_bytes() == gemini_fake.videos.get(8.0)
    downloads = [r for r in gemini_fake.requests if r.path.endswith(":download")]
    assert [r.path for r in downloads][-1] == f"/v1beta/files/op1v{res.info['fetches']}:download"
    if fault.startswith("redirect"):  # the SDK follows the 302 to the storage URL
        assert gemini_fake.requests[-1].path.startswith("/files/op1/t")


def test_gemini_download_keeps_failing(gemini_fake, keyframes, tmp_path: Path) -> None:
    gemini_fake.script = ["succeeded"]
    gemini_fake.expire_urls = 9
    with pytest.raises(BackendError) as info:
        gemini(gemini_fake, download_attempts=2).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4",
                                                          FakeCtx())
    err = info.value
    assert err.code == "download" and "HTTP 403" in err.message and "may not exist" in err.message
    assert resume_job_id_of(err) == f"models/{GEMINI_MODEL}/operations/op1"
    assert not (tmp_path / "o.mp4").exists()
    _no_key(err, err.message)


def test_gemini_resume_by_operation_name(gemini_fake, keyframes, tmp_path: Path) -> None:
    gemini_fake.script = ["running", "succeeded"]
    name = gemini(gemini_fake).submit(request(keyframes[0], duration=8))
    assert name == f"models/{GEMINI_MODEL}/operations/op1"
    gemini_fake.requests.clear()
    ctx = FakeCtx(job_id=name)
    res = gemini(gemini_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4", ctx)
    assert gemini_fake.submissions == 1 and res.info["resumed"] is True and ctx.remembered == []
    assert [r.method for r in gemini_fake.requests] == ["GET", "GET", "GET"]
    assert gemini_fake.requests[0].path == f"/v1beta/{name}"
    # a job the provider does not know: 404 -> submit anew (retryable, not resumable)
    with pytest.raises(BackendError) as info:
        gemini(gemini_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4",
                                     FakeCtx(job_id=f"models/{GEMINI_MODEL}/operations/gone"))
    assert info.value.code == "404" and info.value.kind == "retryable" and resume_job_id_of(info.value) is None
    # `ttv status` / `ttv wait` see the file URI, never the key
    state = gemini(gemini_fake).remote_status(name)
    assert state.status == "succeeded" and state.urls[0].endswith("/v1beta/files/op1v2:download?alt=media")
    _no_key(state.urls)


def test_gemini_key_stays_in_the_header_and_on_the_configured_host(gemini_fake, keyframes, tmp_path: Path) -> None:
    gemini_fake.script = ["running", "succeeded"]
    gemini_fake.file_redirect = True  # the file download answers 302 to a storage URL
    gemini(gemini_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4", FakeCtx())
    storage = gemini_fake.requests[-1]
    assert storage.path.startswith("/files/op1/t") and "x-goog-api-key" not in storage.headers
    for rec in gemini_fake.requests:
        assert GEMINI_KEY not in rec.path and GEMINI_KEY not in repr(rec.query)
    assert all(r.headers.get("x-goog-api-key") == GEMINI_KEY for r in gemini_fake.requests[:-1])


def test_gemini_job_id_is_remembered_before_the_first_poll(gemini_fake, keyframes, tmp_path: Path) -> None:
    class Ctx(FakeCtx):
        seen: list[int] = []

        def remember_job(self, job_id: str, **info: object) -> None:
            self.seen.append(len(gemini_fake.requests))  # only the submit was sent so far
            super().remember_job(job_id, **info)

    gemini_fake.script = ["running", "succeeded"]
    ctx = Ctx()
    gemini(gemini_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4", ctx)
    assert ctx.seen == [1] and gemini_fake.requests[0].method == "POST"


def test_gemini_resume_after_a_kill_polls_and_never_resubmits(gemini_fake, keyframes, tmp_path: Path) -> None:
    gemini_fake.script = ["running", "running", "succeeded"]

    class Killed(Exception):
        pass

    class Ctx(FakeCtx):
        def sleep(self, seconds: float) -> None:
            raise Killed  # the process dies while it waits between polls

    ctx = Ctx()
    with pytest.raises(Killed):
        gemini(gemini_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4", ctx)
    assert ctx.job_id == f"models/{GEMINI_MODEL}/operations/op1"
    res = gemini(gemini_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4",
                                       FakeCtx(job_id=ctx.job_id))
    assert gemini_fake.submissions == 1 and res.info["resumed"] is True
    assert res.info["video_uri"].endswith("/v1beta/files/op1v1:download?alt=media")


def test_gemini_request_body_matches_the_sdk_wire_format(keyframes) -> None:
    from ttv.backends.remote.veo import gemini_request_body, inline_image

    png = base64.b64encode(keyframes[0].read_bytes()).decode()
    # What google-genai 2.34 sends in Gemini API mode for first+last frame (captured against a fake).
    assert gemini_request_body("a lighthouse at dusk", image=inline_image(keyframes[0], "image/png"),
                               last_frame=inline_image(keyframes[0], "image/png"),
                               parameters={"durationSeconds": 8, "aspectRatio": "16:9", "resolution": "720p"}) == {
        "instances": [{"prompt": "a lighthouse at dusk",
                       "image": {"bytesBase64Encoded": png, "mimeType": "image/png"},
                       "lastFrame": {"bytesBase64Encoded": png, "mimeType": "image/png"}}],
        "parameters": {"sampleCount": 1, "durationSeconds": 8, "aspectRatio": "16:9", "resolution": "720p"}}
    # Extension: an earlier Veo result, passed back by its file URI.
    uri = "https://generativelanguage.googleapis.com/v1beta/files/abc123:download?alt=media"
    assert gemini_request_body("the camera pulls back", video_uri=uri, parameters={"resolution": "720p"}) == {
        "instances": [{"prompt": "the camera pulls back", "video": {"uri": uri}}],
        "parameters": {"sampleCount": 1, "resolution": "720p"}}


def test_gemini_safety_refusal_at_submit_is_permanent(gemini_fake, keyframes, tmp_path: Path) -> None:
    gemini_fake.inject("POST", "predictLongRunning", 400, body={"error": {
        "code": 400, "status": "INVALID_ARGUMENT",
        "message": "The prompt could not be submitted: it violates the usage guidelines."}})
    with pytest.raises(InputRejected) as info:
        gemini(gemini_fake).generate(request(keyframes[0], duration=8), tmp_path / "o.mp4", FakeCtx())
    assert info.value.kind == "request" and info.value.code == "400-safety"


def test_gemini_inline_result_and_bad_names(gemini_fake, tmp_path: Path) -> None:
    from ttv.backends.remote.veo import parse_gemini_operation

    data = gemini_fake.videos.get(4.0)
    state = parse_gemini_operation("models/m/operations/x", {"name": "x", "done": True, "response": {
        "generateVideoResponse": {"generatedSamples": [{"video": {"encodedVideo": base64.b64encode(data).decode(),
                                                                  "encoding": "video/mp4"}}]}}})
    assert state.status == "succeeded" and state.urls == []
    b = gemini(gemini_fake)
    b.fetch_output(state, tmp_path / "inline.mp4")
    assert (tmp_path / "inline.mp4").read_bytes() == data
    empty = parse_gemini_operation("x", {"done": True, "response": {"generateVideoResponse": {}}})
    assert empty.status == "failed" and empty.error is not None and empty.error.kind == "retryable"
    for bad in ("../../files/abc:download", "models/m/operations/x?alt=media", "/models/m"):
        with pytest.raises(BackendError) as info:
            b.poll_once(bad)
        assert info.value.code == "404"  # not an operation of this API: generate() submits anew
    assert gemini_fake.requests == []


def test_gemini_route_needs_no_google_genai(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "google" else real(name, *a))
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    assert VeoBackend(VeoOptions(api="gemini", model=GEMINI_MODEL)).is_available().ok
    vertex = VeoBackend(VeoOptions()).is_available()
    assert not vertex.ok and "google.genai" in (vertex.reason or "")
