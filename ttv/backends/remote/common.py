"""Shared machinery of the remote video backends (Runway, Veo, fal, MiniMax), and `KeyedBackend`: the
API key, SDK check and lazily built clients of every remote backend (video, keyframes, planners).

Each provider module implements four small methods on `RemoteVideoBackend`:

    submit(request) -> job_id          one create call; no polling, no waiting
    poll_once(job_id) -> JobState      one status call (normalized status, progress, result, error)
    fetch_output(state, dest)          put the finished video at `dest` (default: stream state.urls[0])
    cancel(job_id)                     ask the provider to stop (and refund) the job

and `generate()` here owns everything else: the poll loop (interval, timeout, Retry-After and
backoff for transient poll errors, all through `ctx.sleep`/`ctx.now`), progress reports, the
download into the `.partial` path, the PyAV check of the result, re-fetching the job when a result
URL expired or a download came back truncated, cost, and error classification.

Runner contract (see also ttv/backends/base.py `JobContext`):

* `generate(req, output, ctx)`: if `ctx.job_id` is None it submits, then calls
  `ctx.remember_job(job_id, provider=..., model=...)` **before the first poll**; if `ctx.job_id` is
  set it never submits and polls that job (resume after a crash, `ttv wait`).
* Errors are `BackendError`s (`kind` = retryable | backend | request, `code`, `retry_after`).
  Errors raised after a job exists carry two extra attributes:
    - `exc.job_id`: the provider job the error is about;
    - `exc.resume_job_id`: the same id when the job is still alive or finished successfully (poll
      timeout, repeated poll errors, a download that kept failing). The runner must pass it as
      `ctx.job_id` on its next attempt, so nothing is paid twice. None when the job itself failed or
      was cancelled: the next attempt submits a new job. `resume_job_id_of(exc)` reads it.
    - `exc.cost_usd` / `exc.credits`: only when the provider reported a charge for a failed job.
* `submit(req)` + `ctx.remember_job` alone implement `--detach`; `ttv wait` is `generate()` with
  `ctx.job_id` set.
* `poll_once(job_id) -> JobState` is one status request: use it for `ttv status`/`ttv wait` tables
  (`state.status` in queued|throttled|running|succeeded|failed|cancelled, `state.progress`,
  `state.error` a classified BackendError for failed jobs). `cancel(job_id)` raises BackendError
  (code "cancel-unsupported") where the provider has no cancel call (Veo, MiniMax v1): the job then
  runs to its end at the provider and is billed.
* `warm_up()` (optional) pays the one-time costs (SDK import, client, PyAV decoder) before the
  workers start; `model_table()` lists every known model as data for `ttv backends info`.
* Prices: `estimate_cost` and the cost of providers that report none come from ttv.core.prices;
  call `prices.set_overrides(config.prices)` once per run so `[prices]` in ttv.toml applies.
* Size: the project's width/height are mapped to the model's allowed ratio with the same aspect
  (within `ratio_tolerance`, default 5 %); otherwise `validate_inputs` rejects the request naming the
  allowed ratios. The clip then comes back at the provider's size for that ratio; stitch scales it.
* End frame: `end_frame = "auto"` (default; "require" is the same) sends `req.last_image` and rejects a
  model that takes no last frame (before anything is paid: ttv/pipeline/verdict.py); "ignore" never sends
  it, the explicit opt-in to first-frame-only keyframes (recorded in `info["end_frame"]`).
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import importlib.util
import math
import os
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from pydantic import Field, field_validator

from ttv.backends.base import (
    Availability,
    Backend,
    Continuation,
    CostEstimate,
    GenerateResult,
    JobContext,
    Options,
    VideoBackend,
    VideoCapabilities,
    VideoRequest,
    plan_continuation,
    validate_against_capabilities,
)
from ttv.core import keys as keyring
from ttv.core import prices
from ttv.core.errors import AuthError, BackendError, InputRejected, LocalIOError, QuotaError, UncertainSubmit
from ttv.core.fsutil import local_io_error
from ttv.core.keys import KeyProvider

if TYPE_CHECKING:
    import httpx

JobStatus = Literal["queued", "throttled", "running", "succeeded", "failed", "cancelled"]
ACTIVE: frozenset[str] = frozenset({"queued", "throttled", "running"})
T = TypeVar("T")
E = TypeVar("E", bound=Exception)

MAX_POLL_ERRORS = 6  # consecutive transient poll failures tolerated inside one generate() call
DATA_URI_LIMIT = 5 * 1024 * 1024  # Runway's limit for data: URIs; a safe default elsewhere
IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


# --------------------------------------------------------------------------------------------------
# Model specs and options


@dataclass(frozen=True)
class ModelSpec:
    """What one provider model accepts. `ratios` are the provider's own strings, `sizes` the pixel
    sizes they stand for (same order), used to match the project's aspect ratio."""

    id: str
    modes: tuple[Literal["t2v", "i2v", "flf2v"], ...]
    durations: tuple[float, ...] | None  # None: continuous in [min_duration, max_duration]
    ratios: tuple[str, ...]
    sizes: tuple[tuple[int, int], ...]
    fps: int = 24
    min_duration: float = 1.0
    max_duration: float = 10.0
    max_prompt_chars: int | None = None
    supports_seed: bool = True
    supports_negative_prompt: bool = False
    supports_audio: bool = False
    repeats_first_frame: bool = True
    default_concurrency: int = 2
    t2v_ratios: tuple[str, ...] | None = None  # when text-to-video allows fewer ratios
    notes: str = ""
    # Video extension (chaining with continue_frames > 1): seconds of new footage per extension (0: the
    # segment's duration), the longest input the provider takes, and whether its result repeats the input
    # (None: not documented; decided from the result's length).
    extend_seconds: float | None = None
    extend_max_input_s: float | None = None
    extend_includes_input: bool | None = True

    @property
    def last_frame(self) -> bool:
        return "flf2v" in self.modes


