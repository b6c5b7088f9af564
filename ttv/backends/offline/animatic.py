"""`animatic` video backend: a storyboard animatic of the plan, offline (numpy + Pillow + ffmpeg).

Each frame is a picture above a caption strip (`caption.py`). The picture moves as the segment's
`camera` says (`camera.py`: static, pan, tilt, push in, pull out, crane, orbit, handheld) and dissolves
from the start picture to the end picture; both move together, so the motion reads through the dissolve.
The strip shows one caption at a time and never moves: in keyframe mode the start keyframe's own strip
(its prompt, on a `card` keyframe), then the segment's prompt while the camera moves, then the end
keyframe's; in chaining mode the segment's prompt throughout.

Keyframe mode: the clip's last frame is exactly the end keyframe, so the next segment continues seamlessly.
Chaining mode: starts from the given start frame (the previous clip's last frame) and moves into a
storyboard card drawn from this segment's prompt, so the story visibly advances.
Frame i of N is taken at t=(i+1)/N: frame 0 is already one step in, so no seam frame is duplicated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from ttv.backends.base import (
    CostEstimate,
    GenerateResult,
    JobContext,
    Options,
    VideoBackend,
    VideoCapabilities,
    VideoRequest,
)
from ttv.core.errors import InputRejected

if TYPE_CHECKING:  # numpy is imported where it is used: `ttv --help` must not pay for it
    import numpy as np

    from ttv.backends.offline.camera import Move

OVERSCAN = 0.3  # margin drawn around the animatic's own cards: the fastest pan never runs off them


class AnimaticOptions(Options):
    zoom: float = 0.15  # how far a push in / pull out zooms over a clip (0.15 = 15 %)
    travel: float = 0.12  # how far a pan / tilt / crane carries the picture over a clip (fraction of it)
    transition: Literal["dissolve", "cut"] = "dissolve"
    keyframe_caption: float = 0.2  # keyframe mode: share of the clip at each end that shows the keyframe's caption
    preset: str = "veryfast"  # x264 preset
    crf: int = 20
    concurrency: int | None = None


def _smoothstep(t: float) -> float:
    t = min(1.0, max(0.0, t))
    return t * t * (3 - 2 * t)


@dataclass
class _Source:
    """A picture to move: padded by a margin (mx, my) and a mask saying where real picture is (1) or not (0)."""

    pic: Any  # PIL RGB, (w + 2mx) x (hp + 2my)
    mask: Any  # PIL L, same size
    mx: int
    my: int
    strip: Any | None = None  # a given image's own caption strip (PIL RGB), shown at its end of the clip


def _given(im: Any, w: int, hp: int) -> _Source:
    """A keyframe or start frame, padded by reflection (enough for the fastest pan) with a mask that fades
    out just past its edge: where the camera runs past it, the other picture of the dissolve shows
    instead; alone (chaining's first clip), the reflection does."""
    import numpy as np
    from PIL import Image

    pad = min(math.ceil(0.22 * max(w, hp)), min(w, hp) - 1)
    feather = max(2, math.ceil(0.06 * max(w, hp)))
    arr = np.asarray(im.crop((0, 0, w, hp)))
    padded = np.pad(arr, ((pad, pad), (pad, pad), (0, 0)), mode="reflect" if pad > 0 else "edge")

    def ramp(n: int) -> Any:
        outside = np.maximum(pad - np.arange(n + 2 * pad), np.arange(n + 2 * pad) - (n + pad - 1))  # px past the edge
        return np.clip(1 - outside / (feather + 1), 0, 1)

    mask = (np.minimum(ramp(hp)[:, None], ramp(w)[None, :]) * 255).round().astype(np.uint8)
    strip = im.crop((0, hp, w, im.height)) if im.height > hp else None
    return _Source(Image.fromarray(padded), Image.fromarray(mask, "L"), pad, pad, strip)


def _own(prompt: str, w: int, hp: int, seed: int) -> _Source:
    from PIL import Image

    from ttv.backends.offline.scene import render_scene

    pic = render_scene(prompt, w, hp, seed, overscan=OVERSCAN)
    return _Source(pic, Image.new("L", pic.size, 255), math.ceil(w * OVERSCAN), math.ceil(hp * OVERSCAN))


def _warp(src: _Source, m: np.ndarray, w: int, hp: int) -> tuple[np.ndarray, np.ndarray]:
    """The source as the camera sees it (content matrix m), and its mask (0..1), as float32 arrays."""
    import numpy as np
    from PIL import Image

    if np.allclose(m, np.eye(3), atol=1e-9):  # at rest: the exact pixels (keyframes stay exact)
        box = (src.mx, src.my, src.mx + w, src.my + hp)
        pic, mask = src.pic.crop(box), src.mask.crop(box)
    else:
        inv = np.linalg.inv(m)
        data = (inv[0, 0], inv[0, 1], inv[0, 2] + src.mx, inv[1, 0], inv[1, 1], inv[1, 2] + src.my)
        pic = src.pic.transform((w, hp), Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR)
        mask = src.mask.transform((w, hp), Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR)
    return np.asarray(pic, dtype=np.float32), np.asarray(mask, dtype=np.float32)[:, :, None] / 255.0


def _blend(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], mix: float) -> np.ndarray:
    """Dissolve by `mix`, except where one picture has run out (the camera moved past its edge): there
    the other one shows, whatever the mix. Where both are whole this is a plain dissolve, exact at 0 and 1."""
    import numpy as np

    (pa, ma), (pb, mb) = a, b
    wa = ma * ((1 - mix) + mix * (1 - mb))
    wb = mb * (mix + (1 - mix) * (1 - ma))
    total = wa + wb
    plain = pa * (1 - mix) + pb * mix  # beyond both margins (never at the default moves): a plain dissolve
    return np.where(total > 1e-3, (pa * wa + pb * wb) / np.maximum(total, 1e-3), plain)


