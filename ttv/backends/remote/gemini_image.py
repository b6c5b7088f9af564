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

import io
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
from ttv.core import keys as keyring
from ttv.core import prices
from ttv.core.errors import BackendError, InputRejected

ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")

def image_price(price_provider: str, model: str, variant: str | None = None) -> tuple[float | None, str]:
    """(USD per image, source) from the shared price table / [prices] overrides."""
    row = prices.price_for(price_provider, model, variant=variant)
    if row is not None:
        return row.usd, prices.describe(row) if row.unit == "image" else f"{row.key}: ${row.usd:g}/image ({row.source})"
    return None, f"no price known for {price_provider}/{model}; add it under [prices] in ttv.toml"


def closest_ratio(width: int, height: int, ratios: tuple[str, ...] = ASPECT_RATIOS) -> str:
    def dist(r: str) -> float:
        a, b = (int(x) for x in r.split(":"))
        return abs(math.log((width / height) / (a / b)))

    return min(ratios, key=dist)


def resolve_references(request: ImageRequest, configured: list[str], *, provider: str, limit: int,
                       previous: bool = False) -> list[Path]:
    """The reference images to send: the request's, the configured ones (relative to the project),
    and optionally the previous keyframe. Missing or unreadable files are a clear error."""
    from PIL import Image, UnidentifiedImageError

    root = Path(str(request.extra.get("project_root", ".")))
    paths: list[Path] = [Path(p) for p in request.reference_images]
    paths += [(Path(p) if Path(p).is_absolute() else root / p) for p in configured]
    if previous:
        index = request.extra.get("index")
        if isinstance(index, int) and index > 0:
            prev = root / "keyframes" / f"k{index - 1:03d}.png"
            if prev.is_file():
                paths.append(prev)
    seen: list[Path] = []
    for p in paths:
        if p not in seen:
            seen.append(p)
    for p in seen:
        if not p.is_file():
            raise InputRejected(f"{provider}: reference image {p} does not exist",
                                hint=f"fix `reference_images` in [backends.{provider}] of ttv.toml",
                                code="reference", permanent_for_request=True)
        try:
            with Image.open(p) as im:
                im.verify()
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise InputRejected(f"{provider}: reference image {p} is not a readable image ({type(exc).__name__})",
                                code="reference", permanent_for_request=True) from None
    if len(seen) > limit:
        raise InputRejected(f"{provider}: {len(seen)} reference images given; this model takes at most {limit}",
                            hint=f"trim `reference_images` in [backends.{provider}]", code="reference",
                            permanent_for_request=True)
    return seen


def full_prompt(request: ImageRequest) -> str:
    prompt = request.prompt.strip() or "An establishing shot"
    style = request.style.strip()
    if style and style.lower() not in prompt.lower():
        prompt = f"{prompt}. Style: {style}"
    return prompt


def save_fitted(data: bytes, output: Path, width: int, height: int, *, provider: str) -> tuple[int, int]:
    """Decode image bytes, fit to exactly width x height (scale + centre crop), write PNG. Returns the source size."""
    from PIL import Image, UnidentifiedImageError

    from ttv.backends.offline.files import fit_cover

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            source = im.size
            rgb = im.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise BackendError(f"{provider}: the returned image does not decode ({type(exc).__name__})",
                           kind="retryable", code="bad-image") from None
    fit_cover(rgb, width, height).save(output, format="PNG")
    return source


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
    key_provider: ClassVar[str] = "google"
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
        from ttv.backends.remote.gemini_planner import genai_client

        o = self.opts
        return self.lazy("_client", lambda: genai_client(self.api_key(), base_url=o.base_url,
                                                         api_version=o.api_version, timeout_s=o.request_timeout_s,
                                                         vertexai=o.vertexai))

    def estimate_cost(self, request: ImageRequest) -> CostEstimate:
        usd, source = image_price("google", self.opts.model)
        return CostEstimate(usd=usd or 0.0, seconds=15.0, source=source)

    def generate(self, request: ImageRequest, output: Path, ctx: JobContext) -> GenerateResult:
        from google.genai import types

        from ttv.backends.remote.gemini_planner import blocked_reason, translate_genai, usage_of

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
