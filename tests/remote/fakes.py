"""Fake provider servers on 127.0.0.1 that speak each provider's protocol, for the real SDKs.

Every fake shares one job model, scripted per test:

    fake.script = ["queued", "throttled", "running:0.5", "succeeded"]   # one step per status poll
    fake.script = ["running:0.2", "failed:SAFETY.INPUT.TEXT"]
    fake.latency = 0.5          # instead of a script: running until 0.5 s (real time) after submit
    fake.inject("POST", "/v1/image_to_video", 429, {"Retry-After": "7"})   # one-shot HTTP errors
    fake.expire_urls = 1        # the first N result URLs handed out answer 403 (expired)
    fake.truncate = 1           # the first N downloads are cut in half (consistent, corrupt file)
    fake.drop = 1               # the first N downloads close the connection mid-body

and records what the SDK sent: `fake.requests`, `fake.submissions`, `fake.polls`, `fake.cancels`.
Videos are real H.264 mp4s of the requested duration, made once per duration with the
imageio-ffmpeg binary (see `VideoFactory`).
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakeserver import LoopbackServer


class VideoFactory:
    """Tiny test mp4s by duration, cached on disk for the session."""

    def __init__(self, folder: Path, fps: int = 24, size: str = "64x36") -> None:
        self.folder = folder
        self.fps = fps
        self.size = size
        self._lock = threading.Lock()
        self._cache: dict[float, bytes] = {}

    def get(self, duration: float) -> bytes:
        import imageio_ffmpeg

        with self._lock:
            if duration not in self._cache:
                out = self.folder / f"clip-{duration:g}s.mp4"
                cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                       "-i", f"testsrc=size={self.size}:rate={self.fps}:duration={duration:g}",
                       "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
                       str(out)]
                subprocess.run(cmd, check=True, capture_output=True)
                self._cache[duration] = out.read_bytes()
            return self._cache[duration]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes -> raw
    headers: dict[str, str] = field(default_factory=dict)
    drop_after: int | None = None  # send this many body bytes, then close the connection
    hang_up: bool = False  # close the connection without any answer (a reset after the request was taken)
    delay: float = 0.0  # seconds to wait before answering (a slow provider, a submit timeout)


@dataclass
class FakeJob:
    id: str
    args: dict[str, Any]
    created: float
    duration: float
    script: list[str]
    step: int = 0
    cancelled: bool = False
    url_serial: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def advance(self, latency: float | None) -> str:
        """The job's status for this poll: one script step per poll, or real-time latency."""
        if self.cancelled:
            return "cancelled"
        if latency is not None:
            return "succeeded" if time.monotonic() - self.created >= latency else "running:0.5"
        status = self.script[min(self.step, len(self.script) - 1)]
        self.step += 1
        return status

    def peek(self) -> str:
        return "cancelled" if self.cancelled else self.script[min(max(self.step - 1, 0), len(self.script) - 1)]