class RemoteOptions(Options):
    """Options every remote video backend has (`[backends.NAME]` in ttv.toml)."""

    model: str = ""
    concurrency: int | None = Field(None, ge=1, le=64,
                                    description="concurrent jobs (default: the provider's usual limit)")
    base_url: str | None = Field(None, description="API base URL (a proxy or a test fake)")
    poll_interval_s: float = Field(5.0, gt=0, le=600)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        from urllib.parse import urlsplit

        if v is not None:
            parts = urlsplit(v)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{v!r} is not an http(s) URL, e.g. \"https://api.example.com\"")
        return v

    poll_timeout_s: float = Field(1200.0, gt=0, description="give up waiting for one job after this long")
    # Long: a submit that times out may still have been accepted (and be billed) but has no id on record,
    # so a slow provider must not be mistaken for a lost one.
    request_timeout_s: float = Field(180.0, gt=0, description="HTTP timeout of one API call (submits included)")
    download_attempts: int = Field(3, ge=1, le=10, description="fetches of a result before giving up")
    ratio_tolerance: float = Field(0.05, ge=0, le=0.5, description="how far the project aspect may be from the model's")
    end_frame: Literal["auto", "require", "ignore"] = Field(
        "auto", description='keyframe mode: "auto" sends the end keyframe and refuses a model that takes none; '
                            '"ignore" sends only the first (said in estimate, status, summary)')


@dataclass
class Extension:
    """This clip extends the previous clip's video: the provider gets that video (or its own copy, `uri`)
    and returns new footage, usually after the input itself."""

    source: Path
    input_frames: int
    input_fps: float
    new_seconds: float
    includes_input: bool | None = True
    uri: str | None = None

    @property
    def input_seconds(self) -> float:
        return self.input_frames / self.input_fps if self.input_fps else 0.0


EXTENSION_KEY = "extension"  # request.extra key under which generate() hands submit() the Extension


@dataclass
class JobState:
    """One normalized look at a remote job (what `poll_once` returns)."""

    job_id: str
    status: JobStatus
    progress: float | None = None
    urls: list[str] = field(default_factory=list)
    credits: float | None = None  # final cost in provider credits, when reported
    cost_usd: float | None = None  # final cost in USD, when reported
    error: BackendError | None = None  # classified, for failed/cancelled
    provider_status: str = ""
    queue_position: int | None = None
    payload: Any = None  # provider object fetch_output needs (e.g. a genai Video)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status not in ACTIVE


# --------------------------------------------------------------------------------------------------
# Errors


def resume_job_id_of(exc: BaseException) -> str | None:
    """The job the next attempt should poll instead of submitting (None: submit a new one)."""
    value = getattr(exc, "resume_job_id", None)
    return value if isinstance(value, str) and value else None


def attach_job(exc: E, job_id: str, *, resumable: bool) -> E:
    exc.job_id = job_id  # type: ignore[attr-defined]
    exc.resume_job_id = job_id if resumable else None  # type: ignore[attr-defined]
    return exc


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (delta seconds or an HTTP date)."""
    if not headers:
        return None
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    if "retry-after-ms" in lower:
        try:
            return max(0.0, float(lower["retry-after-ms"]) / 1000.0)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def classify_http(provider: str, status: int, message: str, headers: Mapping[str, str] | None = None,
                  *, what: str = "request") -> BackendError:
    """One HTTP error -> a classified BackendError (message redacted, short)."""
    msg = keyring.redact(message or "").strip().replace("\n", " ")
    if len(msg) > 300:
        msg = msg[:297] + "..."
    text = f"{provider}: {what} failed with HTTP {status}" + (f": {msg}" if msg else "")
    retry_after = parse_retry_after(headers)
    err = _classify_status(provider, status, text, retry_after)
    # The provider answered, so it decided: only a gateway timeout may hide an accepted submit.
    err.what, err.maybe_sent = what, status == 504  # type: ignore[attr-defined]
    return err


def _classify_status(provider: str, status: int, text: str, retry_after: float | None) -> BackendError:
    if status in (401, 403):
        return AuthError(text, hint=f"check the {provider} API key (`ttv keys list`, `ttv doctor`)", code=str(status))
    if status == 402:
        return QuotaError(text, hint=f"add credits to your {provider} account", code="402")
    if status == 429:
        return BackendError(text, hint="rate or daily limit reached; ttv retries with backoff",
                            kind="retryable", code="429", retry_after=retry_after)
    if status in (408, 409, 425) or status >= 500:
        return BackendError(text, kind="retryable", code=str(status), retry_after=retry_after)
    if status == 404:
        return BackendError(text, kind="backend", code="404")
    return BackendError(text, hint="the provider rejected the request; see the message", kind="backend",
                        code=str(status))


def network_error(provider: str, exc: BaseException, *, what: str = "request") -> BackendError:
    kind_name = type(exc).__name__
    code = "timeout" if "timeout" in kind_name.lower() else "network"
    err = BackendError(f"{provider}: {what} failed: {kind_name}: {keyring.redact(exc)}"[:400], kind="retryable",
                       code=code)
    err.what, err.maybe_sent = what, not never_sent(exc)  # type: ignore[attr-defined]
    return err


def never_sent(exc: BaseException) -> bool:
    """True when a transport error certainly happened before the request left: the connection was never
    made (refused, DNS, connect timeout). A read timeout or a reset after connecting may hide a request
    the provider accepted. Looks through the SDK's wrapping (`__cause__`/`__context__`)."""
    import httpx

    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol,
                            httpx.LocalProtocolError, ConnectionRefusedError)):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def submit_ambiguous(exc: BaseException) -> bool:
    """A failed submit after which the provider may still have created (and will bill) a job: a timeout or
    reset after the request was sent, or a gateway timeout. Retrying it blindly may pay twice."""
    return getattr(exc, "what", "") == "submit" and bool(getattr(exc, "maybe_sent", False))


