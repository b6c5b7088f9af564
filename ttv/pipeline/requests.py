"""The requests a step sends, built in one place so `ttv estimate` prices exactly what render/chain send.

Also the money already spent (the sum over every record), which both the budget guard and the
estimate read.
"""

from __future__ import annotations

from pathlib import Path

from ttv.backends.base import PreviousClip, VideoRequest
from ttv.core.fsutil import atomic_write_text, file_digest
from ttv.pipeline.graph import continue_frames, segment_seed
from ttv.pipeline.project import Project


def keyframe_png(project: Project, kf_id: str) -> Path:
    return project.output_path("keyframe", kf_id)


def last_frame_png(project: Project, seg_id: str) -> Path:
    """The exact last frame of a finished clip (chaining hand-over), extracted once and cached."""
    from ttv.core.media import last_frame  # PyAV: imported when a frame is needed

    record = project.read_record("clip", seg_id)
    clip = project.output_path("clip", seg_id)
    png = project.frames_dir / f"{seg_id}-last.png"
    stamp = project.frames_dir / f"{seg_id}-last.src"
    source = record.output_digest if record else file_digest(clip)
    wanted = f"{source} offset={project.config.stitch.seam_offset}"
    if png.is_file() and stamp.is_file() and stamp.read_text() == wanted:
        return png
    project.frames_dir.mkdir(parents=True, exist_ok=True)
    last_frame(clip, png, offset=project.config.stitch.seam_offset)
    atomic_write_text(stamp, wanted)
    return png


def planned_video_request(project: Project, index: int) -> VideoRequest:
    """The request as it will be sent, with image paths where the images will be (they may not exist yet)."""
    cfg = project.config
    seg = project.plan.segments[index]
    first = last = None
    if cfg.mode == "chain" and index > 0:
        first = project.frames_dir / f"{project.plan.segments[index - 1].id}-last.png"
    elif seg.start_keyframe:
        first = keyframe_png(project, seg.start_keyframe)
    if cfg.mode == "keyframe" and seg.end_keyframe:
        last = keyframe_png(project, seg.end_keyframe)
    return VideoRequest(segment_id=seg.id, prompt=seg.prompt, duration=seg.duration, width=cfg.width,
                        height=cfg.height, fps=cfg.fps, seed=segment_seed(project, index, seg),
                        negative_prompt=seg.negative_prompt, first_image=first, last_image=last,
                        extra={"mode": cfg.mode, "index": index, "count": len(project.plan.segments),
                               "camera": seg.camera},
                        previous=_previous_clip(project, index))


def _previous_clip(project: Project, index: int) -> PreviousClip | None:
    """Chaining with continue_frames > 1: the clip to continue (the backend takes its tail or extends it)."""
    k = continue_frames(project, index)
    if k <= 1:
        return None
    prev = project.plan.segments[index - 1].id
    record = project.read_record("clip", prev)
    return PreviousClip(path=project.output_path("clip", prev), frames=k, seam_offset=project.config.stitch.seam_offset,
                        info=dict(record.info) if record else {}, backend=record.backend if record else "",
                        finished_at=record.finished_at if record else "")


def video_request(project: Project, index: int) -> VideoRequest:
    """The request to generate now: in chaining mode the start frame is extracted (exactly) from the previous clip."""
    req = planned_video_request(project, index)
    if project.config.mode == "chain" and index > 0:
        req.first_image = last_frame_png(project, project.plan.segments[index - 1].id)
    return req


def spent_usd(project: Project) -> float:
    total = 0.0
    for kind, folder in (("keyframe", project.keyframes_dir), ("clip", project.clips_dir)):
        if folder.is_dir():
            for rec_path in folder.glob("*.toml"):
                rec = project.read_record(kind, rec_path.stem)  # type: ignore[arg-type]
                if rec is not None:
                    total += rec.cost_usd
                    if rec.status == "uncertain" or (rec.submitting and not rec.job_id):
                        total += rec.uncertain_usd  # a job that may exist counts as spent until resolved
    return total
