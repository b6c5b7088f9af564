"""The Gemini and OpenAI planners through the real SDKs against loopback fakes."""

from __future__ import annotations

import json

import pytest

from ttv.backends.base import PlanRequest, VideoCapabilities
from ttv.backends.remote.gemini_planner import GeminiPlanner, GeminiPlannerOptions
from ttv.backends.remote.openai_planner import OpenAIPlanner, OpenAIPlannerOptions
from ttv.backends.remote.planner_common import (
    DurationRules,
    PlanInvalid,
    plan_json_schema,
    smart_truncate,
)
from ttv.core.errors import BackendError, InputRejected

from .conftest import FakeCtx
from .fakes import (
    GeminiFake,
    OpenAIFake,
    Reply,
    gemini_blocked,
    gemini_filtered,
    gemini_plan,
    gemini_text,
    google_error,
    openai_error,
    openai_message,
    plan_json,
)

VEO = VideoCapabilities(modes=["i2v", "flf2v"], remote=True, durations=[4.0, 6.0, 8.0], min_duration=4,
                        max_duration=8, max_prompt_chars=1000)
RUNWAY = VideoCapabilities(modes=["i2v"], remote=True, durations=[float(d) for d in range(2, 11)], min_duration=2,
                           max_duration=10, max_prompt_chars=1000)
WAN = VideoCapabilities(modes=["i2v", "flf2v"], remote=False, durations=None, min_duration=0.3125,
                        max_duration=round((81 + 0.49) / 16, 3))


def req(n: int | None = 3, caps: VideoCapabilities | None = VEO, *, total: float | None = 15.0,
        mode: str = "keyframe", style: str = "") -> PlanRequest:
    return PlanRequest(idea="A lighthouse keeper finds a message in a bottle.", mode=mode,  # type: ignore[arg-type]
                       segments=n, total_duration=total, style=style, seed=7, capabilities=caps)


def gemini(fake: GeminiFake, **opts: object) -> GeminiPlanner:
    return GeminiPlanner(GeminiPlannerOptions(base_url=fake.url, **opts))  # type: ignore[arg-type]


def contents_text(body: dict) -> list[str]:
    return [p["text"] for c in body["contents"] for p in c["parts"]]


# ---- Gemini ----------------------------------------------------------------------------------


def test_gemini_structured_plan_snaps_durations(google_key, gemini_fake: GeminiFake) -> None:
    gemini_fake.queue(gemini_plan(plan_json(3, durations=[5, 7.2, 3])))
    planner = gemini(gemini_fake)
    ctx = FakeCtx()
    draft = planner.plan(req(), ctx)
    assert [s.id for s in draft.segments] == ["s000", "s001", "s002"]
    assert [s.duration for s in draft.segments] == [4.0, 8.0, 4.0]  # Veo: 4/6/8 only
    assert [k.id for k in draft.keyframes] == ["k000", "k001", "k002", "k003"]
    assert draft.segments[0].camera and draft.segments[0].continuity and draft.segments[0].negative_prompt
    assert any("snapped" in n for n in planner.notes)
    (rec,) = gemini_fake.posts(":generateContent")
    assert rec.path.endswith("/models/gemini-2.5-flash:generateContent")
    body = rec.body
    gen = body["generationConfig"]
    assert gen["responseMimeType"] == "application/json"
    assert gen["responseJsonSchema"] == plan_json_schema()
    assert gen["seed"] == 7
    system = body["systemInstruction"]["parts"][0]["text"]
    assert "exactly one of 4, 6, 8 seconds" in system and "at most 1000 characters" in system
    assert "exactly 4 entries" in system
    assert "Plan exactly 3 segments" in contents_text(body)[0]
    assert ctx.sleeps == []


def test_schema_is_strict_and_inlined() -> None:
    schema = plan_json_schema()
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text
    seg = schema["properties"]["segments"]["items"]
    assert seg["additionalProperties"] is False and set(seg["required"]) == set(seg["properties"])
    assert set(schema["required"]) == {"title", "style", "setting", "characters", "segments", "keyframes"}


