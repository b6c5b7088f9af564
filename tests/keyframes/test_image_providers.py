"""gemini-image and runway-image through the real SDKs against loopback fakes."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.planning.fakes import GeminiFake, gemini_blocked, gemini_image, gemini_text, google_error
from ttv.backends.base import ImageRequest
from ttv.backends.remote.common import resume_job_id_of
from ttv.backends.remote.gemini_image import GeminiImageKeyframes, GeminiImageOptions, closest_ratio
from ttv.backends.remote.runway_image import RunwayImageKeyframes, RunwayImageOptions
from ttv.core.errors import AuthError, BackendError, InputRejected

from .conftest import FakeCtx, make_png, png_bytes
from .fakes import RunwayImageFake


def image_request(tmp_path: Path, *, refs: list[Path] | None = None, width: int = 128, height: int = 72,
                  index: int = 0) -> ImageRequest:
    return ImageRequest(keyframe_id=f"k{index:03d}", prompt="A lighthouse on a cliff at dusk", width=width,
                        height=height, seed=7001, style="painterly", reference_images=refs or [],
                        extra={"project_root": str(tmp_path), "index": index})


def assert_png(path: Path, size: tuple[int, int]) -> None:
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        assert im.format == "PNG" and im.size == size


# ---- gemini-image ------------------------------------------------------------------------------


def gemini(fake: GeminiFake, **opts: object) -> GeminiImageKeyframes:
    return GeminiImageKeyframes(GeminiImageOptions(base_url=fake.url, **opts))  # type: ignore[arg-type]


def test_gemini_image_with_reference(keys_set, gemini_fake: GeminiFake, tmp_path: Path) -> None:
    make_png(tmp_path / "refs" / "hero.png")
    gemini_fake.queue(gemini_image(png_bytes(1344, 768), text="Here it is"))
    out = tmp_path / "k000.partial.png"
    result = gemini(gemini_fake, reference_images=["refs/hero.png"]).generate(image_request(tmp_path), out, FakeCtx())
    assert_png(out, (128, 72))
    assert result.cost_usd == pytest.approx(0.039) and result.model == "gemini-2.5-flash-image"
    assert result.info["aspect_ratio"] == "16:9" and result.info["references"] == 1
    (rec,) = gemini_fake.posts(":generateContent")
    assert rec.path.endswith("/models/gemini-2.5-flash-image:generateContent")
    gen = rec.body["generationConfig"]
    assert gen["responseModalities"] == ["IMAGE"] and gen["imageConfig"]["aspectRatio"] == "16:9"
    parts = rec.body["contents"][0]["parts"]
    assert "painterly" in parts[0]["text"] and "reference image" in parts[0]["text"]
    assert base64.urlsafe_b64decode(parts[1]["inlineData"]["data"]) == (tmp_path / "refs" / "hero.png").read_bytes()


def test_gemini_image_previous_keyframe_as_reference(keys_set, gemini_fake: GeminiFake, tmp_path: Path) -> None:
    make_png(tmp_path / "keyframes" / "k000.png")
    gemini_fake.queue(gemini_image(png_bytes(64, 64)))
    gemini(gemini_fake, reference_previous=True).generate(image_request(tmp_path, index=1), tmp_path / "o.png",
                                                          FakeCtx())
    assert len(gemini_fake.posts()[0].body["contents"][0]["parts"]) == 2


def test_gemini_image_refused_stops(keys_set, gemini_fake: GeminiFake, tmp_path: Path) -> None:
    gemini_fake.queue(gemini_blocked("SAFETY"))
    with pytest.raises(InputRejected) as exc:
        gemini(gemini_fake).generate(image_request(tmp_path), tmp_path / "o.png", FakeCtx())
    assert exc.value.kind == "request"


def test_gemini_image_text_only_is_retryable(keys_set, gemini_fake: GeminiFake, tmp_path: Path) -> None:
    gemini_fake.queue(gemini_text("I cannot draw that right now."))
    with pytest.raises(BackendError) as exc:
        gemini(gemini_fake).generate(image_request(tmp_path), tmp_path / "o.png", FakeCtx())
    assert exc.value.kind == "retryable" and exc.value.code == "no-image" and "cannot draw" in exc.value.message


def test_gemini_image_429_and_5xx_classified(keys_set, gemini_fake: GeminiFake, tmp_path: Path) -> None:
    gemini_fake.queue(google_error(429, "RESOURCE_EXHAUSTED", "slow down", {"Retry-After": "9"}),
                      google_error(500, "INTERNAL", "oops"))
    for code in ("429", "500"):
        with pytest.raises(BackendError) as exc:
            gemini(gemini_fake).generate(image_request(tmp_path), tmp_path / "o.png", FakeCtx())
        assert exc.value.kind == "retryable" and exc.value.code == code
    assert exc.value.retry_after is None


def test_gemini_image_missing_reference_and_no_key(gemini_fake: GeminiFake, tmp_path: Path, monkeypatch) -> None:
    provider = gemini(gemini_fake, reference_images=["refs/missing.png"])
    assert not provider.is_available().ok and "GOOGLE_API_KEY" in provider.is_available().reason
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza_google_SECRET_0123456789abcdef")
    with pytest.raises(InputRejected) as exc:
        provider.generate(image_request(tmp_path), tmp_path / "o.png", FakeCtx())
    assert "missing.png" in exc.value.message and gemini_fake.posts() == []


@pytest.mark.parametrize(("size", "ratio"), [((1280, 720), "16:9"), ((720, 1280), "9:16"), ((1024, 1024), "1:1"),
                                             ((2560, 1080), "21:9"), ((800, 600), "4:3")])
def test_gemini_aspect_ratio(size: tuple[int, int], ratio: str) -> None:
    assert closest_ratio(*size) == ratio


# ---- runway-image ------------------------------------------------------------------------------


def runway(fake: RunwayImageFake, **opts: object) -> RunwayImageKeyframes:
    return RunwayImageKeyframes(RunwayImageOptions(base_url=fake.url, poll_interval_s=2, **opts))  # type: ignore[arg-type]


def test_runway_image_happy_path(keys_set, runway_fake: RunwayImageFake, tmp_path: Path) -> None:
    make_png(tmp_path / "refs" / "hero.png")
    ctx = FakeCtx()
    out = tmp_path / "k000.partial.png"
    result = runway(runway_fake, reference_images=["refs/hero.png"]).generate(image_request(tmp_path), out, ctx)
    assert_png(out, (128, 72))
    assert result.cost_usd == pytest.approx(0.05) and result.credits == 5 and result.model == "gen4_image"
    assert ctx.remembered == [("task-1", {"provider": "runway-image", "model": "gen4_image", "ratio": "1280:720"})]
    assert [p["status"] for p in ctx.progress_calls] == ["queued", "running", "downloading"]
    assert ctx.sleeps == [2, 2]
    (sub,) = runway_fake.submissions()
    assert sub.body["model"] == "gen4_image" and sub.body["ratio"] == "1280:720" and sub.body["seed"] == 7001
    assert "painterly" in sub.body["promptText"]
    assert sub.body["referenceImages"][0]["uri"].startswith("data:image/png;base64,")
    assert sub.body["referenceImages"][0]["tag"] == "hero"
    assert runway_fake.requests.index(sub) < runway_fake.requests.index(runway_fake.polls()[0])


def test_runway_image_resume_polls_without_submitting(keys_set, runway_fake: RunwayImageFake, tmp_path: Path) -> None:
    runway_fake.add_task("task-old", ["RUNNING:0.9", "SUCCEEDED"])
    ctx = FakeCtx(job_id="task-old")
    result = runway(runway_fake).generate(image_request(tmp_path), tmp_path / "o.png", ctx)
    assert runway_fake.submissions() == [] and ctx.remembered == []
    assert result.info["resumed"] is True and result.info["job_id"] == "task-old"


def test_runway_image_safety_and_internal_failures(keys_set, runway_fake: RunwayImageFake, tmp_path: Path) -> None:
    runway_fake.script = ["FAILED:SAFETY.INPUT.TEXT"]
    with pytest.raises(InputRejected) as exc:
        runway(runway_fake).generate(image_request(tmp_path), tmp_path / "o.png", FakeCtx())
    assert exc.value.kind == "request" and exc.value.message.startswith("runway-image:")
    assert resume_job_id_of(exc.value) is None
    runway_fake.script = ["FAILED:INTERNAL.BAD_OUTPUT"]
    with pytest.raises(BackendError) as exc2:
        runway(runway_fake).generate(image_request(tmp_path), tmp_path / "o.png", FakeCtx())
    assert exc2.value.kind == "retryable"


def test_runway_image_expired_url_fetched_again(keys_set, runway_fake: RunwayImageFake, tmp_path: Path) -> None:
    runway_fake.script = ["SUCCEEDED"]
    runway_fake.expire = 1
    result = runway(runway_fake).generate(image_request(tmp_path), tmp_path / "o.png", FakeCtx())
    assert result.info["fetches"] == 2 and runway_fake.downloads == 2 and len(runway_fake.submissions()) == 1


def test_runway_image_poll_429_honours_retry_after(keys_set, runway_fake: RunwayImageFake, tmp_path: Path) -> None:
    from tests.planning.fakes import Reply

    runway_fake.script = ["SUCCEEDED"]
    runway_fake.queue(lambda rec: runway_fake.default(rec))  # the submit
    runway_fake.queue(Reply(429, {"error": "slow down"}, {"Retry-After": "11"}))
    ctx = FakeCtx()
    runway(runway_fake).generate(image_request(tmp_path), tmp_path / "o.png", ctx)
    assert ctx.sleeps == [11.0] and "throttled" in [p["status"] for p in ctx.progress_calls]


def test_runway_image_auth_and_no_key(runway_fake: RunwayImageFake, tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(AuthError):
        runway(runway_fake).generate(image_request(tmp_path), tmp_path / "o.png", FakeCtx())
    monkeypatch.setenv("RUNWAYML_API_SECRET", "key_wrong_0123456789")
    with pytest.raises(BackendError) as exc:
        runway(runway_fake).generate(image_request(tmp_path), tmp_path / "o.png", FakeCtx())
    assert exc.value.code == "401" and exc.value.kind == "backend"
    assert "key_wrong_0123456789" not in exc.value.message


def test_runway_image_poll_timeout_keeps_the_job(keys_set, runway_fake: RunwayImageFake, tmp_path: Path) -> None:
    runway_fake.script = ["RUNNING:0.1"]
    with pytest.raises(BackendError) as exc:
        runway(runway_fake, poll_timeout_s=5).generate(image_request(tmp_path), tmp_path / "o.png", FakeCtx())
    assert exc.value.code == "poll-timeout" and resume_job_id_of(exc.value) == "task-1"


def test_runway_image_turbo_needs_references(keys_set, runway_fake: RunwayImageFake, tmp_path: Path) -> None:
    with pytest.raises(InputRejected) as exc:
        runway(runway_fake, model="gen4_image_turbo").generate(image_request(tmp_path), tmp_path / "o.png", FakeCtx())
    assert "reference image" in exc.value.message and runway_fake.submissions() == []


def test_runway_image_estimate_uses_price_table(keys_set) -> None:
    p = RunwayImageKeyframes()
    assert p.estimate_cost(ImageRequest("k000", "x", 1280, 720, 1)).usd == pytest.approx(0.05)
    assert p.estimate_cost(ImageRequest("k000", "x", 1920, 1080, 1)).usd == pytest.approx(0.08)


def test_runway_image_retry_after_poll_timeout_polls_the_same_task(keys_set, runway_fake: RunwayImageFake,
                                                                    tmp_path: Path) -> None:
    """The runner retries a poll timeout with no job id; the provider resumes its live task instead of paying twice."""
    runway_fake.script = ["RUNNING:0.1", "RUNNING:0.2", "SUCCEEDED"]
    provider = runway(runway_fake, poll_timeout_s=3)
    with pytest.raises(BackendError):
        provider.generate(image_request(tmp_path), tmp_path / "o.png", FakeCtx())
    ctx = FakeCtx()
    result = provider.generate(image_request(tmp_path), tmp_path / "o.png", ctx)
    assert len(runway_fake.submissions()) == 1 and result.info["resumed"] is True
    assert ctx.remembered[0][0] == "task-1"


@pytest.mark.parametrize(("exc", "uncertain"), [("read-timeout", True), ("connect", False)])
def test_runway_image_submit_whose_answer_may_be_lost_is_uncertain(keys_set, runway_fake: RunwayImageFake,
                                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   exc: str, uncertain: bool) -> None:
    """Issue 18: a read timeout after the submit went up may hide a paid task (no idempotency at Runway): stop
    as uncertain; a connect error means it never left: an ordinary retryable error."""
    import httpx

    from ttv.backends.remote.common import network_error
    from ttv.core.errors import UncertainSubmit

    cause = httpx.ReadTimeout("timed out") if exc == "read-timeout" else httpx.ConnectError("refused")
    backend = runway(runway_fake)

    def lost(request: object) -> object:
        raise network_error(backend.name, cause, what="submit")

    monkeypatch.setattr(backend, "submit", lost)
    with pytest.raises(BackendError) as info:
        backend.generate(image_request(tmp_path), tmp_path / "o.png", FakeCtx())
    assert isinstance(info.value, UncertainSubmit) is uncertain
    assert info.value.kind == ("request" if uncertain else "retryable")
