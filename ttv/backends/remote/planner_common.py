"""What the LLM shot planners (Gemini, OpenAI) share: the prompt, the JSON schema of the answer, the
validation of that answer, duration snapping, prompt-length limits, and the request loop.

The loop (`LLMPlanner.plan`):

1. Build a system prompt (rules: standalone prompts, camera and continuity, allowed durations, prompt
   length limit, keyframe count) and a user message (the idea or pasted script, the targets, locked
   segments to plan around).
2. Ask the provider for JSON matching `plan_json_schema()` (structured output). Transport failures
   (429, 5xx, timeouts) are retried with backoff through `ctx.sleep` (injectable); auth/quota errors
   and refusals stop at once with a clear message.
3. Parse and validate the answer. Malformed JSON, a schema violation, a wrong segment/keyframe count
   or prompts over the video model's limit are sent back to the model once ("re-ask", `reask`
   option) with the exact problem; if it still fails the planner raises `PlanInvalid` and nothing is
   written. Prompts still over the limit after the re-ask are shortened at a sentence/clause boundary.
4. Durations are snapped to the video backend's allowed values (Veo 4/6/8 s, Runway 2-10 s, Wan
   81 frames at 16 fps), whatever the model answered.

Every exchange is kept in `self.transcript` (request and raw response, never a key); `ttv plan`
writes it to `.ttv/planner/<timestamp>-<planner>.json` for audit.
"""

from __future__ import annotations

import json
import math
import re
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ttv.backends.base import (
    CostEstimate,
    JobContext,
    Options,
    PlanDraft,
    PlannedKeyframe,
    PlannedSegment,
    Planner,
    PlanRequest,
    VideoCapabilities,
)
from ttv.backends.remote.common import KeyedBackend
from ttv.core import keys as keyring
from ttv.core.errors import BackendError

DEFAULT_SEGMENT_SECONDS = 5.0

# ---- the answer the model must give ----------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LLMCharacter(_Strict):
    name: str = Field(description="short name used in every prompt, e.g. 'the keeper'")
    description: str = Field(description="fixed visual description: age, build, face, hair, clothing, colours")


class LLMSegment(_Strict):
    prompt: str = Field(description="standalone video prompt for this shot: subject with full visual description, "
                                    "action, setting, lighting, camera movement, style")
    duration: float = Field(description="seconds; one of the allowed durations")
    camera: str = Field(description="shot size and camera movement, e.g. 'medium shot, slow push in'")
    continuity: str = Field(description="what must stay consistent with neighbouring shots "
                                        "(characters, props, setting, time of day, screen direction)")
    negative_prompt: str = Field(description="things to avoid in this shot, or an empty string")


class LLMKeyframe(_Strict):
    prompt: str = Field(description="still-image prompt for this boundary frame: full description of subject, "
                                    "setting, composition, lighting and style; no camera motion")


class LLMPlan(_Strict):
    title: str
    style: str = Field(description="visual style carried into every prompt")
    setting: str = Field(description="the world: place, era, time of day, palette")
    characters: list[LLMCharacter]
    segments: list[LLMSegment]
    keyframes: list[LLMKeyframe]


def plan_json_schema() -> dict[str, Any]:
    """JSON schema of `LLMPlan` with every $ref inlined, all properties required and no extra
    properties: accepted by Gemini `response_json_schema` and OpenAI strict `json_schema`."""
    schema = LLMPlan.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].rsplit("/", 1)[-1]])
            out = {k: ({name: inline(sub) for name, sub in v.items()} if k == "properties" else inline(v))
                   for k, v in node.items() if k not in ("title", "default")}
            if out.get("type") == "object" and "properties" in out:
                out["required"] = list(out["properties"])
                out["additionalProperties"] = False
            return out
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    result = inline(schema)
    assert isinstance(result, dict)
    return result


# ---- durations and counts ----------------------------------------------------------------------