def test_gemini_malformed_json_is_reasked_once(google_key, gemini_fake: GeminiFake) -> None:
    gemini_fake.queue(gemini_text('{"title": "x", "segments": [ oops'), gemini_plan(plan_json(3)))
    planner = gemini(gemini_fake)
    draft = planner.plan(req(), FakeCtx())
    assert len(draft.segments) == 3
    first, second = gemini_fake.bodies()
    turns = second["contents"]
    assert [c["role"] for c in turns] == ["user", "model", "user"]
    assert "not valid JSON" in turns[2]["parts"][0]["text"]
    assert planner.transcript[1]["problems"].startswith("the answer is not valid JSON")


def test_gemini_malformed_twice_is_a_clear_error(google_key, gemini_fake: GeminiFake) -> None:
    gemini_fake.queue(gemini_text("Sure! Here is your plan:"), gemini_text("```json\n{not json}\n```"))
    with pytest.raises(PlanInvalid) as exc:
        gemini(gemini_fake).plan(req(), FakeCtx())
    assert "did not return a valid plan after 2 tries" in exc.value.message
    assert "not valid JSON" in exc.value.message
    assert exc.value.kind == "request" and ".ttv/planner" in (exc.value.hint or "")


def test_gemini_schema_violation_and_wrong_counts(google_key, gemini_fake: GeminiFake) -> None:
    bad = plan_json(3)
    del bad["segments"][1]["camera"]
    gemini_fake.queue(gemini_plan(bad), gemini_plan(plan_json(2)))
    with pytest.raises(PlanInvalid) as exc:
        gemini(gemini_fake).plan(req(), FakeCtx())
    assert "expected exactly 3 segments, got 2" in exc.value.message
    first_fix = gemini_fake.bodies()[1]["contents"][2]["parts"][0]["text"]
    assert "segments.1.camera" in first_fix


def test_gemini_wrong_keyframe_count_then_fixed(google_key, gemini_fake: GeminiFake) -> None:
    gemini_fake.queue(gemini_plan(plan_json(3, keyframes=3)), gemini_plan(plan_json(3)))
    draft = gemini(gemini_fake).plan(req(), FakeCtx())
    assert len(draft.keyframes) == 4
    assert "expected exactly 4 keyframes, got 3" in gemini_fake.bodies()[1]["contents"][2]["parts"][0]["text"]


def test_chain_mode_asks_for_one_keyframe(google_key, gemini_fake: GeminiFake) -> None:
    gemini_fake.queue(gemini_plan(plan_json(3, keyframes=1)))
    draft = gemini(gemini_fake).plan(req(mode="chain"), FakeCtx())
    assert [k.id for k in draft.keyframes] == ["k000"]


@pytest.mark.parametrize("reply", [gemini_blocked("PROHIBITED_CONTENT"), gemini_filtered("SAFETY")])
def test_gemini_refusal_stops_without_retry(google_key, gemini_fake: GeminiFake, reply: Reply) -> None:
    gemini_fake.queue(reply)
    with pytest.raises(InputRejected) as exc:
        gemini(gemini_fake).plan(req(), FakeCtx())
    assert exc.value.kind == "request" and "refused" in exc.value.message
    assert len(gemini_fake.posts()) == 1


def test_gemini_429_retries_with_retry_after(google_key, gemini_fake: GeminiFake) -> None:
    gemini_fake.queue(google_error(429, "RESOURCE_EXHAUSTED", "quota", {"Retry-After": "7"}), gemini_plan(plan_json(3)))
    ctx = FakeCtx()
    gemini(gemini_fake).plan(req(), ctx)
    assert ctx.sleeps == [7.0]
    assert "throttled" in [p["status"] for p in ctx.progress_calls]


def test_gemini_5xx_gives_up_after_retries(google_key, gemini_fake: GeminiFake) -> None:
    gemini_fake.queue(*[google_error(503, "UNAVAILABLE", "overloaded")] * 4)
    ctx = FakeCtx()
    with pytest.raises(BackendError) as exc:
        gemini(gemini_fake, retries=3).plan(req(), ctx)
    assert exc.value.kind == "retryable" and exc.value.code == "503"
    assert "gave up after 4 attempts" in exc.value.message
    assert ctx.sleeps == [2.0, 4.0, 8.0]
    assert len(gemini_fake.posts()) == 4


