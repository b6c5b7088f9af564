"""fal queue apps through `fal-client` (SyncClient): Wan, Kling, Hailuo and other video apps by app id.

`model` is the fal app id, e.g. "fal-ai/wan/v2.2-a14b/image-to-video". Known apps have a spec
(argument names, durations); any other app id works too with generic arguments (`prompt`,
`image_url`, `duration`) plus whatever `arguments` adds, and needs a `[prices]` row.

Job ids are "<app id>|<request id>": fal rebuilds the status/result URLs from both
(`{queue}/{owner}/{alias}/requests/{id}`), so the pair is what a resumed run needs.

`base_url` (a proxy or a test fake) replaces `https://queue.fal.run/`: fal-client reads the
queue host from a module global, so ttv sets that global only while it builds a request, under a
process-wide lock (submits to a base_url are therefore serialized; polls are not). fal-client's own retries (up to 10 on 408/409/429 and ingress 5xx) stay as the
SDK ships them; ttv classifies what comes out of them.

Setup: FAL_KEY or `ttv keys set fal`. Images go as data: URIs (no CDN upload).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from pydantic import Field

from ttv.backends.base import VideoRequest
from ttv.backends.keycheck import Live, http_get, is_network_error
from ttv.backends.remote.common import (
    EXTENSION_KEY,
    Extension,
    JobState,
    ModelSpec,
    RemoteOptions,
    RemoteVideoBackend,
    classify_http,
    data_uri,
    network_error,
)
from ttv.core import keys as keyring
from ttv.core import prices
from ttv.core.errors import BackendError, InputRejected
from ttv.core.keys import KeyProvider
from ttv.core.prices import PriceRow

FAL_KEY = KeyProvider("fal", ("FAL_KEY",), "https://fal.ai/dashboard/keys")
# fal bills per output; the price is on each model page.
_PRICE_SOURCE = "fal model pages / inference.sh listing"
PRICE_ROWS = (
    PriceRow("fal", "fal-ai/wan/v2.2-a14b/image-to-video", "second", 0.10, None, _PRICE_SOURCE,
             note="assumed equal to Wan 2.5 at 720p ($0.10/s); 480p $0.05/s; check the model page"),
    PriceRow("fal", "fal-ai/wan/v2.2-a14b/image-to-video@480p", "second", 0.05, None, _PRICE_SOURCE),
    # fal video extension apps (chaining with continue_frames), per second of footage added.
    PriceRow("fal", "fal-ai/ltx-2.3/extend-video", "second", 0.10, None, "fal model page (2026-12)",
             note="2-20 s added"),
    PriceRow("fal", "fal-ai/wan-25-preview/image-to-video", "second", 0.10, None, _PRICE_SOURCE, note="720p"),
    PriceRow("fal", "fal-ai/wan-25-preview/image-to-video@480p", "second", 0.05, None, _PRICE_SOURCE),
    PriceRow("fal", "fal-ai/wan-25-preview/image-to-video@1080p", "second", 0.15, None, _PRICE_SOURCE),
    PriceRow("fal", "fal-ai/kling-video/v2.1/standard/image-to-video", "second", 0.05, None,
             "estimate (no published price found)", note="check the model page; override in [prices]"),
    PriceRow("fal", "fal-ai/minimax/hailuo-02/standard/image-to-video", "second", 0.045, None,
             "estimate (no published price found)", note="check the model page; override in [prices]"),
)

_GLOBALS_LOCK = threading.RLock()  # re-entered: the queue URL and the retry count are swapped together


@dataclass(frozen=True)
class FalApp:
    spec: ModelSpec
    image_arg: str = "image_url"
    end_image_arg: str | None = None
    duration: str = "string"  # "string": "5"; "int": 5; "frames": num_frames at frames_per_second
    ratio_arg: str | None = None  # argument taking "16:9"/"9:16"/"1:1"
    resolution_arg: str | None = None
    resolutions: tuple[str, ...] = ()
    frame_rate: int = 16  # for duration = "frames"


_AR = ("16:9", "9:16", "1:1")
_AR_SIZES = ((1280, 720), (720, 1280), (960, 960))
# What each known app takes follows its fal model page (schema); verify against
# https://fal.ai/models/<app>/api before relying on an argument not exercised here.
APPS: dict[str, FalApp] = {
    "fal-ai/wan/v2.2-a14b/image-to-video": FalApp(
        ModelSpec("fal-ai/wan/v2.2-a14b/image-to-video", ("i2v", "flf2v"), None, _AR, _AR_SIZES, fps=16,
                  min_duration=1.0, max_duration=10.0, supports_negative_prompt=True, default_concurrency=4,
                  notes="num_frames 17-161 at frames_per_second (16); 480p/580p/720p; end_image_url"),
        end_image_arg="end_image_url", duration="frames", ratio_arg="aspect_ratio", resolution_arg="resolution",
        resolutions=("480p", "580p", "720p")),
    "fal-ai/kling-video/v2.1/standard/image-to-video": FalApp(
        ModelSpec("fal-ai/kling-video/v2.1/standard/image-to-video", ("i2v",), (5.0, 10.0), _AR, _AR_SIZES, fps=24,
                  supports_seed=False, supports_negative_prompt=True, default_concurrency=4,
                  notes='duration "5" or "10"; output follows the image aspect')),
    "fal-ai/minimax/hailuo-02/standard/image-to-video": FalApp(
        ModelSpec("fal-ai/minimax/hailuo-02/standard/image-to-video", ("i2v", "flf2v"), (6.0, 10.0), _AR, _AR_SIZES,
                  fps=24, max_prompt_chars=2000, supports_seed=False, default_concurrency=4,
                  notes='duration "6" or "10"; end_image_url'),
        end_image_arg="end_image_url"),
}


@dataclass(frozen=True)
class FalExtendApp:
    """A fal app that extends a video (chaining with continue_frames > 1 and `extend_model`)."""

    video_arg: str = "video_url"
    seconds: tuple[float, float] = (2.0, 20.0)  # footage added: the segment's duration, within this range
    duration: str = "int"  # "int": 5; "string": "5"; "string_s": "5s"; "": the app decides (fixed_s)
    fixed_s: float | None = None
    includes_input: bool | None = None  # None: not documented; judged from the result's length
    max_input_s: float | None = None
    extra: tuple[tuple[str, Any], ...] = ()


# From the fal model pages (llms.txt); not run against the real service.
EXTEND_APPS: dict[str, FalExtendApp] = {
    "fal-ai/ltx-2.3/extend-video": FalExtendApp(extra=(("mode", "end"),)),
    "fal-ai/ltx-2.3-quality/extend-video": FalExtendApp(includes_input=True, extra=(("extend_direction", "end"),)),
    "fal-ai/veo3.1/extend-video": FalExtendApp(duration="", fixed_s=7.0, includes_input=True, max_input_s=8.0),
}


def _generic(app: str) -> FalApp:
    return FalApp(ModelSpec(app, ("t2v", "i2v"), None, _AR, _AR_SIZES, min_duration=1.0, max_duration=20.0,
                            default_concurrency=2, notes="unknown app: generic arguments (prompt, image_url, duration)"))


class FalOptions(RemoteOptions):
    model: str = "fal-ai/wan/v2.2-a14b/image-to-video"
    poll_interval_s: float = Field(3.0, gt=0, le=600)
    resolution: str | None = Field(None, description="for apps with a resolution argument, e.g. 720p")
    arguments: dict[str, Any] = Field(default_factory=dict, description="extra app arguments, sent as given")
    extend_model: str | None = Field(None, description="chaining with continue_frames > 1: the fal app that extends "
                                     "the previous clip, e.g. fal-ai/ltx-2.3/extend-video")


def split_job_id(job_id: str, default_app: str) -> tuple[str, str]:
    app, sep, rid = job_id.rpartition("|")
    return (app, rid) if sep else (default_app, job_id)


def live_fal(key: str, base_url: str | None, timeout: float = 15.0, app: str = "fal-ai/wan/v2.2-a14b/image-to-video",
             *, options: Sequence[Any] = ()) -> Live:
    """`ttv doctor --online`: the account balance (`GET /v1/account/billing`), or for a key that is not
    an admin key, any authenticated read (the pricing of one app)."""
    base = (base_url or "https://api.fal.ai/v1").rstrip("/")
    headers = {"Authorization": f"Key {key}"}
    try:
        resp = http_get(f"{base}/account/billing?expand=credits", headers, timeout)
        text = resp.text[:500]
        if resp.status_code == 200:
            body = resp.json()
            balance = (body.get("credits") or {}).get("current_balance")
            data = {"balance_usd": balance, "username": body.get("username", "")}
            if balance is not None and float(balance) <= 0:
                return Live("no-credits", f"the key works but the balance is ${float(balance):.2f}", data)
            return Live("ok", f"balance ${float(balance):.2f}" if balance is not None else "key accepted", data)
        if resp.status_code == 401:
            return Live("bad-key", "the key was refused (HTTP 401)")
        if resp.status_code in (402, 403) and ("balance" in text.lower() or "top_up" in text.lower()
                                               or resp.status_code == 402):
            return Live("no-credits", "account locked: exhausted balance")
        if resp.status_code == 403:
            # Not an admin key: the billing endpoint is closed to it; any authenticated read proves the key.
            resp = http_get(f"{base}/models/pricing?endpoint_id={app}", headers, timeout)
            if resp.status_code == 200:
                return Live("ok", "key accepted (the balance needs an admin key)")
            if resp.status_code in (401, 403):
                return Live("bad-key", f"the key was refused (HTTP {resp.status_code})")
            return Live("error", f"HTTP {resp.status_code}")
        return Live("error", f"HTTP {resp.status_code}")
    except Exception as exc:
        if is_network_error(exc):
            return Live("network", f"cannot reach the fal API: {type(exc).__name__}")
        raise


@contextlib.contextmanager
def _no_sdk_retries() -> Iterator[None]:
    """fal-client retries a POST up to 10 times on a read timeout or a reset, which for a submit the
    provider may have accepted creates (and bills) another job each time. Submits are sent once; ttv decides
    (a connect error: retry; an answer lost after sending: the item stops as uncertain)."""
    import fal_client.client as fc

    with _GLOBALS_LOCK:
        saved = fc.MAX_ATTEMPTS
        fc.MAX_ATTEMPTS = 1
        try:
            yield
        finally:
            fc.MAX_ATTEMPTS = saved


class FalBackend(RemoteVideoBackend):
    name: ClassVar[str] = "fal"
    summary: ClassVar[str] = "fal.ai queue apps (Wan, Kling, Hailuo, ...) via fal-client"
    key_provider: ClassVar[KeyProvider] = FAL_KEY
    price_provider: ClassVar[str] = "fal"
    price_rows = PRICE_ROWS
    key_check = staticmethod(live_fal)
    base_url_env = ("TTV_FAL_API_URL",)
    packages = ("fal-client",)
    tested_versions = {"fal-client": ">=1,<2"}  # the SDK this backend was written and tested against
    sdk_module: ClassVar[str | None] = "fal_client"
    MODELS = {app: a.spec for app, a in APPS.items()}
    OptionsModel = FalOptions

    @property
    def fopts(self) -> FalOptions:
        assert isinstance(self.options, FalOptions)
        return self.options

    def app(self) -> FalApp:
        return APPS.get(self.opts.model) or _generic(self.opts.model)

    def _app_spec(self) -> ModelSpec:
        if not self.opts.model or self.opts.model.count("/") < 1:
            raise InputRejected(f"fal: model must be a fal app id like 'owner/app'; known: {', '.join(APPS)}",
                                code="model")
        return self.app().spec

    def allows_unknown_models(self) -> bool:
        return True

    # -- extension through a second app (`extend_model`) ---------------------------------------------

    def extend_app(self) -> FalExtendApp | None:
        app = self.fopts.extend_model
        return (EXTEND_APPS.get(app) or FalExtendApp()) if app else None

    def spec(self) -> ModelSpec:
        """The generation app's spec, with the extension facts of `extend_model` added."""
        spec = self._app_spec()
        ext = self.extend_app()
        if ext is None:
            return spec
        return replace(spec, extend_seconds=ext.fixed_s or 0.0, extend_max_input_s=ext.max_input_s,
                       extend_includes_input=ext.includes_input)

    def extension_seconds(self, request: VideoRequest) -> float:
        ext = self.extend_app()
        if ext is not None and ext.fixed_s is None:
            return min(max(request.duration, ext.seconds[0]), ext.seconds[1])
        return super().extension_seconds(request)

    def price_row(self, request: VideoRequest) -> prices.PriceRow:
        extend_model = self.fopts.extend_model
        if extend_model and (self.extending(request) is not None or (
                request.previous is not None and EXTENSION_KEY not in request.extra and self.wants_extension(request))):
            row = prices.price_for(self.price_provider, extend_model)
            if row is None:
                raise InputRejected(f"fal: no price is known for {extend_model}",
                                    hint=f'add `"fal/{extend_model}" = USD_PER_SECOND` under [prices] in ttv.toml',
                                    code="no-price")
            return row
        return super().price_row(request)

    def _extension_arguments(self, request: VideoRequest, ext: Extension) -> dict[str, Any]:
        app = self.extend_app()
        assert app is not None
        args: dict[str, Any] = {"prompt": request.prompt, app.video_arg: data_uri(ext.source, "video/mp4")}
        seconds = ext.new_seconds
        if app.duration == "int":
            args["duration"] = int(round(seconds))
        elif app.duration == "string":
            args["duration"] = f"{seconds:g}"
        elif app.duration == "string_s":
            args["duration"] = f"{seconds:g}s"
        args.update(dict(app.extra))
        return args

    def client(self) -> Any:
        def build() -> Any:
            try:
                import fal_client
            except ImportError:
                raise BackendError("fal: the fal-client package is missing", hint="pip install 'ttv[remote]'",
                                   kind="backend", code="missing-extra") from None
            return fal_client.SyncClient(key=self.api_key(), default_timeout=self.opts.request_timeout_s)

        return self.lazy("_client", build)

    @contextlib.contextmanager
    def _queue_host(self) -> Iterator[None]:
        """Point fal-client's module-global queue URL at base_url while a request is built."""
        if not self.opts.base_url:
            yield
            return
        import fal_client.client as fc

        with _GLOBALS_LOCK:
            saved = fc.QUEUE_URL_FORMAT
            fc.QUEUE_URL_FORMAT = self.opts.base_url.rstrip("/") + "/"
            try:
                yield
            finally:
                fc.QUEUE_URL_FORMAT = saved

    def translate(self, exc: Exception, what: str) -> BackendError:
        import fal_client.client as fc
        import httpx

        if isinstance(exc, fc.FalClientHTTPError):
            err = classify_http(self.name, exc.status_code, str(exc.message), exc.response_headers, what=what)
            if exc.status_code == 422:
                err.hint = "the app rejected the arguments; see the message (check `model` and `arguments`)"
            return err
        if isinstance(exc, (httpx.TransportError, fc.FalClientTimeoutError)):
            return network_error(self.name, exc, what=what)
        return super().translate(exc, what)

    def validate_inputs(self, request: VideoRequest) -> None:
        super().validate_inputs(request)
        app = self.app()
        res = self.fopts.resolution
        if res and app.resolutions and res not in app.resolutions:
            raise InputRejected(f"fal {self.opts.model}: resolution {res!r} is not allowed; allowed: "
                                f"{', '.join(app.resolutions)}")
        if app.duration == "frames":
            frames = self._num_frames(request.duration)
            if not 17 <= frames <= 161:
                raise InputRejected(f"fal {self.opts.model}: {request.duration:g} s is {frames} frames at "
                                    f"{app.frame_rate} fps; allowed: 17-161 frames "
                                    f"({16 / app.frame_rate:g}-{160 / app.frame_rate:g} s)")

    def _num_frames(self, duration: float) -> int:
        rate = self.app().frame_rate
        return 4 * max(1, round(duration * rate / 4)) + 1  # Wan wants 4k+1 frames

    def price_variant(self, request: VideoRequest) -> str | None:
        return self.fopts.resolution

    def arguments(self, request: VideoRequest) -> dict[str, Any]:
        app = self.app()
        spec = app.spec
        args: dict[str, Any] = {"prompt": request.prompt}
        if request.first_image is not None:
            args[app.image_arg] = data_uri(request.first_image)
        if self.use_end_frame(request) and app.end_image_arg:
            assert request.last_image is not None
            args[app.end_image_arg] = data_uri(request.last_image)
        if app.duration == "frames":
            args["num_frames"] = self._num_frames(request.duration)
            args["frames_per_second"] = app.frame_rate
        elif app.duration == "int":
            args["duration"] = int(round(request.duration))
        else:
            args["duration"] = f"{request.duration:g}"
        if app.ratio_arg:
            args[app.ratio_arg] = self.resolve_ratio(request)[0]
        if app.resolution_arg and self.fopts.resolution:
            args[app.resolution_arg] = self.fopts.resolution
        if spec.supports_seed:
            args["seed"] = int(request.seed)
        if spec.supports_negative_prompt and request.negative_prompt:
            args["negative_prompt"] = request.negative_prompt
        args.update(self.fopts.arguments)
        return args

    def submit(self, request: VideoRequest) -> str:
        client = self.client()
        ext = self.extending(request)
        app = self.fopts.extend_model if ext is not None and self.fopts.extend_model else self.opts.model
        # reads and encodes images (or the clip to extend): outside the global lock
        arguments = self._extension_arguments(request, ext) if ext is not None else self.arguments(request)
        with self.calling("submit"), self._queue_host(), _no_sdk_retries():
            handle = client.submit(app, arguments=arguments)
        return f"{app}|{handle.request_id}"

    def _handle(self, job_id: str) -> Any:
        app, rid = split_job_id(job_id, self.opts.model)
        client = self.client()
        with self._queue_host():
            return client.get_handle(app, rid)

    def poll_once(self, job_id: str) -> JobState:
        import fal_client

        handle = self._handle(job_id)
        with self.calling("poll"):
            status = handle.status(with_logs=False)
        if isinstance(status, fal_client.Queued):
            return JobState(job_id, "queued", provider_status="IN_QUEUE", queue_position=status.position)
        if isinstance(status, fal_client.InProgress):
            return JobState(job_id, "running", provider_status="IN_PROGRESS")
        if not isinstance(status, fal_client.Completed):
            return JobState(job_id, "running", provider_status=type(status).__name__)
        if status.error:
            return JobState(job_id, "failed", provider_status="COMPLETED",
                            error=self._classify_app_error(job_id, str(status.error), status.error_type))
        try:
            with self.calling("result"):
                result = handle.get()  # one more status call (COMPLETED), then GET response_url
        except BackendError as exc:
            if exc.code == "422":  # app-side validation: the job is over and failed
                return JobState(job_id, "failed", provider_status="COMPLETED", error=exc)
            raise
        video = (result or {}).get("video") or {}
        url = video.get("url") if isinstance(video, dict) else None
        state = JobState(job_id, "succeeded", provider_status="COMPLETED", urls=[str(url)] if url else [])
        if isinstance(status.metrics, dict) and "inference_time" in status.metrics:
            state.info["inference_time"] = status.metrics["inference_time"]
        if isinstance(result, dict) and "seed" in result:
            state.info["seed"] = result["seed"]
        return state

    def _classify_app_error(self, job_id: str, message: str, error_type: str | None) -> BackendError:
        text = f"fal: request {job_id} failed ({error_type or 'error'}): {keyring.redact(message)}"[:400]
        et = (error_type or "").lower()
        if "cancel" in et:
            return BackendError(text, kind="request", code="CANCELLED")
        if "content_policy" in et or "safety" in et or "nsfw" in et:
            return InputRejected(text, hint="edit the prompt or keyframe", code=error_type or "safety",
                                 permanent_for_request=True)
        if "timeout" in et or "server" in et or "internal" in et or not et:
            return BackendError(text, kind="retryable", code=error_type or "error")
        return BackendError(text, kind="backend", code=error_type)

    def cancel(self, job_id: str) -> None:
        handle = self._handle(job_id)
        with self.calling("cancel"):
            handle.cancel()