@dataclass(frozen=True)
class DurationRules:
    """The video backend's allowed segment durations."""

    allowed: tuple[float, ...] | None = None  # discrete values, or None for a range
    low: float = 0.5
    high: float = 600.0

    @classmethod
    def from_caps(cls, caps: VideoCapabilities | None) -> DurationRules:
        if caps is None:
            return cls(None, 1.0, 20.0)
        if caps.durations:
            return cls(tuple(sorted(caps.durations)), min(caps.durations), max(caps.durations))
        return cls(None, caps.min_duration, caps.max_duration)

    def snap(self, value: float) -> float:
        if not math.isfinite(value) or value <= 0:
            value = self.preferred()
        if self.allowed:
            return min(self.allowed, key=lambda d: (abs(d - value), d))
        return self._clamp(value)

    def _clamp(self, value: float) -> float:
        # Range: clamp, then 2 decimals that still lie inside the range.
        out = round(min(max(value, self.low), self.high), 2)
        if out > self.high:
            out = math.floor(self.high * 100) / 100
        if out < self.low:
            out = math.ceil(self.low * 100) / 100
        return out

    def preferred(self, target: float = DEFAULT_SEGMENT_SECONDS) -> float:
        if self.allowed:
            return min(self.allowed, key=lambda d: (abs(d - target), -d))
        return self._clamp(target)

    def describe(self) -> str:
        if self.allowed:
            return "exactly one of " + ", ".join(f"{d:g}" for d in self.allowed) + " seconds"
        return f"any value from {self.low:g} to {self.high:g} seconds"


def target_count(request: PlanRequest, rules: DurationRules) -> tuple[int, float]:
    """(number of segments, target total seconds) for this request."""
    if request.segments:
        n = request.segments
        total = request.total_duration or n * rules.preferred(request.default_segment_duration)
        return n, total
    total = request.total_duration or 30.0
    each = rules.preferred(request.default_segment_duration)
    n = max(1, round(total / each))
    # Never ask for segments longer than the backend allows.
    n = max(n, math.ceil(total / rules.high - 1e-9))
    return n, total


def keyframe_count(request: PlanRequest, n: int) -> int:
    return n + 1 if request.mode == "keyframe" else 1


# ---- prompt text -------------------------------------------------------------------------------

SYSTEM_PROMPT = """You are a film director and storyboard artist. You turn an idea, or a pasted script, \
into a shot plan for an AI video generator that makes one short clip per segment. The clips are \
stitched into one film, so the plan must read as one continuous story with consistent characters, \
setting and style.

Rules:
- Every segment `prompt` is STANDALONE: the video model sees only that prompt (and images), never \
the others. Repeat each character's full visual description (from `characters`) every time they \
appear, and restate setting, lighting and style. Describe one continuous shot: subject, action, \
setting, lighting, camera movement. No scene cuts inside a segment, no on-screen text, no \
references such as "same as before" or "the previous shot".
- `camera`: shot size and one camera movement (e.g. "wide shot, slow dolly in"). Vary shot sizes \
across segments like a real edit.
- `continuity`: what must match the neighbouring segments (who is on screen, props, wardrobe, \
time of day, weather, screen direction).
- `negative_prompt`: short list of things to avoid, or "".
- Durations: {durations}. The total should be close to {total:g} seconds.
- Each segment `prompt` must be at most {max_prompt} characters.
- {keyframe_rule}
- Keyframe prompts describe a single still image (composition, subject, setting, lighting, style), \
no camera motion, at most {max_keyframe} characters.
- `style` is the visual style of the whole film{style_rule}.
Answer with JSON only, matching the schema."""

KEYFRAME_RULE_KEYFRAME = ("`keyframes` has exactly {k} entries: keyframe 0 is the first frame of segment 0; "
                          "keyframe i (1..{n}) is the LAST frame of segment i-1 and the FIRST frame of segment i; "
                          "keyframe {n} closes the film. Each segment's action must move from its start keyframe "
                          "to its end keyframe.")
KEYFRAME_RULE_CHAIN = ("`keyframes` has exactly 1 entry: the opening frame of segment 0 (each later clip starts "
                       "from the previous clip's last frame, so segment prompts must continue the action smoothly).")


@dataclass
class PlanPrompt:
    system: str
    user: str
    segments: int
    keyframes: int
    total: float
    rules: DurationRules
    max_prompt_chars: int
    max_keyframe_chars: int
    input_shortened: bool = False