def plan_frames(n: int, keyframe_captions: bool, hold: float) -> list[tuple[float, str]]:
    """(t, caption) per frame: caption is "start", "segment" or "end" -- exactly one at a time."""
    out = []
    for i in range(n):
        t = (i + 1) / n
        which = "segment"
        if keyframe_captions:
            if t >= 1 - hold or i == n - 1:
                which = "end"
            elif t < hold:
                which = "start"
        out.append((t, which))
    return out


class AnimaticBackend(VideoBackend):
    name: ClassVar[str] = "animatic"
    summary: ClassVar[str] = "Offline storyboard animatic: the planned camera move, dissolves and captions (numpy + ffmpeg)"
    OptionsModel = AnimaticOptions
    reads_camera: ClassVar[bool] = True

    def capabilities(self) -> VideoCapabilities:
        return VideoCapabilities(modes=["t2v", "i2v", "flf2v"], remote=False, min_duration=0.1, max_duration=600,
                                 supports_seed=True, repeats_first_frame=False, default_concurrency=2)

    def estimate_cost(self, request: VideoRequest) -> CostEstimate:
        # Measured on a 2-core machine: ~40 ms a frame at 1280x720, scaling with pixel count.
        per_frame = 0.04 * (request.width * request.height) / (1280 * 720)
        return CostEstimate(usd=0.0, seconds=round(request.frame_count * per_frame, 2), source="animatic (local CPU)")

    def validate_inputs(self, request: VideoRequest) -> None:
        super().validate_inputs(request)
        if request.frame_count < 1:
            raise InputRejected(f"segment {request.segment_id}: {request.duration} s at {request.fps} fps is no frame")

    def move(self, request: VideoRequest) -> Move:
        from ttv.backends.offline.camera import read_move

        return read_move(str(request.extra.get("camera") or ""), request.prompt)

    def generate(self, request: VideoRequest, output: Path, ctx: JobContext) -> GenerateResult:
        import numpy as np
        from PIL import Image

        from ttv.backends.offline.camera import transform
        from ttv.backends.offline.caption import picture_height, strip_image
        from ttv.core.media import FrameWriter

        opts = self.options
        assert isinstance(opts, AnimaticOptions)
        w, h = request.width, request.height
        hp = picture_height(w, h)

        def load(path: Path | None) -> _Source | None:
            if path is None:
                return None
            with Image.open(path) as im:
                rgb = im.convert("RGB")
            return _given(rgb if rgb.size == (w, h) else rgb.resize((w, h), Image.Resampling.LANCZOS), w, hp)

        first, last = load(request.first_image), load(request.last_image)
        keyframe_captions = request.extra.get("mode", "keyframe") != "chain"
        # One picture, the camera moving over it: text to video (our own card), and chaining's first clip,
        # whose start keyframe already is this segment's opening picture.
        single = last is None and (first is None or (not keyframe_captions and request.extra.get("index") == 0))
        a = first or _own(request.prompt, w, hp, request.seed)
        b = last or (a if single else _own(request.prompt, w, hp, request.seed))
        move = self.move(request)
        strips = {"segment": strip_image(request.prompt, f"{request.segment_id} · {move.name}", w, h),
                  "start": a.strip if keyframe_captions and first is not None else None,
                  "end": b.strip if keyframe_captions and last is not None else None}
        end_m = transform(move, 1.0, w, hp, request.seed, travel=opts.travel, zoom=opts.zoom)
        back = np.linalg.inv(end_m)  # the end picture arrives at rest exactly at t=1
        n = request.frame_count
        frame = Image.new("RGB", (w, h))
        with FrameWriter(output, w, h, request.fps, crf=opts.crf, preset=opts.preset) as writer:
            for i, (t, which) in enumerate(plan_frames(n, keyframe_captions, opts.keyframe_caption)):
                m = transform(move, t, w, hp, request.seed, travel=opts.travel, zoom=opts.zoom)
                mix = _smoothstep((t - 0.3) / 0.4) if opts.transition == "dissolve" else float(t >= 0.5)
                pic = _warp(a, m, w, hp)[0] if single else _blend(_warp(a, m, w, hp), _warp(b, m @ back, w, hp), mix)
                frame.paste(Image.fromarray(np.clip(pic + 0.5, 0, 255).astype(np.uint8)), (0, 0))
                frame.paste(strips[which] or strips["segment"], (0, hp))
                writer.write(np.asarray(frame))
                if i % 8 == 0 or i == n - 1:
                    ctx.progress((i + 1) / n, step=i + 1, total=n, status="running")
        return GenerateResult(model="animatic", info={"frames": n, "camera": move.name})
