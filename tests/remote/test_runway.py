"""Runway through the real runwayml SDK against the loopback fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from ttv.backends.remote.common import resume_job_id_of
from ttv.backends.remote.runway import RunwayBackend, RunwayOptions
from ttv.core.errors import AuthError, BackendError, InputRejected

from .conftest import FakeCtx, make_png, request
from .fakes import RunwayFake


def backend(fake: RunwayFake, **opts: object) -> RunwayBackend:
    return RunwayBackend(RunwayOptions(base_url=fake.url, poll_interval_s=2, **opts))  # type: ignore[arg-type]


def test_happy_path_image_to_video(api_keys, runway_fake, keyframes, tmp_path: Path) -> None:
    runway_fake.script = ["queued", "throttled", "running:0.3", "running:0.8", "succeeded"]
    b = backend(runway_fake)
    ctx = FakeCtx()
    out = tmp_path / "s000.mp4.partial"
    result = b.generate(request(keyframes[0]), out, ctx)
    assert out.exists() and result.info["media"]["frames"] == 120
    assert result.credits == 25 and result.cost_usd == pytest.approx(0.25) and result.model == "gen4_turbo"
    assert ctx.remembered[0][0] == "task-1" and ctx.remembered[0][1]["provider"] == "runway"
    assert ctx.statuses == ["queued", "throttled", "running", "running", "downloading"]
    assert [p["fraction"] for p in ctx.progress_calls if p["status"] == "running"] == [0.3, 0.8]
    assert ctx.sleeps == [2, 2, 2, 2]
    submit = next(r for r in runway_fake.requests if r.method == "POST")
    assert submit.path == "/v1/image_to_video"
    assert submit.body["model"] == "gen4_turbo" and submit.body["ratio"] == "1280:720"
    assert submit.body["duration"] == 5 and submit.body["seed"] == 7
    assert submit.body["promptImage"].startswith("data:image/png;base64,")
    assert submit.headers["x-runway-version"] == "2024-11-06"
    # the remembered id comes before the first poll
    first_poll = next(i for i, r in enumerate(runway_fake.requests) if r.method == "GET")
    assert first_poll > 0


def test_text_to_video_without_image(api_keys, runway_fake, tmp_path: Path) -> None:
    b = backend(runway_fake, model="gen4.5")
    b.generate(request(None), tmp_path / "o.mp4", FakeCtx())
    submit = next(r for r in runway_fake.requests if r.method == "POST")
    assert submit.path == "/v1/text_to_video" and submit.body["ratio"] == "1280:720"


def test_first_and_last_frame_on_veo31(api_keys, runway_fake, keyframes, tmp_path: Path) -> None:
    b = backend(runway_fake, model="veo3.1_fast")
    res = b.generate(request(*keyframes, duration=6), tmp_path / "o.mp4", FakeCtx())
    body = next(r for r in runway_fake.requests if r.method == "POST").body
    assert [p["position"] for p in body["promptImage"]] == ["first", "last"]
    assert body["audio"] is False and body["duration"] == 6
    assert res.info["end_frame"] == "sent"


def test_end_frame_refused_unless_ignored_on_gen4_turbo(api_keys, runway_fake, keyframes, tmp_path: Path) -> None:
    # gen4_turbo takes no last frame: "auto" (and "require") refuse before anything is paid, naming the models
    # that take one and the opt-in; end_frame = "ignore" sends the first frame only and the record says so.
    for policy in ("auto", "require"):
        with pytest.raises(InputRejected, match="veo3.1") as caught:
            backend(runway_fake, end_frame=policy).validate_inputs(request(*keyframes))
        assert 'end_frame = "ignore"' in (caught.value.hint or "")
    ignoring = backend(runway_fake, end_frame="ignore")
    ignoring.validate_inputs(request(*keyframes))
    res = ignoring.generate(request(*keyframes), tmp_path / "o.mp4", FakeCtx())
    assert res.info["end_frame"] == "ignored"
    body = next(r for r in runway_fake.requests if r.method == "POST").body
    assert isinstance(body["promptImage"], str)


def test_large_image_goes_through_uploads(api_keys, runway_fake, tmp_path: Path) -> None:
    import os

    from PIL import Image

    big = tmp_path / "big.png"
    Image.frombytes("RGB", (1400, 1400), os.urandom(1400 * 1400 * 3)).save(big)
    assert big.stat().st_size > 5 * 1024 * 1024
    backend(runway_fake).generate(request(big), tmp_path / "o.mp4", FakeCtx())
    paths = [(r.method, r.path) for r in runway_fake.requests]
    assert ("POST", "/v1/uploads") in paths and ("POST", "/upload-bucket") in paths
    body = next(r for r in runway_fake.requests if r.path == "/v1/image_to_video").body
    assert body["promptImage"] == "runway://uploads/u1"


@pytest.mark.parametrize(("code", "kind"), [
    ("SAFETY.INPUT.TEXT", "request"), ("SAFETY.OUTPUT.VIDEO", "backend"), ("INTERNAL.BAD_OUTPUT", "retryable"),
    ("INTERNAL", "retryable"), ("ASSET.INVALID", "backend"),
])
def test_failure_codes_are_classified(api_keys, runway_fake, keyframes, tmp_path: Path, code: str, kind: str) -> None:
    runway_fake.script = ["running:0.5", f"failed:{code}"]
    out = tmp_path / "o.mp4"
    with pytest.raises(BackendError) as info:
        backend(runway_fake).generate(request(keyframes[0]), out, FakeCtx())
    assert info.value.kind == kind and info.value.code == code
    assert resume_job_id_of(info.value) is None and info.value.job_id == "task-1"  # type: ignore[attr-defined]
    assert not out.exists()


def test_submit_429_with_retry_after_is_retryable_and_single_request(api_keys, runway_fake, keyframes,
                                                                      tmp_path: Path) -> None:
    runway_fake.inject("POST", "/v1/image_to_video", 429, {"Retry-After": "7"})
    ctx = FakeCtx()
    with pytest.raises(BackendError) as info:
        backend(runway_fake).generate(request(keyframes[0]), tmp_path / "o.mp4", ctx)
    assert info.value.kind == "retryable" and info.value.code == "429" and info.value.retry_after == 7
    assert len(runway_fake.requests) == 1  # SDK retries are off: ttv owns them
    assert ctx.remembered == []


def test_poll_429_and_5xx_are_retried_inside_the_loop(api_keys, runway_fake, keyframes, tmp_path: Path) -> None:
    runway_fake.inject("GET", "/v1/tasks/", 429, {"Retry-After": "11"})
    runway_fake.inject("GET", "/v1/tasks/", 503)
    ctx = FakeCtx()
    backend(runway_fake).generate(request(keyframes[0]), tmp_path / "o.mp4", ctx)
    assert 11 in ctx.sleeps and 4 in ctx.sleeps  # Retry-After honoured, then backoff 2*2**1
    assert runway_fake.submissions == 1


def test_5xx_on_submit_is_retryable(api_keys, runway_fake, keyframes, tmp_path: Path) -> None:
    runway_fake.inject("POST", "/v1/image_to_video", 502)
    with pytest.raises(BackendError) as info:
        backend(runway_fake).generate(request(keyframes[0]), tmp_path / "o.mp4", FakeCtx())
    assert info.value.kind == "retryable" and info.value.code == "502"


def test_bad_key_is_auth_error(runway_fake, keyframes, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RUNWAYML_API_SECRET", "key_wrong_0123456789")
    with pytest.raises(AuthError) as info:
        backend(runway_fake).generate(request(keyframes[0]), tmp_path / "o.mp4", FakeCtx())
    assert info.value.kind == "backend" and info.value.code == "401"


def test_missing_key_names_env_var(runway_fake, keyframes, tmp_path: Path) -> None:
    b = backend(runway_fake)
    avail = b.is_available()
    assert not avail.ok and "RUNWAYML_API_SECRET" in avail.reason and "ttv keys set runway" in avail.reason
    with pytest.raises(AuthError, match="no API key"):
        b.generate(request(keyframes[0]), tmp_path / "o.mp4", FakeCtx())
    assert runway_fake.requests == []


def test_402_is_quota(api_keys, runway_fake, keyframes, tmp_path: Path) -> None:
    runway_fake.inject("POST", "/v1/image_to_video", 402, body={"error": "not enough credits"})
    with pytest.raises(BackendError) as info:
        backend(runway_fake).generate(request(keyframes[0]), tmp_path / "o.mp4", FakeCtx())
    assert info.value.kind == "backend" and info.value.code == "402"


def test_expired_url_is_refreshed_by_refetching_the_task(api_keys, runway_fake, keyframes, tmp_path: Path) -> None:
    runway_fake.script = ["succeeded"]
    runway_fake.expire_urls = 1
    ctx = FakeCtx()
    res = backend(runway_fake).generate(request(keyframes[0]), tmp_path / "o.mp4", ctx)
    assert res.info["fetches"] == 2 and runway_fake.polls == 2 and runway_fake.submissions == 1
    urls = [r.path for r in runway_fake.requests if r.path.startswith("/files/")]
    assert urls[0] != urls[1]


@pytest.mark.parametrize("mode", ["truncate", "drop"])
def test_truncated_download_is_retried_never_returned(api_keys, runway_fake, keyframes, tmp_path: Path,
                                                      mode: str) -> None:
    runway_fake.script = ["succeeded"]
    setattr(runway_fake, mode, 1)
    res = backend(runway_fake).generate(request(keyframes[0]), tmp_path / "o.mp4", FakeCtx())
    assert res.info["fetches"] == 2 and res.info["media"]["frames"] == 120


def test_download_keeps_failing_resumable_error(api_keys, runway_fake, keyframes, tmp_path: Path) -> None:
    runway_fake.script = ["succeeded"]
    runway_fake.truncate = 99
    out = tmp_path / "o.mp4"
    with pytest.raises(BackendError) as info:
        backend(runway_fake, download_attempts=2).generate(request(keyframes[0]), out, FakeCtx())
    assert info.value.kind == "retryable" and info.value.code == "download"
    assert resume_job_id_of(info.value) == "task-1" and not out.exists()


def test_resume_with_job_id_never_resubmits(api_keys, runway_fake, keyframes, tmp_path: Path) -> None:
    # first run: submitted, then the process "dies" after two polls (poll timeout stands in for the crash)
    runway_fake.script = ["queued", "running:0.2", "running:0.4", "running:0.9", "succeeded"]
    ctx = FakeCtx()
    with pytest.raises(BackendError) as info:
        backend(runway_fake, poll_timeout_s=3).generate(request(keyframes[0]), tmp_path / "o.mp4", ctx)
    assert info.value.code == "poll-timeout" and resume_job_id_of(info.value) == "task-1"
    # second run: the runner passes the stored id
    ctx2 = FakeCtx(job_id=ctx.remembered[0][0])
    res = backend(runway_fake).generate(request(keyframes[0]), tmp_path / "o.mp4", ctx2)
    assert runway_fake.submissions == 1 and ctx2.remembered == [] and res.info["resumed"] is True


def test_resume_of_unknown_job_asks_for_a_new_submit(api_keys, runway_fake, keyframes, tmp_path: Path) -> None:
    with pytest.raises(BackendError) as info:
        backend(runway_fake).generate(request(keyframes[0]), tmp_path / "o.mp4", FakeCtx(job_id="task-404"))
    assert info.value.kind == "retryable" and resume_job_id_of(info.value) is None
    assert runway_fake.submissions == 0


def test_cancel(api_keys, runway_fake, keyframes, tmp_path: Path) -> None:
    b = backend(runway_fake)
    job = b.submit(request(keyframes[0]))
    b.cancel(job)
    assert runway_fake.cancels == 1
    state = b.poll_once(job)
    assert state.status == "cancelled" and state.error is not None and state.error.kind == "request"
    with pytest.raises(BackendError) as info:
        b.generate(request(keyframes[0]), tmp_path / "o.mp4", FakeCtx(job_id=job))
    assert info.value.code == "CANCELLED"


def test_poll_once_reports_status(api_keys, runway_fake, keyframes) -> None:
    runway_fake.script = ["throttled", "running:0.25"]
    b = backend(runway_fake)
    job = b.submit(request(keyframes[0]))
    assert b.poll_once(job).status == "throttled"
    s = b.poll_once(job)
    assert s.status == "running" and s.progress == 0.25 and s.info["estimated_credits"] == 25


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"duration": 12}, "allowed: 2, 3, 4, 5, 6, 7, 8, 9, 10"),
    ({"width": 720, "height": 480}, "1280:720, 720:1280, 1104:832, 832:1104, 960:960, 1584:672"),
    ({"prompt": "x" * 1001}, "limit is 1000"),
])
def test_validation_names_allowed_values(keyframes, kwargs: dict, needle: str) -> None:
    with pytest.raises(InputRejected) as info:
        RunwayBackend(RunwayOptions()).validate_inputs(request(keyframes[0], **kwargs))
    assert needle in info.value.message


def test_validation_ratio_mapping_and_images(tmp_path: Path, keyframes) -> None:
    b = RunwayBackend(RunwayOptions())
    assert b.resolve_ratio(request(keyframes[0], width=1920, height=1080))[0] == "1280:720"
    assert b.resolve_ratio(request(keyframes[0], width=640, height=480))[0] == "1104:832"
    with pytest.raises(InputRejected, match="needs a start image"):
        b.validate_inputs(request(None))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(InputRejected, match="not a readable image"):
        b.validate_inputs(request(bad))
    with pytest.raises(InputRejected, match="does not exist"):
        b.validate_inputs(request(tmp_path / "missing.png"))
    with pytest.raises(InputRejected, match="1280:720, 720:1280"):
        RunwayBackend(RunwayOptions(model="gen4.5")).validate_inputs(request(None, width=960, height=960))
    with pytest.raises(InputRejected, match="unknown model"):
        RunwayBackend(RunwayOptions(model="gen9")).validate_inputs(request(make_png(tmp_path / "a.png")))


def test_estimate_cost_uses_price_table_and_overrides(keyframes) -> None:
    from ttv.core import prices

    b = RunwayBackend(RunwayOptions())
    est = b.estimate_cost(request(keyframes[0], duration=10))
    assert est.usd == pytest.approx(0.5) and est.credits == 50 and "runway/gen4_turbo" in est.source
    prices.set_overrides({"runway/gen4_turbo": 0.07})
    assert b.estimate_cost(request(keyframes[0], duration=10)).usd == pytest.approx(0.7)
    veo = RunwayBackend(RunwayOptions(model="veo3.1"))
    assert veo.estimate_cost(request(keyframes[0], duration=8)).usd == pytest.approx(1.6)  # no audio: 20 cr/s


def test_capabilities_are_data() -> None:
    caps = RunwayBackend(RunwayOptions(model="veo3.1")).capabilities()
    assert caps.remote and caps.durations == [4, 6, 8] and "flf2v" in caps.modes
    assert caps.key_env == ["RUNWAYML_API_SECRET"] and caps.repeats_first_frame
    assert RunwayBackend(RunwayOptions(concurrency=5)).concurrency() == 5
    assert RunwayBackend(RunwayOptions()).concurrency() == 2
    table = RunwayBackend(RunwayOptions()).model_table()
    assert table["gen4_turbo"]["ratios"][0] == "1280:720"
