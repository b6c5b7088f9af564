"""What each output depends on, and whether it is fresh: the staleness engine behind resume and `status --why`.

An item is *fresh* when its record says done, the recomputed inputs hash equals the recorded one, and the
output exists with the recorded digest. Inputs include the digests of upstream outputs, so a change
propagates: a new keyframe makes its two segments stale; in chaining mode a redone clip makes every later
clip stale (its start frame changed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ttv.core.fsutil import file_digest
from ttv.core.hashing import inputs_hash
from ttv.core.schemas import KeyframeSpec, Record, SegmentSpec
from ttv.core.states import rest_state
from ttv.core.tomlio import strip_none
from ttv.pipeline.project import Project, RecordKind

PENDING = "pending:"  # digest placeholder for an upstream output that is not made yet


@dataclass
class ItemFreshness:
    """What `evaluate` found for one item: its inputs and their hash, its record, and whether it is fresh."""

    kind: RecordKind
    id: str
    inputs: dict[str, Any]
    hash: str
    record: Record | None
    fresh: bool
    reasons: list[str] = field(default_factory=list)
    upstream: list[str] = field(default_factory=list)
    made_before: bool = False  # no record, but an output exists (a record deleted or broken by hand)

    @property
    def status(self) -> str:
        """The state at rest, in the kernel's vocabulary (ttv.core.states); `ttv status` adds the live run."""
        rec = self.record
        return rest_state(rec.status if rec else None, fresh=self.fresh,
                          inputs_match=rec is not None and rec.inputs_hash == self.hash, made_before=self.made_before)

    @property
    def digest(self) -> str:
        if self.fresh and self.record is not None:
            return self.record.output_digest
        return PENDING + self.id


def _describe_change(key: str, old: Any, new: Any) -> str:
    if key in ("first", "last"):
        label = "start frame" if key == "first" else "end frame"
        src = (new or {}).get("from") if isinstance(new, dict) else None
        if isinstance(new, dict) and str(new.get("digest", "")).startswith(PENDING):
            return f"{label} ({src}) will be redone"
        return f"{label} changed ({src})" if src else f"{label} changed"
    if key == "clips" and isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return f"segment list changed ({len(old)} → {len(new)} clips)"
        old_map = {c[0]: c[1] for c in old if isinstance(c, list | tuple) and len(c) == 2}
        changed = [c for c in new if old_map.get(c[0]) != c[1]]
        redo = [c[0] for c in changed if str(c[1]).startswith(PENDING)]
        remade = [c[0] for c in changed if not str(c[1]).startswith(PENDING)]
        parts = []
        if redo:
            parts.append(f"clip{'s' if len(redo) > 1 else ''} {', '.join(redo)} will be redone")
        if remade:
            parts.append(f"clip{'s' if len(remade) > 1 else ''} {', '.join(remade)} changed")
        return "; ".join(parts) or "clips changed"
    if key in ("prompt", "negative_prompt", "style"):
        return f"{key.replace('_', ' ')} changed"
    if key == "options":
        return "backend options changed"
    if key in ("image", "image_digest"):
        return "source image changed"
    if key == "reference_digests":
        return "reference images changed"
    if isinstance(old, dict | list) or isinstance(new, dict | list):
        return f"{key} changed"
    return f"{key} changed ({old!r} → {new!r})"