def build_prompt(request: PlanRequest, *, max_prompt_chars: int, max_keyframe_chars: int, max_input_chars: int,
                 locked: list[dict[str, Any]] | None = None) -> PlanPrompt:
    rules = DurationRules.from_caps(request.capabilities)
    n, total = target_count(request, rules)
    locked = locked or []
    n = max([n, *[int(s.get("index", 0)) + 1 for s in locked]])
    k = keyframe_count(request, n)
    keyframe_rule = (KEYFRAME_RULE_KEYFRAME.format(k=k, n=n) if request.mode == "keyframe" else KEYFRAME_RULE_CHAIN)
    style = request.style.strip()
    system = SYSTEM_PROMPT.format(durations=rules.describe(), total=total, max_prompt=max_prompt_chars,
                                  keyframe_rule=keyframe_rule, max_keyframe=max_keyframe_chars,
                                  style_rule=f'; the user asked for: "{style}"' if style else "")
    idea, cut = shorten_input(request.idea, max_input_chars)
    parts = [f"Plan exactly {n} segments (about {total:g} seconds in total) and {k} keyframe(s).",
             "Idea or script:" if not cut else f"Idea or script (shortened from {len(request.idea)} characters):",
             '"""', idea, '"""']
    if style:
        parts.append(f"Visual style: {style}")
    if locked:
        parts.append("The user LOCKED these segments; they will be kept exactly as written, at these positions. "
                     "Plan the other segments around them so the story flows into and out of them:")
        for s in locked:
            parts.append(f"- segment {int(s.get('index', 0))} ({s.get('id')}, {s.get('duration')} s): {s.get('prompt')}")
    return PlanPrompt(system, "\n".join(parts), n, k, total, rules, max_prompt_chars, max_keyframe_chars, cut)


def shorten_input(text: str, limit: int) -> tuple[str, bool]:
    """An idea/script within `limit` characters: whole paragraphs first, then sentences."""
    text = text.strip()
    if len(text) <= limit:
        return text, False
    return smart_truncate(text, limit), True


_BOUNDARIES = (re.compile(r"\n\s*\n"), re.compile(r"(?<=[.!?])\s+"), re.compile(r"[;:]\s+|,\s+|\s+-\s+"),
               re.compile(r"\s+"))


def smart_truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at the best boundary available (paragraph, sentence,
    clause, word), never in the middle of a word unless a single word is longer than the limit."""
    text = text.strip()
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    window = text[: limit + 1]
    for pattern in _BOUNDARIES:
        cuts = [m.start() for m in pattern.finditer(window) if m.start() <= limit]
        # Keep at least half of what fits; otherwise a finer boundary is better.
        good = [c for c in cuts if c >= limit * 0.5]
        if good:
            return text[: good[-1]].rstrip(" ,;:-")
    return text[:limit].rstrip()


# ---- validation --------------------------------------------------------------------------------


class PlanInvalid(BackendError):
    """The model's answer is not a usable plan (after the re-ask). Nothing was written."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint or "run `ttv plan --force` again, or use `--planner heuristic`; "
                                          "the raw answer is in .ttv/planner/", kind="request", code="invalid-plan")


@dataclass
class Problems:
    """What is wrong with an answer: `fatal` needs a new answer; `long` can be fixed by shortening."""

    fatal: list[str] = field(default_factory=list)
    long: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fatal or self.long)

    def text(self) -> str:
        return "; ".join([*self.fatal, *self.long])


def _strip_fences(text: str) -> str:
    text = text.strip()
    m = re.match(r"^```(?:json)?\s*(.*?)\s*```$", text, re.S)
    return m.group(1) if m else text


def parse_answer(text: str | None) -> tuple[LLMPlan | None, str]:
    """(plan, "") or (None, what is wrong) for a raw answer."""
    if text is None or not text.strip():
        return None, "the answer was empty"
    try:
        data = json.loads(_strip_fences(text))
    except json.JSONDecodeError as exc:
        return None, f"the answer is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
    try:
        return LLMPlan.model_validate(data), ""
    except ValidationError as exc:
        errs = []
        for e in exc.errors()[:6]:
            loc = ".".join(str(p) for p in e["loc"]) or "(root)"
            errs.append(f"{loc}: {e['msg']}")
        more = f" (+{len(exc.errors()) - 6} more)" if len(exc.errors()) > 6 else ""
        return None, "the answer does not match the schema: " + "; ".join(errs) + more


