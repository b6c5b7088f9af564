"""`files` keyframe provider: the user's own image for a keyframe (`image = "..."` in plan.toml)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from ttv.backends.base import GenerateResult, ImageProvider, ImageRequest, JobContext
from ttv.core.errors import InputRejected


def fit_cover(im, width: int, height: int):  # type: ignore[no-untyped-def]
    """Scale to cover width x height, centre-crop: keeps the aspect ratio, never stretches."""
    from PIL import Image

    scale = max(width / im.width, height / im.height)
    w, h = max(width, round(im.width * scale)), max(height, round(im.height * scale))
    im = im.resize((w, h), Image.Resampling.LANCZOS)
    left, top = (w - width) // 2, (h - height) // 2
    return im.crop((left, top, left + width, top + height))


class FileKeyframes(ImageProvider):
    name: ClassVar[str] = "files"
    summary: ClassVar[str] = "Use your own images as keyframes (fitted to the project size by centre crop)"

    def generate(self, request: ImageRequest, output: Path, ctx: JobContext) -> GenerateResult:
        from PIL import Image, UnidentifiedImageError

        image = str(request.extra.get("image", "") or "")
        if not image:
            raise InputRejected(f"keyframe {request.keyframe_id}: no image given for the `files` provider",
                                hint="run `ttv keyframes --from-dir DIR` (files k000.png, k001.png, ...), or set "
                                     "`image = \"path.png\"` for this keyframe in plan.toml",
                                permanent_for_request=True)
        src = Path(image)
        if not src.is_absolute():
            src = Path(str(request.extra.get("project_root", "."))) / src
        if not src.is_file():
            raise InputRejected(f"keyframe {request.keyframe_id}: image {src} does not exist",
                                hint="fix `image` for this keyframe in plan.toml", permanent_for_request=True)
        try:
            with Image.open(src) as im:
                im.load()
                rgb = im.convert("RGB")
        except (UnidentifiedImageError, OSError) as exc:
            raise InputRejected(f"keyframe {request.keyframe_id}: {src} is not a readable image ({exc})",
                                hint="use a PNG or JPEG file", permanent_for_request=True) from None
        fit_cover(rgb, request.width, request.height).save(output, format="PNG")
        return GenerateResult(info={"source": str(src)})
