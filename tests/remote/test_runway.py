"""Runway through the real runwayml SDK against the loopback fake."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired, Required, Union, get_args, get_origin, get_type_hints

import pytest

from ttv.backends.remote.common import resume_job_id_of
from ttv.backends.remote.runway import MODELS, NOT_OFFERED, RunwayBackend, RunwayOptions, rules
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


# -- the model table against the installed runwayml SDK's own types ------------------------------------------------


def _unwrap(t: Any) -> Any:
    """Strip Required[...] / NotRequired[...] / Annotated[...] from a TypedDict field type."""
    while get_origin(t) in (Required, NotRequired, Annotated):
        t = get_args(t)[0]
    return t


def _literals(t: Any) -> set[Any]:
    t = _unwrap(t)
    if get_origin(t) is Literal:
        return set(get_args(t))
    if get_origin(t) is Union:
        return set().union(*(_literals(a) for a in get_args(t)))
    return set()


def _sdk_classes(kind: str) -> dict[str, type]:
    """model id -> the SDK's TypedDict of `image_to_video` or `text_to_video` create params."""
    from runwayml.types import image_to_video_create_params as i2v
    from runwayml.types import text_to_video_create_params as t2v

    alias = i2v.ImageToVideoCreateParams if kind == "i2v" else t2v.TextToVideoCreateParams
    return {next(iter(_literals(get_type_hints(c, include_extras=True)["model"]))): c for c in get_args(alias)}


def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls, include_extras=True)


def _positions(cls: type) -> set[str] | None:
    """Frame positions the model's prompt_image list takes; None where the SDK leaves the list untyped."""
    for member in get_args(_unwrap(_hints(cls)["prompt_image"])):
        if get_origin(member) is not None and get_args(member):
            elem = get_args(member)[0]
            if elem is object:
                return None
            return {str(v) for v in _literals(_hints(elem)["position"])}
    return {"first"}  # a bare image only


def _is_required(t: Any) -> bool:
    while get_origin(t) is Annotated:
        t = get_args(t)[0]
    return get_origin(t) is Required


def _sizes_only(values: set[Any]) -> set[str]:
    return {v for v in values if isinstance(v, str) and ":" in v and not v.startswith("auto")}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_model_table_matches_the_sdk_literals(model: str) -> None:
    spec, rule = MODELS[model], rules(model)
    i2v, t2v = _sdk_classes("i2v"), _sdk_classes("t2v")
    assert model in i2v, f"{model} is not an image_to_video model of this SDK"
    fields = _hints(i2v[model])
    # frames: a last frame exactly where the SDK takes position "last" (an untyped list: its docstring says)
    positions = _positions(i2v[model])
    if positions is None:
        assert "first`/`last" in (i2v[model].__doc__ or "") + _field_doc(i2v[model], "prompt_image")
        assert spec.last_frame
    else:
        assert spec.last_frame == ("last" in positions)
    # durations: the SDK's literal where it has one; whole seconds where it says only `int`
    sdk_durations = {d for d in _literals(fields["duration"]) if isinstance(d, int)}
    if sdk_durations:
        assert set(spec.durations or ()) == {float(d) for d in sdk_durations}
    else:
        assert spec.durations and all(float(d).is_integer() for d in spec.durations)
    # ratios sent with a start image
    if rule.i2v_ratio == "omit":
        assert "ratio" not in fields
    elif rule.i2v_ratio == "adaptive":
        assert "adaptive" in _literals(fields["ratio"])
        assert set(spec.ratios) <= _literals(fields["ratio"])
    else:
        assert set(spec.ratios) == _sizes_only(_literals(fields["ratio"]))
    # text-to-video: offered exactly where the SDK has it, with its ratios
    if "t2v" in spec.modes:
        assert model in t2v
        t2v_ratios = _literals(_hints(t2v[model])["ratio"])
        assert set(spec.t2v_ratios or spec.ratios) == (_sizes_only(t2v_ratios) or t2v_ratios - {"adaptive"})
    # the request fields ttv sends or leaves out
    assert spec.supports_seed == ("seed" in fields)
    assert spec.supports_audio == ("audio" in fields)
    assert spec.supports_negative_prompt == ("negative_prompt" in fields)
    assert rule.moderation == ("content_moderation" in fields)
    assert rule.prompt_required == _is_required(fields["prompt_text"])
    assert set(rule.resolutions) == {str(v).lower() for v in _literals(fields.get("resolution", Literal[()]))}


