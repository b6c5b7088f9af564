"""`ttv keyframes`: make the keyframe images -> keyframes/."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from ttv.commands._common import (
    DryRunOpt,
    ForceOpt,
    JsonOpt,
    MaxCostOpt,
    OnErrorOpt,
    OnlyOpt,
    ProjectOpt,
    QuietOpt,
    WaitLockOpt,
    boundary,
    err,
)
from ttv.commands._steps import make_options, run_steps
from ttv.core.contact_sheet import write_contact_sheet
from ttv.core.errors import BackendError, ConfigError
from ttv.core.project import Project
from ttv.core.steps import RunOptions, StepReport, check_budget, keyframes_step


def _use_files(project: Project, folder: Path) -> int:
    """Point each keyframe at a user image named after it (k000.png / .jpg / .jpeg / .webp) in `folder`."""
    if not folder.is_dir():
        raise ConfigError(f"--from-dir {folder} is not a folder")
    plan = project.plan
    count = 0
    for kf in plan.keyframes:
        for ext in (".png", ".jpg", ".jpeg", ".webp"):
            candidate = folder / f"{kf.id}{ext}"
            if candidate.is_file():
                try:
                    kf.image = str(candidate.resolve().relative_to(project.root))
                except ValueError:
                    kf.image = str(candidate.resolve())
                count += 1
                break
    if count == 0:
        raise ConfigError(f"no image in {folder} is named after a keyframe (e.g. k000.png)",
                          hint="name the files k000.png, k001.png, ... as in plan.toml")
    project.save_plan(plan)
    return count


def _reroll(project: Project, ids: set[str]) -> dict[str, int]:
    """Give each named keyframe a new seed, kept in plan.toml (`seed = ...`); the others are untouched."""
    import random

    from ttv.core.graph import keyframe_seed, needed_keyframes

    plan = project.plan
    needed = {k.id for k in needed_keyframes(project)}
    unknown = sorted(ids - needed)
    if unknown:
        raise ConfigError(f"--reroll names unknown keyframes: {', '.join(unknown)}",
                          hint=f"keyframes of this plan: {', '.join(sorted(needed)) or '(none)'}")
    rng = random.SystemRandom()
    seeds: dict[str, int] = {}
    for index, kf in enumerate(plan.keyframes):
        if kf.id not in ids:
            continue
        if kf.image:
            raise ConfigError(f"{kf.id} uses your own image ({kf.image}); there is nothing to re-roll",
                              hint=f"remove `image` from {kf.id} in plan.toml to generate it")
        old = keyframe_seed(project, index, kf)
        new = old
        while new == old:
            new = rng.randrange(1, 2**31 - 1)
        kf.seed = new
        seeds[kf.id] = new
    project.save_plan(plan)
    return seeds


def _estimate(project: Project, report: StepReport, *, check_available: bool = False) -> None:
    """Fill in the cost of each keyframe a step would make (for --dry-run and the budget check).
    With `check_available`, a provider that cannot run (no key, missing extra) fails now, before any
    record is touched, with what would enable it."""
    from ttv.backends import registry
    from ttv.backends.base import ImageProvider, ImageRequest
    from ttv.core.graph import keyframe_seed

    cfg = project.config
    index = {k.id: (i, k) for i, k in enumerate(project.plan.keyframes)}
    providers: dict[str, ImageProvider] = {}
    for work in report.planned:
        if work.backend not in providers:
            obj = registry.create(work.backend, cfg.backends.get(work.backend), kind="image")
            assert isinstance(obj, ImageProvider)
            providers[work.backend] = obj
            available = obj.is_available()
            if check_available and not available.ok:
                raise BackendError(f"keyframe provider {work.backend!r} is not available: {available.reason}",
                                   hint=f"`ttv backends info {work.backend}` says what it needs, or use "
                                        "`ttv keyframes --provider card` for offline keyframes",
                                   kind="backend", code="unavailable")
        i, kf = index[work.id]
        est = providers[work.backend].estimate_cost(
            ImageRequest(keyframe_id=kf.id, prompt=kf.prompt, width=cfg.width, height=cfg.height,
                         seed=keyframe_seed(project, i, kf), style=project.plan.style or cfg.style,
                         extra={"project_root": str(project.root), "index": i}))
        work.cost_usd, work.seconds = est.usd, est.seconds


def _keyframes_body(sheet: dict[str, Path | None]) -> Callable[[Project, RunOptions], list[StepReport]]:
    def body(project: Project, options: RunOptions) -> list[StepReport]:
        if project.config.prices:
            from ttv.core import prices

            prices.set_overrides(project.config.prices)
        planned = keyframes_step(project, dataclasses.replace(options, dry_run=True))
        _estimate(project, planned, check_available=not options.dry_run)
        if options.dry_run:
            return [planned]
        # Budget: refuse to start keyframes whose estimate would take total spend above the limit.
        check_budget(project, planned.planned, options)
        try:
            report = keyframes_step(project, options)
        finally:
            if not options.dry_run:
                sheet["path"] = write_contact_sheet(project)
        return [report]

    return body


@boundary
def keyframes_command(
    project: ProjectOpt = None,
    force: ForceOpt = False,
    only: OnlyOpt = None,
    provider: Annotated[str | None, typer.Option("--provider", help="Override the keyframe provider for this run (written to ttv.toml): card, files, gemini-image, runway-image, diffusers.")] = None,  # noqa: E501
    from_dir: Annotated[Path | None, typer.Option("--from-dir", help="Use your own images: files named k000.png, k001.png, ... in this folder.")] = None,  # noqa: E501
    reroll: Annotated[list[str] | None, typer.Option("--reroll", help="Re-roll these keyframes with a new seed (kept in plan.toml), e.g. --reroll k003; the others are kept.", show_default=False)] = None,  # noqa: E501
    dry_run: DryRunOpt = False,
    max_cost: MaxCostOpt = None,
    on_error: OnErrorOpt = "fail",
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    wait_for_lock: WaitLockOpt = 0.0,
) -> None:
    """Make the keyframe images (keyframe mode: one per segment boundary; chaining mode: the first frame),
    then keyframes/contact-sheet.png to review them all at a glance before rendering video."""
    options = make_options(force=force, only=only, on_error=on_error, max_cost=max_cost, dry_run=dry_run)
    reroll_ids = {part.strip() for item in (reroll or []) for part in item.split(",") if part.strip()}
    if from_dir is not None or provider is not None or (reroll_ids and not dry_run):
        proj = Project.discover(project)
        with proj.locked("keyframes", wait=wait_for_lock):
            if from_dir is not None:
                n = _use_files(proj, from_dir)
                err.print(f"using {n} image(s) from {from_dir}")
            if provider is not None:
                from ttv.backends import registry

                registry.create(provider, proj.config.backends.get(provider), kind="image")
                proj.config.keyframes = provider
                proj.save_config()
            if reroll_ids and not dry_run:
                seeds = _reroll(proj, reroll_ids)
                err.print("re-rolling " + ", ".join(f"{k} (seed {v})" for k, v in sorted(seeds.items())),
                          highlight=False)
        project = proj.root
    if reroll_ids:
        options.only = (options.only or set()) | reroll_ids
        if dry_run:
            options.force = True  # show what the re-roll would make (only those keyframes are selected)
    sheet: dict[str, Path | None] = {}
    try:
        run_steps(project, "keyframes", _keyframes_body(sheet), options, json_out=json_out, quiet=quiet,
                  wait_for_lock=wait_for_lock)
    finally:
        path = sheet.get("path")
        if path is not None and not quiet:
            root = Project.discover(project).root
            err.print(f"contact sheet: {path.relative_to(root) if path.is_relative_to(root) else path}",
                      highlight=False)
