"""Google Veo through `google-genai`: `models.generate_videos` + `operations.get`.

Routes (option `api`):

* `"vertex"` (default): Vertex AI. google-genai >= 3.0 runs Veo only in this mode.
  - Express mode: a Vertex API key in GOOGLE_API_KEY (or `ttv keys set google`), no project.
  - Project mode: `project = "my-project"`, `location = "us-central1"` and Application Default
    Credentials (`gcloud auth application-default login`); no API key needed.
  The video comes back inline (`bytesBase64Encoded`), so there is no result URL to expire.
* `"gemini"`: the Gemini Developer API with an AI Studio key (GEMINI_API_KEY or GOOGLE_API_KEY).
  Needs `pip install 'google-genai<3'` (tested with 2.30.0 and 2.34.0: `bash scripts/check_veo_gemini.sh`).
  google-genai 3.0-3.6 refuses `generate_videos` in this mode before sending anything, with no
  option to allow it; ttv reports that as a backend error (code "sdk-mode") with this hint.
  Requests: POST v1beta/models/M:predictLongRunning, GET v1beta/models/M/operations/ID, and the
  result is a file URI fetched with `files.download` (GET v1beta/files/ID:download?alt=media, key in
  the x-goog-api-key header, streamed to disk). The Gemini API keeps generated videos for 2 days,
  so a job resumed later than that cannot be downloaded. Seed and audio options are not sent in
  this mode (the SDK rejects them). The client is built with vertexai=False, so a
  GOOGLE_GENAI_USE_VERTEXAI=true in the environment does not send the AI Studio key to Vertex.

Job ids are operation names (Vertex: `[projects/p/locations/l/]publishers/google/models/M/operations/ID`;
Gemini API: `models/M/operations/ID`): `operations.get` derives the poll path from the name, so the
name alone resumes a job. Veo has no cancel call in the SDK: `cancel` raises (code
"cancel-unsupported"); the job finishes on its own. Cost comes from the price table (Veo reports
none). SDK retries are off (`retry_options` unset). The key travels only in request headers; error
messages are redacted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from ttv.backends.base import VideoRequest
from ttv.backends.remote.common import (
    DownloadError,
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
_PRICE_SOURCE = "litellm price table (providers.md B2)"
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

MODELS = model_specs(
    ModelSpec("veo-3.1-generate-001", ("t2v", "i2v", "flf2v"), _D, _RATIOS, _SIZES, supports_negative_prompt=True,
              supports_audio=True, default_concurrency=4, notes="720p/1080p/4k; first and last frame; audio"),
    ModelSpec("veo-3.1-generate-preview", ("t2v", "i2v", "flf2v"), _D, _RATIOS, _SIZES,
              supports_negative_prompt=True, supports_audio=True, default_concurrency=4, notes="720p/1080p/4k"),
    ModelSpec("veo-3.1-fast-generate-001", ("t2v", "i2v", "flf2v"), _D, _RATIOS, _SIZES,
              supports_negative_prompt=True, supports_audio=True, default_concurrency=4, notes="720p/1080p/4k"),
    ModelSpec("veo-3.1-fast-generate-preview", ("t2v", "i2v", "flf2v"), _D, _RATIOS, _SIZES,
              supports_negative_prompt=True, supports_audio=True, default_concurrency=4, notes="720p/1080p/4k"),
    ModelSpec("veo-3.1-lite-generate-preview", ("t2v", "i2v", "flf2v"), _D, _RATIOS, _SIZES,
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
    return BackendError(text, kind="backend", code=f"rpc-{code}")


class VeoOptions(RemoteOptions):
    model: str = "veo-3.1-fast-generate-001"
    poll_interval_s: float = Field(10.0, gt=0, le=600)
    api: Literal["vertex", "gemini"] = "vertex"
    project: str | None = Field(None, description="Vertex project (uses Application Default Credentials)")
    location: str | None = Field(None, description="Vertex location, e.g. us-central1 (with project)")
    resolution: Literal["720p", "1080p", "4k"] = "720p"
    generate_audio: bool = False
    person_generation: str | None = Field(None, description='"dont_allow" or "allow_adult"')
    enhance_prompt: bool | None = None


class VeoBackend(RemoteVideoBackend):
    name: ClassVar[str] = "veo"
    summary: ClassVar[str] = "Google Veo 3.x / 3.1 via google-genai (Vertex AI or Gemini API)"
    key_provider: ClassVar[KeyProvider] = GOOGLE_KEY
    price_provider: ClassVar[str] = "veo"
    price_rows = PRICE_ROWS
    key_check = staticmethod(live_google)
    packages = PACKAGES
    tested_versions = TESTED
    sdk_module: ClassVar[str | None] = "google.genai"
    MODELS = MODELS
    OptionsModel = VeoOptions

    @property
    def vopts(self) -> VeoOptions:
        assert isinstance(self.options, VeoOptions)
        return self.options

    def needs_key(self) -> bool:
        return not (self.vopts.api == "vertex" and self.vopts.project)

    def sdk_missing(self) -> str | None:
        missing = super().sdk_missing()
        if missing or self.vopts.api != "gemini":
            return missing
        # This route goes through google-genai, whose 3.x refuses generate_videos outside Vertex before sending
        # anything: say so before a run (doctor, availability), not as a failed clip. (A plain-REST Gemini route
        # needs no SDK at all and drops this check.)
        import importlib.metadata

        try:
            version = importlib.metadata.version("google-genai")
        except importlib.metadata.PackageNotFoundError:
            return None
        if int((version.split(".") + ["0"])[0] or 0) >= 3:
            return (f"google-genai {version} refuses Veo on the Gemini API (api = \"gemini\"): "
                    "pip install 'google-genai<3', or use api = \"vertex\"")
        return None

    def client(self) -> Any:
        def build() -> Any:
            try:
                from google import genai
                from google.genai import types
            except ImportError:
                raise BackendError("veo: the google-genai package is missing", hint="pip install 'ttv[remote]'",
                                   kind="backend", code="missing-extra") from None
            http = types.HttpOptions(base_url=self.opts.base_url, timeout=int(self.opts.request_timeout_s * 1000))
            o = self.vopts
            if o.api == "gemini":
                # vertexai=False: GOOGLE_GENAI_USE_VERTEXAI=true in the environment would otherwise send the
                # AI Studio key to Vertex. v1beta: the version the Gemini API serves Veo on (2.x's default).
                http.api_version = "v1beta"
                return genai.Client(vertexai=False, api_key=self.api_key(), http_options=http)
            if o.project:
                return genai.Client(vertexai=True, project=o.project, location=o.location or "us-central1",
                                    http_options=http)
            return genai.Client(vertexai=True, api_key=self.api_key(), http_options=http)

        return self.lazy("_client", build)

    def translate(self, exc: Exception, what: str) -> BackendError:
        from google.genai import errors as gerrors

        if isinstance(exc, gerrors.APIError):
            headers = getattr(getattr(exc, "response", None), "headers", None)
            msg = f"{exc.status or ''} {exc.message or ''}".strip()
            err = classify_http(self.name, int(exc.code or 0), msg, dict(headers) if headers else None, what=what)
            if isinstance(err, AuthError):  # the two routes take different credentials
                o = self.vopts
                if o.api == "gemini":
                    err.hint = f"api = \"gemini\" needs a Gemini API (AI Studio) key: {self.key_hint()}"
                elif o.project:
                    err.hint = (f"check Application Default Credentials (`gcloud auth application-default login`) "
                                f"and Vertex AI access in project {o.project}")
                else:
                    err.hint = (f"api = \"vertex\" without a project needs a Vertex AI express-mode key "
                                f"({self.key_hint()}); an AI Studio key needs api = \"gemini\"")
            return err
        if isinstance(exc, ValueError) and "only supported in" in str(exc):
            if "method is only supported" in str(exc):  # google-genai >= 3, api = "gemini"
                return BackendError(f"veo: {exc}", hint=("google-genai >= 3 runs Veo only on Vertex AI: set api = "
                                                         "\"vertex\" (express-mode key or project), or pip install "
                                                         "'google-genai<3' for the Gemini API"),
                                    kind="backend", code="sdk-mode")
            # A config field the SDK refuses in this mode (e.g. seed on the Gemini API).
            return BackendError(f"veo: {exc}", hint="drop that option, or use api = \"vertex\"", kind="backend",
                                code="sdk-option")
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

    def _image(self, path: Path) -> Any:
        from google.genai import types

        from ttv.backends.remote.common import inspect_image

        info = inspect_image(path, provider=self.name)
        return types.Image(image_bytes=path.read_bytes(), mime_type=info.mime)

    def submit(self, request: VideoRequest) -> str:
        from google.genai import types

        spec = self.spec()
        o = self.vopts
        vertex = o.api == "vertex"
        ratio = self.resolve_ratio(request)[0]
        config: dict[str, Any] = {"number_of_videos": 1, "duration_seconds": int(round(request.duration)),
                                  "aspect_ratio": ratio}
        if not spec.id.startswith("veo-2"):
            config["resolution"] = o.resolution
        if spec.supports_negative_prompt and request.negative_prompt:
            config["negative_prompt"] = request.negative_prompt
        if vertex:
            config["seed"] = int(request.seed) % 4294967296
            if spec.supports_audio:
                config["generate_audio"] = o.generate_audio
        if o.person_generation:
            config["person_generation"] = o.person_generation
        if o.enhance_prompt is not None:
            config["enhance_prompt"] = o.enhance_prompt
        source: dict[str, Any] = {"prompt": request.prompt}
        if request.first_image is not None:
            source["image"] = self._image(request.first_image)
        if self.use_end_frame(request):
            assert request.last_image is not None
            config["last_frame"] = self._image(request.last_image)
        client = self.client()
        with self.calling("submit"):
            op = client.models.generate_videos(model=spec.id, source=types.GenerateVideosSource(**source),
                                               config=types.GenerateVideosConfig(**config))
        if not op.name:
            raise BackendError("veo: submit returned no operation name", kind="retryable", code="bad-reply")
        return str(op.name)

    def poll_once(self, job_id: str) -> JobState:
        from google.genai import types

        client = self.client()
        with self.calling("poll"):
            op = client.operations.get(types.GenerateVideosOperation.model_validate({"name": job_id}))
        if not op.done:
            return JobState(job_id, "running", provider_status="running")
        if op.error:
            op_err = classify_operation_error(job_id, dict(op.error))
            status = "cancelled" if op_err.code == "CANCELLED" else "failed"
            return JobState(job_id, status, provider_status="error", error=op_err)  # type: ignore[arg-type]
        response = op.response
        videos = list(getattr(response, "generated_videos", None) or [])
        if not videos or videos[0].video is None:
            reasons = list(getattr(response, "rai_media_filtered_reasons", None) or [])
            count = getattr(response, "rai_media_filtered_count", None)
            if count or reasons:
                err: BackendError = BackendError(
                    f"veo: operation {job_id}: the video was filtered by Responsible AI checks: "
                    f"{keyring.redact('; '.join(reasons)) or count}"[:400],
                    hint="edit the prompt or keyframe, or let the fallback backend try", kind="backend",
                    code="RAI_FILTERED")
            else:
                err = BackendError(f"veo: operation {job_id} finished without a video", kind="retryable",
                                   code="no-video")
            return JobState(job_id, "failed", provider_status="done", error=err)
        video = videos[0].video
        state = JobState(job_id, "succeeded", provider_status="done", payload=video)
        if getattr(video, "uri", None):
            state.urls = [str(video.uri)]
        return state

    def fetch_output(self, state: JobState, dest: Path) -> None:
        video = state.payload
        data = getattr(video, "video_bytes", None)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not data and getattr(video, "uri", None):
            if self.vopts.api != "gemini":
                raise DownloadError("veo: the result is a storage URI; ttv expects inline bytes (no output_gcs_uri)")
            # Gemini API: GET {base}/v1beta/files/{id}:download?alt=media with the key (the SDK takes the id
            # from the URI), streamed to `dest`; a cut-off or partial file is caught by the mp4 check.
            try:
                self.client().files.download(file=video, destination=str(dest))
            except Exception as exc:
                err = self.translate(exc, "download")
                raise DownloadError(err.message, expired=err.code in ("403", "404")) from None
            return
        if not data:
            raise DownloadError("veo: the finished operation holds no video bytes")
        with open(dest, "wb") as f:
            f.write(data)

    def cancel(self, job_id: str) -> None:
        raise BackendError("veo: google-genai has no cancel call for video operations; the job runs to the end",
                           kind="backend", code="cancel-unsupported")
