"""Google Veo on two routes (option `api`):

* `"vertex"` (default): Vertex AI through `google-genai` (`models.generate_videos` + `operations.get`).
  - Express mode: a Vertex API key in GOOGLE_API_KEY (or `ttv keys set google`), no project.
  - Project mode: `project = "my-project"`, `location = "us-central1"` and Application Default
    Credentials (`gcloud auth application-default login`); no API key needed.
  The video comes back inline (`bytesBase64Encoded`), so there is no result URL to expire.
* `"gemini"`: the Gemini Developer API with an AI Studio key (GEMINI_API_KEY or GOOGLE_API_KEY),
  spoken over plain HTTP with httpx, because google-genai >= 3 refuses `generate_videos` outside
  Vertex (and 2.x is not what `ttv[remote]` installs). The wire format is the one google-genai 2.x
  sends in this mode (`GeminiVeoClient` below):

      POST {base}/v1beta/models/{model}:predictLongRunning      -> {"name": "models/{model}/operations/{id}"}
           {"instances": [{"prompt", "image"?, "lastFrame"?, "video"?}], "parameters": {...}}
      GET  {base}/v1beta/{operation name}                       -> {"name", "done"?, "response"? | "error"?}
      GET  {base}/v1beta/files/{id}:download?alt=media          -> the mp4 (or a redirect to storage)

  Images travel inline (`bytesBase64Encoded` + `mimeType`); `video: {"uri"}` (an earlier Veo result,
  for extension) is accepted by `gemini_request_body` for chaining by extension. The result is
  `response.generateVideoResponse.generatedSamples[0].video.uri` (or inline `encodedVideo`); the
  file URI is kept in the clip's info as `video_uri`. The key goes only in the `x-goog-api-key`
  header and only to the configured host: the file id is taken from the URI and fetched from the
  configured base URL, and a redirect to storage is followed without the key. The Gemini API
  keeps generated videos for 2 days, so a job resumed later than that cannot be downloaded. Seed
  and audio options are not sent on this route (google-genai refuses them there; whether the
  server would accept them is unverified). No retries inside the client: ttv's loop owns them.

Job ids are operation names (Vertex: `[projects/p/locations/l/]publishers/google/models/M/operations/ID`;
Gemini API: `models/M/operations/ID`): the name alone resumes a job. Veo has no cancel call ttv
uses: `cancel` raises (code "cancel-unsupported"); the job finishes on its own. Cost comes from
the price table (Veo reports none). Error messages are redacted.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from ttv.backends.base import Options, VideoRequest
from ttv.backends.remote.common import (
    DownloadError,
    Extension,
    JobState,
    ModelSpec,
    RemoteOptions,
    RemoteVideoBackend,
    classify_http,
    model_specs,
    network_error,
)
from ttv.backends.remote.google_common import GOOGLE_KEY, PACKAGES, TESTED, live_google
from ttv.core import keys as keyring
from ttv.core.errors import AuthError, BackendError, InputRejected
from ttv.core.keys import KeyProvider
from ttv.core.prices import PriceRow

# Google Veo (Gemini API / Vertex), per output second.
_PRICE_SOURCE = "litellm price table"
PRICE_ROWS = (
    PriceRow("veo", "veo-3.1-generate-preview", "second", 0.40, None, _PRICE_SOURCE, note="4k: $0.60/s"),
    PriceRow("veo", "veo-3.1-generate-001", "second", 0.40, None, _PRICE_SOURCE, note="4k: $0.60/s"),
    PriceRow("veo", "veo-3.1-generate-001@4k", "second", 0.60, None, _PRICE_SOURCE),
    PriceRow("veo", "veo-3.1-generate-preview@4k", "second", 0.60, None, _PRICE_SOURCE),
    PriceRow("veo", "veo-3.1-fast-generate-preview", "second", 0.10, None, _PRICE_SOURCE,
             note="third-party guides quote $0.15/s with audio"),
    PriceRow("veo", "veo-3.1-fast-generate-001", "second", 0.10, None, _PRICE_SOURCE),
    PriceRow("veo", "veo-3.1-fast-generate-preview@1080p", "second", 0.12, None, _PRICE_SOURCE),
    PriceRow("veo", "veo-3.1-fast-generate-001@1080p", "second", 0.12, None, _PRICE_SOURCE),
    PriceRow("veo", "veo-3.1-fast-generate-preview@4k", "second", 0.30, None, _PRICE_SOURCE),
    PriceRow("veo", "veo-3.1-fast-generate-001@4k", "second", 0.30, None, _PRICE_SOURCE),
    PriceRow("veo", "veo-3.1-lite-generate-preview", "second", 0.05, None, _PRICE_SOURCE),
    PriceRow("veo", "veo-3.1-lite-generate-preview@1080p", "second", 0.08, None, _PRICE_SOURCE),
    PriceRow("veo", "veo-3.0-generate-001", "second", 0.40, None, _PRICE_SOURCE),
    PriceRow("veo", "veo-3.0-fast-generate-001", "second", 0.10, None, _PRICE_SOURCE),
    PriceRow("veo", "veo-2.0-generate-001", "second", 0.50, None, _PRICE_SOURCE),
)

_RATIOS = ("16:9", "9:16")
_SIZES = ((1280, 720), (720, 1280))
_D = (4.0, 6.0, 8.0)
# Veo 3.1 extension: +7 s per hop, the result is the input followed by the new 7 s. Vertex takes an input
# video of 1-30 s; the Gemini API only its own earlier results, by file URI (up to 20 hops, 148 s in all).
_EXT: dict[str, Any] = {"extend_seconds": 7.0, "extend_max_input_s": 30.0, "extend_includes_input": True}
GEMINI_MAX_INPUT_S = 141.0
GEMINI_FILE_KEPT_S = 2 * 86400 - 3600  # the Gemini API keeps generated files 2 days; an hour of margin

MODELS = model_specs(
    ModelSpec("veo-3.1-generate-001", ("t2v", "i2v", "flf2v"), _D, _RATIOS, _SIZES, **_EXT, supports_negative_prompt=True,
              supports_audio=True, default_concurrency=4, notes="720p/1080p/4k; first and last frame; audio"),
    ModelSpec("veo-3.1-generate-preview", ("t2v", "i2v", "flf2v"), _D, _RATIOS, _SIZES, **_EXT,
              supports_negative_prompt=True, supports_audio=True, default_concurrency=4, notes="720p/1080p/4k"),
    ModelSpec("veo-3.1-fast-generate-001", ("t2v", "i2v", "flf2v"), _D, _RATIOS, _SIZES, **_EXT,
              supports_negative_prompt=True, supports_audio=True, default_concurrency=4, notes="720p/1080p/4k"),
    ModelSpec("veo-3.1-fast-generate-preview", ("t2v", "i2v", "flf2v"), _D, _RATIOS, _SIZES, **_EXT,
              supports_negative_prompt=True, supports_audio=True, default_concurrency=4, notes="720p/1080p/4k"),
    ModelSpec("veo-3.1-lite-generate-preview", ("t2v", "i2v", "flf2v"), _D, _RATIOS, _SIZES, **_EXT,
              supports_negative_prompt=True, supports_audio=True, default_concurrency=4, notes="720p/1080p"),
    ModelSpec("veo-3.0-generate-001", ("t2v", "i2v"), _D, _RATIOS, _SIZES, supports_negative_prompt=True,
              supports_audio=True, default_concurrency=4, notes="1080p only for 16:9"),
    ModelSpec("veo-3.0-fast-generate-001", ("t2v", "i2v"), _D, _RATIOS, _SIZES, supports_negative_prompt=True,
              supports_audio=True, default_concurrency=4, notes="1080p only for 16:9"),
    ModelSpec("veo-2.0-generate-001", ("t2v", "i2v"), (5.0, 6.0, 7.0, 8.0), _RATIOS, _SIZES,
              supports_negative_prompt=True, default_concurrency=4, notes="720p"),
)


def resolutions(model: str) -> tuple[str, ...]:
    if model.startswith("veo-3.1-lite") or model.startswith("veo-3.0"):
        return ("720p", "1080p")
    if model.startswith("veo-3.1"):
        return ("720p", "1080p", "4k")
    return ("720p",)


# google.rpc.Code values in operation errors.
_RETRYABLE_RPC = {4, 8, 10, 13, 14}  # DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE
_AUTH_RPC = {7, 16}  # PERMISSION_DENIED, UNAUTHENTICATED
_SAFETY_WORDS = ("safety", "responsible ai", "usage guidelines", "sensitive", "blocked", "prohibited")


def classify_operation_error(job_id: str, error: dict[str, Any]) -> BackendError:
    code = int(error.get("code") or 0)
    message = keyring.redact(error.get("message") or "")
    text = f"veo: operation {job_id} failed (code {code}): {message}"[:400]
    if code == 1:
        return BackendError(text, kind="request", code="CANCELLED")
    if any(w in message.lower() for w in _SAFETY_WORDS):
        return InputRejected(text, hint="edit the prompt or keyframe", code=f"rpc-{code}-safety",
                             permanent_for_request=True)
    if code in _RETRYABLE_RPC:
        return BackendError(text, kind="retryable", code=f"rpc-{code}")
    if code in _AUTH_RPC:
        return AuthError(text, code=f"rpc-{code}")
    if code == 3:  # INVALID_ARGUMENT: the input, as an HTTP 400 would be (another backend may take it)
        return InputRejected(text, hint="the provider rejected the request; see the message", code="rpc-3")
    return BackendError(text, kind="backend", code=f"rpc-{code}")


# --------------------------------------------------------------------------------------------------
# The Gemini Developer API over httpx (api = "gemini")

GEMINI_BASE_URL = "https://generativelanguage.googleapis.com"
GEMINI_API_VERSION = "v1beta"  # the version the Gemini API serves Veo on (google-genai 2.x's default)
# Operation names the poll path is built from: "models/M/operations/ID" (no "..", query or fragment).
_OPERATION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*")
# google-genai takes the file id from "files/<id>" in the result URI the same way.
_FILE_ID = re.compile(r"(?:^|/)files/([A-Za-z0-9_-]+)")


def inline_image(path: Path, mime: str) -> dict[str, str]:
    """An image as the Gemini API takes it inline: `{"bytesBase64Encoded", "mimeType"}`."""
    return {"bytesBase64Encoded": base64.b64encode(Path(path).read_bytes()).decode("ascii"), "mimeType": mime}


def gemini_request_body(prompt: str, *, image: dict[str, str] | None = None, last_frame: dict[str, str] | None = None,
                        video_uri: str | None = None, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The predictLongRunning body google-genai 2.x builds in Gemini API mode (camelCase; fields left
    out when unset). `video_uri` extends an earlier Veo result: the Gemini API takes only videos it
    generated itself, by their file URI."""
    instance: dict[str, Any] = {"prompt": prompt}
    if image is not None:
        instance["image"] = image
    if last_frame is not None:
        instance["lastFrame"] = last_frame
    if video_uri is not None:
        instance["video"] = {"uri": video_uri}
    return {"instances": [instance], "parameters": {"sampleCount": 1, **(parameters or {})}}


