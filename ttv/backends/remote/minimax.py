"""MiniMax (Hailuo) video over plain HTTP (httpx; no SDK), API v1:

    POST /v1/video_generation              {model, prompt, first_frame_image, last_frame_image, duration, resolution}
    GET  /v1/query/video_generation?task_id=...     Queueing | Preparing | Processing | Success | Fail
    GET  /v1/files/retrieve?file_id=...             {file: {download_url}} (valid about 1 hour)

Every reply carries `base_resp: {status_code, status_msg}` (0 = ok), often with HTTP 200 even for
errors, so classification reads the code. The download URL is fetched anew on every poll of a
finished task, so an expired URL is refreshed by polling again. MiniMax v1 has no cancel call.

Setup: MINIMAX_API_KEY or `ttv keys set minimax`; `base_url = "https://api.minimaxi.com"` for the
China host. Output size: MiniMax picks it from the start image's aspect (image-to-video) or 16:9
(text-to-video); ttv checks the project aspect against those.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from ttv.backends.base import VideoRequest
from ttv.backends.remote.common import (
    ImageInfo,
    JobState,
    ModelSpec,
    RemoteOptions,
    RemoteVideoBackend,
    classify_http,
    data_uri,
    model_specs,
    network_error,
)
from ttv.core import keys as keyring
from ttv.core.errors import AuthError, BackendError, InputRejected, QuotaError

DEFAULT_BASE_URL = "https://api.minimax.io"

# The output follows the start image's aspect; these are the ratios ttv accepts for the project size.
_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4")
_SIZES = ((1366, 768), (768, 1366), (768, 768), (1024, 768), (768, 1024))
_T2V = ("16:9",)

MODELS = model_specs(
    ModelSpec("MiniMax-Hailuo-02", ("t2v", "i2v", "flf2v"), (6.0, 10.0), _RATIOS, _SIZES, max_prompt_chars=2000,
              supports_seed=False, default_concurrency=3, t2v_ratios=_T2V,
              notes="512P/768P/1080P (1080P only at 6 s); first and last frame"),
    ModelSpec("MiniMax-Hailuo-2.3", ("t2v", "i2v"), (6.0, 10.0), _RATIOS, _SIZES, max_prompt_chars=2000,
              supports_seed=False, default_concurrency=3, t2v_ratios=_T2V, notes="768P/1080P (1080P only at 6 s)"),
    ModelSpec("MiniMax-Hailuo-2.3-Fast", ("i2v",), (6.0, 10.0), _RATIOS, _SIZES, max_prompt_chars=2000,
              supports_seed=False, default_concurrency=3, notes="image-to-video only"),
    ModelSpec("I2V-01", ("i2v",), (6.0,), _RATIOS, _SIZES, fps=25, max_prompt_chars=2000, supports_seed=False,
              default_concurrency=3),
    ModelSpec("T2V-01", ("t2v",), (6.0,), _T2V, ((1280, 720),), fps=25, max_prompt_chars=2000, supports_seed=False,
              default_concurrency=3, t2v_ratios=_T2V),
)

# base_resp.status_code -> (kind, hint). 1004 and 2038 are from providers.md (minimax-mcp); the
# others from MiniMax's published error-code list.
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


class MiniMaxOptions(RemoteOptions):
    model: str = "MiniMax-Hailuo-02"
    poll_interval_s: float = Field(10.0, gt=0, le=600)
    resolution: Literal["512P", "768P", "1080P"] = "768P"
    prompt_optimizer: bool = True
    group_id: str | None = Field(None, description="GroupId query parameter some older deployments want")


class MiniMaxBackend(RemoteVideoBackend):
    name: ClassVar[str] = "minimax"
    summary: ClassVar[str] = "MiniMax Hailuo video API (v1) over httpx"
    key_provider: ClassVar[str] = "minimax"
    price_provider: ClassVar[str] = "minimax"
    sdk_module: ClassVar[str | None] = "httpx"
    MODELS = MODELS
    OptionsModel = MiniMaxOptions

    @property
    def mopts(self) -> MiniMaxOptions:
        assert isinstance(self.options, MiniMaxOptions)
        return self.options

    def client(self) -> Any:
        import httpx

        return self.lazy("_client", lambda: httpx.Client(
            base_url=(self.opts.base_url or DEFAULT_BASE_URL).rstrip("/"),
            headers={"Authorization": f"Bearer {self.api_key()}"},
            timeout=httpx.Timeout(self.opts.request_timeout_s, connect=10.0)))

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        """One call; HTTP and transport errors raised, base_resp left to the caller."""
        import httpx

        if self.mopts.group_id:
            kwargs.setdefault("params", {})["GroupId"] = self.mopts.group_id
        try:
            resp = self.client().request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise network_error(self.name, exc, what=what) from None
        if resp.status_code >= 400:
            raise classify_http(self.name, resp.status_code, resp.text, resp.headers, what=what)
        try:
            data = resp.json()
        except ValueError:
            raise BackendError(f"minimax: {what}: the reply is not JSON", kind="retryable", code="bad-reply") from None
        return dict(data) if isinstance(data, dict) else {}

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

    def check_image(self, info: ImageInfo, role: str) -> None:
        if info.size > 20 * 1024 * 1024:
            raise InputRejected(f"minimax: the {role} {info.path} is {info.size / 1e6:.0f} MB; the limit is 20 MB")
        short, long = sorted((info.width, info.height))
        if short < 300 or long / short > 2.5:
            raise InputRejected(f"minimax: the {role} {info.path} is {info.width}x{info.height}; MiniMax wants the "
                                "short side >= 300 px and an aspect between 2:5 and 5:2",
                                hint="raise width/height in ttv.toml and re-run `ttv keyframes`")

    def validate_inputs(self, request: VideoRequest) -> None:
        super().validate_inputs(request)
        if self.mopts.resolution == "1080P" and request.duration > 6:
            raise InputRejected(f"minimax {self.opts.model}: 1080P allows 6 s only; segment {request.segment_id} "
                                f"is {request.duration:g} s", hint="use resolution = \"768P\" or 6-s segments")
        if self.mopts.resolution == "512P" and request.first_image is None:
            raise InputRejected("minimax: 512P is for image-to-video only; allowed for text-to-video: 768P, 1080P")

    def price_variant(self, request: VideoRequest) -> str | None:
        return self.mopts.resolution if self.mopts.resolution != "768P" else None

    def estimated_seconds(self, request: VideoRequest) -> float:
        return 150.0  # 1-5 min typical (providers.md B4)

    def submit(self, request: VideoRequest) -> str:
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

    def poll_once(self, job_id: str) -> JobState:
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

    def cancel(self, job_id: str) -> None:
        raise BackendError("minimax: the v1 API has no cancel call; the task runs to the end and is billed",
                           kind="backend", code="cancel-unsupported")