class DownloadError(Exception):
    """A result could not be fetched or is not a valid video; re-fetch the job and try again."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


# --------------------------------------------------------------------------------------------------
# Inputs: images, ratios


@dataclass(frozen=True)
class ImageInfo:
    path: Path
    width: int
    height: int
    format: str
    mime: str
    size: int


def inspect_image(path: Path, *, provider: str, role: str = "start image") -> ImageInfo:
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        size = path.stat().st_size
        with Image.open(path) as im:
            fmt = im.format or ""
            width, height = im.size
            im.verify()
    except FileNotFoundError:
        raise InputRejected(f"{provider}: the {role} {path} does not exist", hint="run `ttv keyframes` first") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputRejected(f"{provider}: the {role} {path} is not a readable image ({type(exc).__name__})",
                            hint="regenerate it with `ttv keyframes --force` or replace the file") from None
    if fmt not in IMAGE_FORMATS:
        raise InputRejected(f"{provider}: the {role} {path} is {fmt or 'an unknown format'}; allowed: PNG, JPEG, WEBP")
    return ImageInfo(path, width, height, fmt, IMAGE_FORMATS[fmt], size)


def data_uri(path: Path, mime: str | None = None) -> str:
    raw = Path(path).read_bytes()
    if mime is None:
        mime = inspect_image(Path(path), provider="ttv").mime
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def data_uri_size(info: ImageInfo) -> int:
    return len(f"data:{info.mime};base64,") + 4 * math.ceil(info.size / 3)


def aspect_distance(w1: int, h1: int, w2: int, h2: int) -> float:
    """Relative aspect difference, symmetric: 0.05 means 5 %."""
    return abs(math.log((w1 / h1) / (w2 / h2)))


def choose_ratio(provider: str, spec: ModelSpec, width: int, height: int, tolerance: float,
                 *, text_only: bool = False) -> tuple[str, tuple[int, int]]:
    """The model ratio whose aspect is closest to width:height, or InputRejected naming the allowed ones."""
    pairs = list(zip(spec.ratios, spec.sizes, strict=True))
    if text_only and spec.t2v_ratios is not None:
        pairs = [p for p in pairs if p[0] in spec.t2v_ratios]
    if not pairs:
        raise InputRejected(f"{provider} {spec.id}: no ratio is known for this model")
    # Closest aspect first; among equal aspects (1280:720 vs 1920:1080) the size nearest the project's.
    best = min(pairs, key=lambda p: (round(aspect_distance(width, height, *p[1]), 4),
                                     abs(math.log((width * height) / (p[1][0] * p[1][1])))))
    if aspect_distance(width, height, *best[1]) > math.log1p(tolerance) + 1e-9:
        allowed = ", ".join(f"{r} ({w}x{h})" if r != f"{w}:{h}" else r for r, (w, h) in pairs)
        raise InputRejected(
            f"{provider} {spec.id}: size {width}x{height} (aspect {width / height:.3f}) matches no allowed ratio; "
            f"allowed: {allowed}",
            hint="set `width`/`height` in ttv.toml to one of these aspect ratios (stitch scales the clips)",
            code="ratio")
    return best


# --------------------------------------------------------------------------------------------------
# Output check


def check_video(path: Path, expected_duration: float | None, *, tolerance: float | None = None) -> dict[str, Any]:
    """Decode every frame with PyAV; DownloadError when the file is truncated, corrupt or too short/long.

    Returns small facts for the record: frames, fps, width, height, duration, codec."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DownloadError("the result has no video stream")
            stream = container.streams.video[0]
            declared = int(stream.frames or 0)
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            fps = float(rate) if rate else 0.0
            width, height = stream.codec_context.width, stream.codec_context.height
            codec = stream.codec_context.name
            frames = 0
            for _ in container.decode(stream):
                frames += 1
    except DownloadError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, IndexError, ZeroDivisionError) as exc:
        raise DownloadError(f"the result does not decode ({type(exc).__name__}: {str(exc)[:120]})") from None
    if frames == 0:
        raise DownloadError("the result has no decodable frames")
    if declared and frames < declared - 1:
        raise DownloadError(f"the result is truncated: {frames} of {declared} frames decode")
    duration = frames / fps if fps else 0.0
    if expected_duration and fps:
        tol = tolerance if tolerance is not None else max(1.0, 0.2 * expected_duration)
        if abs(duration - expected_duration) > tol:
            raise DownloadError(f"the result lasts {duration:.2f} s; {expected_duration:g} s were requested")
    return {"frames": frames, "fps": round(fps, 3), "width": width, "height": height,
            "duration": round(duration, 3), "codec": codec}