def _field_doc(cls: type, name: str) -> str:
    import inspect

    source = inspect.getsource(cls)
    return source[source.find(f"    {name}:"):][:600]


def test_every_first_last_frame_model_of_the_sdk_is_offered_or_explained() -> None:
    i2v = _sdk_classes("i2v")
    takes_last = {m for m, c in i2v.items() if (_positions(c) or {"last"}) >= {"last"}}
    assert takes_last - set(MODELS) == set(NOT_OFFERED)
    assert not set(NOT_OFFERED) & set(MODELS)


def test_every_model_has_a_price_or_says_it_has_none() -> None:
    from ttv.core import prices

    for model, spec in MODELS.items():
        assert prices.price_for("runway", model) is not None or "no built-in price" in spec.notes, model


@pytest.mark.parametrize("model", sorted(set(MODELS) - {"gen4_turbo", "gen4.5", "veo3.1", "veo3.1_fast"}))
def test_catalogue_models_end_to_end(api_keys, runway_fake, keyframes, tmp_path: Path, model: str) -> None:
    """Each added model through the real SDK: the body carries only fields the SDK types for it,
    with values from its literals; first+last frame; the final cost from the task."""
    spec, rule = MODELS[model], rules(model)
    duration = spec.durations[0] if spec.durations else 5.0
    res = backend(runway_fake, model=model).generate(request(*keyframes, duration=duration), tmp_path / "o.mp4",
                                                     FakeCtx())
    body = next(r for r in runway_fake.requests if r.method == "POST").body
    fields = _hints(_sdk_classes("i2v")[model])
    aliases = {_alias(fields[f]) or f for f in fields}
    assert set(body) <= aliases, set(body) - aliases
    assert body["model"] == model and body["duration"] == int(duration)
    if spec.last_frame:
        assert [p["position"] for p in body["promptImage"]] == ["first", "last"]
        assert res.info["end_frame"] == "sent"
    else:
        assert body["promptImage"].startswith("data:image/png") and res.info["end_frame"] == "ignored"
    if rule.i2v_ratio == "omit":
        assert "ratio" not in body
    else:
        assert body["ratio"] in _literals(fields["ratio"])
        assert body["ratio"] == ("adaptive" if rule.i2v_ratio == "adaptive" else MODELS[model].ratios[
            [r for r, _ in zip(spec.ratios, spec.sizes, strict=True)].index(body["ratio"])])
    if rule.resolutions:
        assert body["resolution"] == rule.resolutions[0]
    assert res.credits == 5 * duration


def _alias(t: Any) -> str | None:
    while get_origin(t) in (Required, NotRequired):
        t = get_args(t)[0]
    if get_origin(t) is Annotated:
        for meta in get_args(t)[1:]:
            alias = getattr(meta, "alias", None)
            if alias:
                return str(alias)
    return None