def _diff_reasons(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    reasons = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            reasons.append(_describe_change(key, old.get(key), new.get(key)))
    return reasons or ["inputs changed"]


def evaluate(project: Project, kind: RecordKind, item_id: str, inputs: dict[str, Any]) -> ItemFreshness:
    inputs = strip_none(inputs)  # TOML has no null: hash exactly what the record will hold
    h = inputs_hash(inputs)
    record = project.read_record(kind, item_id)
    upstream = [v["from"] for v in inputs.values() if isinstance(v, dict) and "from" in v]
    if record is None:
        out = project.output_path(kind, item_id)
        reason = "never made" if not out.exists() else "record missing or unreadable"
        return ItemFreshness(kind, item_id, inputs, h, None, False, [reason], upstream, made_before=out.exists())
    if record.inputs_hash != h:
        return ItemFreshness(kind, item_id, inputs, h, record, False, _diff_reasons(record.inputs, inputs), upstream)
    if record.status == "failed":
        return ItemFreshness(kind, item_id, inputs, h, record, False, [f"failed last time: {record.error or 'unknown error'}"],
                         upstream)
    if record.status in ("running", "submitted", "planned"):
        why = "interrupted while running"
        if record.job_id:
            why += f" (remote job {record.job_id} on {record.job_provider} will be polled again, not resubmitted)"
            if record.error:
                why += f"; stopped by: {record.error}"  # e.g. a full disk while downloading the finished job
        return ItemFreshness(kind, item_id, inputs, h, record, False, [why], upstream)
    if record.status == "cancelled":
        return ItemFreshness(kind, item_id, inputs, h, record, False, ["cancelled"], upstream)
    if record.status == "uncertain":
        return ItemFreshness(kind, item_id, inputs, h, record, False, [record.error or "a paid job may exist (uncertain)"],
                         upstream)
    if not project.output_is_intact(record):
        path = project.record_path(kind, item_id).parent / record.output
        why = "output missing" if not path.exists() else "output modified since it was made (digest differs)"
        return ItemFreshness(kind, item_id, inputs, h, record, False, [why], upstream)
    return ItemFreshness(kind, item_id, inputs, h, record, True, [], upstream)


# ---- inputs of each kind of item ---------------------------------------------------------------

def segment_seed(project: Project, index: int, seg: SegmentSpec) -> int:
    return seg.seed if seg.seed is not None else project.config.seed + index


def keyframe_seed(project: Project, index: int, kf: KeyframeSpec) -> int:
    return kf.seed if kf.seed is not None else project.config.seed * 1000 + index


def keyframe_provider(project: Project, kf: KeyframeSpec) -> str:
    if kf.image:
        return "files"
    return kf.provider or project.config.keyframes


def output_options(name: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The backend options that decide the output (see `Options.operational` for the ones that do not)."""
    from ttv.backends import registry
    from ttv.core.errors import ConfigError

    try:
        skip = registry.load_class(name).OptionsModel.operational
    except ConfigError:
        return raw
    return {k: v for k, v in raw.items() if k not in skip}


def _reads_camera(name: str) -> bool:
    from ttv.backends import registry
    from ttv.core.errors import ConfigError

    try:
        return bool(getattr(registry.load_class(name), "reads_camera", False))
    except ConfigError:
        return False


def keyframe_inputs(project: Project, kf: KeyframeSpec) -> dict[str, Any]:
    cfg = project.config
    if kf.image:
        digest = _digest_or_missing(project, kf.image)
        return {"provider": "files", "image": kf.image, "image_digest": digest, "width": cfg.width, "height": cfg.height}
    index = [k.id for k in project.plan.keyframes].index(kf.id)
    provider = keyframe_provider(project, kf)
    options = cfg.backends.get(provider, {})
    inputs: dict[str, Any] = {
        "provider": provider,
        "options": output_options(provider, options),
        "prompt": kf.prompt,
        "style": project.plan.style or cfg.style,
        "seed": keyframe_seed(project, index, kf),
        "width": cfg.width,
        "height": cfg.height,
    }
    refs = options.get("reference_images") or []
    if refs:
        # Character/style reference images decide the output too: their content, not just their paths.
        inputs["reference_digests"] = [_digest_or_missing(project, str(r)) for r in refs]
    return inputs


def _digest_or_missing(project: Project, ref: str) -> str:
    path = Path(ref) if Path(ref).is_absolute() else project.root / ref
    return file_digest(path) if path.is_file() else f"missing:{ref}"


def needed_keyframes(project: Project) -> list[KeyframeSpec]:
    """Keyframe mode: every boundary keyframe. Chaining mode: only the first segment's start frame."""
    plan = project.plan
    if project.config.mode == "chain":
        first = plan.segments[0].start_keyframe
        return [plan.keyframe(first)] if first else []
    used = {ref for s in plan.segments for ref in (s.start_keyframe, s.end_keyframe) if ref}
    return [k for k in plan.keyframes if k.id in used]


def segment_backend(project: Project, seg: SegmentSpec) -> str:
    return seg.backend or project.config.backend


def backend_chain(project: Project, seg: SegmentSpec) -> list[str]:
    """Primary backend then the fallback list, without repeats: the chain can never loop."""
    chain: list[str] = []
    for name in [segment_backend(project, seg), *project.config.fallback]:
        if name not in chain:
            chain.append(name)
    return chain


def continue_frames(project: Project, index: int) -> int:
    """K of `continue_frames` for segment `index` (plan.toml wins over `[backends.X]`); 1 = the last frame."""
    if project.config.mode != "chain" or index == 0:
        return 1
    seg = project.plan.segments[index]
    k = seg.continue_frames or project.config.backends.get(segment_backend(project, seg), {}).get("continue_frames")
    return int(k or 1)


def clip_inputs(project: Project, index: int, upstream: dict[str, ItemFreshness]) -> dict[str, Any]:
    """Inputs of clip `index`. `upstream` maps keyframe ids and clip ids to their current states."""
    from ttv.pipeline.verdict import video_options

    cfg = project.config
    seg = project.plan.segments[index]
    backend = segment_backend(project, seg)
    # continue_frames decides only a continued clip, and enters its inputs with the tail (below): a first
    # segment or a keyframe-mode clip must not become stale (and be paid for again) when K changes.
    # The run mode's default model is filled in (video_options): the model that will run decides the clip.
    options = {k: v for k, v in output_options(backend, video_options(project, backend) or {}).items()
               if k != "continue_frames"}
    inputs: dict[str, Any] = {
        "backend": backend,
        "options": options,
        "prompt": seg.prompt,
        "negative_prompt": seg.negative_prompt,
        "duration": seg.duration,
        "fps": cfg.fps,
        "width": cfg.width,
        "height": cfg.height,
        "seed": segment_seed(project, index, seg),
        "mode": cfg.mode,
    }
    if seg.camera and _reads_camera(backend):
        inputs["camera"] = seg.camera  # only where it decides the clip: other backends' records stay fresh
    if cfg.mode == "chain" and index > 0:
        prev = project.plan.segments[index - 1].id
        inputs["first"] = {"from": f"last frame of {prev}", "digest": upstream[prev].digest,
                           "seam_offset": cfg.stitch.seam_offset}
        k = continue_frames(project, index)
        if k > 1:  # the tail is cut from that clip: its digest and K decide it
            inputs["first"].update({"from": f"last {k} frames of {prev}", "frames": k})
    elif seg.start_keyframe:
        inputs["first"] = {"from": f"keyframe {seg.start_keyframe}", "digest": upstream[seg.start_keyframe].digest}
    if cfg.mode == "keyframe" and seg.end_keyframe:
        inputs["last"] = {"from": f"keyframe {seg.end_keyframe}", "digest": upstream[seg.end_keyframe].digest}
    return inputs


def final_inputs(project: Project, clips: list[ItemFreshness]) -> dict[str, Any]:
    cfg = project.config
    return {
        "clips": [[c.id, c.digest] for c in clips],
        "stitch": cfg.stitch.model_dump(),
        # names the method, so films graded by the old whole-clip anchoring are stitched again
        "color_match": "seam-drift" if cfg.stitch_color_match() else False,
        "width": cfg.width,
        "height": cfg.height,
        "fps": cfg.fps,
        "mode": cfg.mode,
    }


@dataclass
class Graph:
    keyframes: list[ItemFreshness]
    clips: list[ItemFreshness]
    final: ItemFreshness

    def all(self) -> list[ItemFreshness]:
        return [*self.keyframes, *self.clips, self.final]


def build_graph(project: Project) -> Graph:
    """Every item's state, in dependency order, predicting that stale upstream work will be redone."""
    states: dict[str, ItemFreshness] = {}
    keyframes = []
    for kf in needed_keyframes(project):
        st = evaluate(project, "keyframe", kf.id, keyframe_inputs(project, kf))
        states[kf.id] = st
        keyframes.append(st)
    clips = []
    for i, seg in enumerate(project.plan.segments):
        st = evaluate(project, "clip", seg.id, clip_inputs(project, i, states))
        states[seg.id] = st
        clips.append(st)
    final = evaluate(project, "final", "final", final_inputs(project, clips))
    return Graph(keyframes, clips, final)
