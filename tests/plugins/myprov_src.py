"""Source of `ttv_myprov`, a third-party backend package the plugin test installs into a temporary
site folder (its own dist-info and `ttv.backends` entry point). It declares what a plugin author
writes: its key provider, its price row, its live key check and where its base URL comes from, and it
renders through an HTTP API (a loopback fake in the test). Kept as text: it must not be importable
from the test tree, only from the installed package."""

MODULE = '''
"""myprov: a third-party ttv video backend (test fixture)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from ttv.backends.base import (
    CostEstimate,
    GenerateResult,
    JobContext,
    Options,
    VideoBackend,
    VideoCapabilities,
    VideoRequest,
)
from ttv.backends.keycheck import Live, http_get, is_network_error
from ttv.backends.remote.common import KeyedBackend
from ttv.core import prices
from ttv.core.errors import BackendError
from ttv.core.keys import KeyProvider
from ttv.core.prices import PriceRow

MYPROV_KEY = KeyProvider("myprov", ("MYPROV_API_KEY",), "https://myprov.example/keys")
PRICE_ROWS = (PriceRow("myprov", "m1", "second", 0.07, None, "myprov pricing page", date="2026-12"),)
DEFAULT_BASE_URL = "https://api.myprov.example"


def live_myprov(key: str, base_url: str | None, timeout: float = 15.0, *, options: Sequence[Any] = ()) -> Live:
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    try:
        resp = http_get(f"{base}/v1/me", {"Authorization": f"Bearer {key}"}, timeout)
    except Exception as exc:
        if is_network_error(exc):
            return Live("network", f"cannot reach myprov: {type(exc).__name__}")
        raise
    if resp.status_code == 401:
        return Live("bad-key", "the key was refused (HTTP 401)")
    balance = float(resp.json()["balance_usd"])
    if balance <= 0:
        return Live("no-credits", "balance $0")
    return Live("ok", f"balance ${balance:.2f}", {"balance_usd": balance})


class MyProvOptions(Options):
    model: str = "m1"
    base_url: str | None = Field(None, description="API base URL")
    concurrency: int | None = None


class MyProvBackend(KeyedBackend, VideoBackend):
    name: ClassVar[str] = "myprov"
    summary: ClassVar[str] = "myprov video API (third-party plugin)"
    key_provider = MYPROV_KEY
    price_rows = PRICE_ROWS
    key_check = staticmethod(live_myprov)
    base_url_env = ("MYPROV_BASE_URL",)
    packages = ("httpx",)
    sdk_module: ClassVar[str | None] = "httpx"
    OptionsModel: ClassVar[type[Options]] = MyProvOptions

    def base(self) -> str:
        return (self.options.base_url or os.environ.get("MYPROV_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")

    def capabilities(self) -> VideoCapabilities:
        return VideoCapabilities(modes=["t2v", "i2v"], remote=True, key_env=list(MYPROV_KEY.env),
                                 default_concurrency=2)

    def _row(self) -> PriceRow:
        row = prices.price_for("myprov", self.options.model)
        if row is None:
            raise BackendError(f"myprov: no price for {self.options.model}", kind="backend")
        return row

    def estimate_cost(self, request: VideoRequest) -> CostEstimate:
        row = self._row()
        return CostEstimate(usd=prices.usd_for(row, seconds=request.duration), seconds=5.0,
                            source=prices.describe(row))

    def generate(self, request: VideoRequest, output: Path, ctx: JobContext) -> GenerateResult:
        import httpx

        body = {"prompt": request.prompt, "width": request.width, "height": request.height, "fps": request.fps,
                "frames": request.frame_count, "model": self.options.model}
        resp = httpx.post(f"{self.base()}/v1/render", json=body,
                          headers={"Authorization": f"Bearer {self.api_key()}"}, timeout=60)
        if resp.status_code != 200:
            raise BackendError(f"myprov: HTTP {resp.status_code}", kind="backend", code=str(resp.status_code))
        output.write_bytes(resp.content)
        return GenerateResult(cost_usd=prices.usd_for(self._row(), seconds=request.duration),
                              model=self.options.model)
'''
