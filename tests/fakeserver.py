"""Test doubles shared by the suites that talk to fake providers (remote, keyframes, planning, doctor,
estimate): a loopback HTTP server, a JobContext with a virtual clock, and key/price isolation.

Import as `from tests.fakeserver import ...` (pytest runs with `pythonpath = ["."]`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 (a free port) serving `handler` from a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, poll_interval: float = 0.05) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": poll_interval},
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeCtx:
    """A JobContext with a virtual clock: sleep() advances now() and never blocks."""

    def __init__(self, job_id: str | None = None) -> None:
        self.job_id = job_id
        self.remembered: list[tuple[str, dict[str, Any]]] = []
        self.progress_calls: list[dict[str, Any]] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.sleeps: list[float] = []
        self.clock = 1000.0

    def remember_job(self, job_id: str, **info: Any) -> None:
        self.remembered.append((job_id, info))
        self.job_id = job_id

    def progress(self, fraction: float | None = None, *, step: int | None = None, total: int | None = None,
                 status: str | None = None, message: str | None = None) -> None:
        self.progress_calls.append({"fraction": fraction, "status": status, "message": message})

    def event(self, type: str, **data: Any) -> None:
        self.events.append((type, data))

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock += seconds

    def now(self) -> float:
        return self.clock

    @property
    def statuses(self) -> list[str | None]:
        return [p["status"] for p in self.progress_calls]


class RecordingCtx:
    """A JobContext on the real clock that records progress and events (local and Ray backends);
    after `stop_after` denoising steps, progress raises `exc` the way the runner's context does on Ctrl-C."""

    def __init__(self, stop_after: int | None = None, exc: type[BaseException] = KeyboardInterrupt) -> None:
        self.job_id: str | None = None
        self.progress_calls: list[dict[str, Any]] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.stop_after = stop_after
        self.exc = exc

    def remember_job(self, job_id: str, **info: Any) -> None:
        self.job_id = job_id

    def progress(self, fraction: float | None = None, *, step: int | None = None, total: int | None = None,
                 status: str | None = None, message: str | None = None) -> None:
        self.progress_calls.append({"fraction": fraction, "step": step, "total": total, "status": status,
                                    "message": message})
        if self.stop_after is not None and len(self.steps()) >= self.stop_after:
            raise self.exc()

    def event(self, type: str, **data: Any) -> None:
        self.events.append((type, data))

    def sleep(self, seconds: float) -> None:
        pass

    def now(self) -> float:
        return time.monotonic()

    def steps(self) -> list[tuple[int, int]]:
        return [(c["step"], c["total"]) for c in self.progress_calls if c["status"] == "running"]


# Environment variables that would point a test at a real provider: keys, base URLs, cloud modes.
PROVIDER_ENV = (
    "RUNWAYML_API_SECRET", "RUNWAYML_BASE_URL", "GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_VERTEX_BASE_URL", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_ENTERPRISE", "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION", "GOOGLE_GENAI_API_VERSION", "FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET", "TTV_FAL_API_URL",
    "MINIMAX_API_KEY", "TTV_MINIMAX_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL",
)


@contextlib.contextmanager
def isolated_keys(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory,
                  key_vars: Iterable[str]) -> Iterator[None]:
    """For one test: a private TTV_HOME, none of `key_vars` (keys, base URLs) from the developer's
    environment, and no --key values or price overrides left by another test (before and after)."""
    from ttv.core import keys, prices

    for var in key_vars:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TTV_HOME", str(tmp_path_factory.mktemp("ttvhome")))
    keys._session.clear()
    prices.set_overrides({})
    yield
    keys._session.clear()
    prices.set_overrides({})
