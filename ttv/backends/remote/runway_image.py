"""`runway-image` keyframes: Runway `text_to_image` (gen4_image, gen4_image_turbo) through `runwayml`.

Same durable-job rules as the video backends:
- submit -> `ctx.remember_job(task id)` (written to the keyframe's record) -> poll -> download;
- on restart the runner hands the stored id back as `ctx.job_id`: the task is polled, never
  submitted again (never billed twice);
- ttv owns the poll loop (`ctx.sleep`/`ctx.now`, injectable): interval, timeout, Retry-After and
  backoff for transient poll errors; an expired or broken result URL is fetched again from the task;
- failures are classified (SAFETY.INPUT.* stops this keyframe, INTERNAL/429/5xx retry, auth/credits
  go to the next provider); cost is the task's `cost.credits` ($0.01 each), else the price table.

Reference images (`reference_images = [...]` in `[backends.runway-image]`, relative to the project)
go as `referenceImages` (data URIs, tagged by file name so the prompt can say `@hero`);
gen4_image_turbo requires at least one.

Setup: `pip install 'ttv[remote]'`, then RUNWAYML_API_SECRET or `ttv keys set runway`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from ttv.backends.base import (
    CostEstimate,
    GenerateResult,
    ImageProvider,
    ImageRequest,
    JobContext,
    Options,
)
from ttv.backends.remote.common import (
    ACTIVE,
    DATA_URI_LIMIT,
    MAX_POLL_ERRORS,
    KeyedBackend,
    attach_job,
    data_uri,
    data_uri_size,
    inspect_image,
    network_error,
    resume_job_id_of,
    submit_ambiguous,
)
from ttv.backends.remote.image_common import full_prompt, image_price, resolve_references, save_fitted
from ttv.backends.remote.runway_common import (
    BASE_URL_ENV,
    PACKAGES,
    PRICE_SOURCE,
    RUNWAY_KEY,
    TASK_STATUS,
    TESTED,
    USD_PER_RUNWAY_CREDIT,
    live_runway,
    translate_sdk_error,
)
from ttv.backends.remote.runway_common import classify_failure as video_classify
from ttv.core import keys as keyring
from ttv.core.errors import BackendError, InputRejected, UncertainSubmit
from ttv.core.keys import KeyProvider
from ttv.core.prices import PriceRow

# runwayml 5.24.0 text_to_image ratios for gen4_image / gen4_image_turbo.
RATIOS = ("1024:1024", "1080:1080", "1168:880", "1360:768", "1440:1080", "1080:1440", "1808:768", "1920:1080",
          "1080:1920", "2112:912", "1280:720", "720:1280", "720:720", "960:720", "720:960", "1680:720")
MODELS = {"gen4_image": {"needs_refs": False}, "gen4_image_turbo": {"needs_refs": True}}
PROMPT_LIMIT = 1000  # promptText: up to 1000 characters
# Per image, in the same prepaid credits as Runway video ($0.01 each).
PRICE_ROWS = (
    PriceRow("runway", "gen4_image", "image", 0.05, 5, PRICE_SOURCE, note="720p; 8 credits at 1080p"),
    PriceRow("runway", "gen4_image@1080p", "image", 0.08, 8, PRICE_SOURCE),
    PriceRow("runway", "gen4_image_turbo", "image", 0.02, 2, PRICE_SOURCE),
)


def _size(ratio: str) -> tuple[int, int]:
    w, h = ratio.split(":")
    return int(w), int(h)


def tier(ratio: str) -> str:
    """Runway bills gen4_image by tier: 720p (5 credits) or 1080p (8 credits)."""
    return "1080p" if min(_size(ratio)) >= 768 else "720p"


def choose_ratio(width: int, height: int, resolution: str = "auto") -> str:
    """The ratio with the project's aspect (nearest), then the smallest size covering the project
    size in the wanted tier (so nothing is upscaled when avoidable)."""
    def aspect(r: str) -> float:
        w, h = _size(r)
        return abs(math.log((width / height) / (w / h)))

    best = min(aspect(r) for r in RATIOS)
    same = [r for r in RATIOS if aspect(r) <= best + 1e-6]
    if resolution != "auto":
        in_tier = [r for r in same if tier(r) == resolution]
        same = in_tier or same
    covering = [r for r in same if _size(r)[0] >= width and _size(r)[1] >= height]
    pool = covering or same
    return min(pool, key=lambda r: _size(r)[0] * _size(r)[1]) if covering else max(pool, key=lambda r: _size(r)[0])


def classify_failure(code: str, message: str, job_id: str) -> BackendError:
    err = video_classify(code, message, job_id)
    err.message = err.message.replace("runway:", "runway-image:", 1)
    return err


class RunwayImageOptions(Options):
    model: Literal["gen4_image", "gen4_image_turbo"] = Field(
        "gen4_image", description="gen4_image (5 credits at 720p, 8 at 1080p) or gen4_image_turbo (needs references)")
    base_url: str | None = Field(None, description="API base URL (a proxy or a test fake)")
    resolution: Literal["auto", "720p", "1080p"] = Field(
        "auto", description="output tier; auto: the smallest Runway size that covers the project size")
    reference_images: list[str] = Field(default_factory=list,
                                        description="up to 3 character/style reference images, relative to the project")
    reference_previous: bool = Field(False, description="also send the previous keyframe as a reference (needs it made first; a changed previous keyframe does not make this one stale)")
    poll_interval_s: float = Field(2.0, gt=0, le=600, description="seconds between task polls")
    poll_timeout_s: float = Field(600.0, gt=0, description="give up waiting for one task after this long")
    request_timeout_s: float = Field(180.0, gt=0, description="HTTP timeout of one API call (long: a timed-out submit may be billed)")
    download_attempts: int = Field(3, ge=1, le=10, description="fetches of a result (fresh URL each) before giving up")
    concurrency: int | None = Field(None, ge=1, le=20, description="concurrent tasks (default 2)")
    public_figure_threshold: Literal["auto", "low"] | None = Field(
        None, description="contentModeration.publicFigureThreshold")


@dataclass
class TaskState:
    status: str
    raw: str
    urls: list[str]
    credits: float | None = None
    progress: float | None = None
    error: BackendError | None = None


class RunwayImageKeyframes(KeyedBackend, ImageProvider):
    name: ClassVar[str] = "runway-image"
    summary: ClassVar[str] = "Keyframes from Runway text_to_image (gen4_image), durable remote tasks"
    extra: ClassVar[str | None] = "remote"
    remote: ClassVar[bool] = True
    key_provider: ClassVar[KeyProvider] = RUNWAY_KEY
    price_rows = PRICE_ROWS
    key_check = staticmethod(live_runway)
    base_url_env = BASE_URL_ENV
    packages = PACKAGES
    tested_versions = TESTED
    sdk_module: ClassVar[str | None] = "runwayml"
    OptionsModel: ClassVar[type[Options]] = RunwayImageOptions

    def __init__(self, options: Options | None = None, *, api_key: str | None = None) -> None:
        super().__init__(options, api_key=api_key)
        self._http: Any = None
        self._resumable: dict[str, str] = {}  # request key -> task id still alive after a failed attempt

    @property
    def opts(self) -> RunwayImageOptions:
        assert isinstance(self.options, RunwayImageOptions)
        return self.options

    def model_name(self) -> str:
        return self.opts.model

    def concurrency(self) -> int:
        return self.opts.concurrency or 2

    # -- clients -----------------------------------------------------------------------------------

    def client(self) -> Any:
        def build() -> Any:
            key = self.api_key()
            import runwayml

            return runwayml.RunwayML(api_key=key, base_url=self.opts.base_url, max_retries=0,
                                     timeout=self.opts.request_timeout_s)

        return self.lazy("_client", build)

    def http(self) -> Any:
        import httpx

        return self.lazy("_http", lambda: httpx.Client(
            timeout=httpx.Timeout(self.opts.request_timeout_s, connect=10.0), follow_redirects=True))

    def close(self) -> None:
        self.drop("_client", "_http")

    def translate(self, exc: Exception, what: str) -> BackendError:
        import httpx

        if isinstance(exc, BackendError):
            return exc
        err = translate_sdk_error(self.name, exc, what)
        if err is not None:
            return err
        if isinstance(exc, httpx.TransportError):
            return network_error(self.name, exc, what=what)
        return BackendError(f"{self.name}: {what} failed: {type(exc).__name__}: {keyring.redact(exc)}"[:400],
                            kind="backend", code=type(exc).__name__)

    def _call(self, what: str, fn: Any) -> Any:
        try:
            return fn()
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified
            raise self.translate(exc, what) from None

    # -- cost --------------------------------------------------------------------------------------

    def estimate_cost(self, request: ImageRequest) -> CostEstimate:
        ratio = choose_ratio(request.width, request.height, self.opts.resolution)
        usd, source = image_price("runway", self.opts.model, variant=tier(ratio))
        return CostEstimate(usd=usd or 0.0, credits=round((usd or 0.0) / USD_PER_RUNWAY_CREDIT, 2),
                            seconds=20.0, source=source)

    # -- job ---------------------------------------------------------------------------------------

    def references(self, request: ImageRequest) -> list[dict[str, str]]:
        o = self.opts
        refs = resolve_references(request, o.reference_images, provider=self.name, limit=3,
                                  previous=o.reference_previous)
        if MODELS[o.model]["needs_refs"] and not refs:
            raise InputRejected(f"{self.name}: {o.model} needs at least one reference image",
                                hint="set `reference_images` in [backends.runway-image], or use model = \"gen4_image\"",
                                code="needs-reference")
        out = []
        for p in refs:
            info = inspect_image(p, provider=self.name, role="reference image")
            if data_uri_size(info) > DATA_URI_LIMIT:
                raise InputRejected(f"{self.name}: reference image {p} is over 5 MB as a data URI",
                                    hint="use a smaller (or JPEG) reference image", code="reference",
                                    permanent_for_request=True)
            entry = {"uri": data_uri(p, info.mime)}
            tag = re.sub(r"[^A-Za-z0-9_]", "_", p.stem)[:16]
            if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{2,15}", tag):
                entry["tag"] = tag
            out.append(entry)
        return out

    def submit(self, request: ImageRequest) -> tuple[str, str]:
        from ttv.backends.remote.planner_common import smart_truncate

        o = self.opts
        ratio = choose_ratio(request.width, request.height, o.resolution)
        args: dict[str, Any] = {"model": o.model, "prompt_text": smart_truncate(full_prompt(request), PROMPT_LIMIT),
                                "ratio": ratio, "seed": int(request.seed) % 4294967296}
        refs = self.references(request)
        if refs:
            args["reference_images"] = refs
        if o.public_figure_threshold:
            args["content_moderation"] = {"public_figure_threshold": o.public_figure_threshold}
        client = self.client()
        task = self._call("submit", lambda: client.text_to_image.create(**args))
        return str(task.id), ratio

    def poll_once(self, job_id: str) -> TaskState:
        client = self.client()
        task = self._call("poll", lambda: client.tasks.retrieve(job_id))
        raw = str(getattr(task, "status", "") or "")
        status = TASK_STATUS.get(raw, "running")
        cost = getattr(task, "cost", None)
        credits = getattr(cost, "credits", None) if cost is not None else None
        state = TaskState(status, raw, [], float(credits) if credits is not None else None)
        if status == "running":
            progress = getattr(task, "progress", None)
            state.progress = float(progress) if progress is not None else None
        elif status == "succeeded":
            state.urls = [str(u) for u in (getattr(task, "output", None) or [])]
        elif status == "failed":
            state.error = classify_failure(str(getattr(task, "failure_code", "") or ""),
                                           str(getattr(task, "failure", "") or ""), job_id)
        elif status == "cancelled":
            state.error = BackendError(f"{self.name}: task {job_id} was cancelled", kind="request", code="CANCELLED")
        return state

    def cancel(self, job_id: str) -> None:
        client = self.client()
        self._call("cancel", lambda: client.tasks.delete(job_id))

    def download(self, url: str) -> bytes | str:
        """The image bytes, or a reason string when the URL must be fetched again."""
        import httpx

        try:
            resp = self.http().get(url)
        except httpx.HTTPError as exc:
            return f"download failed: {type(exc).__name__}"
        if resp.status_code in (401, 403, 404, 410):
            return f"result URL answered HTTP {resp.status_code} (expired?)"
        if resp.status_code >= 400:
            return f"result URL answered HTTP {resp.status_code}"
        expected = resp.headers.get("content-length")
        if expected and expected.isdigit() and int(expected) != len(resp.content):
            return f"download truncated: {len(resp.content)} of {expected} bytes"
        if not resp.content:
            return "download was empty"
        return resp.content

    def _request_key(self, request: ImageRequest) -> str:
        return f"{request.keyframe_id}|{request.seed}|{request.width}x{request.height}|{request.prompt}"

    def generate(self, request: ImageRequest, output: Path, ctx: JobContext) -> GenerateResult:
        key = self._request_key(request)
        try:
            return self._generate(request, output, ctx, key)
        except BackendError as exc:
            # A task that is still alive (poll timeout, repeated poll errors, failed downloads) is
            # remembered so the runner's next attempt polls it instead of paying for a new one.
            job = resume_job_id_of(exc)
            if job:
                with self._lock:
                    self._resumable[key] = job
            raise

    def _generate(self, request: ImageRequest, output: Path, ctx: JobContext, key: str) -> GenerateResult:
        o = self.opts
        job_id = ctx.job_id
        if job_id is None:
            with self._lock:
                job_id = self._resumable.pop(key, None)
            if job_id is not None:
                ctx.remember_job(job_id, provider=self.name, model=o.model)
        resumed = job_id is not None
        ratio = choose_ratio(request.width, request.height, o.resolution)
        if job_id is None:
            begin = getattr(ctx, "begin_submit", None)
            if callable(begin):
                begin()  # a crash or a lost answer from here on leaves the keyframe uncertain, not resubmitted
            try:
                job_id, ratio = self.submit(request)
            except BackendError as exc:
                if submit_ambiguous(exc):  # Runway has no idempotency key: retrying may pay twice
                    raise UncertainSubmit(self.name, exc.message, request.keyframe_id) from None
                raise
            ctx.remember_job(job_id, provider=self.name, model=o.model, ratio=ratio)
        deadline = ctx.now() + o.poll_timeout_s
        polls = poll_errors = fetches = 0
        while True:
            try:
                polls += 1
                state = self.poll_once(job_id)
            except BackendError as exc:
                if exc.code == "404":
                    exc.kind = "retryable"  # the provider does not know this task: submit anew
                    raise attach_job(exc, job_id, resumable=False) from None
                attach_job(exc, job_id, resumable=True)
                if exc.kind != "retryable" or poll_errors >= MAX_POLL_ERRORS:
                    raise
                poll_errors += 1
                delay = exc.retry_after if exc.retry_after is not None else min(60.0, o.poll_interval_s * 2 ** (poll_errors - 1))
                if ctx.now() + delay > deadline:
                    raise
                ctx.progress(None, status="throttled" if exc.code == "429" else "queued",
                             message=f"poll failed ({exc.code}); retrying in {delay:g} s")
                ctx.sleep(delay)
                continue
            poll_errors = 0
            if state.status in ACTIVE:
                ctx.progress(state.progress, status=state.status)
                if ctx.now() + o.poll_interval_s > deadline:
                    err = BackendError(f"{self.name}: task {job_id} still {state.status} after {o.poll_timeout_s:g} s",
                                       hint="it keeps running at Runway; a re-run polls it again",
                                       kind="retryable", code="poll-timeout")
                    raise attach_job(err, job_id, resumable=True)
                ctx.sleep(o.poll_interval_s)
                continue
            if state.status != "succeeded":
                err = state.error or BackendError(f"{self.name}: task {job_id} {state.raw}", kind="backend",
                                                  code=state.raw)
                raise attach_job(err, job_id, resumable=False)
            fetches += 1
            ctx.progress(1.0, status="downloading")
            data: bytes | str = self.download(state.urls[0]) if state.urls else "the finished task lists no output"
            if isinstance(data, bytes):
                try:
                    source = save_fitted(data, output, request.width, request.height, provider=self.name)
                except BackendError as exc:
                    data = exc.message
                else:
                    break
            if fetches >= o.download_attempts:
                err = BackendError(f"{self.name}: task {job_id} finished but its image could not be fetched after "
                                   f"{fetches} tries: {data}", kind="retryable", code="download")
                raise attach_job(err, job_id, resumable=True)
            ctx.progress(1.0, status="downloading", message=f"{data}; fetching the task again")
            ctx.sleep(0.0 if "expired" in data else min(10.0, o.poll_interval_s))
        if state.credits is not None:
            credits: float | None = state.credits
            usd = round(state.credits * USD_PER_RUNWAY_CREDIT, 6)
            price_source = "task cost.credits"
        else:
            est = self.estimate_cost(request)
            usd, credits, price_source = est.usd, est.credits, est.source
        return GenerateResult(cost_usd=usd, credits=credits, model=o.model,
                              info={"job_id": job_id, "resumed": resumed, "ratio": ratio, "polls": polls,
                                    "fetches": fetches, "source_size": f"{source[0]}x{source[1]}",
                                    "price": price_source})
