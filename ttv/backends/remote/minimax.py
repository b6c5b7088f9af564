"""MiniMax video over plain HTTP (httpx; no SDK): Hailuo models on API v1, the MiniMax-H3 family on
API v2. The API is chosen by `model`: models whose id starts with "MiniMax-H3" use v2, every other
model v1, so existing configs keep working unchanged.

API v1 (MiniMax-Hailuo-02, -2.3, -2.3-Fast, I2V-01, T2V-01):

    POST /v1/video_generation              {model, prompt, first_frame_image, last_frame_image, duration, resolution}
    GET  /v1/query/video_generation?task_id=...     Queueing | Preparing | Processing | Success | Fail
    GET  /v1/files/retrieve?file_id=...             {file: {download_url}} (valid about 1 hour)

Every v1 reply carries `base_resp: {status_code, status_msg}` (0 = ok), often with HTTP 200 even for
errors, so classification reads the code. v1 has no cancel call.

API v2 (MiniMax-H3, MiniMax-H3-Max):

    POST   /v2/video_generation            {model, content: [{type: "text", text},
                                             {type: "image_url", image_url: {url}, role: "first_frame"},
                                             {type: "image_url", image_url: {url}, role: "last_frame"}],
                                             duration, resolution, ratio}  ->  {task_id}
    GET    /v2/query/video_generation/{id} {task: {id, status, model, content: {url}, duration, resolution,
                                             ratio, usage, error: {code, message}}}
    DELETE /v2/video_generation/{id}       cancels a queued task (no charge); deletes a finished one

Errors are real HTTP statuses with `{"type": "error", "error": {"type", "message", "http_code"}}`;
the message ends with MiniMax's numeric code in brackets ("... (1004)"), which is classified with
the same table as v1's base_resp codes. The list call and /v2/video_regeneration (768P -> 2K) are
not used.

Where the provider notes we keep are silent, this module follows MiniMax's published v2 reference
(platform.minimax.io video-generation-v2-create/-query/-delete, as quoted by several public
clients) and stays tolerant where that could be wrong:

* Task statuses are queued, running, succeeded, failed, cancelled (and "expired" in the China-site
  delete table). They are matched case-insensitively, v1-style names (Queueing, Processing,
  Success, Fail) are accepted too, and an unknown status keeps polling, shown raw as
  `provider_status`. "expired" counts as a retryable failure (a new task is submitted).
* `task.error.code` is a string ("1026"); numeric codes go through the base_resp table.
* MiniMax-H3: integer durations 4-15 s, resolution "768P" (default) or "2K"; MiniMax-H3-Max: 5-15 s,
  "480P" or "768P". Ratios 21:9, 16:9, 4:3, 1:1, 3:4, 9:16. Text-to-video needs a concrete ratio
  (the one matching the project size is sent); with a start image ttv sends ratio "adaptive", as the
  output follows the image (the keyframes are made at the project size). A last frame is only sent
  together with a first frame. Prompts up to 7000 characters; images JPEG/PNG/WEBP up to 30 MB, each
  side >= 256 px, aspect between 2:5 and 5:2.
* Cancel: the delete call cancels only a *queued* task; a running one cannot be stopped, and on a
  finished task it would delete the record (and its result). So `cancel()` polls first, deletes only
  a queued task, and answers "cancel-unsupported" for a running one (it runs to the end and is billed).
* Cost: the price table (`MiniMax-H3` $0.08/s at 768P, `MiniMax-H3@2K` $0.13/s); v2 reports usage
  seconds but no money, so the seconds are recorded in the clip's info only. MiniMax-H3-Max has no
  built-in price: set `"minimax/MiniMax-H3-Max" = USD_PER_SECOND` under [prices].
* The result URL is time-limited; a fetch that finds it expired polls the task again for a new one.
* H3 output carries a generated audio track (native stereo audio); there is no switch for it.

Setup: MINIMAX_API_KEY or `ttv keys set minimax`; `base_url = "https://api.minimaxi.com"` for the
China host (the same key does not work on both hosts). Output size: MiniMax picks it from the start
image's aspect (image-to-video) or the ratio (text-to-video); ttv checks the project aspect against
the model's ratios.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import Field

from ttv.backends.base import VideoRequest
from ttv.backends.keycheck import Live, http_get, is_network_error
from ttv.backends.remote.common import (
    ImageInfo,
    JobState,
    ModelSpec,
    RemoteOptions,
    RemoteVideoBackend,
    classify_http,
    data_uri,
    data_uri_size,
    inspect_image,
    model_specs,
    network_error,
)
from ttv.core import keys as keyring
from ttv.core.errors import AuthError, BackendError, InputRejected, QuotaError
from ttv.core.keys import KeyProvider
from ttv.core.prices import PriceRow

DEFAULT_BASE_URL = "https://api.minimax.io"
MINIMAX_KEY = KeyProvider("minimax", ("MINIMAX_API_KEY",), "https://platform.minimax.io (API keys)")
# MiniMax direct API, per output second.
PRICE_ROWS = (
    PriceRow("minimax", "MiniMax-H3", "second", 0.08, None, "litellm price table", note="768p; 2K $0.13/s"),
    PriceRow("minimax", "MiniMax-H3@2K", "second", 0.13, None, "litellm price table"),
    PriceRow("minimax", "MiniMax-Hailuo-02", "second", 0.045, None, "estimate (no published price found)",
             note="768P; override in [prices]"),
    PriceRow("minimax", "MiniMax-Hailuo-02@1080P", "second", 0.08, None, "estimate (no published price found)"),
    PriceRow("minimax", "MiniMax-Hailuo-2.3", "second", 0.045, None, "estimate (no published price found)"),
    PriceRow("minimax", "MiniMax-Hailuo-2.3@1080P", "second", 0.08, None, "estimate (no published price found)"),
    PriceRow("minimax", "MiniMax-Hailuo-2.3-Fast", "second", 0.032, None, "estimate (no published price found)"),
    PriceRow("minimax", "I2V-01", "second", 0.072, None, "estimate (no published price found)"),
    PriceRow("minimax", "T2V-01", "second", 0.072, None, "estimate (no published price found)"),
)

# The output follows the start image's aspect; these are the ratios ttv accepts for the project size.
_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4")
_SIZES = ((1366, 768), (768, 1366), (768, 768), (1024, 768), (768, 1024))
_T2V = ("16:9",)
# v2 (H3): the sizes stand for the aspect at 768P (2K is larger; stitch scales either).
_H3_RATIOS = ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
_H3_SIZES = ((1792, 768), (1366, 768), (1024, 768), (768, 768), (768, 1024), (768, 1366))

MODELS = model_specs(
    ModelSpec("MiniMax-Hailuo-02", ("t2v", "i2v", "flf2v"), (6.0, 10.0), _RATIOS, _SIZES, max_prompt_chars=2000,
              supports_seed=False, default_concurrency=3, t2v_ratios=_T2V,
              notes="API v1; 512P/768P/1080P (1080P only at 6 s); first and last frame"),
    ModelSpec("MiniMax-Hailuo-2.3", ("t2v", "i2v"), (6.0, 10.0), _RATIOS, _SIZES, max_prompt_chars=2000,
              supports_seed=False, default_concurrency=3, t2v_ratios=_T2V,
              notes="API v1; 768P/1080P (1080P only at 6 s)"),
    ModelSpec("MiniMax-Hailuo-2.3-Fast", ("i2v",), (6.0, 10.0), _RATIOS, _SIZES, max_prompt_chars=2000,
              supports_seed=False, default_concurrency=3, notes="API v1; image-to-video only; 768P/1080P"),
    ModelSpec("I2V-01", ("i2v",), (6.0,), _RATIOS, _SIZES, fps=25, max_prompt_chars=2000, supports_seed=False,
              default_concurrency=3, notes="API v1"),
    ModelSpec("T2V-01", ("t2v",), (6.0,), _T2V, ((1280, 720),), fps=25, max_prompt_chars=2000, supports_seed=False,
              default_concurrency=3, t2v_ratios=_T2V, notes="API v1"),
    ModelSpec("MiniMax-H3", ("t2v", "i2v", "flf2v"), tuple(float(d) for d in range(4, 16)), _H3_RATIOS, _H3_SIZES,
              min_duration=4.0, max_duration=15.0, max_prompt_chars=7000, supports_seed=False, supports_audio=True,
              default_concurrency=3,
              notes="API v2; 4-15 s; 768P ($0.08/s) or 2K ($0.13/s); first and last frame; native audio"),
    ModelSpec("MiniMax-H3-Max", ("t2v", "i2v", "flf2v"), tuple(float(d) for d in range(5, 16)), _H3_RATIOS,
              _H3_SIZES, min_duration=5.0, max_duration=15.0, max_prompt_chars=7000, supports_seed=False,
              default_concurrency=3,
              notes="API v2; 5-15 s; 480P/768P; first and last frame; no built-in price (set [prices])"),
)

# The `resolution` values each model takes (models not listed ignore the option: it is not sent).
_RESOLUTIONS: dict[str, tuple[str, ...]] = {
    "MiniMax-Hailuo-02": ("512P", "768P", "1080P"),
    "MiniMax-Hailuo-2.3": ("768P", "1080P"),
    "MiniMax-Hailuo-2.3-Fast": ("768P", "1080P"),
    "MiniMax-H3": ("768P", "2K"),
    "MiniMax-H3-Max": ("480P", "768P"),
}

V2_IMAGE_LIMIT = 30 * 1024 * 1024  # per image (v2 reference)
V2_BODY_LIMIT = 64 * 1024 * 1024  # whole request body (v2 reference); data URIs count in full


def is_v2_model(model: str) -> bool:
    """MiniMax-H3 and its variants (MiniMax-H3-Max...) use API v2; every other model API v1."""
    return model.strip().lower().startswith("minimax-h3")


# base_resp.status_code (v1) and the bracketed code of v2 errors -> (kind, hint). 1004 and 2038 are
# from MiniMax's own MCP server (minimax-mcp); the others from MiniMax's published error-code list.
_CODES: dict[int, tuple[str, str]] = {
    1000: ("retryable", "unknown server error"),
    1001: ("retryable", "request timed out"),
    1002: ("retryable", "rate limit"),
    1004: ("auth", "bad key or wrong host (api.minimax.io vs api.minimaxi.com: set base_url)"),
    1008: ("quota", "insufficient balance"),
    1013: ("retryable", "internal service error"),
    1026: ("request", "the input was refused as sensitive content"),
    1027: ("backend", "the output was refused as sensitive content"),
    1039: ("retryable", "token limit"),
    2013: ("backend", "invalid parameters"),
    2038: ("auth", "real-name verification required on the MiniMax account"),
    2049: ("auth", "invalid API key"),
}

_STATUS: dict[str, Literal["queued", "throttled", "running", "succeeded", "failed"]] = {
    "Queueing": "queued", "Preparing": "queued", "Processing": "running", "Success": "succeeded", "Fail": "failed"}

# v2 task statuses, matched lower-cased; v1 spellings too in case a gateway mixes them.
_V2_STATUS: dict[str, Literal["queued", "running", "succeeded", "failed", "cancelled"]] = {
    "queued": "queued", "queueing": "queued", "pending": "queued", "preparing": "queued",
    "running": "running", "processing": "running", "in_progress": "running",
    "succeeded": "succeeded", "success": "succeeded",
    "failed": "failed", "fail": "failed", "expired": "failed",
    "cancelled": "cancelled", "canceled": "cancelled",
}

_V2_CODE = re.compile(r"\((\d{3,6})\)\s*\.?\s*$")


def classify_base_resp(code: int, message: str, what: str) -> BackendError:
    kind, meaning = _CODES.get(code, ("backend", "error"))
    text = f"minimax: {what} failed: code {code} ({meaning}): {keyring.redact(message)}"[:400]
    if kind == "auth":
        return AuthError(text, hint="check MINIMAX_API_KEY / `ttv keys set minimax` and base_url", code=str(code))
    if kind == "quota":
        return QuotaError(text, hint="top up the MiniMax account", code=str(code))
    if kind == "request":
        return InputRejected(text, hint="edit the prompt or keyframe", code=str(code), permanent_for_request=True)
    return BackendError(text, kind="retryable" if kind == "retryable" else "backend", code=str(code))


def classify_v2_error(status: int, body: Any, text: str, headers: Any, what: str) -> BackendError:
    """A v2 error reply (`{"type": "error", "error": {"type", "message", "http_code"}}`) -> BackendError.
    The MiniMax code at the end of the message ("... (1004)") picks the hint where it is a known one;
    rate limits and server errors keep the HTTP classification (Retry-After, retryable)."""
    err = body.get("error") if isinstance(body, dict) else None
    message = str(err.get("message") or "") if isinstance(err, dict) else ""
    message = message or text
    m = _V2_CODE.search(message)
    code = int(m.group(1)) if m else None
    if code in _CODES and status != 429 and status < 500:
        assert code is not None
        return classify_base_resp(code, message, what)
    return classify_http("minimax", status, message, headers, what=what)


class MiniMaxOptions(RemoteOptions):
    model: str = Field("MiniMax-Hailuo-02", description=(
        "MiniMax-Hailuo-02, MiniMax-Hailuo-2.3, MiniMax-Hailuo-2.3-Fast, I2V-01, T2V-01 (API v1); "
        "MiniMax-H3, MiniMax-H3-Max (API v2)"))
    poll_interval_s: float = Field(10.0, gt=0, le=600)
    resolution: Literal["480P", "512P", "768P", "1080P", "2K"] = Field("768P", description=(
        "Hailuo-02: 512P/768P/1080P; Hailuo-2.3: 768P/1080P; MiniMax-H3: 768P/2K; MiniMax-H3-Max: 480P/768P"))
    prompt_optimizer: bool = Field(True, description="let MiniMax rewrite the prompt (API v1 models only)")
    group_id: str | None = Field(None, description="GroupId query parameter some older deployments want (API v1)")


def live_minimax(key: str, base_url: str | None, timeout: float = 15.0, *, options: Sequence[Any] = ()) -> Live:
    """`ttv doctor --online`: a query for an unknown task, whose answer tells a bad key from a good one."""
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    try:
        resp = http_get(f"{base}/v1/query/video_generation?task_id=0", {"Authorization": f"Bearer {key}"}, timeout)
    except Exception as exc:
        if is_network_error(exc):
            return Live("network", f"cannot reach the MiniMax API: {type(exc).__name__}")
        raise
    if resp.status_code in (401, 403):
        return Live("bad-key", f"the key was refused (HTTP {resp.status_code})")
    try:
        code = int((resp.json().get("base_resp") or {}).get("status_code", -1))
    except (ValueError, AttributeError):
        return Live("error", f"HTTP {resp.status_code}, not a MiniMax reply")
    if code == 1004:
        return Live("bad-key", "the key was refused (1004: not authorized; wrong key or wrong host?)")
    if code == 1008:
        return Live("no-credits", "1008: insufficient balance")
    if code == 2038:
        return Live("error", "2038: real-name verification required on the MiniMax account")
    if code in (0, 2013, 1026, 2049) or resp.status_code == 200:
        return Live("ok", "key accepted (a query for an unknown task was answered)", {"code": code})
    return Live("error", f"HTTP {resp.status_code}, code {code}")


class MiniMaxBackend(RemoteVideoBackend):
    name: ClassVar[str] = "minimax"
    summary: ClassVar[str] = "MiniMax video API over httpx: Hailuo (API v1) and MiniMax-H3 (API v2)"
    key_provider: ClassVar[KeyProvider] = MINIMAX_KEY
    price_provider: ClassVar[str] = "minimax"
    price_rows = PRICE_ROWS
    key_check = staticmethod(live_minimax)
    base_url_env = ("TTV_MINIMAX_BASE_URL",)
    sdk_module: ClassVar[str | None] = "httpx"
    MODELS = MODELS
    OptionsModel = MiniMaxOptions

    @property
    def mopts(self) -> MiniMaxOptions:
        assert isinstance(self.options, MiniMaxOptions)
        return self.options

    @property
    def v2(self) -> bool:
        return is_v2_model(self.opts.model)

    def client(self) -> Any:
        import httpx

        return self.lazy("_client", lambda: httpx.Client(
            base_url=(self.opts.base_url or DEFAULT_BASE_URL).rstrip("/"),
            headers={"Authorization": f"Bearer {self.api_key()}"},
            timeout=httpx.Timeout(self.opts.request_timeout_s, connect=10.0)))

    def _send(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        import httpx

        try:
            return self.client().request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise network_error(self.name, exc, what=what) from None

    @staticmethod
    def _json(resp: Any, what: str) -> dict[str, Any]:
        try:
            data = resp.json()
        except ValueError:
            raise BackendError(f"minimax: {what}: the reply is not JSON", kind="retryable", code="bad-reply") from None
        return dict(data) if isinstance(data, dict) else {}

    # -- API v1 -------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        """One v1 call; HTTP and transport errors raised, base_resp left to the caller."""
        if self.mopts.group_id:
            kwargs.setdefault("params", {})["GroupId"] = self.mopts.group_id
        resp = self._send(method, path, what, **kwargs)
        if resp.status_code >= 400:
            raise classify_http(self.name, resp.status_code, resp.text, resp.headers, what=what)
        return self._json(resp, what)

    @staticmethod
    def _code(data: dict[str, Any]) -> tuple[int, str]:
        base = data.get("base_resp") or {}
        return int(base.get("status_code") or 0), str(base.get("status_msg") or "")

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        data = self._request(method, path, what, **kwargs)
        code, msg = self._code(data)
        if code != 0:
            raise classify_base_resp(code, msg, what)
        return data

    # -- API v2 -------------------------------------------------------------------------------------

    def _call_v2(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        """One v2 call: errors come as HTTP statuses with an `error` object (a `base_resp` with a
        non-zero code, or an `error` object in an HTTP 200 reply, are treated the same way)."""
        resp = self._send(method, path, what, **kwargs)
        if resp.status_code >= 400:
            try:
                body: Any = resp.json()
            except ValueError:
                body = None
            raise classify_v2_error(resp.status_code, body, resp.text, resp.headers, what)
        data = self._json(resp, what)
        err = data.get("error")
        if data.get("type") == "error" or isinstance(err, dict):
            http_code = str(err.get("http_code") or "") if isinstance(err, dict) else ""
            status = int(http_code) if http_code.isdigit() else 400
            raise classify_v2_error(status, data, resp.text, resp.headers, what)
        code, msg = self._code(data)
        if code != 0:
            raise classify_base_resp(code, msg, what)
        return data

    @staticmethod
    def _task_path(job_id: str) -> str:
        return quote(job_id, safe="")

    # -- validation and cost ------------------------------------------------------------------------

    def check_image(self, info: ImageInfo, role: str) -> None:
        # v2 (H3): 30 MB, every side >= 256 px; v1: 20 MB, short side >= 300 px; both 2:5 to 5:2
        limit, limit_mb, min_side = (V2_IMAGE_LIMIT, 30, 256) if self.v2 else (20 * 1024 * 1024, 20, 300)
        if info.size > limit:
            raise InputRejected(f"minimax: the {role} {info.path} is {info.size / 1e6:.0f} MB; "
                                f"the limit is {limit_mb} MB")
        short, long = sorted((info.width, info.height))
        if short < min_side or long / short > 2.5:
            raise InputRejected(f"minimax {self.opts.model}: the {role} {info.path} is {info.width}x{info.height}; "
                                f"MiniMax wants each side >= {min_side} px and an aspect between 2:5 and 5:2",
                                hint="raise width/height in ttv.toml and re-run `ttv keyframes`")

    def validate_inputs(self, request: VideoRequest) -> None:
        super().validate_inputs(request)
        spec = self.spec()
        resolution = self.mopts.resolution
        allowed = _RESOLUTIONS.get(spec.id)
        if allowed is not None and resolution not in allowed:
            raise InputRejected(f"minimax {spec.id}: resolution {resolution} is not offered; allowed: "
                                f"{', '.join(allowed)}",
                                hint=f'set resolution = "{allowed[0]}" (or another of these) in [backends.minimax]',
                                code="resolution")
        if is_v2_model(spec.id):
            if not request.prompt.strip():
                raise InputRejected(f"minimax {spec.id}: segment {request.segment_id} has an empty prompt; "
                                    "MiniMax API v2 needs text", hint="write a prompt in plan.toml")
            images = [p for p in (request.first_image, self._v2_last_image(request)) if p is not None]
            total = sum(data_uri_size(inspect_image(p, provider=self.name)) for p in images)
            if total > V2_BODY_LIMIT - 1024 * 1024:
                raise InputRejected(f"minimax {spec.id}: the images of segment {request.segment_id} make a request "
                                    f"of {total / 1e6:.0f} MB; MiniMax takes up to 64 MB",
                                    hint="save the keyframes as JPEG or make them smaller")
            return
        if resolution in ("480P", "2K"):
            raise InputRejected(f"minimax {spec.id}: resolution {resolution} is for the MiniMax-H3 models only",
                                hint='use resolution = "768P" or a MiniMax-H3 model', code="resolution")
        if resolution == "1080P" and request.duration > 6:
            raise InputRejected(f"minimax {self.opts.model}: 1080P allows 6 s only; segment {request.segment_id} "
                                f"is {request.duration:g} s", hint="use resolution = \"768P\" or 6-s segments")
        if resolution == "512P" and request.first_image is None:
            raise InputRejected("minimax: 512P is for image-to-video only; allowed for text-to-video: 768P, 1080P")

    def price_variant(self, request: VideoRequest) -> str | None:
        # "MiniMax-Hailuo-02@1080P", "MiniMax-H3@2K"...; 768P is the base row of every model.
        return self.mopts.resolution if self.mopts.resolution != "768P" else None

    def estimated_seconds(self, request: VideoRequest) -> float:
        if self.v2:
            return 240.0  # 218 s measured for a 4-s H3 clip
        return 150.0  # 1-5 min typical

    # -- provider calls -----------------------------------------------------------------------------

    def submit(self, request: VideoRequest) -> str:
        if self.v2:
            return self._submit_v2(request)
        spec = self.spec()
        body: dict[str, Any] = {"model": spec.id, "prompt": request.prompt, "duration": int(round(request.duration)),
                                "prompt_optimizer": self.mopts.prompt_optimizer}
        if spec.id.startswith("MiniMax-Hailuo"):
            body["resolution"] = self.mopts.resolution
        if request.first_image is not None:
            body["first_frame_image"] = data_uri(request.first_image)
        if self.use_end_frame(request):
            assert request.last_image is not None
            body["last_frame_image"] = data_uri(request.last_image)
        data = self._call("POST", "/v1/video_generation", "submit", json=body)
        task_id = str(data.get("task_id") or "")
        if not task_id:
            raise BackendError("minimax: submit returned no task_id", kind="retryable", code="bad-reply")
        return task_id

    def _v2_last_image(self, request: VideoRequest) -> Any:
        """The end frame to send: only with a start frame (v2 takes a last frame alongside a first)."""
        return request.last_image if request.first_image is not None and self.use_end_frame(request) else None

    def _submit_v2(self, request: VideoRequest) -> str:
        spec = self.spec()
        content: list[dict[str, Any]] = [{"type": "text", "text": request.prompt}]
        if request.first_image is not None:
            content.append({"type": "image_url", "image_url": {"url": data_uri(request.first_image)},
                            "role": "first_frame"})
            last = self._v2_last_image(request)
            if last is not None:
                content.append({"type": "image_url", "image_url": {"url": data_uri(last)}, "role": "last_frame"})
            ratio = "adaptive"  # the output follows the start image
        else:
            ratio = self.resolve_ratio(request)[0]  # text-to-video needs a concrete ratio
        body: dict[str, Any] = {"model": spec.id, "content": content, "duration": int(round(request.duration)),
                                "resolution": self.mopts.resolution, "ratio": ratio}
        data = self._call_v2("POST", "/v2/video_generation", "submit", json=body)
        task_id = str(data.get("task_id") or (data.get("task") or {}).get("id") or "")
        if not task_id:
            raise BackendError("minimax: submit returned no task_id", kind="retryable", code="bad-reply")
        return task_id

    def poll_once(self, job_id: str) -> JobState:
        if self.v2:
            return self._poll_v2(job_id)
        data = self._request("GET", "/v1/query/video_generation", "poll", params={"task_id": job_id})
        raw = str(data.get("status") or "")
        code, msg = self._code(data)
        if raw == "Fail":
            # The code says why (1026 sensitive input, 1027 sensitive output, 1000 unknown...).
            error = (classify_base_resp(code, msg, f"task {job_id}") if code else
                     BackendError(f"minimax: task {job_id} failed", kind="retryable", code="Fail"))
            return JobState(job_id, "failed", provider_status=raw, error=error)
        if code != 0:
            exc = classify_base_resp(code, msg, "poll")
            if code == 2013:
                exc.code = "404"  # unknown task: generate() then asks for a new submit
            raise exc
        status = _STATUS.get(raw, "running")
        state = JobState(job_id, status, provider_status=raw)
        if status == "succeeded":
            file_id = str(data.get("file_id") or "")
            if not file_id:
                raise BackendError(f"minimax: task {job_id} succeeded without a file_id", kind="retryable",
                                   code="bad-reply")
            f = self._call("GET", "/v1/files/retrieve", "file lookup", params={"file_id": file_id}).get("file") or {}
            url = str(f.get("download_url") or "")
            state.urls = [url] if url else []
            state.info.update({"file_id": file_id, "video_width": data.get("video_width"),
                               "video_height": data.get("video_height")})
        return state

    def _poll_v2(self, job_id: str) -> JobState:
        try:
            data = self._call_v2("GET", f"/v2/query/video_generation/{self._task_path(job_id)}", "poll")
        except BackendError as exc:
            if exc.code in ("404", "2013") or (exc.code == "400" and "task" in str(exc).lower()):
                exc.code = "404"  # unknown task (deleted, older than 7 days, other account): submit anew
            raise
        task = data.get("task")
        if not isinstance(task, dict):
            raise BackendError(f"minimax: poll of task {job_id}: the reply has no task", kind="retryable",
                               code="bad-reply")
        raw = str(task.get("status") or "")
        status = _V2_STATUS.get(raw.strip().lower())
        if status is None:  # a status this module does not know: keep polling, show it as it came
            return JobState(job_id, "running", provider_status=raw)
        state = JobState(job_id, status, provider_status=raw)
        if status == "failed":
            state.error = self._v2_failure(job_id, raw, task.get("error"))
        elif status == "cancelled":
            state.error = BackendError(f"minimax: task {job_id} was cancelled", kind="request", code="cancelled")
        elif status == "succeeded":
            content = task.get("content") if isinstance(task.get("content"), dict) else {}
            assert isinstance(content, dict)
            url = str(content.get("url") or content.get("video_url") or "")
            if not url:
                raise BackendError(f"minimax: task {job_id} succeeded without a video URL", kind="retryable",
                                   code="bad-reply")
            state.urls = [url]
            usage = task.get("usage") if isinstance(task.get("usage"), dict) else {}
            assert isinstance(usage, dict)
            state.info.update({"api": "v2", "video_resolution": task.get("resolution"),
                               "video_ratio": task.get("ratio"), "video_duration": task.get("duration"),
                               "billed_seconds": usage.get("output_seconds", usage.get("total_seconds"))})
            state.info = {k: v for k, v in state.info.items() if isinstance(v, (str, int, float)) and v != ""}
        return state

    @staticmethod
    def _v2_failure(job_id: str, raw: str, error: Any) -> BackendError:
        err = error if isinstance(error, dict) else {}
        code = str(err.get("code") or "").strip()
        message = str(err.get("message") or "")
        if code.isdigit() and int(code) != 0:
            # The code says why (1026 sensitive input, 1027 sensitive output, 1000 unknown...).
            return classify_base_resp(int(code), message, f"task {job_id}")
        if raw.strip().lower() == "expired":
            return BackendError(f"minimax: task {job_id} expired before it finished", kind="retryable", code="expired")
        text = f"minimax: task {job_id} failed" + (f": {keyring.redact(message)}" if message else "")
        return BackendError(text[:400], kind="retryable", code=code or "failed")

    def cancel(self, job_id: str) -> None:
        if not self.v2:
            raise BackendError("minimax: the v1 API has no cancel call; the task runs to the end and is billed",
                               kind="backend", code="cancel-unsupported")
        # DELETE cancels a queued task but deletes a finished one (result included) and refuses a
        # running one, so look first.
        state = self._poll_v2(job_id)
        if state.status != "queued":
            if state.status in ("running", "throttled"):
                raise BackendError(f"minimax: task {job_id} is already running; MiniMax cannot cancel a running task: "
                                   "it runs to the end and is billed", kind="backend", code="cancel-unsupported")
            return  # finished, failed or cancelled already: nothing to stop (and nothing deleted)
        try:
            self._call_v2("DELETE", f"/v2/video_generation/{self._task_path(job_id)}", "cancel")
        except BackendError as exc:
            if exc.kind == "retryable" or isinstance(exc, AuthError):
                raise
            # It left the queue between the look and the delete: running now, which cannot be stopped.
            raise BackendError(f"minimax: task {job_id} could not be cancelled ({exc}); it may have started and "
                               "will then run to the end and be billed", kind="backend",
                               code="cancel-unsupported") from None
