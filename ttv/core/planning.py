"""Planning: idea -> plan.toml through a planner backend (offline heuristic, or an LLM).

An existing plan is kept unless forced; re-planning keeps segments the user locked.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from ttv.backends import registry
from ttv.backends.base import Planner, PlanRequest, VideoBackend, VideoCapabilities
from ttv.core.errors import ConfigError
from ttv.core.project import Project
from ttv.core.schemas import KeyframeSpec, Plan, SegmentSpec

# ---- plan -----------------------------------------------------------------------------------

def default_segment_count(project: Project) -> int:
    cfg = project.config
    if cfg.segments:
        return cfg.segments
    return max(1, round((cfg.duration or 30.0) / 5.0))


def plan_step(project: Project, *, force: bool = False, planner: str | None = None, segments: int | None = None,
              duration: float | None = None, style: str | None = None, warn: Any = None) -> tuple[Plan, bool]:
    """Write plan.toml. Returns (plan, changed). An existing plan is kept unless `force`;
    re-planning keeps locked segments."""
    if project.has_plan and not force:
        return project.plan, False
    cfg = project.config
    name = planner or cfg.planner
    caps = _video_caps(project)
    request = PlanRequest(idea=cfg.idea, mode=cfg.mode, segments=segments or cfg.segments,
                          total_duration=duration or cfg.duration, style=style if style is not None else cfg.style,
                          seed=cfg.seed, capabilities=caps)
    planner_obj = registry.create(name, cfg.backends.get(name), kind="planner")
    assert isinstance(planner_obj, Planner)
    available = planner_obj.is_available()
    if not available.ok:
        if name == "heuristic":
            raise ConfigError(f"planner {name!r} unavailable: {available.reason}")
        # Never silently: say which key or extra would enable the LLM planner.
        if warn is not None:
            warn(f"planner {name!r} is not available ({available.reason}); using the offline heuristic planner")
        project.events.emit("log", level="warning", message=f"planner {name} unavailable: {available.reason}")
        planner_obj = registry.create("heuristic", None, kind="planner")
        assert isinstance(planner_obj, Planner)
        name = "heuristic"
    ctx = _SimpleContext(project, "plan")
    draft = planner_obj.plan(request, ctx)
    new_segments = [SegmentSpec(**s.model_dump()) for s in draft.segments]
    keyframes = [KeyframeSpec(id=k.id, prompt=k.prompt) for k in draft.keyframes]
    # Keyframe mode: segment i goes from keyframe i to keyframe i+1. Chaining: only the first start frame.
    for i, seg in enumerate(new_segments):
        if cfg.mode == "keyframe" and len(keyframes) > i + 1:
            seg.start_keyframe, seg.end_keyframe = keyframes[i].id, keyframes[i + 1].id
        elif i == 0 and keyframes:
            seg.start_keyframe = keyframes[0].id
    if project.has_plan:
        new_segments, keyframes = _keep_locked(project.plan, new_segments, keyframes)
    plan = Plan(planner=name, style=draft.style or request.style, segments=new_segments, keyframes=keyframes)
    project.save_plan(plan)
    project.events.emit("item.done", item="plan", step="plan", segments=len(plan.segments))
    return plan, True


def _keep_locked(old: Plan, segments: list[SegmentSpec],
                 keyframes: list[KeyframeSpec]) -> tuple[list[SegmentSpec], list[KeyframeSpec]]:
    kf_by_id = {k.id: k for k in keyframes}
    out = []
    for seg in segments:
        try:
            prev = old.segment(seg.id)
        except KeyError:
            out.append(seg)
            continue
        if prev.locked:
            out.append(prev)
            for ref in (prev.start_keyframe, prev.end_keyframe):
                if ref:
                    with contextlib.suppress(KeyError):
                        kf_by_id[ref] = old.keyframe(ref)
        else:
            out.append(seg)
    return out, list(kf_by_id.values()) + [k for k in old.keyframes if k.id not in kf_by_id and
                                            any(k.id in (s.start_keyframe, s.end_keyframe) for s in out)]


def _video_caps(project: Project) -> VideoCapabilities | None:
    try:
        backend = registry.create(project.config.backend, project.config.backends.get(project.config.backend),
                                  kind="video")
        assert isinstance(backend, VideoBackend)
        return backend.capabilities()
    except Exception:  # noqa: BLE001 - planning works without knowing the backend's limits
        return None


class _SimpleContext:
    """A JobContext for work that is not a recorded item (planning)."""

    job_id: str | None = None

    def __init__(self, project: Project, step: str) -> None:
        self.project, self.step = project, step

    def remember_job(self, job_id: str, **info: Any) -> None:
        self.job_id = job_id

    def progress(self, fraction: float | None = None, **kw: Any) -> None:
        self.project.events.emit("item.progress", item=self.step, step=self.step, fraction=fraction,
                                 **{k: v for k, v in kw.items() if v is not None})

    def event(self, type: str, **data: Any) -> None:
        self.project.events.emit(type, item=self.step, **data)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def now(self) -> float:
        return time.monotonic()


