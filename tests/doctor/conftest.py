"""Fixtures for `ttv doctor`: a stub torch, a stub NVML (`pynvml`), fake provider APIs on 127.0.0.1, projects.

By default every test runs with NVML absent and a CPU-only torch stub, so results do not depend on the
machine (and the real torch is never imported: tests stay fast).
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import tomli_w
from typer.testing import CliRunner

from tests.fakeserver import LoopbackServer

GiB = 1024 ** 3


def fake_torch(*, cuda: str | None = None, available: bool = False, devices: int = 0,
               version: str = "2.5.1+cpu") -> types.ModuleType:
    mod = types.ModuleType("torch")
    mod.__version__ = version  # type: ignore[attr-defined]
    mod.version = types.SimpleNamespace(cuda=cuda)  # type: ignore[attr-defined]
    mod.cuda = types.SimpleNamespace(is_available=lambda: available,  # type: ignore[attr-defined]
                                     device_count=lambda: devices)
    return mod


class NvmlError(Exception):
    pass


def fake_nvml(gpus: list[tuple[str, int]], *, driver: str = "550.54.15", cuda: int = 12040) -> types.ModuleType:
    """A stand-in for nvidia-ml-py: `gpus` is [(name, total bytes)]. Unsupported calls raise like NVML does."""
    mod = types.ModuleType("pynvml")

    def unsupported(*a: Any) -> Any:
        raise NvmlError("Not Supported")

    mod.NVML_TEMPERATURE_GPU = 0  # type: ignore[attr-defined]
    mod.NVML_CLOCK_SM = 1  # type: ignore[attr-defined]
    mod.nvmlInit = lambda: None  # type: ignore[attr-defined]
    mod.nvmlShutdown = lambda: None  # type: ignore[attr-defined]
    mod.nvmlSystemGetDriverVersion = lambda: driver.encode()  # type: ignore[attr-defined]
    mod.nvmlSystemGetCudaDriverVersion = lambda: cuda  # type: ignore[attr-defined]
    mod.nvmlDeviceGetCount = lambda: len(gpus)  # type: ignore[attr-defined]
    mod.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    mod.nvmlDeviceGetName = lambda h: gpus[h][0]  # type: ignore[attr-defined]
    mod.nvmlDeviceGetUUID = lambda h: f"GPU-{h:04d}"  # type: ignore[attr-defined]
    mod.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(  # type: ignore[attr-defined]
        total=gpus[h][1], used=GiB, free=gpus[h][1] - GiB)
    mod.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=3, memory=1)  # type: ignore[attr-defined]
    for name in ("nvmlDeviceGetTemperature", "nvmlDeviceGetPowerUsage", "nvmlDeviceGetEnforcedPowerLimit",
                 "nvmlDeviceGetPowerManagementLimit", "nvmlDeviceGetClockInfo"):
        setattr(mod, name, unsupported)
    return mod


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from ttv.core import media

    monkeypatch.delenv("TTV_DEBUG", raising=False)
    monkeypatch.setitem(sys.modules, "pynvml", None)  # NVML absent unless a test installs the stub
    monkeypatch.setitem(sys.modules, "torch", fake_torch())
    _clear_caches(media)  # keys, TTV_HOME and price overrides: isolated by tests/conftest.py
    yield
    _clear_caches(media)


def _clear_caches(media: Any) -> None:
    """ffmpeg discovery and the local backends' GPU-name probe are cached per process: start and end clean, so
    a simulated machine (no ffmpeg, stub torch) never leaks into another test."""
    from ttv.backends.local import common

    media._ffmpeg_source.cache_clear()
    media.ffmpeg_info.cache_clear()
    common.detect_gpu_name.cache_clear()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write_project(root: Path, *, segments: int = 2, **config: Any) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    cfg: dict[str, Any] = {"schema": 1, "idea": "A lighthouse keeper finds a message in a bottle", "mode": "keyframe",
                           "duration": 5 * segments, "width": 1280, "height": 720, "fps": 24, "backend": "animatic",
                           "keyframes": "card", "planner": "heuristic"}
    cfg.update(config)
    (root / "ttv.toml").write_text(tomli_w.dumps(cfg))
    plan = {"schema": 1, "segments": [
        {"id": f"s{i:03d}", "duration": 5, "prompt": f"shot {i}", "start_keyframe": f"k{i:03d}",
         "end_keyframe": f"k{i + 1:03d}"} for i in range(segments)],
        "keyframes": [{"id": f"k{i:03d}", "prompt": f"keyframe {i}"} for i in range(segments + 1)]}
    (root / "plan.toml").write_text(tomli_w.dumps(plan))
    return root


# ---- fake provider APIs -------------------------------------------------------------------------

@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


Route = Callable[[Seen], tuple[int, Any]]


@dataclass
class FakeAPI(LoopbackServer):
    """A loopback HTTP server answering JSON from `routes[(METHOD, path)]`; records every request."""

    routes: dict[tuple[str, str], Route]
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _do(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                seen = Seen(self.command, parts.path, parse_qs(parts.query),
                            {k.lower(): v for k, v in self.headers.items()})
                api.seen.append(seen)
                route = api.routes.get((self.command, parts.path))
                status, body = route(seen) if route else (404, {"error": f"no route {parts.path}"})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _do

        super().__init__(Handler)


@pytest.fixture
def fake_api() -> Iterator[Callable[[dict[tuple[str, str], Route]], FakeAPI]]:
    made: list[FakeAPI] = []

    def make(routes: dict[tuple[str, str], Route]) -> FakeAPI:
        api = FakeAPI(routes)
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


@pytest.fixture
def closed_port() -> str:
    """A loopback URL nothing listens on (a network failure)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"
