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
from ttv.core.errors import InputRejected

if TYPE_CHECKING:  # numpy is imported where it is used: `ttv --help` must not pay for it
    import numpy as np

    from ttv.backends.offline.camera import Move

FASTEST = 1.6  # the speed of a "fast" move (camera.py)


class AnimaticOptions(Options):
    zoom: float = Field(0.15, ge=0, le=0.5, description="how far a push in / pull out zooms over a clip (0.15 = 15 %)")
    travel: float = Field(0.12, ge=0, le=0.25, description="how far a pan, tilt or crane carries the picture over a "
                                                           "clip, as a fraction of it")
    transition: Literal["dissolve", "cut"] = Field("dissolve", description="from the start picture to the end one")
    keyframe_caption: float = Field(0.2, ge=0, le=0.5, description="keyframe mode: share of the clip at each end "
                                                                   "that shows the keyframe's own caption")
    preset: str = Field("veryfast", description="x264 preset")
    crf: int = Field(20, ge=0, le=51, description="x264 quality (lower is better)")
    concurrency: int | None = None


@dataclass
class _Source:
    """A picture to move, padded by a margin (mx, my). Real picture covers `valid` (frame coordinates);
    past it the padding fades out over `feather` px, where the other picture of a dissolve takes over."""

    pic: Any  # PIL RGB, (w + 2mx) x (hp + 2my)
    mx: int
    my: int
    valid: tuple[float, float, float, float]
    feather: float
    strip: Any | None = None  # a given image's own caption strip (PIL RGB), shown at its end of the clip


def margin(opts: AnimaticOptions) -> float:
    """Picture needed around the frame (a fraction of its longer side) so the fastest move never runs off."""
    pull = (1 - 1 / (1 + FASTEST * opts.zoom)) / 2
    return max(FASTEST * opts.travel, pull) + 0.04  # + room for a hand-held wobble or an orbit's roll


def _given(im: Any, w: int, hp: int, extra: float) -> _Source:
    """A keyframe or start frame, padded by reflection (enough for the fastest pan): where the camera runs
    past its edge, the other picture of the dissolve shows instead; alone (chaining's first clip), the
    reflection does."""
    import numpy as np
    from PIL import Image

    pad = min(math.ceil(extra * max(w, hp)), min(w, hp) - 1)
    arr = np.asarray(im.crop((0, 0, w, hp)))
    padded = np.pad(arr, ((pad, pad), (pad, pad), (0, 0)), mode="reflect" if pad > 0 else "edge")
    strip = im.crop((0, hp, w, im.height)) if im.height > hp else None
    return _Source(Image.fromarray(padded), pad, pad, (0.0, 0.0, float(w), float(hp)),
                   max(2.0, math.ceil(0.03 * max(w, hp))), strip)


def _own(prompt: str, w: int, hp: int, seed: int, extra: float) -> _Source:
    from ttv.backends.offline.scene import render_scene

    pad = math.ceil(extra * max(w, hp))
    pic = render_scene(prompt, w, hp, seed, margin=pad)
    return _Source(pic, pad, pad, (-pad, -pad, w + pad, hp + pad), 1.0)