def test_gemini_bad_key_is_auth_error_and_redacted(monkeypatch, gemini_fake: GeminiFake) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza_wrong_key_0123456789")
    with pytest.raises(BackendError) as exc:
        gemini(gemini_fake).plan(req(), FakeCtx())
    assert exc.value.kind == "backend" and "API key not valid" in exc.value.message
    assert "AIza_wrong_key_0123456789" not in exc.value.message + (exc.value.hint or "")
    assert len(gemini_fake.posts()) == 1


def test_gemini_truncated_answer_is_reasked(google_key, gemini_fake: GeminiFake) -> None:
    gemini_fake.queue(gemini_text('{"title": "x", "style"', finish="MAX_TOKENS"), gemini_plan(plan_json(3)))
    gemini(gemini_fake).plan(req(), FakeCtx())
    assert "output-token limit" in gemini_fake.bodies()[1]["contents"][2]["parts"][0]["text"]


def test_long_prompts_reasked_then_shortened_at_sentence_end(google_key, gemini_fake: GeminiFake) -> None:
    long = plan_json(3, prompt_len=1400)
    gemini_fake.queue(gemini_plan(long), gemini_plan(long))
    planner = gemini(gemini_fake)
    draft = planner.plan(req(), FakeCtx())
    assert "the limit is 1000" in gemini_fake.bodies()[1]["contents"][2]["parts"][0]["text"]
    for seg in draft.segments:
        assert len(seg.prompt) <= 1000 and seg.prompt.endswith(".")
    assert any("prompt shortened" in n for n in planner.notes)


def test_transcript_has_request_and_raw_response(google_key, gemini_fake: GeminiFake) -> None:
    gemini_fake.queue(gemini_plan(plan_json(3)))
    planner = gemini(gemini_fake)
    planner.plan(req(), FakeCtx())
    head, call = planner.transcript
    assert "system" in head and head["targets"]["segments"] == 3
    assert json.loads(call["response"]["text"])["title"] == "The Bottle"
    assert call["response"]["usage"]["total_tokens"] == 600
    assert google_key_not_in(planner.transcript)


def google_key_not_in(obj: object) -> bool:
    from .conftest import GOOGLE_KEY

    return GOOGLE_KEY not in json.dumps(obj, default=str)


def test_no_key_and_missing_sdk_availability(monkeypatch) -> None:
    avail = GeminiPlanner().is_available()
    assert not avail.ok and "GOOGLE_API_KEY" in avail.reason and "GEMINI_API_KEY" in avail.reason
    avail = OpenAIPlanner().is_available()
    assert not avail.ok and "OPENAI_API_KEY" in avail.reason


# ---- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(("caps", "asked", "expected"), [
    (VEO, [5, 7.2, 3, 100], [4, 8, 4, 8]),
    (RUNWAY, [1, 5.4, 12, 7], [2, 5, 10, 7]),
    (WAN, [7, 5, 0.1, 3.3], [5.09, 5, 0.32, 3.3]),
])
def test_duration_snapping_per_backend(caps: VideoCapabilities, asked: list[float], expected: list[float]) -> None:
    rules = DurationRules.from_caps(caps)
    assert [rules.snap(a) for a in asked] == expected


def test_wan_snapped_length_is_81_frames_at_16_fps() -> None:
    rules = DurationRules.from_caps(WAN)
    assert round(rules.snap(10) * 16) == 81


def test_segment_count_follows_backend_maximum(google_key, gemini_fake: GeminiFake) -> None:
    """30 s on Wan (max ~5.09 s per clip) needs at least 6 segments; the prompt asks for them."""
    gemini_fake.queue(gemini_plan(plan_json(6, durations=[5.0] * 6)))
    draft = gemini(gemini_fake).plan(req(None, WAN, total=30), FakeCtx())
    assert len(draft.segments) == 6
    assert "Plan exactly 6 segments" in contents_text(gemini_fake.bodies()[0])[0]


def test_smart_truncate_boundaries() -> None:
    text = "First sentence here. Second sentence is a bit longer, with a clause. Third."
    assert smart_truncate(text, 40) == "First sentence here."
    assert smart_truncate(text, 60) == "First sentence here. Second sentence is a bit longer"
    assert smart_truncate("word " * 30, 23).endswith("word") and len(smart_truncate("word " * 30, 23)) <= 23
    assert smart_truncate("short", 100) == "short"


