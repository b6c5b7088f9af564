"""Generic request checks against a backend's declared capabilities."""

from __future__ import annotations

from ttv.backends.base import VideoCapabilities, VideoRequest
from ttv.core.errors import InputRejected


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def validate_against_capabilities(name: str, caps: VideoCapabilities, req: VideoRequest) -> None:
    where = f"{name}: segment {req.segment_id}"
    if caps.durations is not None and not any(abs(req.duration - d) < 1e-6 for d in caps.durations):
        raise InputRejected(f"{where}: duration {req.duration:g} s is not allowed; allowed: {_fmt(caps.durations)} s",
                            hint="change `duration` in plan.toml or re-plan with `ttv plan --force`")
    if not caps.min_duration - 1e-9 <= req.duration <= caps.max_duration + 1e-9:
        raise InputRejected(f"{where}: duration {req.duration:g} s is outside {caps.min_duration:g}-{caps.max_duration:g} s",
                            hint="change `duration` in plan.toml")
    if caps.fps is not None and req.fps not in caps.fps:
        raise InputRejected(f"{where}: fps {req.fps} is not allowed; allowed: {_fmt([float(f) for f in caps.fps])}",
                            hint="change `fps` in ttv.toml (stitch converts mixed fps)")
    if caps.sizes is not None and (req.width, req.height) not in caps.sizes:
        allowed = ", ".join(f"{w}x{h}" for w, h in caps.sizes)
        raise InputRejected(f"{where}: size {req.width}x{req.height} is not allowed; allowed: {allowed}",
                            hint="set `width`/`height` in ttv.toml, or the backend's size option")
    m = caps.size_multiple
    if req.width % m or req.height % m:
        raise InputRejected(f"{where}: size {req.width}x{req.height} must be a multiple of {m}",
                            hint=f"e.g. {req.width // m * m}x{req.height // m * m}")
    if caps.max_prompt_chars is not None and len(req.prompt) > caps.max_prompt_chars:
        raise InputRejected(f"{where}: prompt has {len(req.prompt)} characters; the limit is {caps.max_prompt_chars}",
                            hint="shorten the segment's prompt in plan.toml")
    needs_image = "t2v" not in caps.modes
    if needs_image and req.first_image is None:
        raise InputRejected(f"{where}: this backend needs a start image (modes: {', '.join(caps.modes)})",
                            hint="run `ttv keyframes` first")
