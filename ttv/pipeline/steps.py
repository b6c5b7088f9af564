"""The pipeline steps: plan, keyframes, clips (render in keyframe mode / chain in chaining mode), stitch.

Each step reads the project, works out what is stale, does only that, and records everything on disk.
Commands in ttv/commands are thin layers over these functions.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from ttv.backends import registry
from ttv.backends.base import (
    Backend,
    GenerateResult,
    ImageProvider,
    ImageRequest,
    VideoBackend,
    VideoCapabilities,
    VideoRequest,
    plan_continuation,
)
from ttv.core.errors import BackendError, ConfigError, InputRejected, TtvError
from ttv.core.schemas import KeyframeSpec, SegmentSpec
from ttv.pipeline.graph import (
    ItemFreshness,
    backend_chain,
    build_graph,
    continue_frames,
    evaluate,
    final_inputs,
    keyframe_inputs,
    keyframe_provider,
    keyframe_seed,
    needed_keyframes,
)
from ttv.pipeline.project import Project, RecordKind
from ttv.pipeline.requests import planned_video_request, spent_usd, video_request
from ttv.pipeline.runner import BackendPool, Clock, Interrupted, ItemContext, ItemRun, Outcome, StopFlag, run_item
from ttv.pipeline.verdict import notes as verdict_notes
from ttv.pipeline.verdict import require_usable, video_options

OnError = Literal["fail", "keep-going"]


@dataclass
class RunOptions:
    force: bool = False
    only: set[str] | None = None
    on_error: OnError = "fail"
    max_cost: float | None = None  # overrides ttv.toml max_cost_usd
    dry_run: bool = False
    detach: bool = False
    clock: Clock = field(default_factory=Clock)
    stop: StopFlag = field(default_factory=StopFlag)
    stopped_by_failure: bool = False  # --on-error fail stopped the run: interrupted items are not errors
    budget: tuple[BudgetGuard | None, dict[str, float]] = (None, {})  # set by clips_step
    executor: Literal["local", "ray"] = "local"  # ray: video backends run in Ray actors (one per GPU)
    ray_address: str | None = None  # e.g. "ray://head:10001" or "auto"; None starts a local Ray
    gpus: list[int] | None = None  # --gpus: overrides the `gpus` option of every local backend for this run
    force_ids: set[str] | None = None  # with force: only these ids are forced (None: every selected id)

    def selected(self, item_id: str) -> bool:
        return self.only is None or item_id in self.only

    def forces(self, item_id: str) -> bool:
        return self.force and (self.force_ids is None or item_id in self.force_ids)


@dataclass
class PlannedWork:
    """One item a step would (re)do, with why and what it costs (for --dry-run and budgets)."""

    id: str
    reasons: list[str]
    backend: str
    cost_usd: float
    seconds: float
    note: str = ""  # a dry run's warning for this item, e.g. "cannot run here: no API key ..."


@dataclass
class StepReport:
    step: str
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # fresh, kept
    planned: list[PlannedWork] = field(default_factory=list)  # dry-run
    notes: list[str] = field(default_factory=list)  # said in the summary (e.g. end keyframes not used)
    seconds: float = 0.0
    output: str = ""

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def done(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "done"]

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "done": [o.id for o in self.done],
            "fallbacks": [{"id": o.id, "backend": o.backend, "instead_of": o.fallback_from}
                          for o in self.done if o.fallback_from],
            "failed": [{"id": o.id, "error": o.error} for o in self.failed],
            "submitted": [o.id for o in self.outcomes if o.status == "submitted"],
            "skipped": self.skipped,
            "would_run": [vars(p) for p in self.planned],
            "cost_usd": round(sum(o.cost_usd for o in self.outcomes), 4),
            "seconds": round(self.seconds, 3),
            "output": self.output,
            "notes": list(self.notes),
        }


def _check_only(ids: Iterable[str], options: RunOptions, what: str) -> None:
    if options.only is None:
        return
    known = set(ids)
    unknown = sorted(options.only - known)
    if unknown:
        raise ConfigError(f"--only names unknown {what}: {', '.join(unknown)}",
                          hint=f"known {what}: {', '.join(sorted(known)) or '(none)'}")


def _todo(states: list[ItemFreshness], options: RunOptions, project: Project | None = None) -> tuple[list[ItemFreshness], list[str]]:
    todo, skipped = [], []
    for st in states:
        if not options.selected(st.id):
            continue
        if st.fresh and not options.forces(st.id):
            skipped.append(st.id)
            if project is not None and not options.dry_run:
                project.events.emit("item.skipped", item=st.id, reason="fresh")
        else:
            if st.fresh and options.forces(st.id):
                st.reasons = ["--force"]
            todo.append(st)
    return todo, skipped


def _create_video(project: Project, name: str, options: RunOptions, *, max_workers: int | None = None,
                  clips: int | None = None) -> Backend:
    """A video backend, run here or (--executor ray) in Ray actors that each hold a loaded pipeline; `max_workers`
    caps the actors started (chaining renders one segment at a time, so one actor is all it can use)."""
    backend = _create(project, name, "video", gpus=options.gpus, dry_run=options.dry_run)
    if isinstance(backend, VideoBackend):  # how many GPUs go on one clip depends on the mode (parallel Wan)
        backend.set_schedule(project.config.mode, clips)
    # Remote APIs gain nothing from Ray (their work happens at the provider); a dry run starts nothing.
    if (options.executor == "ray" and not options.dry_run and isinstance(backend, VideoBackend)
            and not backend.capabilities().remote):
        from ttv.pipeline.ray_executor import RayVideoBackend

        wrapped = RayVideoBackend.wrap(backend, _backend_options(project, name, options.gpus) or {},
                                       address=options.ray_address, max_workers=max_workers)
        available = wrapped.is_available()
        if not available.ok:
            raise BackendError(f"--executor ray cannot run {name!r}: {available.reason}", kind="backend",
                               code="unavailable", hint="pip install 'ttv[ray]', or drop --executor ray")
        return wrapped
    return backend


def unusable_note(backend: Backend) -> str:
    available = backend.is_available()
    return "" if available.ok else f"cannot run here: {available.reason}"


def _backend_options(project: Project, name: str, gpus: list[int] | None = None,
                     kind: Literal["video", "image", "planner"] = "video") -> dict[str, Any] | None:
    """[backends.NAME] of ttv.toml (a video backend's with the run mode's default model where none is set),
    with --gpus in place of its `gpus` where the backend has that option."""
    raw = video_options(project, name) if kind == "video" else project.config.backends.get(name)
    if gpus is None:
        return raw
    model = getattr(registry.load_class(name), "OptionsModel", None)
    if model is None or "gpus" not in getattr(model, "model_fields", {}):
        return raw
    return {**(raw or {}), "gpus": list(gpus)}


def _create(project: Project, name: str, kind: Literal["video", "image", "planner"],
            gpus: list[int] | None = None, *, dry_run: bool = False) -> Backend:
    """The backend, ready to run; a dry run takes it even when it cannot run here (no key, missing extra),
    so the work and its cost are still shown, with the reason as a note (`unusable_note`)."""
    backend = registry.create(name, _backend_options(project, name, gpus, kind), kind=kind)
    if dry_run:
        return backend
    available = backend.is_available()
    if not available.ok:
        if (available.reason or "").startswith("unknown model"):
            # A typo in ttv.toml is a config mistake (exit 2, like every other one), not a backend failure.
            raise ConfigError(f"{project.rel(project.config_path)}: [backends.{name}]: {available.reason}",
                              hint=f"`ttv backends info {name}` lists its models")
        raise BackendError(f"backend {name!r} is not available: {available.reason}", kind="backend", code="unavailable",
                           hint=f"`ttv backends info {name}` says what it needs")
    return backend


# ---- keyframes ------------------------------------------------------------------------------

def _verify_image(width: int, height: int) -> Any:
    def verify(path: Path) -> dict[str, Any]:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as im:
                im.load()
                size = im.size
        except (UnidentifiedImageError, OSError) as exc:
            raise BackendError(f"the keyframe image is not a readable image: {exc}", kind="retryable") from exc
        if size != (width, height):
            raise BackendError(f"keyframe is {size[0]}x{size[1]}, expected {width}x{height}", kind="backend")
        return {"width": size[0], "height": size[1]}

    return verify


def _image_request(project: Project, kf: KeyframeSpec, index: int) -> ImageRequest:
    cfg = project.config
    return ImageRequest(keyframe_id=kf.id, prompt=kf.prompt, width=cfg.width, height=cfg.height,
                        seed=keyframe_seed(project, index, kf), style=project.plan.style or cfg.style,
                        extra={"image": kf.image, "project_root": str(project.root), "index": index})


def keyframes_step(project: Project, options: RunOptions) -> StepReport:
    """Make stale keyframes: availability and budget checked before anything is spent, remote providers
    in parallel up to their concurrency, then keyframes/contact-sheet.png for review."""
    t0 = time.monotonic()
    report = StepReport("keyframes")
    # Keyframes the video backend could not use are never made (nor paid): refuse now, exit 2.
    require_usable(project)
    kfs = needed_keyframes(project)
    _check_only([k.id for k in kfs], options, "keyframes")
    states = [evaluate(project, "keyframe", k.id, keyframe_inputs(project, k)) for k in kfs]
    todo, report.skipped = _todo(states, options, project)
    by_id = {k.id: (i, k) for i, k in enumerate(project.plan.keyframes)}
    pool = BackendPool(lambda name: _create(project, name, "image", gpus=options.gpus, dry_run=options.dry_run))
    try:
        for st in todo:
            index, kf = by_id[st.id]
            name = keyframe_provider(project, kf)
            # A provider that cannot run (no key, missing extra) fails here, before any record is touched.
            provider = pool.primary(name)
            assert isinstance(provider, ImageProvider)
            est = provider.estimate_cost(_image_request(project, kf, index))
            note = unusable_note(provider) if options.dry_run else ""
            report.planned.append(PlannedWork(st.id, st.reasons, name, est.usd, est.seconds, note))
        if options.dry_run:
            return report
        check_budget(project, report.planned, options)
        report.planned = []
        if todo:
            # ids: the dashboard and `ttv status` show these as queued until each starts (ttv.core.states)
            project.events.emit("step.started", step="keyframes", items=len(todo), ids=[st.id for st in todo])

        def run_one(st: ItemFreshness) -> Outcome:
            index, kf = by_id[st.id]
            req = _image_request(project, kf, index)

            def generate(backend: Backend, out: Path, ctx: ItemContext) -> GenerateResult:
                assert isinstance(backend, ImageProvider)
                return backend.generate(req, out, ctx)

            run = ItemRun(project, st, "keyframes", options.stop, options.clock, new_job=options.forces(st.id))
            return run_item(run, [keyframe_provider(project, kf)], pool, generate,
                            _verify_image(project.config.width, project.config.height), retries=project.config.retries)

        names = {keyframe_provider(project, by_id[st.id][1]) for st in todo}
        _run_pool(todo, run_one, sum(pool.slots(n) for n in names), options, report, list(by_id))
    finally:
        pool.close()
        if todo and not options.dry_run:
            from ttv.pipeline.contact_sheet import write_contact_sheet

            sheet = write_contact_sheet(project)
            report.output = project.rel(sheet) if sheet else ""
    report.seconds = time.monotonic() - t0
    return report


# ---- clips ----------------------------------------------------------------------------------

def _verify_clip(project: Project, seg: SegmentSpec) -> Any:
    def verify(path: Path) -> dict[str, Any]:
        from ttv.core.media import MediaError, verify_video

        try:
            info = verify_video(path, decode="tail")  # container, packet count, and the last frames decode
        except MediaError as exc:
            raise BackendError(f"the clip for {seg.id} does not decode: {exc}", kind="retryable") from exc
        if info.frames < 1:
            raise BackendError(f"the clip for {seg.id} has no frames", kind="retryable")
        return {"frames": info.frames, "fps": round(info.fps, 3), "width": info.width, "height": info.height,
                "duration": round(info.duration, 3), "codec": info.codec, "has_audio": info.has_audio}

    return verify


def _require_upstream(project: Project, index: int, st: ItemFreshness) -> None:
    for key in ("first", "last"):
        dep = st.inputs.get(key)
        if isinstance(dep, dict) and str(dep.get("digest", "")).startswith("pending:"):
            what = dep.get("from", "an upstream output")
            step = "ttv keyframes" if "keyframe" in str(what) else "ttv chain"
            raise ConfigError(f"segment {st.id} needs {what}, which is not made yet", hint=f"run `{step}` first (or `ttv run`)")


def first_usable(project: Project, index: int, pool: BackendPool) -> tuple[str, VideoBackend]:
    """The first backend of the segment's chain that can run here. An unusable primary (no key, missing
    extra) with a fallback is said out loud, once per backend; with no usable backend the first reason stands."""
    seg = project.plan.segments[index]
    first_error: BackendError | None = None
    chain = backend_chain(project, seg)
    for position, name in enumerate(chain):
        try:
            backend = pool.primary(name)
        except BackendError as exc:
            first_error = first_error or exc
            if name not in pool.reported_unusable and position + 1 < len(chain):
                pool.reported_unusable.add(name)
                project.events.emit("log", level="warning", message=f"{exc.message}; falling back to {chain[position + 1]}")
            continue
        assert isinstance(backend, VideoBackend)
        return name, backend
    assert first_error is not None
    raise first_error


def estimate_clip(project: Project, index: int, st: ItemFreshness, pool: BackendPool) -> PlannedWork:
    name, backend = first_usable(project, index, pool)
    req = planned_video_request(project, index)
    est = backend.estimate_cost(req)
    return PlannedWork(st.id, st.reasons, name, est.usd, est.seconds)


def _images_not_made_yet(project: Project, index: int) -> bool:
    req = planned_video_request(project, index)
    return any(image is not None and not image.exists() for image in (req.first_image, req.last_image))


def _prevalidate(project: Project, index: int, pool: BackendPool) -> None:
    seg = project.plan.segments[index]
    chain = backend_chain(project, seg)
    name, backend = first_usable(project, index, pool)
    chain = chain[chain.index(name):]
    try:
        backend.validate_inputs(_with_standins(project, planned_video_request(project, index)))
    except InputRejected as exc:
        if len(chain) > 1:
            project.events.emit("log", level="warning", message=f"{seg.id}: {exc.message}; will fall back")
            return  # the runner records the rejection and moves to the next backend
        raise ConfigError(exc.message, hint=exc.hint) from None


def _with_standins(project: Project, req: VideoRequest) -> VideoRequest:
    """The request with a stand-in PNG (project size, in `.ttv/tmp`) for each image not made yet (a keyframe
    still to render, the previous clip's last frame in chaining mode), so sizes, ratios and modes are checked
    before anything is paid for; the real images are checked again when each item starts."""
    missing = [p for p in (req.first_image, req.last_image) if p is not None and not p.exists()]
    if not missing:
        return req
    from PIL import Image

    from ttv.core.fsutil import TMP_DIR, guard_path

    folder = guard_path(project.ttv_dir / TMP_DIR, project.root, what="write into")
    folder.mkdir(parents=True, exist_ok=True)
    standin = guard_path(folder / f"standin-{req.width}x{req.height}.png", project.root)
    if not standin.exists():
        Image.new("RGB", (req.width, req.height), (128, 128, 128)).save(standin, format="PNG")
    first, last = req.first_image, req.last_image
    return replace(req, first_image=standin if first is not None and not first.exists() else first,
                   last_image=standin if last is not None and not last.exists() else last)


def prevalidate_clips(project: Project, options: RunOptions) -> None:
    """Check every clip request the run will send before its first paid step (keyframes included): a size or
    ratio a provider certainly rejects must not be found after paid keyframes were made."""
    plan = project.plan
    index_of = {s.id: i for i, s in enumerate(plan.segments)}
    pool = BackendPool(lambda name: _create(project, name, "video", gpus=options.gpus))
    try:
        todo = [st for st in build_graph(project).clips
                if options.selected(st.id) and (not st.fresh or options.forces(st.id))]
        for st in todo:
            _prevalidate(project, index_of[st.id], pool)
    finally:
        pool.close()


def check_budget(project: Project, planned: list[PlannedWork], options: RunOptions) -> None:
    budget = options.max_cost if options.max_cost is not None else project.config.max_cost_usd
    if budget is None:
        return
    spent = spent_usd(project)
    remaining = sum(p.cost_usd for p in planned)
    if spent + remaining > budget + 1e-9:
        raise ConfigError(
            f"budget exceeded before starting: spent ${spent:.2f} + this step's estimate ${remaining:.2f} "
            f"= ${spent + remaining:.2f} > max ${budget:.2f}",
            hint="raise `max_cost_usd` in ttv.toml or pass --max-cost, select fewer segments with --only, "
                 "or see `ttv estimate`")


class BudgetGuard:
    """Re-checks the budget as work starts and actual costs arrive: before an item starts, spent so far +
    what items in flight may still cost + this item's estimate must stay within the budget."""

    def __init__(self, budget: float, spent: float) -> None:
        self.budget, self.spent, self.reserved = budget, spent, 0.0
        self._lock = threading.Lock()

    def reserve(self, item_id: str, usd: float) -> None:
        with self._lock:
            total = self.spent + self.reserved + usd
            if total > self.budget + 1e-9:
                raise BackendError(
                    f"{item_id} not started: spent ${self.spent:.2f} + in flight ${self.reserved:.2f} + its estimate "
                    f"${usd:.2f} = ${total:.2f} > max ${self.budget:.2f}", kind="request", code="budget",
                    hint="raise `max_cost_usd` in ttv.toml or pass --max-cost; `ttv estimate` shows the figures")
            self.reserved += usd

    def settle(self, reserved: float, actual: float) -> None:
        with self._lock:
            self.reserved -= reserved
            self.spent += actual


def budget_guard(project: Project, options: RunOptions) -> BudgetGuard | None:
    budget = options.max_cost if options.max_cost is not None else project.config.max_cost_usd
    return None if budget is None else BudgetGuard(budget, spent_usd(project))


def clips_step(project: Project, options: RunOptions, *, step: str) -> StepReport:
    """`render` (keyframe mode: parallel) or `chain` (chaining mode: sequential)."""
    cfg = project.config
    mode = "keyframe" if step == "render" else "chain"
    if cfg.mode != mode:
        other = "chain" if cfg.mode == "chain" else "render"
        raise ConfigError(f"this project is in {cfg.mode} mode; `ttv {step}` is for {mode} mode",
                          hint=f"run `ttv {other}` (or `ttv run`), or change `mode` in ttv.toml")
    t0 = time.monotonic()
    report = StepReport(step)
    plan = project.plan
    report.notes = verdict_notes(require_usable(project))
    _check_only([s.id for s in plan.segments], options, "segments")
    # Chaining is sequential (each segment starts from the previous clip's last frame): one worker per backend.
    max_workers = 1 if mode == "chain" else None
    clips = {"todo": len(plan.segments)}  # the clips this run renders, once known (backends start lazily)
    pool = BackendPool(lambda name: _create_video(project, name, options, max_workers=max_workers,
                                                  clips=clips["todo"]))
    try:
        graph = build_graph(project)
        todo, report.skipped = _todo(graph.clips, options, project)
        index_of = {s.id: i for i, s in enumerate(plan.segments)}
        # Chaining: once a segment is redone, every later segment's start frame changes.
        if mode == "chain" and todo and options.only is None:
            first = index_of[todo[0].id]
            todo = [st for st in graph.clips[first:]]
            report.skipped = [s for s in report.skipped if index_of[s] < first]
        clips["todo"] = len(todo)
        planned = [estimate_clip(project, index_of[st.id], st, pool) for st in todo]
        if options.dry_run:
            for work in planned:
                work.note = unusable_note(pool.primary(work.backend))
        # Validate before spending anything: what the provider would reject fails now, naming the allowed values.
        for st, work in zip(todo, planned, strict=True):
            if options.dry_run and _images_not_made_yet(project, index_of[st.id]):
                # A dry run writes nothing, so not even the stand-in image `_prevalidate` checks a request with
                # while its keyframe (or, chaining, the previous clip's last frame) is not made yet.
                work.note = work.note or "checked against the provider's limits once its images exist"
                continue
            _prevalidate(project, index_of[st.id], pool)
        if mode == "chain":
            _say_continuation_once(project, todo, index_of, pool, set())
        if options.dry_run:
            report.planned = planned
            return report
        check_budget(project, planned, options)
        guard = budget_guard(project, options)
        estimates = {p.id: p.cost_usd for p in planned}
        if todo:
            project.events.emit("step.started", step=step, items=len(todo), ids=[st.id for st in todo])
        options.budget = (guard, estimates)
        if mode == "keyframe":
            _run_parallel(project, options, pool, todo, index_of, report)
        else:
            _run_chain(project, options, pool, todo, index_of, report)
    finally:
        pool.close()
    report.seconds = time.monotonic() - t0
    return report


def _clip_generate(project: Project, index: int) -> Any:
    def generate(backend: Backend, out: Path, ctx: ItemContext) -> GenerateResult:
        assert isinstance(backend, VideoBackend)
        req = video_request(project, index)
        backend.validate_inputs(req)
        result = backend.generate(req, out, ctx)
        if req.previous is not None and result.info.get("continue_note"):
            # this clip, not the backend in general, could not continue as asked (e.g. an expired provider copy)
            project.events.emit("log", level="warning", message=f"{req.segment_id}: {result.info['continue_note']}")
        if req.previous is not None and "continued" not in result.info:
            # a backend without a continuation route used the start image (the last frame): say so in the record
            result.info["continued"] = "frame"
            result.info["continue_note"] = plan_continuation(backend.name, backend.capabilities(),
                                                             req.previous.frames).note
        return result

    return generate


def _say_continuation_once(project: Project, todo: list[ItemFreshness], index_of: dict[str, int], pool: BackendPool,
                           said: set[str]) -> None:
    """`continue_frames` a backend cannot honour as asked is said once per backend and K, not per clip."""
    for st in todo:
        index = index_of[st.id]
        k = continue_frames(project, index)
        if k <= 1:
            continue
        name, backend = first_usable(project, index, pool)
        note = plan_continuation(name, backend.capabilities(), k).note
        if note and note not in said:
            said.add(note)
            project.events.emit("log", level="warning", message=note)


def _run_one_clip(project: Project, options: RunOptions, pool: BackendPool, st: ItemFreshness, index: int) -> Outcome:
    seg = project.plan.segments[index]
    _require_upstream(project, index, st)
    run = ItemRun(project, st, "render" if project.config.mode == "keyframe" else "chain", options.stop, options.clock,
                  detach=options.detach, new_job=options.forces(st.id))
    if options.detach and run.record.status == "submitted" and run.record.job_id:
        return Outcome(st.id, "submitted", backend=run.record.job_provider)
    guard, estimates = options.budget
    estimate = estimates.get(st.id, 0.0)
    if guard is not None:
        try:
            guard.reserve(st.id, estimate)
        except BackendError as exc:
            project.events.emit("item.failed", item=st.id, step=run.step, error=exc.message, error_kind=exc.kind,
                                hint=exc.hint)
            return Outcome(st.id, "failed", error=f"{exc.message} — {exc.hint}")
    outcome = Outcome(st.id, "failed")
    try:
        outcome = run_item(run, backend_chain(project, seg), pool, _clip_generate(project, index),
                           _verify_clip(project, seg), retries=project.config.retries)
        if outcome.status == "failed":
            # An input changed in place (same size and mtime) passes the shortcut but may be why this failed:
            # hash the inputs, and mark changed ones stale so a plain re-run redoes them (not only --force).
            upstream: list[tuple[RecordKind, str]] = [("keyframe", k) for k in (seg.start_keyframe, seg.end_keyframe) if k]
            if project.config.mode == "chain" and index > 0:
                upstream = [("clip", project.plan.segments[index - 1].id)]
            changed = project.distrust_changed_outputs(upstream)
            if changed:
                outcome.error += f" — input(s) {', '.join(changed)} changed since they were made; a re-run redoes them"
        return outcome
    finally:
        if guard is not None:
            guard.settle(estimate, outcome.cost_usd)


def _run_parallel(project: Project, options: RunOptions, pool: BackendPool, todo: list[ItemFreshness],
                  index_of: dict[str, int], report: StepReport) -> None:
    names = {first_usable(project, index_of[st.id], pool)[0] for st in todo}
    slots = sum(pool.slots(n) for n in names) if todo else 1
    _run_pool(todo, lambda st: _run_one_clip(project, options, pool, st, index_of[st.id]), slots, options, report,
              [s.id for s in project.plan.segments])


def _run_pool(todo: list[ItemFreshness], run_one: Callable[[ItemFreshness], Outcome], slots: int, options: RunOptions,
              report: StepReport, order: list[str]) -> None:
    """Run items on threads; each waits for a slot of its backend, so no backend exceeds its own limit.
    With --on-error fail, the first failure stops new work: running items are interrupted (their records
    stay resumable) and reported as such, not as errors."""
    if not todo:
        return
    with ThreadPoolExecutor(max_workers=min(64, max(1, slots)), thread_name_prefix="ttv-item") as ex:
        futures: dict[Future[Outcome], str] = {ex.submit(run_one, st): st.id for st in todo}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
                for fut in done:
                    try:
                        outcome = fut.result()
                    except Interrupted:
                        if not options.stopped_by_failure:
                            raise
                        outcome = Outcome(futures[fut], "interrupted", error="stopped: another item failed")
                    report.outcomes.append(outcome)
                    if outcome.status == "failed" and options.on_error == "fail":
                        options.stopped_by_failure = True
                        options.stop.set()
        except BaseException:
            options.stop.set()
            raise
    rank = {item_id: i for i, item_id in enumerate(order)}
    report.outcomes.sort(key=lambda o: rank.get(o.id, 0))


def _run_chain(project: Project, options: RunOptions, pool: BackendPool, todo: list[ItemFreshness],
               index_of: dict[str, int], report: StepReport) -> None:
    done_ids: set[str] = set()
    for st in todo:
        index = index_of[st.id]
        if index > 0 and done_ids:
            # The previous clip was just made: re-read the graph so its digest becomes this segment's start frame.
            st = build_graph(project).clips[index]
            if st.fresh and not options.forces(st.id) and options.only is None:
                report.skipped.append(st.id)
                project.events.emit("item.skipped", item=st.id, reason="fresh")
                continue
        outcome = _run_one_clip(project, options, pool, st, index)
        report.outcomes.append(outcome)
        if outcome.status == "done":
            done_ids.add(st.id)
        elif outcome.status == "failed":
            break  # later segments start from this one's last frame: nothing more can run
        elif outcome.status == "submitted":
            break  # --detach: the chain continues after `ttv wait`


# ---- stitch ---------------------------------------------------------------------------------

def stitch_step(project: Project, options: RunOptions, *, crossfade: float | None = None) -> StepReport:
    t0 = time.monotonic()
    report = StepReport("stitch", output=project.rel(project.final_path))
    cfg = project.config
    if crossfade is not None:
        cfg.stitch.crossfade = crossfade
    graph = build_graph(project)
    missing = [c.id for c in graph.clips if not c.fresh]
    if missing:
        step = "render" if cfg.mode == "keyframe" else "chain"
        raise ConfigError(f"cannot stitch: {len(missing)} clip(s) not done or stale: {', '.join(missing[:8])}"
                          + ("…" if len(missing) > 8 else ""), hint=f"run `ttv {step}` first (or `ttv run`)")
    final = evaluate(project, "final", "final", final_inputs(project, graph.clips))
    if final.fresh and not options.force:
        report.skipped.append("final")
        if not options.dry_run:
            project.events.emit("item.skipped", item="final", reason="fresh")
        return report
    if options.dry_run:
        report.planned = [PlannedWork("final", final.reasons, "stitch", 0.0, 0.0)]
        return report
    clips = [project.output_path("clip", c.id) for c in graph.clips]
    drop = [False] + [_repeats_first_frame(project, c) for c in graph.clips[1:]]
    # Chaining with seam_offset: the next clip started k frames before the end, so those k frames are cut.
    offset = cfg.stitch.seam_offset if cfg.mode == "chain" else 0
    trim = [offset] * (len(clips) - 1) + [0] if offset else None
    # continue_frames / extension: the backend said how many head frames repeat what it was conditioned
    # on (the re-rendered tail, or the whole input video): those are cut exactly, so no frame repeats.
    head = [_head_repeat(c) if cfg.mode == "chain" and i else 0 for i, c in enumerate(graph.clips)]
    if any(head):
        trim = trim or [0] * len(clips)
        for i, c in enumerate(graph.clips[1:], start=1):
            if head[i] and c.record is not None and "tail_offset" in c.record.info:
                trim[i - 1] = int(c.record.info["tail_offset"])  # an extension continues from the very end

    def generate(backend: Backend, out: Path, ctx: ItemContext) -> GenerateResult:
        from ttv.core.media import stitch

        try:
            result = stitch(clips, out, width=cfg.width, height=cfg.height, fps=cfg.fps,
                            crossfade=cfg.stitch.crossfade, fit=cfg.stitch.fit, drop_first_frame=drop,
                            color_match=cfg.stitch_color_match(),
                            soundtrack=(project.root / cfg.stitch.soundtrack) if cfg.stitch.soundtrack else None,
                            trim_tail=trim, trim_head=head if any(head) else None, report=True,
                            progress=lambda fraction: ctx.progress(fraction, status="encoding"))
        except Exception as exc:
            # The (size, mtime) shortcut may have passed a clip overwritten in place: hash them now, and
            # mark the ones that changed stale, so a plain re-run redoes them (not only --force).
            changed = project.distrust_changed_outputs([(c.kind, c.id) for c in graph.clips])
            if changed and isinstance(exc, TtvError):
                exc.message += f" — clip(s) {', '.join(changed)} changed since they were made; a re-run redoes them"
            raise
        return GenerateResult(info={"method": result.method, "dropped_seams": result.dropped_seams,
                                    **({"trimmed_heads": head} if any(head) else {}),
                                    "seams": result.info.get("seams", []),
                                    "seam_checks": result.info.get("seam_checks", [])})

    def verify(path: Path) -> dict[str, Any]:
        from ttv.core.media import verify_video

        info = verify_video(path, width=cfg.width, height=cfg.height)
        return {"frames": info.frames, "fps": round(info.fps, 3), "width": info.width, "height": info.height,
                "duration": round(info.duration, 3), "has_audio": info.has_audio}

    project.events.emit("step.started", step="stitch", items=1, ids=["final"])
    run = ItemRun(project, final, "stitch", options.stop, options.clock)
    pool = BackendPool(lambda name: _StitchBackend())
    outcome = run_item(run, ["stitch"], pool, generate, verify, retries=0)
    report.outcomes.append(outcome)
    report.seconds = time.monotonic() - t0
    return report


class _StitchBackend(VideoBackend):
    """Placeholder 'backend' so stitching goes through the same durable item runner."""

    name = "stitch"

    def capabilities(self) -> VideoCapabilities:
        return VideoCapabilities(modes=["t2v"], remote=False)

    def estimate_cost(self, request: VideoRequest) -> Any:  # pragma: no cover - never estimated
        raise NotImplementedError

    def generate(self, request: VideoRequest, output: Path, ctx: Any) -> GenerateResult:  # pragma: no cover
        raise NotImplementedError


def _head_repeat(clip: ItemFreshness) -> int:
    """How many head frames of a continued clip repeat its conditioning, as its backend recorded it."""
    if clip.record is None:
        return 0
    return max(0, int(clip.record.info.get("head_repeat", 0) or 0))


def _repeats_first_frame(project: Project, clip: ItemFreshness) -> bool:
    """May this clip's frame 0 duplicate the previous clip's last frame? Decided by the backend that made it;
    the media layer then checks the pixels before dropping anything."""
    if not project.config.stitch.drop_duplicate_seams or clip.record is None:
        return False
    with contextlib.suppress(Exception):
        cls = registry.load_class(clip.record.backend)
        backend = cls()
        if isinstance(backend, VideoBackend):
            return backend.capabilities().repeats_first_frame
    return False


def _check_whole_run_budget(project: Project, options: RunOptions) -> None:
    """`ttv run` pays for keyframes and clips: refuse before the keyframes when the whole would not fit."""
    if options.max_cost is None and project.config.max_cost_usd is None:
        return
    from ttv.pipeline.estimate import check_project_budget

    check = check_project_budget(project, options.max_cost, kinds=("keyframe", "clip"))
    if not check.ok:
        raise ConfigError(check.message, hint="raise `max_cost_usd` in ttv.toml or pass --max-cost; "
                                              "`ttv estimate` shows each item's cost")


def run_all_steps(project: Project, options: RunOptions, warn: Any = None) -> list[StepReport]:
    """`ttv run`: plan (if missing), keyframes, render or chain, stitch — resuming whatever is done."""
    from ttv.pipeline.planning import plan_step

    reports: list[StepReport] = []
    if not project.has_plan:
        # An LLM plan may be paid for: judge the modes on the plan the offline planner would make (its
        # segments need what the real plan's need: first and last frames, or a start image) first.
        from ttv.pipeline.estimate import mode_verdicts

        require_usable(project, mode_verdicts(project))
    if options.dry_run and not project.has_plan:
        # Show the whole run on the plan the offline planner would make, in memory only (as `ttv estimate`).
        from ttv.pipeline.estimate import provisional_plan

        planner = project.config.planner
        note = "" if planner == "heuristic" else f"provisional: the {planner} planner may split the idea differently"
        reports.append(StepReport("plan", planned=[PlannedWork("plan", ["no plan.toml yet"], planner, 0.0, 0.0, note)]))
        project.use_plan_in_memory(provisional_plan(project))
    else:
        plan_step(project, warn=warn)
    kf_options, clip_options = _split_only(project, options)
    if not options.dry_run:
        _check_whole_run_budget(project, options)
        prevalidate_clips(project, clip_options)
        _announce_run(project, kf_options, clip_options, options)
    reports.append(keyframes_step(project, kf_options))
    if reports[-1].failed:
        return reports
    step = "render" if project.config.mode == "keyframe" else "chain"
    reports.append(clips_step(project, clip_options, step=step))
    if options.dry_run and reports[-1].planned:
        # The clips would change, so would the film (stitch_step itself refuses while clips are missing).
        why = f"{len(reports[-1].planned)} clip(s) will be (re)made"
        reports.append(StepReport("stitch", planned=[PlannedWork("final", [why], "stitch", 0.0, 0.0)]))
        return reports
    if reports[-1].failed or options.dry_run or options.detach and any(
            o.status == "submitted" for o in reports[-1].outcomes):
        return reports
    if options.only is not None and any(not c.fresh for c in build_graph(project).clips):
        # a partial run (--only) leaves other clips to do: the film is stitched when they are done
        if warn is not None:
            warn("not stitching: other clips are not done yet (`ttv status` lists them)")
        return reports
    stitch_options = RunOptions(force=options.force, dry_run=options.dry_run, clock=options.clock, stop=options.stop)
    reports.append(stitch_step(project, stitch_options))
    return reports


def _announce_run(project: Project, kf_options: RunOptions, clip_options: RunOptions, options: RunOptions) -> None:
    """`run.queued`: every item this run will make, before its first step starts. Until an item starts, the
    dashboard and `ttv status` show it as queued: with --force that is every item, though its record still
    says done (the steps announce their own items again, for `ttv render` and friends)."""
    graph = build_graph(project)
    ids = [st.id for st in graph.keyframes if kf_options.selected(st.id) and (not st.fresh or kf_options.forces(st.id))]
    ids += [st.id for st in graph.clips if clip_options.selected(st.id) and (not st.fresh or clip_options.forces(st.id))]
    if options.only is None and (not graph.final.fresh or options.force):
        ids.append("final")
    if ids:
        project.events.emit("run.queued", ids=ids)


def _split_only(project: Project, options: RunOptions) -> tuple[RunOptions, RunOptions]:
    """`ttv run --only` names segments and/or keyframes: the keyframes step gets the named keyframes plus
    those the named segments start or end on (made when missing or stale), the clip step the named
    segments. `--force` forces only what is named: re-rolling a segment's keyframes would make its
    neighbours' clips stale."""
    if options.only is None:
        return options, options
    plan = project.plan
    segments = {s.id: s for s in plan.segments}
    keyframes = {k.id for k in plan.keyframes}
    unknown = sorted(options.only - segments.keys() - keyframes)
    if unknown:
        raise ConfigError(f"--only names unknown items: {', '.join(unknown)}",
                          hint=f"segments: {', '.join(segments) or '(none)'}; "
                               f"keyframes: {', '.join(sorted(keyframes)) or '(none)'}")
    named_segments = options.only & segments.keys()
    named_keyframes = options.only & keyframes
    wanted = set(named_keyframes)
    chain = project.config.mode == "chain"
    for sid in named_segments:
        seg = segments[sid]
        refs = [seg.start_keyframe] if chain else [seg.start_keyframe, seg.end_keyframe]
        wanted.update(r for r in refs if r and (not chain or sid == plan.segments[0].id))
    return (replace(options, only=wanted, force_ids=set(named_keyframes)),
            replace(options, only=set(named_segments)))


__all__ = ["RunOptions", "StepReport", "keyframes_step", "clips_step", "stitch_step", "run_all_steps"]
