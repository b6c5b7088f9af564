"""MiniMax v1 over ttv's httpx client against the loopback fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from ttv.backends.remote.common import resume_job_id_of
from ttv.backends.remote.minimax import MiniMaxBackend, MiniMaxOptions
from ttv.core.errors import AuthError, BackendError, InputRejected

from .conftest import FakeCtx, make_png, request
from .fakes import MiniMaxFake


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
    with pytest.raises(InputRejected, match="short side >= 300"):
        b.validate_inputs(request(make_png(tmp_path / "tiny.png", 64, 36), duration=6))
    with pytest.raises(InputRejected, match="allowed: 16:9"):
        b.validate_inputs(request(None, duration=6, width=720, height=1280))
    with pytest.raises(InputRejected, match="limit is 2000"):
        b.validate_inputs(request(frames[0], duration=6, prompt="p" * 2001))