# ---- OpenAI ----------------------------------------------------------------------------------


def openai_planner(fake: OpenAIFake, **opts: object) -> OpenAIPlanner:
    return OpenAIPlanner(OpenAIPlannerOptions(base_url=fake.url + "/v1", **opts))  # type: ignore[arg-type]


def test_openai_structured_plan(openai_key, openai_fake: OpenAIFake) -> None:
    openai_fake.queue(openai_message(json.dumps(plan_json(3, durations=[2.5, 6, 9]))))
    draft = openai_planner(openai_fake).plan(req(caps=RUNWAY), FakeCtx())
    assert [s.duration for s in draft.segments] == [2.0, 6.0, 9.0]
    (rec,) = openai_fake.posts("/chat/completions")
    fmt = rec.body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == plan_json_schema()
    assert rec.body["messages"][0]["role"] == "system" and rec.body["seed"] == 7


def test_openai_refusal(openai_key, openai_fake: OpenAIFake) -> None:
    openai_fake.queue(openai_message(None, refusal="I can't help with that."))
    with pytest.raises(InputRejected) as exc:
        openai_planner(openai_fake).plan(req(), FakeCtx())
    assert "I can't help with that." in exc.value.message and exc.value.kind == "request"


def test_openai_malformed_then_valid_and_429(openai_key, openai_fake: OpenAIFake) -> None:
    openai_fake.queue(openai_error(429, "Rate limit reached", {"retry-after-ms": "1500"}),
                      openai_message('{"title": 3}'), openai_message(json.dumps(plan_json(3))))
    ctx = FakeCtx()
    draft = openai_planner(openai_fake).plan(req(), ctx)
    assert len(draft.segments) == 3 and ctx.sleeps == [1.5]
    last = openai_fake.posts()[-1].body["messages"]
    assert [m["role"] for m in last] == ["system", "user", "assistant", "user"]
    assert "does not match the schema" in last[3]["content"]


def test_openai_5xx_and_auth(openai_key, openai_fake: OpenAIFake, monkeypatch) -> None:
    openai_fake.queue(openai_error(500, "boom"), openai_error(500, "boom"))
    ctx = FakeCtx()
    with pytest.raises(BackendError) as exc:
        openai_planner(openai_fake, retries=1).plan(req(), ctx)
    assert exc.value.kind == "retryable" and ctx.sleeps == [2.0]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-0123456789")
    with pytest.raises(BackendError) as exc:
        openai_planner(openai_fake).plan(req(), FakeCtx())
    assert exc.value.code == "401" and "sk-wrong-0123456789" not in exc.value.message


def test_openai_reasoning_models_get_no_temperature(openai_key, openai_fake: OpenAIFake) -> None:
    openai_planner(openai_fake, model="o4-mini").plan(req(), FakeCtx())
    body = openai_fake.posts()[-1].body
    assert "temperature" not in body and "seed" not in body and body["model"] == "o4-mini"


def test_openai_length_cutoff_is_invalid(openai_key, openai_fake: OpenAIFake) -> None:
    openai_fake.queue(openai_message('{"title":', finish="length"), openai_message('{"title":', finish="length"))
    with pytest.raises(PlanInvalid) as exc:
        openai_planner(openai_fake).plan(req(), FakeCtx())
    assert "output-token limit" in exc.value.message


def test_planner_cost_estimate_and_actual_usage(google_key, gemini_fake: GeminiFake) -> None:
    planner = gemini(gemini_fake)
    est = planner.estimate_cost(req())
    assert 0 < est.usd < 0.05 and "gemini-2.5-flash" in est.source
    gemini_fake.queue(gemini_plan(plan_json(3)))
    planner.plan(req(), FakeCtx())
    assert planner.usage == {"prompt_tokens": 120, "output_tokens": 480}
    assert planner.actual_cost() == pytest.approx((120 * 0.30 + 480 * 2.50) / 1e6)
    assert OpenAIPlanner(OpenAIPlannerOptions(model="my-local-llm")).estimate_cost(req()).usd == 0.0