def test_catalogue_request_rules(api_keys, runway_fake, keyframes, tmp_path: Path) -> None:
    # a start image alone goes as a "first" list element where a bare URI could mean a reference image
    backend(runway_fake, model="seedance2_fast").generate(request(keyframes[0], duration=4), tmp_path / "a.mp4",
                                                         FakeCtx())
    body = runway_fake.requests[0].body
    assert body["promptImage"][0]["position"] == "first" and body["ratio"] == "1280:720" and body["seed"] == 7
    assert body["audio"] is False and "contentModeration" not in body
    # text-to-video on hailuo3 needs a concrete ratio, and 2k is the dearer row
    runway_fake.requests.clear()
    b = backend(runway_fake, model="hailuo3", resolution="2k")
    b.generate(request(None, duration=6), tmp_path / "b.mp4", FakeCtx())
    body = runway_fake.requests[0].body
    assert runway_fake.requests[0].path == "/v1/text_to_video" and body["ratio"] == "16:9"
    assert body["resolution"] == "2k" and "seed" not in body
    assert b.estimate_cost(request(None, duration=6)).usd == pytest.approx(0.9)
    assert backend(runway_fake, model="hailuo3").estimate_cost(request(None, duration=6)).usd == pytest.approx(0.6)
    # moderation only where the SDK has it
    runway_fake.requests.clear()
    backend(runway_fake, model="kling3.0_pro", public_figure_threshold="low").generate(
        request(keyframes[0], duration=5, width=1920, height=1080), tmp_path / "c.mp4", FakeCtx())
    body = runway_fake.requests[0].body
    assert "contentModeration" not in body and body["ratio"] == "1920:1080" and "seed" not in body


def test_catalogue_validation(keyframes, tmp_path: Path) -> None:
    with pytest.raises(InputRejected, match="allowed: 3, 4, 5"):
        RunwayBackend(RunwayOptions(model="kling3.0_standard")).validate_inputs(request(keyframes[0], duration=2))
    with pytest.raises(InputRejected, match="allowed: 5, 10"):
        RunwayBackend(RunwayOptions(model="kling2.5_turbo_pro")).validate_inputs(request(keyframes[0], duration=6))
    with pytest.raises(InputRejected, match="empty prompt"):
        RunwayBackend(RunwayOptions(model="gemini_omni_flash_1.1")).validate_inputs(
            request(keyframes[0], duration=5, prompt=" "))
    big = make_png(tmp_path / "big.png", 512, 288)
    with pytest.raises(InputRejected, match="allowed: 768p, 480p"):
        RunwayBackend(RunwayOptions(model="h3_max", resolution="2k")).validate_inputs(request(big, duration=5))
    RunwayBackend(RunwayOptions(model="h3_max", resolution="480p")).validate_inputs(request(big, big, duration=5))
    with pytest.raises(InputRejected, match="needs a start image"):
        RunwayBackend(RunwayOptions(model="h3_max")).validate_inputs(request(None, duration=5))
    small = make_png(tmp_path / "small.png", 200, 112)  # project 400x224: keyframes too small for h3_max
    with pytest.raises(InputRejected, match="at least 256 px"):
        RunwayBackend(RunwayOptions(model="h3_max")).validate_inputs(request(small, duration=5, width=400, height=224))
    with pytest.raises(InputRejected, match="no price is known") as info:
        RunwayBackend(RunwayOptions(model="seedance2")).estimate_cost(request(keyframes[0], duration=5))
    assert '"runway/seedance2" = USD_PER_SECOND' in (info.value.hint or "")
    with pytest.raises(InputRejected, match="1280:720, 720:1280"):
        RunwayBackend(RunwayOptions(model="gemini_omni_flash")).validate_inputs(
            request(keyframes[0], duration=5, width=960, height=960))


def test_duration_bounds_follow_the_allowed_durations(keyframes) -> None:
    for model, spec in MODELS.items():
        caps = RunwayBackend(RunwayOptions(model=model)).capabilities()
        assert (caps.min_duration, caps.max_duration) == (min(spec.durations or ()), max(spec.durations or ())), model
    RunwayBackend(RunwayOptions(model="kling3.0_standard")).validate_inputs(request(keyframes[0], duration=15))
    RunwayBackend(RunwayOptions(model="seedance2")).validate_inputs(request(keyframes[0], keyframes[1], duration=15))
