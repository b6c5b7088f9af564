"""`gemini-image` keyframes: Gemini image models ("Nano Banana") through `google-genai`
`models.generate_content` with `response_modalities=["IMAGE"]`.

- Aspect ratio: the model's ratio closest to the project's (1:1 ... 21:9); the image is then fitted
  to exactly width x height by scaling and centre-cropping (never stretched).
- Reference images for character/style consistency: `reference_images = ["refs/hero.png", ...]` in
  `[backends.gemini-image]` (paths relative to the project) and/or the request's reference images
  are sent with the prompt; `reference_previous = true` also sends the keyframe before this one.
- The call is synchronous (no remote job id); failures are classified for the runner: 429/5xx and
  "no image in the answer" are retryable, a safety block stops this keyframe, auth/quota go to the
  next provider.
- Cost: per image from the price table (`google/<model>` in ttv.core.prices or a `[prices]`
  override), else this module's dated fallback rows.

Setup: `pip install 'ttv[remote]'`, then GOOGLE_API_KEY (or GEMINI_API_KEY) or `ttv keys set google`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from ttv.backends.base import (
    CostEstimate,
    GenerateResult,
    ImageProvider,
    ImageRequest,
    JobContext,
    Options,
)
from ttv.backends.remote.common import KeyedBackend
from ttv.backends.remote.google_common import GOOGLE_KEY, PACKAGES, TESTED, live_google
from ttv.backends.remote.image_common import full_prompt, image_price, resolve_references, save_fitted
from ttv.core import keys as keyring
from ttv.core.errors import BackendError, InputRejected
from ttv.core.keys import KeyProvider
from ttv.core.prices import PriceRow

# Google image models, per image: 1290 output tokens per 1024px image at $30 per 1M tokens for 2.5 Flash
# Image; $0.134 per 1K/2K image for 3 Pro Image. Verify before relying.
_PRICE_SOURCE = "Google AI for Developers pricing page"
PRICE_ROWS = (
    PriceRow("google", "gemini-2.5-flash-image", "image", 0.039, None, _PRICE_SOURCE),
    PriceRow("google", "gemini-2.5-flash-image-preview", "image", 0.039, None, _PRICE_SOURCE),
    PriceRow("google", "gemini-3-pro-image-preview", "image", 0.134, None, _PRICE_SOURCE),
)

ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")

def closest_ratio(width: int, height: int, ratios: tuple[str, ...] = ASPECT_RATIOS) -> str:
    def dist(r: str) -> float:
        a, b = (int(x) for x in r.split(":"))
        return abs(math.log((width / height) / (a / b)))

    return min(ratios, key=dist)


class GeminiImageOptions(Options):
    model: str = Field("gemini-2.5-flash-image",
                       description="Gemini image model, e.g. gemini-2.5-flash-image or gemini-3-pro-image-preview")
    base_url: str | None = Field(None, description="API base URL (a proxy or a test fake)")
    api_version: str | None = Field(None, description='API version, e.g. "v1beta" (default: the SDK\'s)')
    vertexai: bool = Field(False, description="use Vertex AI (express mode with an API key)")
    request_timeout_s: float = Field(180.0, gt=0, description="HTTP timeout of one call")
    reference_images: list[str] = Field(default_factory=list,
                                        description="character/style reference images, relative to the project")
    reference_previous: bool = Field(False, description="also send the previous keyframe as a reference (needs it made first; a changed previous keyframe does not make this one stale)")
    max_reference_images: int = Field(3, ge=0, le=14, description="most reference images sent with one prompt")
    concurrency: int | None = Field(None, ge=1, le=16, description="concurrent requests (default 2)")


class GeminiImageKeyframes(KeyedBackend, ImageProvider):
    name: ClassVar[str] = "gemini-image"
    summary: ClassVar[str] = "Keyframes from Gemini image models (google-genai), with reference images"
    extra: ClassVar[str | None] = "remote"
    remote: ClassVar[bool] = True
    key_provider: ClassVar[KeyProvider] = GOOGLE_KEY
    price_rows = PRICE_ROWS
    key_check = staticmethod(live_google)
    packages = PACKAGES
    tested_versions = TESTED
    OptionsModel: ClassVar[type[Options]] = GeminiImageOptions

    @property
    def opts(self) -> GeminiImageOptions:
        assert isinstance(self.options, GeminiImageOptions)
        return self.options

    def model_name(self) -> str:
        return self.opts.model

    def concurrency(self) -> int:
        return self.opts.concurrency or 2

    def sdk_missing(self) -> str | None:
        import importlib.util

        if importlib.util.find_spec("google") is None or importlib.util.find_spec("google.genai") is None:
            return "the google-genai package is missing: pip install 'ttv[remote]'"
        return None

    def client(self) -> Any:
        from ttv.backends.remote.google_common import genai_client

        o = self.opts
        return self.lazy("_client", lambda: genai_client(self.api_key(), base_url=o.base_url,
                                                         api_version=o.api_version, timeout_s=o.request_timeout_s,
                                                         vertexai=o.vertexai))

    def estimate_cost(self, request: ImageRequest) -> CostEstimate:
        usd, source = image_price("google", self.opts.model)
        return CostEstimate(usd=usd or 0.0, seconds=15.0, source=source)

    def generate(self, request: ImageRequest, output: Path, ctx: JobContext) -> GenerateResult:
        from google.genai import types

        from ttv.backends.remote.google_common import blocked_reason, translate_genai, usage_of

        o = self.opts
        refs = resolve_references(request, o.reference_images, provider=self.name, limit=o.max_reference_images,
                                  previous=o.reference_previous)
        ratio = closest_ratio(request.width, request.height)
        prompt = full_prompt(request)
        if refs:
            prompt += (". Keep the characters, their clothing and the visual style consistent with the "
                       "reference image" + ("s" if len(refs) > 1 else "") + ".")
        parts: list[Any] = [types.Part(text=prompt)]
        for p in refs:
            mime = "image/jpeg" if p.suffix.lower() in (".jpg", ".jpeg") else (
                "image/webp" if p.suffix.lower() == ".webp" else "image/png")
            parts.append(types.Part.from_bytes(data=p.read_bytes(), mime_type=mime))
        config = types.GenerateContentConfig(response_modalities=["IMAGE"],
                                             image_config=types.ImageConfig(aspect_ratio=ratio),
                                             seed=int(request.seed) % 2147483647)
        ctx.progress(None, status="running", message=f"{o.model} {ratio}")
        try:
            resp = self.client().models.generate_content(model=o.model, contents=[types.Content(role="user", parts=parts)],
                                                         config=config)
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified
            raise translate_genai(self.name, exc, "image request") from None
        refusal = blocked_reason(resp)
        if refusal:
            raise InputRejected(f"{self.name}: keyframe {request.keyframe_id} refused: {refusal}",
                                hint="edit this keyframe's prompt in plan.toml", code="SAFETY",
                                permanent_for_request=True)
        data, text = _first_image(resp)
        if data is None:
            said = re.sub(r"\s+", " ", text or "").strip()[:200]
            raise BackendError(f"{self.name}: keyframe {request.keyframe_id}: the answer held no image"
                               + (f" (the model said: {keyring.redact(said)})" if said else ""),
                               kind="retryable", code="no-image")
        ctx.progress(1.0, status="downloading")
        source = save_fitted(data, output, request.width, request.height, provider=self.name)
        usd, price_source = image_price("google", o.model)
        info: dict[str, Any] = {"aspect_ratio": ratio, "source_size": f"{source[0]}x{source[1]}",
                                "references": len(refs), "price": price_source}
        info.update({f"tokens_{k}": v for k, v in usage_of(resp).items()})
        return GenerateResult(cost_usd=usd or 0.0, model=o.model, info=info)


def _first_image(resp: Any) -> tuple[bytes | None, str]:
    texts: list[str] = []
    for cand in getattr(resp, "candidates", None) or []:
        content = getattr(cand, "content", None)
        for part in (getattr(content, "parts", None) or []):
            inline = getattr(part, "inline_data", None)
            if inline is not None and getattr(inline, "data", None) and \
                    str(getattr(inline, "mime_type", "") or "image/").startswith("image/"):
                return bytes(inline.data), ""
            if getattr(part, "text", None):
                texts.append(part.text)
    return None, " ".join(texts)