def gemini_error(status: int, body: Any, text: str, headers: Any, *, what: str, key_hint: str) -> BackendError:
    """An HTTP error of the Gemini API (`{"error": {"code", "message", "status"}}`) as a classified
    BackendError: 429/5xx retryable, 401/403 auth, 400 invalid input (a safety refusal permanent
    for the request), the rest through `classify_http`."""
    err = body.get("error") if isinstance(body, dict) else None
    message = ""
    if isinstance(err, dict):
        message = " ".join(str(err.get(k) or "") for k in ("status", "message")).strip()
    message = keyring.redact(message or text or "")
    if status == 400:
        short = message.replace("\n", " ")[:300]
        if any(w in short.lower() for w in _SAFETY_WORDS):
            return InputRejected(f"veo: {what} refused (HTTP 400): {short}", hint="edit the prompt or keyframe",
                                 code="400-safety", permanent_for_request=True)
        return InputRejected(f"veo: {what} failed with HTTP 400: {short}",
                             hint="the provider rejected the request; see the message", code="400")
    exc = classify_http("veo", status, message, headers, what=what)
    if isinstance(exc, AuthError):
        exc.hint = f"api = \"gemini\" needs a Gemini API (AI Studio) key: {key_hint}"
    return exc


class GeminiVeoClient:
    """Veo's three calls on the Gemini Developer API. One httpx client with the key in its
    `x-goog-api-key` header, bound to `base_url`; redirects are not followed with it (a download's
    redirect goes to `plain`, a client without credentials)."""

    def __init__(self, api_key: str, base_url: str | None, timeout_s: float, plain: Any, key_hint: str) -> None:
        import httpx

        from ttv import __version__

        self.base = (base_url or GEMINI_BASE_URL).rstrip("/")
        self.plain = plain
        self.key_hint = key_hint
        self.http = httpx.Client(base_url=f"{self.base}/{GEMINI_API_VERSION}/", follow_redirects=False,
                                 headers={"x-goog-api-key": api_key, "user-agent": f"ttv/{__version__}"},
                                 timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)))

    def close(self) -> None:
        self.http.close()

    def _json(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        import httpx

        try:
            resp = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise network_error("veo", exc, what=what) from None
        try:
            data: Any = resp.json()
        except ValueError:
            data = None
        if resp.status_code >= 400:
            raise gemini_error(resp.status_code, data, resp.text, resp.headers, what=what, key_hint=self.key_hint)
        if not isinstance(data, dict):
            raise BackendError(f"veo: {what}: the reply is not a JSON object", kind="retryable", code="bad-reply")
        return data

    def submit(self, model: str, body: dict[str, Any]) -> str:
        data = self._json("POST", f"models/{model}:predictLongRunning", "submit", json=body)
        name = str(data.get("name") or "")
        if not name:
            raise BackendError("veo: submit returned no operation name", kind="retryable", code="bad-reply")
        return name

    def operation(self, name: str) -> dict[str, Any]:
        if not _OPERATION_NAME.fullmatch(name) or ".." in name.split("/"):
            # Not an operation name this API hands out (a record from another route?): submit anew.
            raise BackendError(f"veo: {name!r} is not a Gemini API operation name", kind="retryable", code="404")
        return self._json("GET", name, "poll")

    def download(self, uri: str, dest: Path) -> None:
        """Stream the result file to `dest`: GET files/{id}:download?alt=media on the configured host
        with the key; a redirect (to storage) is fetched without it."""
        import httpx

        from ttv.backends.remote.common import stream_download

        m = _FILE_ID.search(uri)
        if not m:
            raise DownloadError(f"veo: the result URI names no file ({keyring.redact(uri)[:120]})")
        dest.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        try:
            with self.http.stream("GET", f"files/{m.group(1)}:download", params={"alt": "media"}) as resp:
                if resp.is_redirect and resp.headers.get("location"):
                    location = str(resp.url.join(resp.headers["location"]))
                    stream_download(self.plain, location, dest)
                    return
                if resp.status_code >= 400:
                    resp.read()
                    try:
                        body: Any = resp.json()
                    except ValueError:
                        body = None
                    err = gemini_error(resp.status_code, body, resp.text, resp.headers, what="download",
                                       key_hint=self.key_hint)
                    # 403/404: the file is gone (kept 2 days) or not ours; polling again gives the same URI.
                    raise DownloadError(err.message, expired=resp.status_code in (403, 404, 410))
                expected = resp.headers.get("content-length")
                with open(dest, "wb") as f:
                    for part in resp.iter_bytes(1 << 16):
                        f.write(part)
                        written += len(part)
        except httpx.HTTPError as exc:
            raise DownloadError(f"veo: download interrupted: {type(exc).__name__}") from None
        if expected is not None and expected.isdigit() and int(expected) != written:
            raise DownloadError(f"veo: download truncated: {written} of {expected} bytes")
        if written == 0:
            raise DownloadError("veo: download was empty")


def parse_gemini_operation(job_id: str, op: dict[str, Any]) -> JobState:
    """One Gemini API operation as a JobState (payload: `{"uri"}` or `{"bytes"}` of the video)."""
    if not op.get("done"):  # proto3 JSON leaves `done` out while it is false
        return JobState(job_id, "running", provider_status="running")
    error = op.get("error")
    if isinstance(error, dict) and error:
        op_err = classify_operation_error(job_id, error)
        status = "cancelled" if op_err.code == "CANCELLED" else "failed"
        return JobState(job_id, status, provider_status="error", error=op_err)  # type: ignore[arg-type]
    response = op.get("response") if isinstance(op.get("response"), dict) else {}
    assert isinstance(response, dict)
    result = response.get("generateVideoResponse") if isinstance(response.get("generateVideoResponse"), dict) else {}
    assert isinstance(result, dict)
    samples = [s for s in (result.get("generatedSamples") or []) if isinstance(s, dict)]
    video = samples[0].get("video") if samples and isinstance(samples[0].get("video"), dict) else None
    if not video or not (video.get("uri") or video.get("encodedVideo")):
        return JobState(job_id, "failed", provider_status="done",
                        error=no_video_error(job_id, result.get("raiMediaFilteredReasons"),
                                             result.get("raiMediaFilteredCount")))
    if video.get("uri"):
        state = JobState(job_id, "succeeded", provider_status="done", payload={"uri": str(video["uri"])},
                         urls=[str(video["uri"])])
        state.info["video_uri"] = str(video["uri"])  # for extension by URI while the file is kept (2 days)
        return state
    try:
        data = base64.b64decode(str(video["encodedVideo"]), validate=False)
    except ValueError:
        data = b""
    return JobState(job_id, "succeeded", provider_status="done", payload={"bytes": data})


def _age_seconds(iso: str) -> float:
    """Seconds since an ISO 8601 UTC time (a record's finished_at); 0 when unknown."""
    from datetime import datetime

    try:
        then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (datetime.now(UTC) - then).total_seconds()


def no_video_error(job_id: str, reasons: Any, count: Any) -> BackendError:
    """A finished operation without a video: filtered by Responsible AI checks (the output moderation
    of this request; another backend may pass), or simply empty (retryable)."""
    reasons = [str(r) for r in reasons] if isinstance(reasons, list) else []
    if count or reasons:
        return BackendError(f"veo: operation {job_id}: the video was filtered by Responsible AI checks: "
                            f"{keyring.redact('; '.join(reasons)) or count}"[:400],
                            hint="edit the prompt or keyframe, or let the fallback backend try", kind="backend",
                            code="RAI_FILTERED")
    return BackendError(f"veo: operation {job_id} finished without a video", kind="retryable", code="no-video")


class VeoOptions(RemoteOptions):
    model: str = "veo-3.1-fast-generate-001"
    poll_interval_s: float = Field(10.0, gt=0, le=600)
    api: Literal["vertex", "gemini"] = Field("vertex", description=(
        '"vertex": Vertex AI (express-mode key or project); "gemini": Gemini API with an AI Studio key'))
    project: str | None = Field(None, description="Vertex project (uses Application Default Credentials)")
    location: str | None = Field(None, description="Vertex location, e.g. us-central1 (with project)")
    resolution: Literal["720p", "1080p", "4k"] = "720p"
    generate_audio: bool = Field(False, description="Vertex only (the Gemini API route does not send it)")
    person_generation: str | None = Field(None, description='"dont_allow" or "allow_adult"')
    enhance_prompt: bool | None = None


class VeoBackend(RemoteVideoBackend):
    name: ClassVar[str] = "veo"
    summary: ClassVar[str] = "Google Veo 3.x / 3.1: Vertex AI via google-genai, or the Gemini API (AI Studio key) over httpx"
    key_provider: ClassVar[KeyProvider] = GOOGLE_KEY
    price_provider: ClassVar[str] = "veo"
    price_rows = PRICE_ROWS
    key_check = staticmethod(live_google)
    packages = PACKAGES
    tested_versions = TESTED
    sdk_module: ClassVar[str | None] = "google.genai"
    MODELS = MODELS
    OptionsModel = VeoOptions

    def __init__(self, options: Options | None = None, *, api_key: str | None = None) -> None:
        super().__init__(options, api_key=api_key)
        self._gemini: GeminiVeoClient | None = None

    @property
    def vopts(self) -> VeoOptions:
        assert isinstance(self.options, VeoOptions)
        return self.options

    @property
    def gemini_route(self) -> bool:
        return self.vopts.api == "gemini"

    def needs_key(self) -> bool:
        return not (self.vopts.api == "vertex" and self.vopts.project)

    def sdk_missing(self) -> str | None:
        if self.gemini_route:  # plain httpx: no google-genai needed (nor a version of it)
            return None
        return super().sdk_missing()

    def packages_needed(self) -> tuple[str, ...]:
        return () if self.gemini_route else tuple(self.packages)  # doctor: the Gemini route needs no extra

    def client(self) -> Any:
        """The route's client: a google-genai Client (Vertex) or a GeminiVeoClient (Gemini API)."""
        if self.gemini_route:
            plain = self.http()  # before lazy(): its lock is not re-entrant
            return self.lazy("_gemini", lambda: GeminiVeoClient(self.api_key(), self.opts.base_url,
                                                                  self.opts.request_timeout_s, plain,
                                                                  self.key_hint()))

        def build() -> Any:
            try:
                from google import genai
                from google.genai import types
            except ImportError:
                raise BackendError("veo: the google-genai package is missing", hint="pip install 'ttv[remote]'",
                                   kind="backend", code="missing-extra") from None
            http = types.HttpOptions(base_url=self.opts.base_url, timeout=int(self.opts.request_timeout_s * 1000))
            o = self.vopts
            if o.project:
                return genai.Client(vertexai=True, project=o.project, location=o.location or "us-central1",
                                    http_options=http)
            return genai.Client(vertexai=True, api_key=self.api_key(), http_options=http)

        return self.lazy("_client", build)

    def close(self) -> None:
        self.drop("_http", "_client", "_gemini")

    def translate(self, exc: Exception, what: str) -> BackendError:
        try:
            from google.genai import errors as gerrors
        except ImportError:  # the Gemini route runs without google-genai
            return super().translate(exc, what)

        if isinstance(exc, gerrors.APIError):
            headers = getattr(getattr(exc, "response", None), "headers", None)
            msg = f"{exc.status or ''} {exc.message or ''}".strip()
            err = classify_http(self.name, int(exc.code or 0), msg, dict(headers) if headers else None, what=what)
            if isinstance(err, AuthError):  # the two Vertex modes take different credentials
                o = self.vopts
                if o.project:
                    err.hint = (f"check Application Default Credentials (`gcloud auth application-default login`) "
                                f"and Vertex AI access in project {o.project}")
                else:
                    err.hint = (f"api = \"vertex\" without a project needs a Vertex AI express-mode key "
                                f"({self.key_hint()}); an AI Studio key needs api = \"gemini\"")
            return err
        name = type(exc).__name__.lower()
        if "timeout" in name or "connect" in name or "transport" in name:
            return network_error(self.name, exc, what=what)
        return super().translate(exc, what)

    def validate_inputs(self, request: VideoRequest) -> None:
        super().validate_inputs(request)
        allowed = resolutions(self.opts.model)
        res = self.vopts.resolution
        if res not in allowed:
            raise InputRejected(f"veo {self.opts.model}: resolution {res} is not allowed; allowed: {', '.join(allowed)}")
        ratio = self.resolve_ratio(request)[0]
        if self.opts.model.startswith("veo-3.0") and res == "1080p" and ratio != "16:9":
            raise InputRejected(f"veo {self.opts.model}: 1080p is for 16:9 only; allowed for {ratio}: 720p")
        if self.vopts.generate_audio and not self.spec().supports_audio:
            raise InputRejected(f"veo {self.opts.model}: no audio; models with audio: "
                                f"{', '.join(m for m, s in MODELS.items() if s.supports_audio)}")

    def price_variant(self, request: VideoRequest) -> str | None:
        return None if self.vopts.resolution == "720p" else self.vopts.resolution

    def estimated_seconds(self, request: VideoRequest) -> float:
        return 90.0  # "Min 11 s, max 6 min at peak" (Gemini docs)

    def _parameters(self, request: VideoRequest) -> dict[str, Any]:
        """GenerateVideosConfig fields both routes share (snake_case; the Gemini route sends camelCase)."""
        spec = self.spec()
        o = self.vopts
        config: dict[str, Any] = {"number_of_videos": 1, "duration_seconds": int(round(request.duration)),
                                  "aspect_ratio": self.resolve_ratio(request)[0]}
        if not spec.id.startswith("veo-2"):
            config["resolution"] = o.resolution
        if spec.supports_negative_prompt and request.negative_prompt:
            config["negative_prompt"] = request.negative_prompt
        if o.person_generation:
            config["person_generation"] = o.person_generation
        if o.enhance_prompt is not None:
            config["enhance_prompt"] = o.enhance_prompt
        return config

    def extension_for(self, request: VideoRequest, *, check_validity: bool = True) -> tuple[Extension | None, str]:
        """Vertex: the previous clip's bytes (1-30 s). Gemini API: only an earlier Veo result of this key,
        by the file URI in its record, while the API still keeps the file (2 days)."""
        if not self.gemini_route:
            return super().extension_for(request, check_validity=check_validity)
        prev = request.previous
        assert prev is not None
        uri = str(prev.info.get("video_uri") or "")
        if not uri or prev.backend != self.name:
            return None, (f"veo (Gemini API) extends only its own results, by file URI; {prev.path.name} has none "
                          "(made by another backend or route): chaining from its last frame")
        if check_validity and _age_seconds(prev.finished_at) > GEMINI_FILE_KEPT_S:
            return None, (f"veo: the Gemini API copy of {prev.path.name} has expired (kept 2 days): "
                          "chaining from its last frame")
        ext, note = super().extension_for(request, check_validity=check_validity)
        if ext is not None:
            ext.uri = uri
        return ext, note

    def max_extension_input_s(self) -> float | None:
        return GEMINI_MAX_INPUT_S if self.gemini_route else super().max_extension_input_s()

    def _extension_submit(self, request: VideoRequest, ext: Extension) -> str:
        """Extension: the input video (Vertex: bytes; Gemini API: its own file URI) and the prompt; 720p, +7 s."""
        spec = self.spec()
        if self.gemini_route:
            assert ext.uri is not None
            body = gemini_request_body(request.prompt, video_uri=ext.uri,
                                       parameters={"resolution": "720p"})  # google-genai 2.x's extension body
            client: GeminiVeoClient = self.client()
            return client.submit(spec.id, body)
        from google.genai import types

        config: dict[str, Any] = {"number_of_videos": 1, "resolution": "720p", "seed": int(request.seed) % 4294967296}
        source = types.GenerateVideosSource(prompt=request.prompt,
                                            video=types.Video(video_bytes=ext.source.read_bytes(), mime_type="video/mp4"))
        genai_client = self.client()
        with self.calling("submit"):
            op = genai_client.models.generate_videos(model=spec.id, source=source,
                                                     config=types.GenerateVideosConfig(**config))
        if not op.name:
            raise BackendError("veo: submit returned no operation name", kind="retryable", code="bad-reply")
        return str(op.name)

    def submit(self, request: VideoRequest) -> str:
        from ttv.backends.remote.common import inspect_image

        ext = self.extending(request)
        if ext is not None:
            return self._extension_submit(request, ext)
        spec = self.spec()
        images: dict[str, tuple[Path, str]] = {}
        if request.first_image is not None:
            images["image"] = (request.first_image, inspect_image(request.first_image, provider=self.name).mime)
        if self.use_end_frame(request):
            assert request.last_image is not None
            images["last_frame"] = (request.last_image, inspect_image(request.last_image, provider=self.name,
                                                                      role="end image").mime)
        config = self._parameters(request)
        if self.gemini_route:
            # Seed and audio are left out: google-genai refuses them in this mode (Veo 3.x makes audio anyway).
            camel = {"number_of_videos": "sampleCount", "duration_seconds": "durationSeconds",
                     "aspect_ratio": "aspectRatio", "resolution": "resolution", "negative_prompt": "negativePrompt",
                     "person_generation": "personGeneration", "enhance_prompt": "enhancePrompt"}
            first, last = images.get("image"), images.get("last_frame")
            body = gemini_request_body(request.prompt, image=inline_image(*first) if first else None,
                                       last_frame=inline_image(*last) if last else None,
                                       parameters={camel[k]: v for k, v in config.items()})
            client: GeminiVeoClient = self.client()
            return client.submit(spec.id, body)
        from google.genai import types

        config["seed"] = int(request.seed) % 4294967296
        if spec.supports_audio:
            config["generate_audio"] = self.vopts.generate_audio
        source: dict[str, Any] = {"prompt": request.prompt}
        if "image" in images:
            source["image"] = types.Image(image_bytes=images["image"][0].read_bytes(), mime_type=images["image"][1])
        if "last_frame" in images:
            path, mime = images["last_frame"]
            config["last_frame"] = types.Image(image_bytes=path.read_bytes(), mime_type=mime)
        genai_client = self.client()
        with self.calling("submit"):
            op = genai_client.models.generate_videos(model=spec.id, source=types.GenerateVideosSource(**source),
                                                     config=types.GenerateVideosConfig(**config))
        if not op.name:
            raise BackendError("veo: submit returned no operation name", kind="retryable", code="bad-reply")
        return str(op.name)

    def poll_once(self, job_id: str) -> JobState:
        if self.gemini_route:
            client: GeminiVeoClient = self.client()
            return parse_gemini_operation(job_id, client.operation(job_id))
        from google.genai import types

        genai_client = self.client()
        with self.calling("poll"):
            op = genai_client.operations.get(types.GenerateVideosOperation.model_validate({"name": job_id}))
        if not op.done:
            return JobState(job_id, "running", provider_status="running")
        if op.error:
            op_err = classify_operation_error(job_id, dict(op.error))
            status = "cancelled" if op_err.code == "CANCELLED" else "failed"
            return JobState(job_id, status, provider_status="error", error=op_err)  # type: ignore[arg-type]
        response = op.response
        videos = list(getattr(response, "generated_videos", None) or [])
        if not videos or videos[0].video is None:
            err = no_video_error(job_id, getattr(response, "rai_media_filtered_reasons", None),
                                 getattr(response, "rai_media_filtered_count", None))
            return JobState(job_id, "failed", provider_status="done", error=err)
        video = videos[0].video
        return JobState(job_id, "succeeded", provider_status="done",
                        payload={"bytes": video.video_bytes, "uri": getattr(video, "uri", None)})

    def fetch_output(self, state: JobState, dest: Path) -> None:
        payload = state.payload if isinstance(state.payload, dict) else {}
        data = payload.get("bytes")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not data and payload.get("uri"):
            if not self.gemini_route:
                raise DownloadError("veo: the result is a storage URI; ttv expects inline bytes (no output_gcs_uri)")
            client: GeminiVeoClient = self.client()
            client.download(str(payload["uri"]), dest)  # a cut-off or partial file is caught by the mp4 check
            return
        if not data:
            raise DownloadError("veo: the finished operation holds no video bytes")
        with open(dest, "wb") as f:
            f.write(data)

    def cancel(self, job_id: str) -> None:
        raise BackendError("veo: ttv has no cancel call for Veo operations; the job runs to the end",
                           kind="backend", code="cancel-unsupported")