def check_plan(plan: LLMPlan, prompt: PlanPrompt) -> Problems:
    p = Problems()
    if len(plan.segments) != prompt.segments:
        p.fatal.append(f"expected exactly {prompt.segments} segments, got {len(plan.segments)}")
    if len(plan.keyframes) != prompt.keyframes:
        p.fatal.append(f"expected exactly {prompt.keyframes} keyframes, got {len(plan.keyframes)}")
    for i, s in enumerate(plan.segments):
        if not s.prompt.strip():
            p.fatal.append(f"segment {i} has an empty prompt")
        elif len(s.prompt) > prompt.max_prompt_chars:
            p.long.append(f"segment {i} prompt has {len(s.prompt)} characters; the limit is {prompt.max_prompt_chars}")
    for i, k in enumerate(plan.keyframes):
        if not k.prompt.strip():
            p.fatal.append(f"keyframe {i} has an empty prompt")
        elif len(k.prompt) > prompt.max_keyframe_chars:
            p.long.append(f"keyframe {i} prompt has {len(k.prompt)} characters; the limit is {prompt.max_keyframe_chars}")
    return p


def to_draft(plan: LLMPlan, prompt: PlanPrompt, request: PlanRequest) -> tuple[PlanDraft, list[str]]:
    """The validated answer as ttv's PlanDraft: ids, snapped durations, prompts within the limits.
    Returns the notes on what was adjusted."""
    notes: list[str] = []
    segments = []
    for i, s in enumerate(plan.segments):
        duration = prompt.rules.snap(s.duration)
        if abs(duration - s.duration) > 1e-6:
            notes.append(f"s{i:03d}: duration {s.duration:g} s snapped to {duration:g} s ({prompt.rules.describe()})")
        text = s.prompt.strip()
        if len(text) > prompt.max_prompt_chars:
            text = smart_truncate(text, prompt.max_prompt_chars)
            notes.append(f"s{i:03d}: prompt shortened from {len(s.prompt)} to {len(text)} characters")
        segments.append(PlannedSegment(id=f"s{i:03d}", duration=duration, prompt=text,
                                       negative_prompt=s.negative_prompt.strip(), camera=s.camera.strip(),
                                       continuity=s.continuity.strip()))
    keyframes = []
    for i, k in enumerate(plan.keyframes):
        text = k.prompt.strip()
        if len(text) > prompt.max_keyframe_chars:
            text = smart_truncate(text, prompt.max_keyframe_chars)
            notes.append(f"k{i:03d}: prompt shortened to {len(text)} characters")
        keyframes.append(PlannedKeyframe(id=f"k{i:03d}", prompt=text))
    style = request.style.strip() or plan.style.strip()
    return PlanDraft(segments=segments, keyframes=keyframes, style=style), notes


# ---- the provider-independent loop -------------------------------------------------------------


class LLMPlannerOptions(Options):
    model: str = Field("", description="model id (default: the planner's)")
    base_url: str | None = Field(None, description="API base URL (a proxy or a test fake)")
    temperature: float = Field(0.7, ge=0, le=2, description="sampling temperature (ignored by reasoning models)")
    max_output_tokens: int = Field(8192, ge=256, le=65536, description="longest answer allowed")
    retries: int = Field(3, ge=0, le=10, description="retries of 429/5xx/timeouts, with backoff")
    reask: int = Field(1, ge=0, le=3, description="times an invalid answer is sent back to be fixed")
    request_timeout_s: float = Field(120.0, gt=0, description="HTTP timeout of one call")
    max_prompt_chars: int | None = Field(None, ge=50, description="segment prompt limit (default: the video backend's)")
    max_keyframe_chars: int = Field(1000, ge=50, description="keyframe prompt limit")
    max_input_chars: int = Field(60000, ge=200, description="longer ideas/scripts are shortened at paragraph ends")


@dataclass
class Completion:
    """One answer from the provider, normalized."""

    text: str | None
    refusal: str | None = None  # the model or the provider's filter refused
    finish_reason: str = ""
    truncated: bool = False  # the answer hit the output-token limit
    usage: dict[str, Any] = field(default_factory=dict)
    model: str = ""


