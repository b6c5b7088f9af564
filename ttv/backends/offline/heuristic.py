"""`heuristic` planner: split an idea or a pasted script into shots, deterministically, offline."""

from __future__ import annotations

import math
import random
import re
from typing import ClassVar

from ttv.backends.base import JobContext, Options, PlanDraft, PlannedKeyframe, PlannedSegment, Planner, PlanRequest

SHOTS = ["Wide establishing shot", "Medium shot", "Close-up", "Tracking shot", "Over-the-shoulder shot",
         "Low-angle shot", "Aerial shot", "Detail insert"]
CAMERA = ["slow push in", "gentle pan right", "static camera", "slow dolly out", "crane up", "handheld drift",
          "gentle pan left", "slow orbit"]


class HeuristicOptions(Options):
    segment_duration: float = 5.0


def split_beats(text: str) -> list[str]:
    """Sentences (or script lines) of the idea, cleaned; at least one."""
    parts = [p.strip(" \t-*•\"'") for p in re.split(r"(?<=[.!?;])\s+|\n+", text)]
    beats = [re.sub(r"\s+", " ", p).rstrip(".;") for p in parts if len(p.strip()) > 2]
    return beats or [text.strip()]


def snap_duration(value: float, request: PlanRequest) -> float:
    caps = request.capabilities
    if caps is None:
        return round(value, 2)
    if caps.durations:
        return min(caps.durations, key=lambda d: (abs(d - value), d))
    return round(min(max(value, caps.min_duration), caps.max_duration), 2)


class HeuristicPlanner(Planner):
    name: ClassVar[str] = "heuristic"
    summary: ClassVar[str] = "Offline shot planner: splits the idea into beats with varied shots and camera moves"
    OptionsModel = HeuristicOptions

    def plan(self, request: PlanRequest, ctx: JobContext) -> PlanDraft:
        opts = self.options
        assert isinstance(opts, HeuristicOptions)
        seg_len = opts.segment_duration or request.default_segment_duration
        n = request.segments or max(1, round((request.total_duration or 30.0) / seg_len))
        each = request.total_duration / n if request.total_duration else seg_len
        duration = snap_duration(each, request)
        beats = split_beats(request.idea)
        rng = random.Random(request.seed)
        shot0, cam0 = rng.randrange(len(SHOTS)), rng.randrange(len(CAMERA))
        style = request.style.strip()
        segments, keyframes = [], []
        for i in range(n):
            # Spread the beats over the segments in order; a short idea is developed with varied shots.
            beat = beats[min(len(beats) - 1, math.floor(i * len(beats) / n))]
            shot = "Wide establishing shot" if i == 0 else SHOTS[(shot0 + i) % len(SHOTS)]
            camera = CAMERA[(cam0 + i) % len(CAMERA)]
            prompt = f"{shot}: {beat}, {camera}" + (f", {style}" if style else "")
            segments.append(PlannedSegment(id=f"s{i:03d}", duration=duration, prompt=prompt, camera=camera,
                                           continuity=f"same characters and setting as the idea: {beats[0]}"))
        # Keyframe i is the first frame of segment i (and the last of segment i-1); the final one closes the film.
        kf_count = n + 1 if request.mode == "keyframe" else 1
        for i in range(kf_count):
            if i < n:
                seg = segments[i]
                shot = seg.prompt.split(":", 1)[0]
                beat = beats[min(len(beats) - 1, math.floor(i * len(beats) / n))]
                prompt = f"{shot}, opening frame: {beat}"
            else:
                prompt = f"Closing image: {beats[-1]}, the scene at rest"
            keyframes.append(PlannedKeyframe(id=f"k{i:03d}", prompt=prompt + (f", {style}" if style else "")))
        ctx.progress(1.0, status="done")
        return PlanDraft(segments=segments, keyframes=keyframes, style=style)
