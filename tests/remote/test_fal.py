"""fal through the real fal-client SyncClient against the loopback fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from ttv.backends.remote.common import resume_job_id_of
from ttv.backends.remote.fal import FalBackend, FalOptions
from ttv.core.errors import BackendError, InputRejected

from .conftest import FakeCtx, request
from .fakes import FalFake

WAN = "fal-ai/wan/v2.2-a14b/image-to-video"
KLING = "fal-ai/kling-video/v2.1/standard/image-to-video"


def backend(fake: FalFake, **opts: object) -> FalBackend:
    return FalBackend(FalOptions(base_url=fake.url, **opts))  # type: ignore[arg-type]


def test_happy_path_wan_first_last(api_keys, fal_fake, keyframes, tmp_path: Path) -> None:
    fal_fake.script = ["queued", "queued", "running", "succeeded"]
    ctx = FakeCtx()
    res = backend(fal_fake).generate(request(*keyframes, duration=5), tmp_path / "o.mp4", ctx)
    submit = next(r for r in fal_fake.requests if r.method == "POST")
    assert submit.path == f"/{WAN}" and submit.headers["authorization"] == f"Key {api_keys['FAL_KEY']}"
    body = submit.body
    assert body["num_frames"] == 81 and body["frames_per_second"] == 16 and body["aspect_ratio"] == "16:9"
    assert body["image_url"].startswith("data:image/png") and body["end_image_url"].startswith("data:image/png")
    assert body["seed"] == 7
    job_id = ctx.remembered[0][0]
    assert job_id == f"{WAN}|req-1"
    assert ctx.statuses == ["queued", "queued", "running", "downloading"]
    assert [p["message"] for p in ctx.progress_calls][:1] == ["queue position 2"]
    assert res.cost_usd == pytest.approx(0.5) and res.info["media"]["duration"] == 5
    # status polls go to the fal/wan request path rebuilt from the app id (no sub-path)
    assert any(r.path == "/fal-ai/wan/requests/req-1/status" for r in fal_fake.requests)


def test_string_duration_app_and_extra_arguments(api_keys, fal_fake, keyframes, tmp_path: Path) -> None:
    backend(fal_fake, model=KLING, arguments={"cfg_scale": 0.4}).generate(
        request(keyframes[0], duration=5), tmp_path / "o.mp4", FakeCtx())
    body = next(r for r in fal_fake.requests if r.method == "POST").body
    assert body["duration"] == "5" and body["cfg_scale"] == 0.4 and "seed" not in body


@pytest.mark.parametrize(("etype", "kind"), [("content_policy_violation", "request"),
                                             ("runner_server_error", "retryable"), ("bad_input", "backend")])
def test_app_errors_classified(api_keys, fal_fake, keyframes, tmp_path: Path, etype: str, kind: str) -> None:
    fal_fake.script = ["running", f"failed:{etype}"]
    with pytest.raises(BackendError) as info:
        backend(fal_fake).generate(request(keyframes[0]), tmp_path / "o.mp4", FakeCtx())
    assert info.value.kind == kind and resume_job_id_of(info.value) is None


def test_result_422_is_a_failed_job(api_keys, fal_fake, keyframes, tmp_path: Path) -> None:
    fal_fake.script = ["running", "succeeded"]
    fal_fake.inject("GET", r"/requests/req-1$", 422, body={"detail": [{"msg": "image too small"}]})
    with pytest.raises(BackendError) as info:
        backend(fal_fake).generate(request(keyframes[0]), tmp_path / "o.mp4", FakeCtx())
    assert info.value.code == "422" and info.value.kind == "backend" and "image too small" in info.value.message


def test_429_on_submit_and_5xx_on_poll(api_keys, fal_fake, keyframes, tmp_path: Path) -> None:
    fal_fake.inject("POST", "/fal-ai/", 429, {"Retry-After": "5"})
    with pytest.raises(BackendError) as info:
        backend(fal_fake).generate(request(keyframes[0]), tmp_path / "o.mp4", FakeCtx())
    assert info.value.kind == "retryable" and info.value.retry_after == 5
    fal_fake.inject("GET", "/status", 500, times=2)
    ctx = FakeCtx()
    backend(fal_fake).generate(request(keyframes[0]), tmp_path / "o.mp4", ctx)
    assert fal_fake.submissions == 1


def test_expired_and_truncated(api_keys, fal_fake, keyframes, tmp_path: Path) -> None:
    fal_fake.script = ["succeeded"]
    fal_fake.expire_urls = 1
    fal_fake.drop = 1
    res = backend(fal_fake).generate(request(keyframes[0]), tmp_path / "o.mp4", FakeCtx())
    assert res.info["fetches"] == 3


def test_resume_and_cancel(api_keys, fal_fake, keyframes, tmp_path: Path) -> None:
    b = backend(fal_fake)
    job = b.submit(request(keyframes[0]))
    ctx = FakeCtx(job_id=job)
    b.generate(request(keyframes[0]), tmp_path / "o.mp4", ctx)
    assert fal_fake.submissions == 1 and ctx.remembered == []
    job2 = b.submit(request(keyframes[0]))
    b.cancel(job2)
    assert fal_fake.cancels == 1
    with pytest.raises(BackendError) as info:
        b.generate(request(keyframes[0]), tmp_path / "o.mp4", FakeCtx(job_id=job2))
    assert info.value.code == "CANCELLED" and info.value.kind == "request"


def test_validation_and_prices(keyframes) -> None:
    with pytest.raises(InputRejected, match="allowed: 5, 10"):
        FalBackend(FalOptions(model=KLING)).validate_inputs(request(keyframes[0], duration=6))
    with pytest.raises(InputRejected, match="allowed: 480p, 580p, 720p"):
        FalBackend(FalOptions(resolution="1080p")).validate_inputs(request(keyframes[0]))
    with pytest.raises(InputRejected, match="outside 1-10 s"):
        FalBackend(FalOptions()).validate_inputs(request(keyframes[0], duration=10.5))
    unknown = FalBackend(FalOptions(model="someone/new-video-app"))
    unknown.validate_inputs(request(keyframes[0]))
    with pytest.raises(InputRejected, match="no price is known") as info:
        unknown.estimate_cost(request(keyframes[0]))
    assert '"fal/someone/new-video-app" = USD_PER_SECOND' in (info.value.hint or "")
    from ttv.core import prices

    prices.set_overrides({"fal/someone/new-video-app": 0.2})
    assert unknown.estimate_cost(request(keyframes[0])).usd == pytest.approx(1.0)
    assert FalBackend(FalOptions(resolution="480p")).estimate_cost(request(keyframes[0])).usd == pytest.approx(0.25)


def test_a_lost_submit_answer_is_not_retried_by_the_sdk(api_keys, fal_fake, keyframes, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 18: fal-client retries a POST after a reset or a read timeout (10 attempts by default); for a
    submit the queue accepted, each retry is another paid job. ttv sends a submit once and stops uncertain."""
    import fal_client.client as fc

    from ttv.core.errors import UncertainSubmit

    monkeypatch.setattr(fc, "MAX_ATTEMPTS", 10)  # the SDK's default (the suite's conftest lowers it)
    fal_fake.lose_submits = 1
    with pytest.raises(UncertainSubmit):
        backend(fal_fake).generate(request(*keyframes, duration=5), tmp_path / "o.mp4", FakeCtx())
    assert fal_fake.submissions == 1 and fc.MAX_ATTEMPTS == 10