def stream_download(client: httpx.Client, url: str, dest: Path, *, chunk: int = 1 << 16) -> int:
    """Stream `url` into `dest` (no auth headers: result URLs are pre-signed). Returns bytes written."""
    import httpx

    dest.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with client.stream("GET", url) as resp:
            if resp.status_code in (401, 403, 404, 410):
                raise DownloadError(f"result URL answered HTTP {resp.status_code} (expired?)", expired=True)
            if resp.status_code >= 400:
                raise DownloadError(f"result URL answered HTTP {resp.status_code}")
            expected = resp.headers.get("content-length")
            try:
                # O_NOFOLLOW: a symlink planted at the partial name is refused, never written through.
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
                with os.fdopen(fd, "wb") as f:
                    for part in resp.iter_bytes(chunk):
                        f.write(part)
                        written += len(part)
                    f.flush()
            except OSError as exc:
                needed = int(expected) if expected is not None and expected.isdigit() else None
                raise local_io_error(exc, dest, needed=needed) from None
    except httpx.HTTPError as exc:
        raise DownloadError(f"download interrupted: {type(exc).__name__}") from None
    if expected is not None and expected.isdigit() and int(expected) != written:
        raise DownloadError(f"download truncated: {written} of {expected} bytes")
    if written == 0:
        raise DownloadError("download was empty")
    return written


# --------------------------------------------------------------------------------------------------
# API keys, SDK check and lazily built clients (video backends, keyframe providers, planners)


class KeyedBackend(Backend):
    """Base of every remote backend (video, keyframes, planner; put it first among the bases): the
    API key of `key_provider` (explicit `api_key=`, environment or keys file), the hint naming where
    to set it, the SDK/key availability checks, and API clients built once under `self._lock` and
    shared by all threads (`lazy`), closed by `drop`."""

    key_provider: ClassVar[KeyProvider | str]  # the KeyProvider this backend declares (or another's name)
    sdk_module: ClassVar[str | None] = None  # importable module of the SDK (its top-level package is checked)
    sdk_pip: ClassVar[str] = "ttv[remote]"

    def __init__(self, options: Options | None = None, *, api_key: str | None = None) -> None:
        super().__init__(options)
        self._explicit_key = api_key
        self._lock = threading.Lock()
        self._client: Any = None

    def key_hint(self) -> str:
        env = " or ".join(keyring.env_vars(self.key_provider))
        return f"set {env}, or run `ttv keys set {keyring.canonical(self.key_provider)}`"

    def api_key(self) -> str:
        key = keyring.get_key(self.key_provider, self._explicit_key)
        if not key:
            raise AuthError(f"{self.name}: no API key", hint=self.key_hint(), code="no-key")
        return key

    def sdk_missing(self) -> str | None:
        """Why the SDK cannot be imported (with the pip command), or None."""
        if self.sdk_module and importlib.util.find_spec(self.sdk_module.split(".")[0]) is None:
            return f"the {self.sdk_module} package is missing: pip install '{self.sdk_pip}'"
        return None

    def key_missing(self) -> str | None:
        """Why there is no API key (with where to set one), or None."""
        if not keyring.get_key(self.key_provider, self._explicit_key):
            return f"no API key: {self.key_hint()}"
        return None

    def is_available(self) -> Availability:
        reason = self.sdk_missing() or self.key_missing()
        return Availability(ok=False, reason=reason) if reason else Availability(ok=True)

    def lazy(self, attr: str, build: Callable[[], T]) -> T:
        """`self.<attr>`, made by `build()` on first use (under the lock) and shared by all threads."""
        with self._lock:
            value: T | None = getattr(self, attr)
            if value is None:
                value = build()
                setattr(self, attr, value)
            return value

    def drop(self, *attrs: str) -> None:
        """Close and forget the clients held in `attrs` (the next use builds them again)."""
        with self._lock:
            clients = [getattr(self, attr) for attr in attrs]
            for attr in attrs:
                setattr(self, attr, None)
        for client in clients:
            close = getattr(client, "close", None)
            if callable(close):
                close()

    def close(self) -> None:
        self.drop("_client")


# --------------------------------------------------------------------------------------------------
# The base class