def _warp(src: _Source, m: np.ndarray, w: int, hp: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The source as the camera sees it (content matrix m) as a float32 array, and how much of each pixel
    is real picture (0..1; None: all of it)."""
    import numpy as np
    from PIL import Image

    if np.allclose(m, np.eye(3), atol=1e-9):  # at rest: the exact pixels (keyframes stay exact)
        pic = src.pic.crop((src.mx, src.my, src.mx + w, src.my + hp))
        return np.asarray(pic, dtype=np.float32), None
    inv = np.linalg.inv(m)
    corners = inv @ np.array([[0, w, 0, w], [0, 0, hp, hp], [1, 1, 1, 1]], dtype=np.float64)
    x0, y0, x1, y1 = src.valid
    inside = bool(corners[0].min() >= x0 and corners[0].max() <= x1 and corners[1].min() >= y0
                  and corners[1].max() <= y1)
    box = (corners[0, 0] + src.mx, corners[1, 0] + src.my, corners[0, 3] + src.mx, corners[1, 3] + src.my)
    no_roll = abs(inv[0, 1]) < 1e-12 and abs(inv[1, 0]) < 1e-12
    if no_roll and box[0] >= 0 and box[1] >= 0 and box[2] <= src.pic.width and box[3] <= src.pic.height:
        # Scale and shift only: the separable resize is several times faster than a general transform.
        pic = src.pic.resize((w, hp), Image.Resampling.BILINEAR, box=box)
    else:
        data = (inv[0, 0], inv[0, 1], inv[0, 2] + src.mx, inv[1, 0], inv[1, 1], inv[1, 2] + src.my)
        pic = src.pic.transform((w, hp), Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR)
    arr = np.asarray(pic, dtype=np.float32)
    if inside:
        return arr, None
    # How far past the real picture each pixel centre comes from (separable when there is no roll).
    xs = np.arange(w, dtype=np.float32) + 0.5
    ys = np.arange(hp, dtype=np.float32)[:, None] + 0.5
    if no_roll:
        u, v = inv[0, 0] * xs + inv[0, 2], inv[1, 1] * ys + inv[1, 2]
    else:
        u, v = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2], inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    past = np.maximum(np.maximum(x0 - u, u - x1), np.maximum(y0 - v, v - y1))
    mask = np.clip(1 - np.maximum(past, 0) / (src.feather + 1), 0, 1).astype(np.float32)
    return arr, mask[:, :, None]


def _blend(a: tuple[np.ndarray, np.ndarray | None], b: tuple[np.ndarray, np.ndarray | None], mix: float) -> np.ndarray:
    """Dissolve by `mix`, except where one picture has run out (the camera moved past its edge): there
    the other one shows, whatever the mix. Where both are whole this is a plain dissolve, exact at 0 and 1."""
    import numpy as np

    (pa, ma), (pb, mb) = a, b
    if ma is None and mb is None:
        return pa if mix <= 0 else pb if mix >= 1 else pa + (pb - pa) * np.float32(mix)
    fa = np.float32(1) if ma is None else ma
    fb = np.float32(1) if mb is None else mb
    wa = fa * ((1 - mix) + mix * (1 - fb))
    wb = fb * (mix + (1 - mix) * (1 - fa))
    total = wa + wb
    # b's share per pixel (one channel: cheap); beyond both margins (never at the default moves) the mix.
    share = np.where(total > 1e-3, wb / np.maximum(total, 1e-3), np.float32(mix)).astype(np.float32)
    return pa + (pb - pa) * share


def _frame(a: _Source, b: _Source, ma: np.ndarray, mb: np.ndarray, mix: float, single: bool, w: int,
           hp: int) -> np.ndarray:
    """The picture at one moment; a source that is fully out of the dissolve and not needed to fill the
    other's edge is not warped at all (the first and last thirds of a clip cost half)."""
    if single:
        return _warp(a, ma, w, hp)[0]
    if mix <= 0:
        wa = _warp(a, ma, w, hp)
        return wa[0] if wa[1] is None else _blend(wa, _warp(b, mb, w, hp), mix)
    if mix >= 1:
        wb = _warp(b, mb, w, hp)
        return wb[0] if wb[1] is None else _blend(_warp(a, ma, w, hp), wb, mix)
    return _blend(_warp(a, ma, w, hp), _warp(b, mb, w, hp), mix)


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
        # CPU time measured at 1280x720, encoding included: 40-50 ms a frame (an orbit's roll ~80), scaling
        # with pixel count.
        per_frame = 0.05 * (request.width * request.height) / (1280 * 720)
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

        from ttv.backends.offline.camera import ease, transform
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
            return _given(rgb if rgb.size == (w, h) else rgb.resize((w, h), Image.Resampling.LANCZOS), w, hp, extra)

        extra = margin(opts)
        first, last = load(request.first_image), load(request.last_image)
        keyframe_captions = request.extra.get("mode", "keyframe") != "chain"
        # One picture, the camera moving over it: text to video (our own card), and chaining's first clip,
        # whose start keyframe already is this segment's opening picture.
        single = last is None and (first is None or (not keyframe_captions and request.extra.get("index") == 0))
        a = first or _own(request.prompt, w, hp, request.seed, extra)
        b = last or (a if single else _own(request.prompt, w, hp, request.seed, extra))
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
                mix = ease((t - 0.3) / 0.4) if opts.transition == "dissolve" else float(t >= 0.5)
                pic = _frame(a, b, m, m @ back, mix, single, w, hp)
                frame.paste(Image.fromarray(np.clip(pic + 0.5, 0, 255).astype(np.uint8)), (0, 0))
                frame.paste(strips[which] or strips["segment"], (0, hp))
                writer.write(np.asarray(frame))
                if i % 8 == 0 or i == n - 1:
                    ctx.progress((i + 1) / n, step=i + 1, total=n, status="running")
        return GenerateResult(model="animatic", info={"frames": n, "camera": move.name})