def backoff(attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(max(retry_after, 0.0), 120.0)
    return min(60.0, 2.0 * 2 ** (attempt - 1))


class LLMPlanner(KeyedBackend, Planner):
    """Base of the LLM planners. Subclasses implement `complete()` (one provider call) and
    `translate()` (SDK exception -> classified BackendError), and build their SDK client with
    `self.lazy("_client", ...)`."""

    remote: ClassVar[bool] = True
    extra: ClassVar[str | None] = "remote"
    default_model: ClassVar[str]
    OptionsModel: ClassVar[type[Options]] = LLMPlannerOptions

    # USD per 1M (input, output) tokens, dated; unknown models estimate $0 (see `ttv estimate`).
    token_prices: ClassVar[dict[str, tuple[float, float]]] = {}
    token_price_source: ClassVar[str] = ""

    def __init__(self, options: Options | None = None, *, api_key: str | None = None) -> None:
        super().__init__(options, api_key=api_key)
        self.transcript: list[dict[str, Any]] = []
        self.locked: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.usage: dict[str, int] = {"prompt_tokens": 0, "output_tokens": 0}

    def token_cost(self, prompt_tokens: float, output_tokens: float) -> float:
        price = self.token_prices.get(self.model_name())
        if price is None:
            return 0.0
        return round((prompt_tokens * price[0] + output_tokens * price[1]) / 1e6, 6)

    def estimate_cost(self, request: PlanRequest) -> CostEstimate:
        """A rough figure from the prompt size (4 characters a token) and the expected answer size."""
        prompt = build_prompt(request, max_prompt_chars=1000, max_keyframe_chars=self.opts.max_keyframe_chars,
                              max_input_chars=self.opts.max_input_chars)
        tokens_in = (len(prompt.system) + len(prompt.user) + len(json.dumps(plan_json_schema()))) / 4
        tokens_out = 250 * prompt.segments + 80 * prompt.keyframes + 300
        known = self.model_name() in self.token_prices
        source = (f"{self.name}/{self.model_name()}: {self.token_price_source}" if known else
                  f"no token price known for {self.model_name()}")
        return CostEstimate(usd=self.token_cost(tokens_in, tokens_out), seconds=10.0 + 0.02 * tokens_out,
                            source=source)

    def actual_cost(self) -> float:
        return self.token_cost(self.usage["prompt_tokens"], self.usage["output_tokens"])

    @property
    def opts(self) -> LLMPlannerOptions:
        assert isinstance(self.options, LLMPlannerOptions)
        return self.options

    def model_name(self) -> str:
        return self.opts.model or self.default_model

    def set_locked(self, segments: list[dict[str, Any]]) -> None:
        """Segments the user locked (index, id, duration, prompt): the plan is made around them."""
        self.locked = list(segments)

    # -- provider hooks ---------------------------------------------------------------------------

    @abstractmethod
    def complete(self, system: str, messages: list[dict[str, str]], schema: dict[str, Any], seed: int) -> Completion:
        """One call: `messages` alternate user/assistant, starting with user. Raise classified BackendErrors."""

    @abstractmethod
    def translate(self, exc: Exception) -> BackendError:
        """Map an SDK/transport exception to a classified BackendError (message redacted)."""

    def request_params(self) -> dict[str, Any]:
        """What is sent besides the messages (for the audit record)."""
        return {"model": self.model_name(), "temperature": self.opts.temperature,
                "max_output_tokens": self.opts.max_output_tokens}

    # -- the loop ---------------------------------------------------------------------------------

    def _call(self, system: str, messages: list[dict[str, str]], schema: dict[str, Any], seed: int,
              ctx: JobContext) -> Completion:
        """One completion, retried in-call (tenacity) on retryable failures: up to `retries` more tries,
        waiting the provider's Retry-After or an exponential backoff on the job's own clock (`ctx.sleep`,
        injectable in tests). Every try is kept in the transcript (the audit record)."""
        from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

        tries = 0

        def one_try() -> Completion:
            nonlocal tries
            tries += 1
            entry: dict[str, Any] = {"call": len(self.transcript) + 1, "attempt": tries,
                                     "request": {**self.request_params(), "messages": list(messages)}}
            self.transcript.append(entry)
            ctx.progress(None, status="running", message=f"asking {self.model_name()}")
            try:
                result = self.complete(system, messages, schema, seed)
            except Exception as exc:  # noqa: BLE001 - classified below
                err = exc if isinstance(exc, BackendError) else self.translate(exc)
                entry["error"] = {"message": keyring.redact(err.message), "kind": err.kind, "code": err.code}
                raise err from None
            for k in ("prompt_tokens", "output_tokens"):
                self.usage[k] += int(result.usage.get(k) or 0)
            entry["response"] = {"text": result.text, "refusal": result.refusal, "finish_reason": result.finish_reason,
                                 "truncated": result.truncated, "usage": result.usage, "model": result.model}
            return result

        def failure(state: RetryCallState) -> BackendError:
            assert state.outcome is not None
            err = state.outcome.exception()
            assert isinstance(err, BackendError)
            return err

        def wait(state: RetryCallState) -> float:
            return backoff(state.attempt_number, failure(state).retry_after)

        def say_retry(state: RetryCallState) -> None:
            err = failure(state)
            delay = state.next_action.sleep if state.next_action else 0.0
            ctx.progress(None, status="throttled" if err.code == "429" else "retrying",
                         message=f"{err.message}; retrying in {delay:g} s")

        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, BackendError) and e.kind == "retryable"),
            stop=stop_after_attempt(self.opts.retries + 1), wait=wait, sleep=ctx.sleep, before_sleep=say_retry,
            reraise=True,
        )
        try:
            return retrying(one_try)
        except BackendError as err:
            if err.kind == "retryable":
                err.message += f" (gave up after {tries} attempts)"
            raise

    def plan(self, request: PlanRequest, ctx: JobContext) -> PlanDraft:
        opts = self.opts
        caps_limit = request.capabilities.max_prompt_chars if request.capabilities else None
        limit = opts.max_prompt_chars or caps_limit or 2000
        if caps_limit:
            limit = min(limit, caps_limit)
        prompt = build_prompt(request, max_prompt_chars=limit, max_keyframe_chars=opts.max_keyframe_chars,
                              max_input_chars=opts.max_input_chars, locked=self.locked)
        if prompt.input_shortened:
            self.notes.append(f"the idea/script was shortened to {opts.max_input_chars} characters")
        schema = plan_json_schema()
        self.transcript.append({"system": prompt.system, "schema": schema,
                                "targets": {"segments": prompt.segments, "keyframes": prompt.keyframes,
                                            "total_seconds": prompt.total, "durations": prompt.rules.describe(),
                                            "max_prompt_chars": limit}})
        messages = [{"role": "user", "content": prompt.user}]
        last_problem = ""
        best: LLMPlan | None = None
        for round_no in range(opts.reask + 1):
            result = self._call(prompt.system, messages, schema, request.seed, ctx)
            if result.refusal:
                from ttv.core.errors import InputRejected

                raise InputRejected(f"{self.name}: the model refused to plan this idea: {keyring.redact(result.refusal)}"
                                    [:500], hint="rephrase the idea in ttv.toml, or use `--planner heuristic`",
                                    code="refused", permanent_for_request=True)
            plan, problem = parse_answer(result.text)
            if plan is None and result.truncated:
                problem = (f"the answer was cut off at the output-token limit ({opts.max_output_tokens}); "
                           "write shorter prompts") + (f" ({problem})" if problem else "")
            problems = Problems(fatal=[problem]) if plan is None else check_plan(plan, prompt)
            if plan is not None and not problems.fatal:
                best = plan
            if not problems:
                break
            last_problem = problems.text()
            self.transcript[-1]["problems"] = last_problem
            if round_no < opts.reask:
                messages = [*messages, {"role": "assistant", "content": result.text or ""},
                            {"role": "user", "content": "Your answer cannot be used: " + last_problem
                             + ". Answer again with the complete corrected JSON plan only."}]
        else:
            if best is None:
                tries = "1 try" if opts.reask == 0 else f"{opts.reask + 1} tries"
                raise PlanInvalid(f"{self.name}: the model did not return a valid plan after {tries}: "
                                  f"{last_problem}"[:800])
            # Only prompt lengths are still wrong: shorten them at sentence boundaries (noted).
        assert best is not None
        draft, notes = to_draft(best, prompt, request)
        self.notes.extend(notes)
        ctx.progress(1.0, status="done")
        return draft