class RemoteVideoBackend(KeyedBackend, VideoBackend):
    """Base of the remote video backends. Subclasses set the class variables and implement
    `submit`, `poll_once`, `cancel` (and `fetch_output` when results are not plain URLs); `client()`
    builds the provider's API client with `self.lazy("_client", ...)`."""

    extra: ClassVar[str | None] = "remote"
    price_provider: ClassVar[str]  # provider column of the price table
    MODELS: ClassVar[dict[str, ModelSpec]] = {}
    OptionsModel: ClassVar[type[Options]] = RemoteOptions
    options: RemoteOptions

    def __init__(self, options: Options | None = None, *, api_key: str | None = None) -> None:
        super().__init__(options, api_key=api_key)
        self._http: httpx.Client | None = None

    # -- configuration ----------------------------------------------------------------------------

    @property
    def opts(self) -> RemoteOptions:
        assert isinstance(self.options, RemoteOptions)
        return self.options

    def model_name(self) -> str:
        return self.opts.model

    def spec(self) -> ModelSpec:
        spec = self.MODELS.get(self.opts.model)
        if spec is None:
            raise InputRejected(f"{self.name}: unknown model {self.opts.model!r}; known: {', '.join(self.MODELS)}",
                                hint=f"set `model` in [backends.{self.name}] of ttv.toml", code="model")
        return spec

    def is_available(self) -> Availability:
        missing = self.sdk_missing()
        if missing:
            return Availability(ok=False, reason=missing)
        if self.opts.model not in self.MODELS and not self.allows_unknown_models():
            return Availability(ok=False, reason=f"unknown model {self.opts.model!r}; known: {', '.join(self.MODELS)}")
        missing = self.key_missing() if self.needs_key() else None
        return Availability(ok=False, reason=missing) if missing else Availability(ok=True)

    def needs_key(self) -> bool:
        return True

    def allows_unknown_models(self) -> bool:
        return False

    def capabilities(self) -> VideoCapabilities:
        try:
            spec = self.spec()
        except InputRejected:
            spec = next(iter(self.MODELS.values()))
        return VideoCapabilities(
            modes=list(spec.modes), remote=True,
            durations=list(spec.durations) if spec.durations is not None else None,
            min_duration=spec.min_duration, max_duration=spec.max_duration,
            fps=None,  # the provider decides; stitch converts
            sizes=list(spec.sizes), size_multiple=2, max_prompt_chars=spec.max_prompt_chars,
            supports_seed=spec.supports_seed, supports_negative_prompt=spec.supports_negative_prompt,
            supports_audio=spec.supports_audio, repeats_first_frame=spec.repeats_first_frame,
            key_env=list(keyring.env_vars(self.key_provider)) if self.needs_key() else [],
            default_concurrency=spec.default_concurrency,
            continuation=Continuation(
                extend=True, max_input_seconds=spec.extend_max_input_s,
                note=(f"extends the previous clip by {spec.extend_seconds:g} s" if spec.extend_seconds
                      else "extends the previous clip by the segment's duration")
                + ("; the result repeats the input, trimmed at the stitch" if spec.extend_includes_input else ""))
            if spec.extend_seconds is not None else None)

    # -- video extension (continue_frames > 1 on a model with `extend_seconds`) ----------------------

    def wants_extension(self, request: VideoRequest) -> bool:
        return request.previous is not None and plan_continuation(
            self.name, self.capabilities(), request.previous.frames).how == "extend"

    def extension_seconds(self, request: VideoRequest) -> float:
        """Seconds of new footage (what is billed) when this request extends the previous clip."""
        spec = self.spec()
        return float(spec.extend_seconds) if spec.extend_seconds else request.duration

    def extension_for(self, request: VideoRequest, *, check_validity: bool = True) -> tuple[Extension | None, str]:
        """The Extension this request can use now, or (None, why not) to chain from the last frame.
        Subclasses add their own conditions (a provider URI still valid, the input's length)."""
        from ttv.core.media import probe

        prev = request.previous
        assert prev is not None
        try:
            info = probe(prev.path)
        except Exception as exc:  # noqa: BLE001 - any unreadable input means: no extension
            return None, f"{self.name}: cannot read {prev.path.name} to extend it ({exc}); chaining from its last frame"
        if prev.seam_offset:
            return None, (f"{self.name}: extension continues from the very end, but seam_offset = "
                          f"{prev.seam_offset}; chaining from the handed-over frame instead")
        ext = Extension(prev.path, info.frames, info.fps, self.extension_seconds(request),
                        self.spec().extend_includes_input)
        limit = self.max_extension_input_s()
        if limit is not None and ext.input_seconds > limit + 1e-6:
            return None, (f"{self.name}: {prev.path.name} lasts {ext.input_seconds:.1f} s, more than the "
                          f"{limit:g} s it extends; chaining from its last frame")
        return ext, ""

    def max_extension_input_s(self) -> float | None:
        return self.spec().extend_max_input_s

    def extending(self, request: VideoRequest) -> Extension | None:
        ext = request.extra.get(EXTENSION_KEY)
        return ext if isinstance(ext, Extension) else None

    def offered_models(self) -> list[str]:
        return list(self.MODELS)

    def model_table(self) -> dict[str, dict[str, Any]]:
        """Every known model as data (for `ttv backends info`)."""
        return {mid: {"modes": list(s.modes), "durations": list(s.durations) if s.durations else
                      [s.min_duration, s.max_duration], "ratios": list(s.ratios), "fps": s.fps,
                      "max_prompt_chars": s.max_prompt_chars, "last_frame": s.last_frame,
                      "audio": s.supports_audio, "repeats_first_frame": s.repeats_first_frame,
                      "default_concurrency": s.default_concurrency, "notes": s.notes}
                for mid, s in self.MODELS.items()}

    # -- validation and cost ----------------------------------------------------------------------

    def validate_inputs(self, request: VideoRequest) -> None:

        spec = self.spec()
        caps = self.capabilities().model_copy(update={"sizes": None})
        if request.first_image is None and "t2v" not in spec.modes:
            raise InputRejected(f"{self.name} {spec.id}: segment {request.segment_id} needs a start image "
                                f"(this model is image-to-video only)", hint="run `ttv keyframes` first",
                                code="needs-image")
        caps = caps.model_copy(update={"modes": list(spec.modes) + (["t2v"] if request.first_image else [])})
        validate_against_capabilities(f"{self.name} {spec.id}", caps, request)
        self.resolve_ratio(request)
        if request.first_image is not None:
            self.check_image(inspect_image(request.first_image, provider=self.name), "start image")
        if request.last_image is not None and self.opts.end_frame != "ignore":
            if spec.last_frame:
                self.check_image(inspect_image(request.last_image, provider=self.name, role="end image"), "end image")
            else:  # never dropped silently: "ignore" is the opt-in
                takes = [m for m, s in self.MODELS.items() if s.last_frame]
                raise InputRejected(f"{self.name} {spec.id}: this model takes no end frame; models that do: "
                                    f"{', '.join(takes) or 'none'}",
                                    hint=f"change `model` in [backends.{self.name}], or set end_frame = \"ignore\" "
                                         "to send only the first keyframe",
                                    code="end-frame")
        if request.negative_prompt and not spec.supports_negative_prompt:
            pass  # dropped silently: a negative prompt is a hint, not a requirement

    def check_image(self, info: ImageInfo, role: str) -> None:
        """Provider-specific image limits; the default accepts what inspect_image accepted."""

    def resolve_ratio(self, request: VideoRequest) -> tuple[str, tuple[int, int]]:
        return choose_ratio(self.name, self.spec(), request.width, request.height, self.opts.ratio_tolerance,
                            text_only=request.first_image is None)

    def use_end_frame(self, request: VideoRequest) -> bool:
        return request.last_image is not None and self.opts.end_frame != "ignore" and self.spec().last_frame

    def price_variant(self, request: VideoRequest) -> str | None:
        return None

    def price_row(self, request: VideoRequest) -> prices.PriceRow:
        row = prices.price_for(self.price_provider, self.opts.model, variant=self.price_variant(request))
        if row is None:
            raise InputRejected(
                f"{self.name}: no price is known for {self.price_provider}/{self.opts.model}",
                hint=f'add `"{self.price_provider}/{self.opts.model}" = USD_PER_SECOND` under [prices] in ttv.toml',
                code="no-price")
        return row

    def billed_seconds(self, request: VideoRequest) -> float:
        """Seconds of output the provider bills: the new footage of an extension, else the clip."""
        if self.extending(request) is not None or (request.previous is not None and
                                                   EXTENSION_KEY not in request.extra and
                                                   self.wants_extension(request)):
            return self.extension_seconds(request)
        return request.duration

    def estimate_cost(self, request: VideoRequest) -> CostEstimate:
        row = self.price_row(request)
        seconds = self.billed_seconds(request)
        source = prices.describe(row) + (f"; extension: {seconds:g} s of new footage"
                                         if seconds != request.duration or self.wants_extension(request) else "")
        return CostEstimate(usd=prices.usd_for(row, seconds=seconds), credits=prices.credits_for(row, seconds=seconds),
                            seconds=self.estimated_seconds(request), source=source)

    def estimated_seconds(self, request: VideoRequest) -> float:
        return 60.0 + 6.0 * request.duration

    def _estimated_usd(self, request: VideoRequest) -> float:
        """What an uncertain job may cost (counted as spent until resolved); 0 when no price is known."""
        try:
            return float(self.estimate_cost(request).usd or 0.0)
        except Exception:  # noqa: BLE001 - only an estimate for the budget; never hides the real error
            return 0.0

    def actual_cost(self, request: VideoRequest, state: JobState) -> tuple[float, float | None]:
        """(usd, credits) of a finished job: the provider's figure where it reports one."""
        if state.cost_usd is not None:
            return state.cost_usd, state.credits
        row = self.price_row(request)
        seconds = self.billed_seconds(request)
        return prices.usd_for(row, seconds=seconds), prices.credits_for(row, seconds=seconds)

    # -- provider calls (subclasses) ----------------------------------------------------------------

    @abstractmethod
    def submit(self, request: VideoRequest) -> str:
        """Create the job; return its id. Raise classified BackendErrors."""

    @abstractmethod
    def poll_once(self, job_id: str) -> JobState:
        """One status request. Raise classified BackendErrors for transport/HTTP failures."""

    @abstractmethod
    def cancel(self, job_id: str) -> None:
        """Ask the provider to stop the job."""

    def fetch_output(self, state: JobState, dest: Path) -> None:
        if not state.urls:
            raise DownloadError("the finished job lists no output URL")
        stream_download(self.http(), state.urls[0], dest)

    # -- helpers ------------------------------------------------------------------------------------

    def http(self) -> httpx.Client:
        """A plain client for result downloads (no credentials)."""
        import httpx

        return self.lazy("_http", lambda: httpx.Client(
            timeout=httpx.Timeout(self.opts.request_timeout_s * 5, connect=min(10.0, self.opts.request_timeout_s)),
            follow_redirects=True))

    def close(self) -> None:
        self.drop("_http", "_client")

    def translate(self, exc: Exception, what: str) -> BackendError:
        """Map an SDK exception to a classified BackendError (subclasses extend)."""
        import httpx

        if isinstance(exc, BackendError):
            return exc
        if isinstance(exc, httpx.HTTPStatusError):
            return classify_http(self.name, exc.response.status_code, exc.response.text, exc.response.headers,
                                 what=what)
        if isinstance(exc, (httpx.TransportError, TimeoutError, ConnectionError)):
            return network_error(self.name, exc, what=what)
        return BackendError(f"{self.name}: {what} failed: {type(exc).__name__}: {keyring.redact(exc)}"[:400],
                            kind="backend", code=type(exc).__name__)

    @contextlib.contextmanager
    def calling(self, what: str) -> Iterator[None]:
        try:
            yield
        except BackendError:
            raise
        except Exception as exc:
            raise self.translate(exc, what) from None

    def call(self, what: str, fn: Callable[[], T]) -> T:
        with self.calling(what):
            return fn()

    def warm_up(self) -> None:
        """Pay the one-time costs before workers start (optional; otherwise the first jobs pay them,
        about 0.3-1 s in all): import the SDK and PyAV, open the h264 decoder once, build the API
        and download clients. Raises like generate() would (e.g. AuthError without a key)."""
        import av

        with contextlib.suppress(Exception):
            av.codec.Codec("h264", "r")
        self.http()
        self.client()

    def client(self) -> Any:
        """The provider's API client (SDK or httpx), built lazily (`self.lazy("_client", ...)`) and
        shared by all threads."""
        return None

    # -- the loop -----------------------------------------------------------------------------------

    def remote_status(self, job_id: str) -> JobState:
        """Alias of poll_once for `ttv wait` / `ttv status` (never raises for a failed job: see .error)."""
        return self.poll_once(job_id)

    def _decide_extension(self, request: VideoRequest, ctx: JobContext) -> tuple[Extension | None, str]:
        """Extend or chain from the last frame? A resumed job keeps the route it was submitted on."""
        if request.previous is None or EXTENSION_KEY in request.extra:
            return self.extending(request), ""
        ext: Extension | None = None
        note = ""
        if self.wants_extension(request):
            resumed_as = getattr(ctx, "job_info", {}).get("continued") if ctx.job_id else None
            ext, note = self.extension_for(request)
            if resumed_as == "frame" or (ext is None and resumed_as != "extend"):
                ext = None
            elif ext is None and resumed_as == "extend":  # submitted while it was valid: trust that
                ext, note = self.extension_for(request, check_validity=False)
        request.extra[EXTENSION_KEY] = ext
        return ext, note

    def generate(self, request: VideoRequest, output: Path, ctx: JobContext) -> GenerateResult:
        opts = self.opts
        t0 = ctx.now()
        job_id = ctx.job_id
        resumed = job_id is not None
        ext, note = self._decide_extension(request, ctx)
        if job_id is None:
            if self.needs_key():
                self.api_key()  # fail fast, before any upload
            begin = getattr(ctx, "begin_submit", None)
            if callable(begin):
                begin()  # the record says "a paid submit is in flight" until remember_job: a crash leaves it
            try:
                try:
                    job_id = self.submit(request)
                except BackendError as exc:
                    if ext is None or exc.code not in ("400", "404", "rpc-3", "rpc-5"):
                        raise
                    # The provider no longer takes that video (its copy expired, or it refuses this input):
                    # chain from the last frame instead, and say so in the record.
                    note = f"{self.name}: extending the previous clip was refused ({exc.message}); chained from its last frame"
                    ext = None
                    request.extra[EXTENSION_KEY] = None
                    job_id = self.submit(request)
            except BackendError as exc:
                if submit_ambiguous(exc):
                    # None of Runway, Veo, fal or MiniMax offers an idempotency key or a search by a
                    # client tag: a retry could create a second paid job, so the item stops as uncertain.
                    raise UncertainSubmit(self.name, exc.message, request.segment_id,
                                          self._estimated_usd(request)) from None
                raise
            remembered: dict[str, Any] = {"provider": self.name, "model": self.opts.model}
            if request.previous is not None:
                remembered["continued"] = "extend" if ext is not None else "frame"
            ctx.remember_job(job_id, **remembered)
        deadline = t0 + opts.poll_timeout_s
        polls = 0
        poll_errors = 0
        fetches = 0
        last_status: str | None = None
        while True:
            try:
                polls += 1
                with self.calling("poll"):  # anything unexpected becomes a classified error with the job id
                    state = self.poll_once(job_id)
            except BackendError as exc:
                attach_job(exc, job_id, resumable=True)
                if exc.kind != "retryable" or poll_errors >= MAX_POLL_ERRORS:
                    if exc.code == "404":
                        # The provider does not know this job (deleted, other account): submit anew.
                        exc.kind = "retryable"
                        attach_job(exc, job_id, resumable=False)
                    raise
                poll_errors += 1
                backoff = min(60.0, opts.poll_interval_s * 2 ** (poll_errors - 1))
                delay = exc.retry_after if exc.retry_after is not None else backoff
                if ctx.now() + delay > deadline:
                    raise
                ctx.progress(None, status="throttled" if exc.code == "429" else (last_status or "queued"),
                             message=f"poll failed ({exc.code}); retrying in {delay:g} s")
                ctx.sleep(delay)
                continue
            poll_errors = 0
            if state.status in ACTIVE:
                last_status = state.status
                message = f"queue position {state.queue_position}" if state.queue_position is not None else None
                ctx.progress(state.progress, status=state.status, message=message)
                if ctx.now() + opts.poll_interval_s > deadline:
                    err = BackendError(f"{self.name}: job {job_id} still {state.status} after "
                                       f"{opts.poll_timeout_s:g} s",
                                       hint="it keeps running on the provider; `ttv wait` or a re-run polls it again",
                                       kind="retryable", code="poll-timeout")
                    raise attach_job(err, job_id, resumable=True)
                ctx.sleep(opts.poll_interval_s)
                continue
            if state.status == "succeeded":
                fetches += 1
                ctx.progress(1.0, status="downloading")
                try:
                    output.unlink(missing_ok=True)
                    self.fetch_output(state, output)
                    if not output.exists():
                        raise LocalIOError(f"{output} vanished right after the download (removed by another "
                                           "program?)")
                    expected = request.duration
                    if ext is not None:  # input + new footage, or new footage only when not documented
                        expected = ext.new_seconds + (ext.input_seconds if ext.includes_input else 0.0)
                    media = check_video(output, expected if ext is None or ext.includes_input is not None
                                        else None)
                except (LocalIOError, OSError) as exc:
                    # The provider's job is fine; the fault is local (disk full, permission, EIO): keep the
                    # job so the next run fetches it again instead of paying for a new one.
                    local = exc if isinstance(exc, LocalIOError) else local_io_error(exc, output)
                    local.message = f"{self.name}: job {job_id} finished, but {local.message}"
                    local.hint = ("fix that, then run the same command again: it downloads the same job "
                                  "(nothing is paid twice)")
                    raise attach_job(local, job_id, resumable=True) from None
                except DownloadError as exc:
                    with contextlib.suppress(OSError):
                        output.unlink(missing_ok=True)
                    if fetches >= opts.download_attempts:
                        err = BackendError(f"{self.name}: job {job_id} finished but its result could not be fetched "
                                           f"after {fetches} tries: {exc}", kind="retryable", code="download",
                                           hint="a re-run fetches the same job again (nothing is paid twice); if "
                                                f"{self.name} no longer keeps the result, `--force --only "
                                                f"{request.segment_id}` submits a new job (paid again)")
                        raise attach_job(err, job_id, resumable=True) from None
                    ctx.progress(1.0, status="downloading", message=f"{exc}; fetching the job again")
                    ctx.sleep(min(30.0, opts.poll_interval_s) if not exc.expired else 0.0)
                    continue
                usd, credits = self.actual_cost(request, state)
                info: dict[str, Any] = {"job_id": job_id, "provider": self.name, "resumed": resumed,
                                        "polls": polls, "fetches": fetches, "media": media}
                if request.last_image is not None:
                    info["end_frame"] = "sent" if self.use_end_frame(request) else "ignored"
                if ext is not None:
                    info.update(extension_info(ext, media))
                elif request.previous is not None:
                    info.update(continued="frame", **({"continue_note": note} if note else {}))
                info.update({k: v for k, v in state.info.items() if v is not None})  # TOML has no null
                return GenerateResult(cost_usd=usd, credits=credits, model=self.opts.model, info=info)
            # failed or cancelled
            err = state.error or BackendError(f"{self.name}: job {job_id} {state.status}", kind="backend",
                                              code=state.provider_status or state.status)
            if state.cost_usd is not None:  # what the provider still charged for the failed job
                err.cost_usd = state.cost_usd  # type: ignore[attr-defined]
                err.credits = state.credits  # type: ignore[attr-defined]
            raise attach_job(err, job_id, resumable=False)


