"""`card` keyframe provider: a storyboard panel per keyframe prompt (Pillow, offline).

The picture comes from the prompt's words (`scene.py`: a night sea, a desert at dawn, a city in the
rain...), the caption strip below it holds the prompt (`caption.py`). Deterministic per (prompt, seed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ttv.backends.base import GenerateResult, ImageProvider, ImageRequest, JobContext, Options


class CardOptions(Options):
    show_text: bool = True


def render_card(prompt: str, width: int, height: int, seed: int, label: str = "", show_text: bool = True) -> Any:
    """A PIL RGB image: the scenery the prompt describes above a caption strip holding the prompt."""
    from PIL import Image

    from ttv.backends.offline.caption import draw_strip, picture_height
    from ttv.backends.offline.scene import render_scene

    if not show_text:
        return render_scene(prompt, width, height, seed)
    im = Image.new("RGB", (width, height))
    im.paste(render_scene(prompt, width, picture_height(width, height), seed))
    draw_strip(im, prompt, label)
    return im


class CardKeyframes(ImageProvider):
    name: ClassVar[str] = "card"
    summary: ClassVar[str] = "Offline storyboard keyframes (Pillow): scenery from the prompt's words + its caption"
    OptionsModel = CardOptions

    def generate(self, request: ImageRequest, output: Path, ctx: JobContext) -> GenerateResult:
        opts = self.options
        assert isinstance(opts, CardOptions)
        im = render_card(request.prompt, request.width, request.height, request.seed, label=request.keyframe_id,
                         show_text=opts.show_text)
        im.save(output, format="PNG")
        ctx.progress(1.0, status="done")
        return GenerateResult(model="card")
