"""Cross-provider checks: no key in any output, registry wiring, lazy SDK imports, shared helpers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ttv.backends import registry
from ttv.backends.remote.common import (
    RemoteVideoBackend,
    check_video,
    choose_ratio,
    classify_http,
    parse_retry_after,
)
from ttv.core.errors import BackendError, ConfigError

from .conftest import KEYS, FakeCtx, make_png, request

PROVIDERS = ["runway", "veo", "fal", "minimax"]
DURATION = {"runway": 5, "veo": 8, "fal": 5, "minimax": 6}
SUBMIT = {"runway": ("POST", "/v1/image_to_video"), "veo": ("POST", "predictLongRunning"),
          "fal": ("POST", "/fal-ai/"), "minimax": ("POST", "/v1/video_generation")}


def make(name: str, fake: Any) -> RemoteVideoBackend:
    b = registry.create(name, {"base_url": fake.url, "poll_interval_s": 1}, kind="video")
    assert isinstance(b, RemoteVideoBackend)
    return b


@pytest.fixture
def fakes(runway_fake, veo_fake, fal_fake, minimax_fake) -> dict[str, Any]:
    return {"runway": runway_fake, "veo": veo_fake, "fal": fal_fake, "minimax": minimax_fake}


@pytest.mark.parametrize("name", PROVIDERS)
def test_no_key_in_any_output_event_or_error(name: str, api_keys, fakes, tmp_path: Path) -> None:
    fake = fakes[name]
    frame = make_png(tmp_path / "k.png", 640, 360)
    req = request(frame, duration=DURATION[name])
    seen: list[str] = []

    def collect(ctx: FakeCtx, *extra: Any) -> None:
        seen.append(json.dumps([ctx.remembered, ctx.progress_calls, ctx.events], default=str))
        seen.extend(repr(x) for x in extra)

    # happy path
    b = make(name, fake)
    ctx = FakeCtx()
    res = b.generate(req, tmp_path / "o.mp4", ctx)
    collect(ctx, res, res.info, b.capabilities(), b.is_available(), b.estimate_cost(req))
    # an error whose body echoes the key back (some proxies do), on submit and on poll
    method, path = SUBMIT[name]
    fake.inject(method, path, 400, body={"error": {"message": f"bad request for key {KEYS_FOR[name]}"},
                                         "detail": f"key {KEYS_FOR[name]}", "message": f"key {KEYS_FOR[name]}"})
    ctx = FakeCtx()
    with pytest.raises(BackendError) as info:
        make(name, fake).generate(req, tmp_path / "o.mp4", ctx)
    collect(ctx, info.value, info.value.message, info.value.hint, str(info.value))
    # a failed job and a 429
    fake.script = ["running", "failed"]
    ctx = FakeCtx()
    with pytest.raises(BackendError) as info:
        make(name, fake).generate(req, tmp_path / "o.mp4", ctx)
    collect(ctx, info.value, info.value.message, info.value.hint)
    fake.inject(method, path, 429, {"Retry-After": "1"})
    with pytest.raises(BackendError) as info:
        make(name, fake).generate(req, tmp_path / "o.mp4", FakeCtx())
    collect(FakeCtx(), info.value, info.value.message)
    blob = "\n".join(seen) + "".join(p.name for p in tmp_path.rglob("*"))
    for key in KEYS.values():
        assert key not in blob
    assert "***" in blob  # the echoed key was redacted, not dropped silently


KEYS_FOR = {"runway": KEYS["RUNWAYML_API_SECRET"], "veo": KEYS["GOOGLE_API_KEY"], "fal": KEYS["FAL_KEY"],
            "minimax": KEYS["MINIMAX_API_KEY"]}


@pytest.mark.parametrize("name", PROVIDERS)
def test_registry_creates_backend_and_rejects_unknown_options(name: str) -> None:
    b = registry.create(name, {"concurrency": 3, "poll_timeout_s": 60}, kind="video")
    assert b.concurrency() == 3 and b.capabilities().remote  # type: ignore[attr-defined]
    with pytest.raises(ConfigError):
        registry.create(name, {"no_such_option": 1}, kind="video")
    avail = b.is_available()
    assert not avail.ok and ("ttv keys set" in avail.reason or "unknown model" in avail.reason)


def test_backend_modules_import_no_sdk() -> None:
    code = ("import sys\n"
            "import ttv.backends.remote.runway, ttv.backends.remote.veo, ttv.backends.remote.fal, "
            "ttv.backends.remote.minimax, ttv.commands.keys\n"
            "bad = [m for m in ('runwayml', 'google.genai', 'fal_client', 'av') if m in sys.modules]\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_parse_retry_after() -> None:
    assert parse_retry_after({"Retry-After": "12"}) == 12
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"Retry-After": "Fri, 27 Nov 2026 10:00:30 GMT"}, now=1795773600.0) == 30
    assert parse_retry_after({}) is None and parse_retry_after({"Retry-After": "soon"}) is None


@pytest.mark.parametrize(("status", "kind"), [(400, "backend"), (401, "backend"), (402, "backend"), (403, "backend"),
                                              (408, "retryable"), (429, "retryable"), (500, "retryable"),
                                              (503, "retryable"), (422, "backend")])
def test_classify_http(status: int, kind: str) -> None:
    assert classify_http("x", status, "m").kind == kind


def test_choose_ratio_tolerance() -> None:
    from ttv.backends.remote.runway import MODELS

    spec = MODELS["gen4_turbo"]
    assert choose_ratio("runway", spec, 1024, 576, 0.05)[0] == "1280:720"
    assert choose_ratio("runway", spec, 1080, 1920, 0.05)[0] == "720:1280"
    assert choose_ratio("runway", spec, 1024, 1024, 0.05)[0] == "960:960"
    assert choose_ratio("runway", spec, 2048, 872, 0.05)[0] == "1584:672"
    assert choose_ratio("runway", spec, 720, 480, 0.20)[0] == "1104:832"
    veo = MODELS["veo3.1"]
    assert choose_ratio("runway", veo, 1920, 1080, 0.05)[0] == "1920:1080"
    assert choose_ratio("runway", veo, 1280, 720, 0.05)[0] == "1280:720"
    assert choose_ratio("runway", veo, 854, 480, 0.05)[0] == "1280:720"


def test_check_video_rejects_truncated_and_wrong_duration(videos, tmp_path: Path) -> None:
    from ttv.backends.remote.common import DownloadError

    data = videos.get(5)
    good = tmp_path / "g.mp4"
    good.write_bytes(data)
    assert check_video(good, 5)["frames"] == 120
    with pytest.raises(DownloadError, match="lasts 5.00 s"):
        check_video(good, 10)
    cut = tmp_path / "c.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(DownloadError):
        check_video(cut, 5)
    junk = tmp_path / "j.mp4"
    junk.write_bytes(b"\0" * 1000)
    with pytest.raises(DownloadError, match="does not decode"):
        check_video(junk, 5)


@pytest.mark.parametrize("name", PROVIDERS)
def test_one_instance_serves_many_threads(name: str, api_keys, fakes, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    fake = fakes[name]
    fake.script = ["queued", "running", "running", "succeeded"]
    b = make(name, fake)
    frame = make_png(tmp_path / "k.png", 640, 360)

    def one(i: int) -> str:
        ctx = FakeCtx()
        b.generate(request(frame, duration=DURATION[name], segment_id=f"s{i:03d}"), tmp_path / f"o{i}.mp4", ctx)
        return ctx.remembered[0][0]

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(one, range(8)))
    assert len(set(ids)) == 8 and fake.submissions == 8
    b.close()


def test_missing_sdk_is_reported(monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "runwayml" else real(n, *a))
    avail = registry.create("runway", {}, kind="video").is_available()
    assert not avail.ok and "pip install 'ttv[remote]'" in avail.reason


def test_failed_runway_job_carries_its_charge(api_keys, runway_fake, tmp_path: Path) -> None:
    runway_fake.script = ["failed:INTERNAL"]
    with pytest.raises(BackendError) as info:
        make("runway", runway_fake).generate(request(make_png(tmp_path / "k.png")), tmp_path / "o.mp4", FakeCtx())
    assert info.value.cost_usd == 0.0 and info.value.credits == 0  # type: ignore[attr-defined]
