"""Remote jobs already submitted: waiting for them (`ttv wait`) and cancelling them (`ttv cancel`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from ttv.backends import registry
from ttv.backends.base import VideoBackend
from ttv.core.errors import BackendError, ConfigError, TtvTimeout
from ttv.pipeline.project import Project
from ttv.pipeline.runner import Interrupted, utcnow
from ttv.pipeline.steps import RunOptions, StepReport, clips_step


@dataclass
class JobRow:
    id: str
    backend: str
    job_id: str
    status: str
    cost_usd: float
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


def pending_jobs(project: Project) -> list[str]:
    """Segments whose record holds a submitted (or interrupted running) remote job."""
    ids = []
    for seg in project.plan.segments:
        rec = project.read_record("clip", seg.id)
        if rec is not None and rec.job_id and rec.status in ("submitted", "running"):
            ids.append(seg.id)
    return ids


def job_table(project: Project, ids: list[str]) -> list[JobRow]:
    rows = []
    for seg_id in ids:
        rec = project.read_record("clip", seg_id)
        if rec is None:
            continue
        job = rec.job_id or next((a.job_id for a in reversed(rec.attempts) if a.job_id), "")
        rows.append(JobRow(seg_id, rec.backend or rec.job_provider, job, rec.status, rec.cost_usd, rec.error))
    return rows


def wait_for_jobs(project: Project, timeout: float | None, options: RunOptions) -> tuple[StepReport | None, list[str]]:
    """Poll every submitted job to completion (downloading and recording each clip). A timeout leaves
    the jobs submitted (a later `ttv wait` or run polls them again) and raises TtvTimeout."""
    ids = pending_jobs(project)
    if not ids:
        return None, []
    options.only = set(ids)
    step = "render" if project.config.mode == "keyframe" else "chain"
    timer = None
    if timeout is not None:
        timer = threading.Timer(timeout, options.stop.set)
        timer.daemon = True
        timer.start()
    try:
        report = clips_step(project, options, step=step)
    except Interrupted:
        if timer is not None and options.stop.is_set():
            raise TtvTimeout(f"jobs still running after {timeout:g} s: {', '.join(pending_jobs(project))}",
                             hint="they keep running at the provider; run `ttv wait` again to collect them") from None
        raise
    finally:
        if timer is not None:
            timer.cancel()
    return report, ids


def cancel_jobs(project: Project, ids: list[str]) -> list[JobRow]:
    known = {s.id for s in project.plan.segments}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ConfigError(f"unknown segment(s): {', '.join(unknown)}", hint=f"known: {', '.join(sorted(known))}")
    rows = []
    for seg_id in ids:
        rec = project.read_record("clip", seg_id)
        if rec is None or not rec.job_id or rec.status not in ("submitted", "running"):
            rows.append(JobRow(seg_id, rec.backend if rec else "", "", rec.status if rec else "missing", 0.0,
                               "no remote job in flight"))
            continue
        from ttv.pipeline.verdict import video_options

        backend = registry.create(rec.job_provider, video_options(project, rec.job_provider), kind="video")
        assert isinstance(backend, VideoBackend)
        note = ""
        try:
            backend.cancel(rec.job_id)
        except BackendError as exc:
            if exc.code != "cancel-unsupported":
                raise
            # The provider has no cancel call: stop tracking the job, and say it may still be billed.
            note = f"{rec.job_provider} cannot cancel jobs: {rec.job_id} may still finish and be billed"
        finally:
            backend.close()
        project.events.emit("item.failed", item=seg_id, step="cancel", error="cancelled by the user",
                            error_kind="request", job_id=rec.job_id)
        rec.status, rec.error = "cancelled", "cancelled by the user (`ttv cancel`)"
        for attempt in reversed(rec.attempts):
            if attempt.job_id == rec.job_id:
                attempt.status, attempt.ended_at = "cancelled", utcnow()
                break
        job = rec.job_id
        rec.job_id, rec.job_provider = "", ""
        project.write_record(rec)
        rows.append(JobRow(seg_id, rec.backend or "", job, "cancelled", rec.cost_usd, note))
    return rows
