"""MiniMax over ttv's httpx client against loopback fakes: API v1 (Hailuo, tests/remote/fakes.py) and
API v2 (the MiniMax-H3 family, tests/remote/minimax_v2_fake.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ttv.backends.remote.common import data_uri, resume_job_id_of
from ttv.backends.remote.minimax import MODELS, MiniMaxBackend, MiniMaxOptions, is_v2_model
from ttv.core.errors import AuthError, BackendError, InputRejected

from .conftest import KEYS, FakeCtx, make_png, request
from .fakes import MiniMaxFake, VideoFactory
from .minimax_v2_fake import MiniMaxV2Fake


def backend(fake: MiniMaxFake, **opts: object) -> MiniMaxBackend:
    return MiniMaxBackend(MiniMaxOptions(base_url=fake.url, **opts))  # type: ignore[arg-type]


@pytest.fixture
def frames(tmp_path: Path) -> tuple[Path, Path]:
    return make_png(tmp_path / "a.png", 640, 360), make_png(tmp_path / "b.png", 640, 360)


def test_happy_path_first_last_frame(api_keys, minimax_fake, frames, tmp_path: Path) -> None:
    minimax_fake.script = ["queued", "throttled", "running", "succeeded"]
    ctx = FakeCtx()
    b = backend(minimax_fake)
    b.validate_inputs(request(*frames, duration=6))
    res = b.generate(request(*frames, duration=6), tmp_path / "o.mp4", ctx)
    body = next(r for r in minimax_fake.requests if r.method == "POST").body
    assert body["model"] == "MiniMax-Hailuo-02" and body["duration"] == 6 and body["resolution"] == "768P"
    assert body["first_frame_image"].startswith("data:image/png;base64,") and "last_frame_image" in body
    auth = next(r for r in minimax_fake.requests if r.method == "POST").headers["authorization"]
    assert auth == f"Bearer {api_keys['MINIMAX_API_KEY']}"
    assert ctx.statuses == ["queued", "queued", "running", "downloading"]
    assert ctx.sleeps == [10, 10, 10]
    assert res.cost_usd == pytest.approx(6 * 0.045) and res.info["file_id"] == "f1"
    assert res.info["media"]["frames"] == 144


@pytest.mark.parametrize(("code", "kind"), [(1026, "request"), (1027, "backend"), (1000, "retryable")])
def test_failed_task_codes(api_keys, minimax_fake, frames, tmp_path: Path, code: int, kind: str) -> None:
    minimax_fake.script = ["running", f"failed:{code}"]
    with pytest.raises(BackendError) as info:
        backend(minimax_fake).generate(request(frames[0], duration=6), tmp_path / "o.mp4", FakeCtx())
    assert info.value.kind == kind and info.value.code == str(code)
    assert resume_job_id_of(info.value) is None


def test_base_resp_auth_error_with_http_200(minimax_fake, frames, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MINIMAX_API_KEY", "mm_wrong_key_123456")
    with pytest.raises(AuthError) as info:
        backend(minimax_fake).generate(request(frames[0], duration=6), tmp_path / "o.mp4", FakeCtx())
    assert info.value.code == "1004" and "base_url" in (info.value.hint or "")


def test_http_429_retry_after_and_5xx(api_keys, minimax_fake, frames, tmp_path: Path) -> None:
    minimax_fake.inject("POST", "/v1/video_generation", 429, {"Retry-After": "3"})
    with pytest.raises(BackendError) as info:
        backend(minimax_fake).generate(request(frames[0], duration=6), tmp_path / "o.mp4", FakeCtx())
    assert info.value.kind == "retryable" and info.value.retry_after == 3
    minimax_fake.inject("GET", "/v1/query/", 500)
    ctx = FakeCtx()
    backend(minimax_fake).generate(request(frames[0], duration=6), tmp_path / "o.mp4", ctx)
    assert minimax_fake.submissions == 1


def test_expired_download_url_refreshed(api_keys, minimax_fake, frames, tmp_path: Path) -> None:
    minimax_fake.script = ["succeeded"]
    minimax_fake.expire_urls = 2
    res = backend(minimax_fake).generate(request(frames[0], duration=6), tmp_path / "o.mp4", FakeCtx())
    assert res.info["fetches"] == 3
    retrieves = [r for r in minimax_fake.requests if r.path == "/v1/files/retrieve"]
    assert len(retrieves) == 3


def test_truncated_download_retried(api_keys, minimax_fake, frames, tmp_path: Path) -> None:
    minimax_fake.script = ["succeeded"]
    minimax_fake.truncate = 1
    res = backend(minimax_fake).generate(request(frames[0], duration=6), tmp_path / "o.mp4", FakeCtx())
    assert res.info["fetches"] == 2


def test_resume_polls_without_submitting(api_keys, minimax_fake, frames, tmp_path: Path) -> None:
    b = backend(minimax_fake)
    job = b.submit(request(frames[0], duration=6))
    ctx = FakeCtx(job_id=job)
    b.generate(request(frames[0], duration=6), tmp_path / "o.mp4", ctx)
    assert minimax_fake.submissions == 1 and ctx.remembered == []


def test_unknown_task_on_resume_asks_for_new_submit(api_keys, minimax_fake, frames, tmp_path: Path) -> None:
    with pytest.raises(BackendError) as info:
        backend(minimax_fake).generate(request(frames[0], duration=6), tmp_path / "o.mp4", FakeCtx(job_id="999"))
    assert info.value.kind == "retryable" and resume_job_id_of(info.value) is None


def test_cancel_unsupported() -> None:
    with pytest.raises(BackendError) as info:
        MiniMaxBackend(MiniMaxOptions()).cancel("1")
    assert info.value.code == "cancel-unsupported"


def test_validation(frames, tmp_path: Path) -> None:
    b = MiniMaxBackend(MiniMaxOptions())
    with pytest.raises(InputRejected, match="allowed: 6, 10"):
        b.validate_inputs(request(frames[0], duration=5))
    with pytest.raises(InputRejected, match="1080P allows 6 s only"):
        MiniMaxBackend(MiniMaxOptions(resolution="1080P")).validate_inputs(request(frames[0], duration=10))
    with pytest.raises(InputRejected, match="each side >= 300"):
        b.validate_inputs(request(make_png(tmp_path / "tiny.png", 64, 36), duration=6))
    with pytest.raises(InputRejected, match="allowed: 16:9"):
        b.validate_inputs(request(None, duration=6, width=720, height=1280))
    with pytest.raises(InputRejected, match="limit is 2000"):
        b.validate_inputs(request(frames[0], duration=6, prompt="p" * 2001))


# --------------------------------------------------------------------------------------------------
# API v2: the MiniMax-H3 family, against tests/remote/minimax_v2_fake.py


@pytest.fixture
def h3_fake(videos: VideoFactory) -> Iterator[MiniMaxV2Fake]:
    fake = MiniMaxV2Fake(videos, KEYS["MINIMAX_API_KEY"])
    yield fake
    fake.close()


def h3(fake: MiniMaxV2Fake, model: str = "MiniMax-H3", **opts: object) -> MiniMaxBackend:
    return MiniMaxBackend(MiniMaxOptions(base_url=fake.url, model=model, **opts))  # type: ignore[arg-type]


def submits(fake: MiniMaxV2Fake) -> list[Any]:
    return [r for r in fake.requests if r.method == "POST"]


def test_api_version_follows_the_model() -> None:
    assert is_v2_model("MiniMax-H3") and is_v2_model("MiniMax-H3-Max") and is_v2_model("minimax-h3")
    for model in ("MiniMax-Hailuo-02", "MiniMax-Hailuo-2.3", "MiniMax-Hailuo-2.3-Fast", "I2V-01", "T2V-01"):
        assert not is_v2_model(model) and model in MODELS


def test_h3_first_last_frame_sends_the_v2_body(api_keys, h3_fake, frames, tmp_path: Path) -> None:
    req = request(*frames, duration=5)
    b = h3(h3_fake)
    b.validate_inputs(req)
    ctx = FakeCtx()
    res = b.generate(req, tmp_path / "o.mp4", ctx)
    (post,) = submits(h3_fake)
    assert post.path == "/v2/video_generation"
    assert post.headers["authorization"] == f"Bearer {api_keys['MINIMAX_API_KEY']}"
    assert post.body == {
        "model": "MiniMax-H3",
        "content": [
            {"type": "text", "text": "a lighthouse at dusk"},
            {"type": "image_url", "image_url": {"url": data_uri(frames[0])}, "role": "first_frame"},
            {"type": "image_url", "image_url": {"url": data_uri(frames[1])}, "role": "last_frame"},
        ],
        "duration": 5,
        "resolution": "768P",
        "ratio": "adaptive",
    }
    assert post.body["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    job = ctx.remembered[0][0]
    assert ctx.remembered == [(job, {"provider": "minimax", "model": "MiniMax-H3"})]
    assert [r.path for r in h3_fake.requests if r.method == "GET" and r.path.startswith("/v2/")] == \
        [f"/v2/query/video_generation/{job}"] * 3
    assert not any(r.path.startswith("/v1/") for r in h3_fake.requests)
    assert res.model == "MiniMax-H3" and res.info["end_frame"] == "sent" and res.info["api"] == "v2"
    assert res.info["video_resolution"] == "768P" and res.info["billed_seconds"] == 5


@pytest.mark.parametrize(("width", "height", "ratio"), [(1280, 720, "16:9"), (720, 1280, "9:16"),
                                                         (2560, 1080, "21:9"), (960, 720, "4:3")])
def test_h3_text_only_sends_the_project_ratio(api_keys, h3_fake, tmp_path: Path, width: int, height: int,
                                              ratio: str) -> None:
    req = request(None, duration=6, width=width, height=height, prompt="rain on a window, neon")
    b = h3(h3_fake, resolution="2K")
    b.validate_inputs(req)
    res = b.generate(req, tmp_path / "o.mp4", FakeCtx())
    (post,) = submits(h3_fake)
    assert post.body == {"model": "MiniMax-H3", "content": [{"type": "text", "text": "rain on a window, neon"}],
                         "duration": 6, "resolution": "2K", "ratio": ratio}
    assert "end_frame" not in res.info and res.info["media"]["duration"] == pytest.approx(6, abs=0.1)


def test_h3_start_frame_only_and_end_frame_ignore(api_keys, h3_fake, frames, tmp_path: Path) -> None:
    h3(h3_fake).generate(request(frames[0], duration=5), tmp_path / "a.mp4", FakeCtx())
    res = h3(h3_fake, end_frame="ignore").generate(request(*frames, duration=5), tmp_path / "b.mp4", FakeCtx())
    for post in submits(h3_fake):
        assert [c.get("role", c["type"]) for c in post.body["content"]] == ["text", "first_frame"]
        assert post.body["ratio"] == "adaptive"
    assert res.info["end_frame"] == "ignored"


def test_h3_polls_through_queued_and_running(api_keys, h3_fake, frames, tmp_path: Path) -> None:
    h3_fake.script = ["queued", "throttled", "running", "running", "succeeded"]
    ctx = FakeCtx()
    res = h3(h3_fake).generate(request(frames[0], duration=5), tmp_path / "o.mp4", ctx)
    assert ctx.statuses == ["queued", "queued", "running", "running", "downloading"]
    assert ctx.sleeps == [10, 10, 10, 10]
    assert h3_fake.polls == 5 and res.info["polls"] == 5 and h3_fake.submissions == 1


def test_h3_status_strings_are_tolerated(api_keys, h3_fake, frames, tmp_path: Path) -> None:
    h3_fake.script = ["raw:QUEUED", "raw:Processing", "raw:rendering", "raw:Succeeded"]
    b = h3(h3_fake)
    job = b.submit(request(frames[0], duration=5))
    assert b.poll_once(job).status == "queued"
    assert b.poll_once(job).status == "running"
    unknown = b.poll_once(job)  # not a status this module knows: keep polling, shown raw
    assert unknown.status == "running" and unknown.provider_status == "rendering" and not unknown.done
    done = b.poll_once(job)
    assert done.status == "succeeded" and done.provider_status == "Succeeded" and done.urls


def test_h3_download_is_checked_as_an_mp4(api_keys, h3_fake, frames, tmp_path: Path) -> None:
    h3_fake.script = ["succeeded"]
    out = tmp_path / "o.mp4"
    res = h3(h3_fake).generate(request(frames[0], duration=5), out, FakeCtx())
    assert out.read_bytes()[4:8] == b"ftyp" and h3_fake.downloads == 1
    media = res.info["media"]
    assert media["codec"] == "h264" and media["frames"] == 120 and media["duration"] == pytest.approx(5)
    assert (media["width"], media["height"]) == (64, 36)


def test_h3_expired_url_is_refreshed_and_a_bad_file_refetched(api_keys, h3_fake, frames, tmp_path: Path) -> None:
    h3_fake.script = ["succeeded"]
    h3_fake.expire_urls = 1  # the first URL answers 403: poll again for a fresh one
    h3_fake.truncate = 1  # the first real download is cut in half: PyAV rejects it, fetch again
    res = h3(h3_fake).generate(request(frames[0], duration=5), tmp_path / "o.mp4", FakeCtx())
    assert res.info["fetches"] == 3 and h3_fake.polls == 3 and h3_fake.submissions == 1
    assert res.info["media"]["frames"] == 120


@pytest.mark.parametrize(("step", "exc_type", "kind", "code"), [
    ("failed:1026", InputRejected, "request", "1026"),
    ("failed:1027", BackendError, "backend", "1027"),
    ("failed:1000", BackendError, "retryable", "1000"),
    ("failed:", BackendError, "retryable", "failed"),
    ("expired", BackendError, "retryable", "expired"),
    ("cancelled", BackendError, "request", "cancelled"),
])
def test_h3_failed_task_is_a_clear_error(api_keys, h3_fake, frames, tmp_path: Path, step: str,
                                         exc_type: type, kind: str, code: str) -> None:
    h3_fake.script = ["running", step]
    with pytest.raises(BackendError) as info:
        h3(h3_fake).generate(request(frames[0], duration=5), tmp_path / "o.mp4", FakeCtx())
    exc = info.value
    assert isinstance(exc, exc_type) and exc.kind == kind and exc.code == code
    assert str(exc).startswith("minimax: ") and "task 4246356019325" in str(exc)
    assert resume_job_id_of(exc) is None and getattr(exc, "job_id", None)  # the next attempt submits anew
    assert not (tmp_path / "o.mp4").exists()
    if code == "1026":
        assert "sensitive" in str(exc) and exc.hint


def test_h3_auth_error_is_classified(h3_fake, frames, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MINIMAX_API_KEY", "mm_wrong_key_123456")
    with pytest.raises(AuthError) as info:
        h3(h3_fake).generate(request(frames[0], duration=5), tmp_path / "o.mp4", FakeCtx())
    assert info.value.code == "1004" and "base_url" in (info.value.hint or "")
    assert h3_fake.submissions == 0 and "mm_wrong_key_123456" not in str(info.value)


def test_h3_no_key_fails_before_any_request(h3_fake, frames, tmp_path: Path) -> None:
    with pytest.raises(AuthError) as info:
        h3(h3_fake).generate(request(frames[0], duration=5), tmp_path / "o.mp4", FakeCtx())
    assert info.value.code == "no-key" and h3_fake.requests == []


def test_h3_http_errors_429_5xx_and_echoed_key(api_keys, h3_fake, frames, tmp_path: Path) -> None:
    h3_fake.inject("POST", "/v2/video_generation", 429, {"Retry-After": "3"},
                   body={"type": "error", "error": {"type": "rate_limit_error", "message": "rate limit (1002)",
                                                    "http_code": "429"}})
    with pytest.raises(BackendError) as info:
        h3(h3_fake).generate(request(frames[0], duration=5), tmp_path / "o.mp4", FakeCtx())
    assert info.value.kind == "retryable" and info.value.retry_after == 3 and h3_fake.submissions == 0
    key = api_keys["MINIMAX_API_KEY"]
    h3_fake.inject("POST", "/v2/video_generation", 400,
                   body={"type": "error", "error": {"type": "bad_request_error", "http_code": "400",
                                                    "message": f"bad duration for key {key} (2013)"}})
    with pytest.raises(BackendError) as info:
        h3(h3_fake).generate(request(frames[0], duration=5), tmp_path / "o.mp4", FakeCtx())
    assert info.value.code == "2013" and info.value.kind == "backend" and key not in str(info.value)
    h3_fake.inject("GET", "/v2/query/", 500)
    ctx = FakeCtx()
    h3(h3_fake).generate(request(frames[0], duration=5), tmp_path / "o.mp4", ctx)
    assert h3_fake.submissions == 1 and any("poll failed (500)" in (p["message"] or "") for p in ctx.progress_calls)


def test_h3_resume_polls_the_stored_task_without_submitting(api_keys, h3_fake, frames, tmp_path: Path) -> None:
    req = request(*frames, duration=5)
    job = h3(h3_fake).submit(req)  # the first process submitted, stored the id and crashed
    before = len(submits(h3_fake))
    ctx = FakeCtx(job_id=job)
    res = h3(h3_fake).generate(req, tmp_path / "o.mp4", ctx)  # a new process resumes it
    assert len(submits(h3_fake)) - before == 0 and h3_fake.submissions == 1
    assert ctx.remembered == [] and res.info["resumed"] is True and res.info["job_id"] == job
    assert res.cost_usd == pytest.approx(5 * 0.08)


def test_h3_unknown_task_on_resume_asks_for_a_new_submit(api_keys, h3_fake, frames, tmp_path: Path) -> None:
    with pytest.raises(BackendError) as info:
        h3(h3_fake).generate(request(frames[0], duration=5), tmp_path / "o.mp4", FakeCtx(job_id="999"))
    assert info.value.kind == "retryable" and resume_job_id_of(info.value) is None
    assert h3_fake.submissions == 0


@pytest.mark.parametrize(("resolution", "usd", "row"), [("768P", 0.08, "minimax/MiniMax-H3:"),
                                                        ("2K", 0.13, "minimax/MiniMax-H3@2K:")])
def test_h3_cost_comes_from_the_price_table(api_keys, h3_fake, frames, tmp_path: Path, resolution: str, usd: float,
                                            row: str) -> None:
    req = request(frames[0], duration=10)
    b = h3(h3_fake, resolution=resolution)
    est = b.estimate_cost(req)
    assert est.usd == pytest.approx(10 * usd) and est.source.startswith(row)
    res = b.generate(req, tmp_path / "o.mp4", FakeCtx())
    assert res.cost_usd == pytest.approx(10 * usd) and res.credits is None


def test_h3_max_needs_a_price_override(api_keys, h3_fake, frames, tmp_path: Path) -> None:
    from ttv.core import prices

    req = request(frames[0], duration=5)
    b = h3(h3_fake, model="MiniMax-H3-Max", resolution="480P")
    b.validate_inputs(req)
    with pytest.raises(InputRejected, match="no price is known") as info:
        b.estimate_cost(req)
    assert '"minimax/MiniMax-H3-Max"' in (info.value.hint or "")
    prices.set_overrides({"minimax/MiniMax-H3-Max@480P": 0.05})
    res = b.generate(req, tmp_path / "o.mp4", FakeCtx())
    assert res.cost_usd == pytest.approx(0.25)
    assert submits(h3_fake)[0].body["model"] == "MiniMax-H3-Max" and submits(h3_fake)[0].body["resolution"] == "480P"


def test_h3_cancel_only_deletes_a_queued_task(api_keys, h3_fake, frames, tmp_path: Path) -> None:
    b = h3(h3_fake)
    h3_fake.script = ["queued"]
    queued = b.submit(request(frames[0], duration=5))
    b.cancel(queued)
    assert h3_fake.cancels == 1 and b.poll_once(queued).status == "cancelled"
    deletes = [r.path for r in h3_fake.requests if r.method == "DELETE"]
    assert deletes == [f"/v2/video_generation/{queued}"]

    h3_fake.script = ["running"]
    running = b.submit(request(frames[0], duration=5))
    with pytest.raises(BackendError) as info:
        b.cancel(running)
    assert info.value.code == "cancel-unsupported" and "billed" in str(info.value)

    h3_fake.script = ["succeeded"]
    done = b.submit(request(frames[0], duration=5))
    b.cancel(done)  # nothing to stop; the finished result is not deleted
    assert h3_fake.deletes == 0 and done in h3_fake.jobs
    assert len([r for r in h3_fake.requests if r.method == "DELETE"]) == 1


def test_h3_cancel_race_with_start_is_cancel_unsupported(api_keys, h3_fake, frames) -> None:
    b = h3(h3_fake)
    h3_fake.script = ["queued", "running"]
    job = b.submit(request(frames[0], duration=5))
    h3_fake.inject("DELETE", "/v2/video_generation/", 400,
                   body={"type": "error", "error": {"type": "bad_request_error", "http_code": "400",
                                                    "message": "task is running, cannot cancel"}})
    with pytest.raises(BackendError) as info:
        b.cancel(job)
    assert info.value.code == "cancel-unsupported"


def test_h3_validation(frames, tmp_path: Path) -> None:
    b = MiniMaxBackend(MiniMaxOptions(model="MiniMax-H3"))
    b.validate_inputs(request(frames[0], duration=4))
    b.validate_inputs(request(*frames, duration=15))
    with pytest.raises(InputRejected, match="allowed: 4, 5, 6"):
        b.validate_inputs(request(frames[0], duration=16))
    with pytest.raises(InputRejected, match="allowed: 4, 5, 6"):
        b.validate_inputs(request(frames[0], duration=4.5))
    with pytest.raises(InputRejected, match="allowed: 5, 6"):
        MiniMaxBackend(MiniMaxOptions(model="MiniMax-H3-Max")).validate_inputs(request(frames[0], duration=4))
    with pytest.raises(InputRejected, match="resolution 1080P is not offered; allowed: 768P, 2K"):
        MiniMaxBackend(MiniMaxOptions(model="MiniMax-H3", resolution="1080P")).validate_inputs(request(*frames))
    with pytest.raises(InputRejected, match="allowed: 480P, 768P"):
        MiniMaxBackend(MiniMaxOptions(model="MiniMax-H3-Max", resolution="2K")).validate_inputs(request(*frames))
    with pytest.raises(InputRejected, match="allowed: 512P, 768P, 1080P"):
        MiniMaxBackend(MiniMaxOptions(resolution="2K")).validate_inputs(request(frames[0], duration=6))
    with pytest.raises(InputRejected, match="each side >= 256 px"):
        b.validate_inputs(request(make_png(tmp_path / "tiny.png", 320, 200), duration=5))
    b.validate_inputs(request(make_png(tmp_path / "small.png", 480, 270), duration=5))  # v1 wants >= 300
    with pytest.raises(InputRejected, match=r"no allowed ratio; allowed: 21:9 \(1792x768\), 16:9"):
        b.validate_inputs(request(None, duration=5, width=1200, height=800))
    with pytest.raises(InputRejected, match="limit is 7000"):
        b.validate_inputs(request(frames[0], duration=5, prompt="p" * 7001))
    with pytest.raises(InputRejected, match="empty prompt"):
        b.validate_inputs(request(frames[0], duration=5, prompt="  "))


def test_backends_info_shows_h3(cli) -> None:
    result = cli("backends", "info", "minimax", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "MiniMax-H3" in data["summary"] and "v2" in data["summary"]
    assert "MiniMax-H3" in data["options"]["model"]["description"]
    assert "2K" in data["options"]["resolution"]["description"]
    caps = MiniMaxBackend(MiniMaxOptions(model="MiniMax-H3")).capabilities()
    assert caps.modes == ["t2v", "i2v", "flf2v"] and caps.min_duration == 4 and caps.max_duration == 15
    assert caps.supports_audio and caps.max_prompt_chars == 7000
    table = MiniMaxBackend(MiniMaxOptions()).model_table()
    assert "API v2" in table["MiniMax-H3"]["notes"] and "API v1" in table["MiniMax-Hailuo-02"]["notes"]