class FakeProvider(LoopbackServer):
    """Base: HTTP server, request log, auth check, job table, result files."""

    auth_header = "authorization"
    auth_prefix = "Bearer "

    def __init__(self, videos: VideoFactory, key: str) -> None:
        self.videos = videos
        self.key = key
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.jobs: dict[str, FakeJob] = {}
        self.script: list[str] = ["queued", "running:0.5", "succeeded"]
        self.latency: float | None = None
        self.expire_urls = 0
        self.truncate = 0
        self.drop = 0
        self.submissions = 0
        self.lose_submits = 0  # the next N submits create a job, then hang up without answering
        self.submit_delay = 0.0  # each submit creates its job, then answers this many seconds late
        self.polls = 0
        self.cancels = 0
        self.downloads = 0
        self._injected: list[tuple[str, str, Reply, list[int]]] = []
        self._serial = 0
        self._issued_urls = 0
        super().__init__(self._handler_class())

    # -- scripting -----------------------------------------------------------------------------------

    def inject(self, method: str, path_regex: str, status: int, headers: dict[str, str] | None = None,
               body: Any = None, times: int = 1) -> None:
        """Answer the next `times` matching requests with this error instead of the normal reply."""
        self._injected.append((method.upper(), path_regex, Reply(status, body if body is not None else
                                                                 {"error": f"injected {status}"}, headers or {}),
                               [times]))

    def new_job(self, args: dict[str, Any], duration: float, prefix: str = "job") -> FakeJob:
        with self.lock:
            self._serial += 1
            self.submissions += 1
            job = FakeJob(f"{prefix}{self._serial}", args, time.monotonic(), duration, list(self.script))
            self.jobs[job.id] = job
            return job

    def submit_reply(self, reply: Reply) -> Reply:
        """The answer to a submit whose job exists already: maybe lost or late (see lose_submits)."""
        with self.lock:
            lose = self.lose_submits > 0
            self.lose_submits -= 1 if lose else 0
        if lose:
            return Reply(hang_up=True)
        reply.delay = self.submit_delay
        return reply

    def result_url(self, job: FakeJob) -> str:
        with self.lock:
            self._issued_urls += 1
            job.url_serial += 1
            expired = self._issued_urls <= self.expire_urls
        token = ("x" if expired else "t") + str(job.url_serial)
        return f"{self.url}/files/{job.id}/{token}.mp4"

    def serve_file(self, path: str) -> Reply:
        m = re.fullmatch(r"/files/([^/]+)/([xt])\d+\.mp4", path)
        if not m or m.group(1) not in self.jobs:
            return Reply(404, {"error": "no such file"})
        if m.group(2) == "x":
            return Reply(403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
                         {"Content-Type": "application/xml"})
        return self.video_reply(self.jobs[m.group(1)].duration)

    def video_reply(self, duration: float) -> Reply:
        """The mp4 of a finished job; the first `truncate` downloads come back cut in half, the next
        `drop` ones lose the connection a third of the way through."""
        data = self.videos.get(duration)
        with self.lock:
            self.downloads += 1
            n = self.downloads
        if n <= self.truncate:
            return Reply(200, data[: len(data) // 2], {"Content-Type": "video/mp4"})
        if n <= self.truncate + self.drop:
            return Reply(200, data, {"Content-Type": "video/mp4"}, drop_after=len(data) // 3)
        return Reply(200, data, {"Content-Type": "video/mp4"})

    def authorized(self, headers: dict[str, str]) -> bool:
        return headers.get(self.auth_header) == f"{self.auth_prefix}{self.key}"

    # -- dispatch ------------------------------------------------------------------------------------

    def dispatch(self, rec: Recorded) -> Reply:
        with self.lock:
            self.requests.append(rec)
            for method, regex, reply, left in self._injected:
                if method == rec.method and re.search(regex, rec.path) and left[0] > 0:
                    left[0] -= 1
                    return reply
        if rec.path.startswith("/files/"):
            return self.serve_file(rec.path)
        if not self.authorized(rec.headers):
            return self.unauthorized()
        return self.route(rec)

    def unauthorized(self) -> Reply:
        return Reply(401, {"error": "bad key"})

    def route(self, rec: Recorded) -> Reply:  # pragma: no cover - subclasses
        raise NotImplementedError

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _do(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                ctype = self.headers.get("content-type") or ""
                body: Any = raw
                if raw and "json" in ctype:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = raw
                rec = Recorded(self.command, parts.path, parse_qs(parts.query),
                               {k.lower(): v for k, v in self.headers.items()}, body)
                reply = fake.dispatch(rec)
                if reply.hang_up:
                    self.close_connection = True
                    return
                if reply.delay:
                    time.sleep(reply.delay)
                if isinstance(reply.body, (bytes, bytearray)):
                    data = bytes(reply.body)
                    headers = {"Content-Type": "application/octet-stream", **reply.headers}
                elif reply.body is None:
                    data = b""
                    headers = dict(reply.headers)
                else:
                    data = json.dumps(reply.body).encode()
                    headers = {"Content-Type": "application/json", **reply.headers}
                self.send_response(reply.status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                if reply.drop_after is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                if reply.drop_after is not None:
                    self.wfile.write(data[: reply.drop_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _do

        return Handler


def _progress(step: str) -> float | None:
    return float(step.split(":", 1)[1]) if ":" in step else None


# ----------------------------------------------------------------------------------------------------


class RunwayFake(FakeProvider):
    """POST /v1/image_to_video | /v1/text_to_video, GET/DELETE /v1/tasks/{id}, POST /v1/uploads."""

    STATUS = {"queued": "PENDING", "throttled": "THROTTLED", "running": "RUNNING", "succeeded": "SUCCEEDED",
              "failed": "FAILED", "cancelled": "CANCELLED"}

    extend_returns_input = True  # video_to_video mode=extend: the result is input + added footage

    def route(self, rec: Recorded) -> Reply:
        if rec.method == "POST" and rec.path in ("/v1/image_to_video", "/v1/text_to_video"):
            body = rec.body if isinstance(rec.body, dict) else {}
            new = self.new_job(body, float(body.get("duration", 5)), prefix="task-")
            return self.submit_reply(Reply(200, {"id": new.id, "estimatedCost": {"credits": 5 * new.duration}}))
        if rec.method == "POST" and rec.path == "/v1/video_to_video":
            body = rec.body if isinstance(rec.body, dict) else {}
            if body.get("mode") != "extend":
                return Reply(400, {"error": "only mode=extend is modelled"})
            uri = str(body.get("videoUri") or body.get("promptVideo") or "")
            seconds = VeoFake.video_seconds(base64.b64decode(uri.split(",", 1)[1])) if uri.startswith("data:") else 5.0
            added = float(body.get("duration", 5))
            # Whether Runway's extension returns the input too is not documented: both are modelled.
            new = self.new_job(body, seconds + added if self.extend_returns_input else added, prefix="task-")
            return self.submit_reply(Reply(200, {"id": new.id, "estimatedCost": {"credits": 5 * added}}))
        if rec.method == "POST" and rec.path == "/v1/uploads":
            return Reply(200, {"uploadUrl": f"{self.url}/upload-bucket", "fields": {"key": "u1"},
                               "runwayUri": "runway://uploads/u1"})
        m = re.fullmatch(r"/v1/tasks/([^/]+)", rec.path)
        if m:
            job = self.jobs.get(m.group(1))
            if job is None:
                return Reply(404, {"error": "Task not found"})
            if rec.method == "DELETE":
                self.cancels += 1
                job.cancelled = True
                return Reply(204, None)
            self.polls += 1
            step = job.advance(self.latency)
            name = step.split(":", 1)[0]
            base = {"id": job.id, "status": self.STATUS[name], "createdAt": "2026-11-27T10:00:00Z"}
            if name in ("queued", "throttled"):
                return Reply(200, {**base, "estimatedCost": {"credits": 5 * job.duration}})
            if name == "running":
                return Reply(200, {**base, "estimatedCost": {"credits": 5 * job.duration},
                                   "progress": _progress(step) or 0.0})
            if name == "succeeded":
                return Reply(200, {**base, "cost": {"credits": 5 * job.duration}, "output": [self.result_url(job)]})
            if name == "failed":
                code = step.split(":", 1)[1] if ":" in step else "INTERNAL"
                return Reply(200, {**base, "cost": {"credits": 0}, "failure": f"failed with {code}",
                                   "failureCode": code})
            return Reply(200, {**base, "cost": {"credits": 0}})
        return Reply(404, {"error": f"no route {rec.method} {rec.path}"})

    def dispatch(self, rec: Recorded) -> Reply:
        if rec.path == "/upload-bucket":  # the pre-signed upload target takes no API key
            with self.lock:
                self.requests.append(rec)
            return Reply(204, None)
        return super().dispatch(rec)


class VeoFake(FakeProvider):
    """Google Veo, both routes ttv takes (the fake answers whichever it is sent):

    * Vertex (express or project mode): POST /v1beta1/[projects/P/locations/L/]publishers/google/models/{m}
      :predictLongRunning, then POST ...:fetchPredictOperation {operationName}; the done response
      holds the video inline (base64 `bytesBase64Encoded`).
    * Gemini Developer API (ttv's httpx client, with the wire format google-genai 2.x sends; v1 is
      answered too): POST /v1beta/models/{m}:predictLongRunning -> {"name": "models/{m}/operations/{id}"},
      then GET /v1beta/models/{m}/operations/{id}; the done response holds
      generateVideoResponse.generatedSamples[0].video.uri, a file URI the client fetches with
      GET /v1beta/files/{file id}:download?alt=media (key in x-goog-api-key; the fake answers any
      file id it handed out, so the URI's host does not matter). `expire_urls` makes the first N
      file ids answer 403 PERMISSION_DENIED "... or it may not exist" (modelled on the Files API's answer
      for a missing file; what the real API answers for an expired video is unverified); `truncate` / `drop` apply to the file downloads (Vertex: `truncate` to the inline bytes).
      `file_redirect = True`: a file download answers 302 to a storage URL under /files/ instead.
    """

    auth_header = "x-goog-api-key"
    auth_prefix = ""
    FILE_HOST = "https://generativelanguage.googleapis.com"

    def __init__(self, videos: VideoFactory, key: str) -> None:
        super().__init__(videos, key)
        self.files: dict[str, tuple[FakeJob, bool]] = {}  # Developer-API file id -> (job, expired)
        self.file_redirect = False  # True: file downloads answer 302 to a keyless storage URL (/files/...)
        self.gone_files: set[str] = set()  # file ids no longer kept (an extension of them answers 400)

    EXTEND_S = 7.0  # Veo 3.1 extension: +7 s, returned after the input

    @staticmethod
    def video_seconds(data: bytes) -> float:
        import av

        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.video[0]
            return round(sum(1 for _ in container.decode(stream)) / float(stream.average_rate), 3)

    def unauthorized(self) -> Reply:
        return Reply(401, {"error": {"code": 401, "message": "API key not valid", "status": "UNAUTHENTICATED"}})

    @staticmethod
    def not_found(message: str) -> Reply:
        return Reply(404, {"error": {"code": 404, "message": message, "status": "NOT_FOUND"}})

    def poll_operation(self, name: str) -> tuple[FakeJob, str] | Reply:
        """(job, scripted step) of the operation named `name`, advanced one poll; a 404 reply when unknown."""
        job = self.jobs.get(name.rsplit("/", 1)[-1])
        if job is None:
            return self.not_found("operation not found")
        self.polls += 1
        return job, job.advance(self.latency)

    def route(self, rec: Recorded) -> Reply:
        m = re.fullmatch(r"/(v1beta|v1)/(models/[^/:]+(?::predictLongRunning|/operations/[^/:]+)|files/[^/:]+:download)",
                         rec.path)
        if m:
            return self.route_gemini(rec, m.group(2))
        m = re.fullmatch(r"/v1beta1/(?:projects/[^/]+/locations/[^/]+/)?publishers/google/models/([^/:]+)"
                         r":(predictLongRunning|fetchPredictOperation)", rec.path)
        if not m or rec.method != "POST":
            return self.not_found(f"no route {rec.method} {rec.path}")
        model, verb = m.groups()
        body = rec.body if isinstance(rec.body, dict) else {}
        if verb == "predictLongRunning":
            params = body.get("parameters", {})
            video = (body.get("instances") or [{}])[0].get("video")
            if isinstance(video, dict):  # extension: the result is the input followed by 7 new seconds
                data = base64.b64decode(video.get("bytesBase64Encoded", ""))
                new = self.new_job(body, self.video_seconds(data) + self.EXTEND_S, prefix="op")
                return Reply(200, {"name": f"publishers/google/models/{model}/operations/{new.id}"})
            new = self.new_job(body, float(params.get("durationSeconds", 8)), prefix="op")
            return Reply(200, {"name": f"publishers/google/models/{model}/operations/{new.id}"})
        name = str(body.get("operationName", ""))
        polled = self.poll_operation(name)
        if isinstance(polled, Reply):
            return polled
        job, step = polled
        kind = step.split(":", 1)[0]
        if kind in ("queued", "throttled", "running"):
            return Reply(200, {"name": name, "done": False})
        if kind == "succeeded":
            data = self.videos.get(job.duration)
            with self.lock:
                self.downloads += 1
                n = self.downloads
            if n <= self.truncate:
                data = data[: len(data) // 2]
            return Reply(200, {"name": name, "done": True, "response": {
                "@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
                "videos": [{"bytesBase64Encoded": base64.b64encode(data).decode(), "mimeType": "video/mp4"}]}})
        if kind == "failed":
            arg = step.split(":", 1)[1] if ":" in step else "13"
            if arg == "RAI":
                return Reply(200, {"name": name, "done": True, "response": {
                    "raiMediaFilteredCount": 1, "raiMediaFilteredReasons": ["violates the usage guidelines"]}})
            return Reply(200, {"name": name, "done": True, "error": {"code": int(arg), "message": f"failed {arg}"}})
        return Reply(200, {"name": name, "done": True, "error": {"code": 1, "message": "cancelled"}})

    def route_gemini(self, rec: Recorded, rest: str) -> Reply:
        if rest.endswith(":predictLongRunning"):
            if rec.method != "POST":
                return self.not_found(f"no route {rec.method} {rec.path}")
            body = rec.body if isinstance(rec.body, dict) else {}
            params = body.get("parameters", {})
            if "seed" in params or "generateAudio" in params:  # google-genai refuses them in this mode; so does the fake
                return Reply(400, {"error": {"code": 400, "message": "seed/generateAudio isn't supported by this model",
                                             "status": "INVALID_ARGUMENT"}})
            video = (body.get("instances") or [{}])[0].get("video")
            if isinstance(video, dict):  # extension of an earlier result of ours, by its file URI
                m = re.search(r"files/([^/:?]+)", str(video.get("uri", "")))
                known = self.files.get(m.group(1)) if m else None
                if known is None or m is None or m.group(1) in self.gone_files:
                    return Reply(400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message":
                                                 "The input video was not found or has expired."}})
                new = self.new_job(body, known[0].duration + self.EXTEND_S, prefix="op")
                return Reply(200, {"name": f"{rest.split(':', 1)[0]}/operations/{new.id}"})
            new = self.new_job(body, float(params.get("durationSeconds", 8)), prefix="op")
            return Reply(200, {"name": f"{rest.split(':', 1)[0]}/operations/{new.id}"})
        if rest.startswith("files/"):
            file_id = rest[len("files/"):].split(":", 1)[0]
            if rec.method != "GET" or rec.query.get("alt") != ["media"] or file_id not in self.files:
                return self.not_found(f"no file {file_id}")
            job, expired = self.files[file_id]
            if self.file_redirect:  # to the base class's storage URLs (same expiry, truncate and drop rules)
                token = ("x" if expired else "t") + file_id.rsplit("v", 1)[1]
                return Reply(302, None, {"Location": f"{self.url}/files/{job.id}/{token}.mp4"})
            if expired:
                return Reply(403, {"error": {"code": 403, "status": "PERMISSION_DENIED", "message":
                                             f"You do not have permission to access the File {file_id} or it may "
                                             "not exist."}})
            return self.video_reply(job.duration)
        if rec.method != "GET":
            return self.not_found(f"no route {rec.method} {rec.path}")
        polled = self.poll_operation(rest)
        if isinstance(polled, Reply):
            return polled
        job, step = polled
        kind = step.split(":", 1)[0]
        if kind in ("queued", "throttled", "running"):
            return Reply(200, {"name": rest})  # proto3 JSON: `done` is left out while false
        typ = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"
        if kind == "succeeded":
            with self.lock:
                self._issued_urls += 1
                job.url_serial += 1
                expired = self._issued_urls <= self.expire_urls
                file_id = f"{job.id}v{job.url_serial}"
                self.files[file_id] = (job, expired)
            return Reply(200, {"name": rest, "done": True, "response": {"@type": typ, "generateVideoResponse": {
                "generatedSamples": [{"video": {"uri": f"{self.FILE_HOST}/v1beta/files/{file_id}:download?alt=media"}}]}}})
        if kind == "failed":
            arg = step.split(":", 1)[1] if ":" in step else "13"
            if arg == "RAI":
                return Reply(200, {"name": rest, "done": True, "response": {"@type": typ, "generateVideoResponse": {
                    "raiMediaFilteredCount": 1, "raiMediaFilteredReasons": ["violates the usage guidelines"]}}})
            return Reply(200, {"name": rest, "done": True, "error": {"code": int(arg), "message": f"failed {arg}"}})
        return Reply(200, {"name": rest, "done": True, "error": {"code": 1, "message": "cancelled"}})


class FalFake(FakeProvider):
    """Queue API: POST /{app}; GET /{owner}/{alias}/requests/{id}/status; GET .../{id}; PUT .../cancel."""

    auth_prefix = "Key "

    extend_returns_input = True  # POST {owner}/{app}/extend-video: the result is the input + the added footage

    def route(self, rec: Recorded) -> Reply:
        m = re.fullmatch(r"/([^/]+)/([^/]+)/requests/([^/]+)(/status|/cancel)?", rec.path)
        if m:
            job = self.jobs.get(m.group(3))
            if job is None:
                return Reply(404, {"detail": "Request not found"})
            tail = m.group(4)
            if tail == "/cancel" and rec.method == "PUT":
                self.cancels += 1
                job.cancelled = True
                return Reply(202, {"status": "CANCELLATION_REQUESTED"})
            if tail == "/status":
                self.polls += 1
                step = job.advance(self.latency)
                kind = step.split(":", 1)[0]
                job.extra["last"] = step
                if kind in ("queued", "throttled"):
                    return Reply(200, {"status": "IN_QUEUE", "queue_position": 2})
                if kind == "running":
                    return Reply(200, {"status": "IN_PROGRESS", "logs": [{"message": "step 10/30"}]})
                if kind == "failed":
                    arg = step.split(":", 1)[1] if ":" in step else "runner_server_error"
                    return Reply(200, {"status": "COMPLETED", "logs": [], "metrics": {},
                                       "error": f"failed: {arg}", "error_type": arg})
                if kind == "cancelled":
                    return Reply(200, {"status": "COMPLETED", "logs": [], "metrics": {},
                                       "error": "Request was cancelled", "error_type": "request_cancelled"})
                return Reply(200, {"status": "COMPLETED", "logs": [], "metrics": {"inference_time": 1.0}})
            if rec.method == "GET":
                last = job.extra.get("last", "")
                if last.startswith("failed:") and last.endswith("422"):
                    return Reply(422, {"detail": [{"loc": ["body", "image_url"], "msg": "bad image",
                                                   "type": "value_error"}]})
                return Reply(200, {"video": {"url": self.result_url(job), "content_type": "video/mp4",
                                             "file_name": "out.mp4", "file_size": 1000}, "seed": 1})
        if rec.method == "POST":
            app = rec.path.strip("/")
            owner, alias = app.split("/")[:2]
            body = rec.body if isinstance(rec.body, dict) else {}
            video = body.get("video_url")
            if isinstance(video, str) and app.endswith("extend-video"):
                seconds = VeoFake.video_seconds(base64.b64decode(video.split(",", 1)[1]))
                added = 7.0 if app.startswith("fal-ai/veo3.1") else float(body.get("duration", 5))
                new = self.new_job({"app": app, **body}, seconds + added if self.extend_returns_input else added,
                                   prefix="req-")
                base = f"{self.url}/{owner}/{alias}/requests/{new.id}"
                return Reply(200, {"request_id": new.id, "response_url": base, "status_url": base + "/status",
                                   "cancel_url": base + "/cancel", "queue_position": 0})
            if "num_frames" in body:
                duration = (int(body["num_frames"]) - 1) / float(body.get("frames_per_second", 16))
            else:
                duration = float(body.get("duration", 5))
            new = self.new_job({"app": app, **body}, duration, prefix="req-")
            base = f"{self.url}/{owner}/{alias}/requests/{new.id}"
            return self.submit_reply(Reply(200, {"request_id": new.id, "response_url": base,
                                                 "status_url": base + "/status", "cancel_url": base + "/cancel",
                                                 "queue_position": 0}))
        return Reply(404, {"detail": f"no route {rec.method} {rec.path}"})


class MiniMaxFake(FakeProvider):
    """v1: POST /v1/video_generation, GET /v1/query/video_generation, GET /v1/files/retrieve."""

    STATUS = {"queued": "Queueing", "throttled": "Preparing", "running": "Processing", "succeeded": "Success",
              "failed": "Fail", "cancelled": "Fail"}

    @staticmethod
    def ok(**data: Any) -> Reply:
        return Reply(200, {**data, "base_resp": {"status_code": 0, "status_msg": "success"}})

    def unauthorized(self) -> Reply:  # MiniMax answers HTTP 200 with a base_resp error code
        return Reply(200, {"base_resp": {"status_code": 1004, "status_msg": "login fail: invalid api key"}})

    def route(self, rec: Recorded) -> Reply:
        if rec.method == "POST" and rec.path == "/v1/video_generation":
            body = rec.body if isinstance(rec.body, dict) else {}
            new = self.new_job(body, float(body.get("duration", 6)), prefix="")
            return self.ok(task_id=new.id)
        if rec.method == "GET" and rec.path == "/v1/query/video_generation":
            job = self.jobs.get((rec.query.get("task_id") or [""])[0])
            if job is None:
                return Reply(200, {"base_resp": {"status_code": 2013, "status_msg": "task not found"}})
            self.polls += 1
            step = job.advance(self.latency)
            kind = step.split(":", 1)[0]
            if kind == "failed":
                arg = step.split(":", 1)[1] if ":" in step else "1000"
                return Reply(200, {"task_id": job.id, "status": "Fail", "file_id": "",
                                   "base_resp": {"status_code": int(arg), "status_msg": f"failed {arg}"}})
            file_id = f"f{job.id}" if kind == "succeeded" else ""
            return self.ok(task_id=job.id, status=self.STATUS[kind], file_id=file_id,
                           video_width=1366 if file_id else 0, video_height=768 if file_id else 0)
        if rec.method == "GET" and rec.path == "/v1/files/retrieve":
            file_id = (rec.query.get("file_id") or [""])[0]
            job = self.jobs.get(file_id[1:])
            if job is None:
                return Reply(200, {"base_resp": {"status_code": 2013, "status_msg": "file not found"}})
            return self.ok(file={"file_id": file_id, "bytes": 1000, "filename": "out.mp4",
                                 "download_url": self.result_url(job)})
        return Reply(404, {"error": f"no route {rec.method} {rec.path}"})


FAKES: dict[str, Callable[[VideoFactory, str], FakeProvider]] = {
    "runway": RunwayFake, "veo": VeoFake, "fal": FalFake, "minimax": MiniMaxFake,
}