def extension_info(ext: Extension, media: dict[str, Any]) -> dict[str, Any]:
    """What the record says of an extension, with `head_repeat`: how many head frames of the result are
    the input again (the stitch trims exactly those). A provider that does not document whether it
    returns the input is judged by the result's length (closer to input + new, or to new only)."""
    frames, fps = int(media["frames"]), float(media["fps"] or ext.input_fps)
    input_out = round(ext.input_frames * fps / ext.input_fps) if ext.input_fps else ext.input_frames
    includes = ext.includes_input
    if includes is None:
        duration = frames / fps if fps else 0.0
        includes = abs(duration - (ext.input_seconds + ext.new_seconds)) < abs(duration - ext.new_seconds)
    # A result that repeats only the input's end (a provider keeping the last N seconds) repeats
    # frames - new frames; one that repeats all of it, exactly the input's frames.
    head = min(input_out, frames - round(ext.new_seconds * fps)) if includes and ext.includes_input is None \
        else (input_out if includes else 0)
    if head >= frames:
        raise BackendError(f"the extension holds {frames} frames, no more than its {head}-frame input",
                           kind="backend", code="extension-short")
    return {"continued": "extend", "head_repeat": head, "tail_offset": 0, "input_frames": ext.input_frames,
            "extend_seconds": ext.new_seconds, "new_frames": frames - head}


def model_specs(*specs: ModelSpec) -> dict[str, ModelSpec]:
    return {s.id: s for s in specs}
