"""`ttv keyframes`: make the keyframe images -> keyframes/."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ttv.pipeline.project import Project

from ttv.commands._common import (
    DryRunOpt,
    ForceOpt,
    GpusOpt,
    JsonOpt,
    MaxCostOpt,
    OnErrorOpt,
    OnlyOpt,
    ProjectOpt,
    QuietOpt,
    WaitLockOpt,
    boundary,
    err,
    escape,
)
from ttv.core.errors import ConfigError


def _use_files(project: Project, folder: Path, *, save: bool = True) -> int:
    """Point each keyframe at a user image named after it (k000.png / .jpg / .jpeg / .webp) in `folder`;
    with save=False (a dry run) only the plan in memory changes."""
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
    if save:
        project.save_plan(plan)
    return count


def _reroll(project: Project, ids: set[str]) -> dict[str, int]:
    """Give each named keyframe a new seed, kept in plan.toml (`seed = ...`); the others are untouched."""
    import random

    from ttv.pipeline.graph import keyframe_seed, needed_keyframes

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


def _check_provider(project: Project, provider: str, *, dry_run: bool = False) -> None:
    """The provider exists, is an image provider, accepts the project's options and can run here, before
    anything changes (ttv.toml names it only once it will be used)."""
    from ttv.backends import registry
    from ttv.core.errors import BackendError

    backend = registry.create(provider, project.config.backends.get(provider), kind="image")
    available = backend.is_available()
    if not available.ok and dry_run:  # still show the work and its cost
        err.print(f"[yellow]warning:[/] {escape(f'keyframe provider {provider!r} cannot run here: {available.reason}')}",
                  highlight=False)
    elif not available.ok:
        raise BackendError(f"keyframe provider {provider!r} cannot run here: {available.reason}",
                           hint="ttv.toml was not changed; see `ttv doctor`")


@boundary
def keyframes_command(
    project: ProjectOpt = None,
    force: ForceOpt = False,
    only: OnlyOpt = None,
    provider: Annotated[str | None, typer.Option("--provider", metavar="NAME", help="Override the keyframe provider for this run (written to ttv.toml); `ttv backends list --kind image` names them.")] = None,  # noqa: E501
    from_dir: Annotated[Path | None, typer.Option("--from-dir", metavar="DIR", help="Use your own images: files named k000.png, k001.png, ... in this folder.")] = None,  # noqa: E501
    reroll: Annotated[list[str] | None, typer.Option("--reroll", metavar="IDS", help="Re-roll these keyframes with a new seed (kept in plan.toml): comma-separated or repeated, e.g. --reroll k001,k003 or --reroll k001 --reroll k003; the others are kept.", show_default=False)] = None,  # noqa: E501
    dry_run: DryRunOpt = False,
    max_cost: MaxCostOpt = None,
    on_error: OnErrorOpt = "fail",
    gpus: GpusOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    wait_for_lock: WaitLockOpt = 0.0,
) -> None:
    """Make the keyframe images (keyframe mode: one per segment boundary; chaining mode: the first frame),
    then keyframes/contact-sheet.png to review them all at a glance before rendering video.

    Examples:

    \b
      ttv keyframes                         # make the missing or stale keyframes
      ttv keyframes --reroll k002           # a new seed for one keyframe
      ttv keyframes --from-dir my-images/   # use your own k000.png, k001.png, ...
      ttv keyframes --dry-run               # what would be made, and its cost
    """
    from ttv.commands._steps import make_options, run_steps
    from ttv.pipeline.project import Project
    from ttv.pipeline.steps import keyframes_step

    options = make_options(force=force, only=only, on_error=on_error, max_cost=max_cost, dry_run=dry_run, gpus=gpus)
    reroll_ids = {part.strip() for item in (reroll or []) for part in item.split(",") if part.strip()}
    target: Path | Project | None = project
    if dry_run and (from_dir is not None or provider is not None):
        # A dry run shows the work these options would cause on the project in memory; nothing is saved.
        proj = Project.discover(project)
        if from_dir is not None:
            n = _use_files(proj, from_dir, save=False)
            err.print(f"would use {n} image(s) from {escape(str(from_dir))}", highlight=False)
        if provider is not None:
            _check_provider(proj, provider, dry_run=True)
            proj.config.keyframes = provider
        target = proj
    elif from_dir is not None or provider is not None or reroll_ids and not dry_run:
        proj = Project.discover(project)
        with proj.locked("keyframes", wait=wait_for_lock):
            if from_dir is not None:
                n = _use_files(proj, from_dir)
                err.print(f"using {n} image(s) from {escape(str(from_dir))}", highlight=False)
            if provider is not None:
                _check_provider(proj, provider)
                proj.set_config_value("keyframes", provider)
            if reroll_ids:
                seeds = _reroll(proj, reroll_ids)
                err.print("re-rolling " + ", ".join(f"{k} (seed {v})" for k, v in sorted(seeds.items())),
                          highlight=False)
        target = proj.root
    if reroll_ids:
        options.only = (options.only or set()) | reroll_ids
        if dry_run:
            options.force = True  # show what the re-roll would make (only those keyframes are selected)
    reports = run_steps(target, "keyframes", lambda p, o: [keyframes_step(p, o)], options, json_out=json_out,
                        quiet=quiet, wait_for_lock=wait_for_lock)
    if reports[0].output and not quiet and not json_out:
        err.print(f"contact sheet: {escape(reports[0].output)}", highlight=False)
