"""Planning: idea -> plan.toml through a planner backend (offline heuristic, or an LLM).

An existing plan is kept unless forced; re-planning keeps segments the user locked.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ttv.backends import registry
from ttv.backends.base import Planner, PlanRequest, VideoBackend, VideoCapabilities
from ttv.core.errors import BackendError, TtvError
from ttv.core.fsutil import atomic_write_text
from ttv.core.schemas import KeyframeSpec, Plan, SegmentSpec
from ttv.pipeline.project import Project
from ttv.pipeline.runner import Clock

# ---- plan -----------------------------------------------------------------------------------

def default_segment_count(project: Project) -> int:
    cfg = project.config
    if cfg.segments:
        return cfg.segments
    return max(1, round((cfg.duration or 30.0) / 5.0))


def plan_step(project: Project, *, force: bool = False, planner: str | None = None, segments: int | None = None,
              duration: float | None = None, style: str | None = None, warn: Any = None,
              clock: Clock | None = None, info: dict[str, Any] | None = None) -> tuple[Plan, bool]:
    """Write plan.toml. Returns (plan, changed). An existing plan is kept unless `force`;
    re-planning keeps locked segments.

    `segments` / `duration` / `style` steer this plan (they override ttv.toml for this run: an explicit
    --duration without --segments lets the planner derive the count). A planner that is not available
    (no key, missing extra) is an error naming what would enable it (exit 3); nothing falls back to
    another planner behind the user's back, and no setting is edited. Any other planner failure (invalid answer, refusal, auth, 429 after retries) raises, and
    plan.toml is left as it was. LLM planners' raw requests and responses go to `.ttv/planner/`.
    `info`, when given, receives "notes" (what was adjusted, e.g. snapped durations) and "audit" (path)."""
    if project.has_plan and not force:
        return project.plan, False
    cfg = project.config
    name = planner or cfg.planner
    caps = _video_caps(project)
    if segments is not None:
        want_segments: int | None = segments
    elif duration is not None:
        want_segments = None  # an explicit total: the planner derives the count
    else:
        want_segments = cfg.segments
    request = PlanRequest(idea=cfg.idea, mode=cfg.mode, segments=want_segments,
                          total_duration=duration if duration is not None else cfg.duration,
                          style=style if style is not None else cfg.style, seed=cfg.seed, capabilities=caps)
    planner_obj = registry.create(name, cfg.backends.get(name), kind="planner")
    assert isinstance(planner_obj, Planner)
    available = planner_obj.is_available()
    if not available.ok:
        # The planner was chosen (on the command line or in ttv.toml): planning with another one would
        # hand back a plan the user did not ask for. Say what would enable it; change nothing.
        where = "--planner" if planner else f"planner = {name!r} in ttv.toml"
        raise BackendError(f"planner {name!r} ({where}) cannot run here: {available.reason}",
                           hint=f"set it up and run the same command again, or plan offline with "
                                f"`ttv plan --planner heuristic`{' --force' if force else ''}; plan.toml was not changed",
                           kind="backend", code="planner-unavailable")
    old_plan = project.plan if project.has_plan else None
    locked = _locked_context(old_plan) if old_plan is not None else []
    set_locked = getattr(planner_obj, "set_locked", None)
    if locked and callable(set_locked):
        set_locked(locked)
    ctx = _SimpleContext(project, "plan", clock)
    project.events.emit("item.started", item="plan", step="plan", backend=name, attempt=1)
    started = _utc_stamp()
    try:
        draft = planner_obj.plan(request, ctx)
    except BaseException as exc:
        _write_audit(project, name, planner_obj, request, started, error=exc)
        if isinstance(exc, TtvError):
            project.events.emit("item.failed", item="plan", step="plan", error=exc.message,
                                error_kind=getattr(exc, "kind", ""))
        raise
    finally:
        with contextlib.suppress(Exception):
            planner_obj.close()  # type: ignore[attr-defined]
    notes = list(getattr(planner_obj, "notes", []) or [])
    try:
        new_segments = [SegmentSpec(**s.model_dump()) for s in draft.segments]
        keyframes = [KeyframeSpec(id=k.id, prompt=k.prompt) for k in draft.keyframes]
    except ValidationError as exc:
        from ttv.core.validation import describe_validation_error

        err = BackendError(f"planner {name!r} produced an invalid plan: "
                           f"{describe_validation_error(exc, 'the plan', SegmentSpec)}",
                           hint="plan.toml was not changed; try again or use `--planner heuristic`",
                           kind="request", code="invalid-plan")
        _write_audit(project, name, planner_obj, request, started, error=err)
        raise err from None
    # Keyframe mode: segment i goes from keyframe i to keyframe i+1. Chaining: only the first start frame.
    for i, seg in enumerate(new_segments):
        if cfg.mode == "keyframe" and len(keyframes) > i + 1:
            seg.start_keyframe, seg.end_keyframe = keyframes[i].id, keyframes[i + 1].id
        elif i == 0 and keyframes:
            seg.start_keyframe = keyframes[0].id
    if old_plan is not None:
        new_segments, keyframes = _keep_locked(old_plan, new_segments, keyframes)
    try:
        plan = Plan(planner=name, style=draft.style or request.style, segments=new_segments, keyframes=keyframes)
    except ValidationError as exc:
        from ttv.core.validation import describe_validation_error

        err = BackendError(f"planner {name!r} produced an invalid plan: {describe_validation_error(exc, 'the plan', Plan)}",
                           hint="plan.toml was not changed", kind="request", code="invalid-plan")
        _write_audit(project, name, planner_obj, request, started, error=err)
        raise err from None
    mismatch = _length_mismatch(plan, request, project.config.backend)
    if mismatch:
        _warn(project, warn, mismatch)
    audit = _write_audit(project, name, planner_obj, request, started, notes=notes)
    project.save_plan(plan)
    if info is not None:
        info["notes"] = notes
        info["audit"] = project.rel(audit) if audit else ""
        info["planner"] = name
    for note in notes:
        project.events.emit("log", level="info", message=f"plan: {note}")
    project.events.emit("item.done", item="plan", step="plan", segments=len(plan.segments), backend=name,
                        audit=project.rel(audit) if audit else None)
    return plan, True


def _warn(project: Project, warn: Any, message: str) -> None:
    if warn is not None:
        warn(message)
    else:
        import sys

        print(f"warning: {message}", file=sys.stderr)
    project.events.emit("log", level="warning", message=message)


def _length_mismatch(plan: Plan, request: PlanRequest, backend: str) -> str:
    """Never shorten (or stretch) the film silently: a backend's segment limits can make the planned total
    differ from the one asked for (e.g. 3600 s in 1 segment, when a segment lasts at most 600 s)."""
    asked = request.total_duration
    if not asked:
        return ""
    total = sum(s.duration for s in plan.segments)
    if abs(total - asked) <= max(0.5, 0.02 * asked):
        return ""
    caps = request.capabilities
    limits = ""
    if caps is not None:
        allowed = (", ".join(f"{d:g}" for d in caps.durations) if caps.durations
                   else f"{caps.min_duration:g}-{caps.max_duration:g}")
        limits = f" ({backend} makes segments of {allowed} s)"
        longest = max(caps.durations) if caps.durations else caps.max_duration
        if total < asked and longest > 0:
            import math

            n = math.ceil(asked / longest)
            limits += f"; for {asked:g} s ask for at least {n} segments: `ttv plan --force --segments {n}`"
    return f"the plan lasts {total:g} s, not the {asked:g} s asked for{limits}"


def _locked_context(old: Plan) -> list[dict[str, Any]]:
    return [{"index": i, "id": s.id, "duration": s.duration, "prompt": s.prompt}
            for i, s in enumerate(old.segments) if s.locked]


def _utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def audit_dir(project: Project) -> Path:
    return project.ttv_dir / "planner"


def _write_audit(project: Project, name: str, planner: Planner, request: PlanRequest, started: str, *,
                 notes: list[str] | None = None, error: BaseException | None = None) -> Path | None:
    """Keep the planner's raw request/response for audit: `.ttv/planner/<timestamp>-<planner>.json`.
    Only LLM planners (with a transcript) write one. Known key values are redacted."""
    transcript = getattr(planner, "transcript", None)
    if not transcript:
        return None
    from ttv.core.keys import redact

    caps = request.capabilities
    doc: dict[str, Any] = {
        "planner": name,
        "model": planner.model_name(),
        "started_at": started,
        "finished_at": _utc_stamp(),
        "ok": error is None,
        "request": {"idea": request.idea, "mode": request.mode, "segments": request.segments,
                    "total_duration": request.total_duration, "style": request.style, "seed": request.seed,
                    "video_backend": project.config.backend,
                    "durations": (caps.durations if caps and caps.durations else
                                  [caps.min_duration, caps.max_duration] if caps else None),
                    "max_prompt_chars": caps.max_prompt_chars if caps else None},
        "usage": getattr(planner, "usage", {}),
        "cost_usd": planner.actual_cost() if hasattr(planner, "actual_cost") else 0.0,
        "exchanges": transcript,
        "notes": notes or [],
    }
    if error is not None:
        doc["error"] = {"type": type(error).__name__, "message": getattr(error, "message", str(error)),
                        "kind": getattr(error, "kind", None), "code": getattr(error, "code", None)}
    text = redact(json.dumps(doc, indent=2, ensure_ascii=False, default=str))
    path = audit_dir(project) / f"{started}-{name}.json"
    atomic_write_text(path, text + "\n")
    return path


def _keep_locked(old: Plan, segments: list[SegmentSpec],
                 keyframes: list[KeyframeSpec]) -> tuple[list[SegmentSpec], list[KeyframeSpec]]:
    """Locked segments of the old plan replace the new segment with the same id (with their keyframes);
    a locked segment beyond the end of the new plan is appended, so a re-plan never loses one."""
    kf_by_id = {k.id: k for k in keyframes}
    new_ids = {s.id for s in segments}
    out = []
    for seg in [*segments, *[s for s in old.segments if s.locked and s.id not in new_ids]]:
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
    used = {ref for s in out for ref in (s.start_keyframe, s.end_keyframe) if ref}
    kept = list(kf_by_id.values()) + [k for k in old.keyframes if k.id not in kf_by_id and k.id in used]
    return out, kept


def _video_caps(project: Project) -> VideoCapabilities | None:
    try:
        from ttv.pipeline.verdict import video_options

        backend = registry.create(project.config.backend, video_options(project, project.config.backend),
                                  kind="video")
        assert isinstance(backend, VideoBackend)
        return backend.capabilities()
    except Exception:  # noqa: BLE001 - planning works without knowing the backend's limits
        return None


class _SimpleContext:
    """A JobContext for work that is not a recorded item (planning)."""

    job_id: str | None = None

    def __init__(self, project: Project, step: str, clock: Clock | None = None) -> None:
        self.project, self.step = project, step
        self.clock = clock or Clock()

    def remember_job(self, job_id: str, **info: Any) -> None:
        self.job_id = job_id

    def progress(self, fraction: float | None = None, **kw: Any) -> None:
        self.project.events.emit("item.progress", item=self.step, step=self.step, fraction=fraction,
                                 **{k: v for k, v in kw.items() if v is not None})

    def event(self, type: str, **data: Any) -> None:
        self.project.events.emit(type, item=self.step, **data)

    def sleep(self, seconds: float) -> None:
        self.clock.sleep_fn(seconds)

    def now(self) -> float:
        return self.clock.now_fn()


