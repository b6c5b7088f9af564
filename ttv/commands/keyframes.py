"""`ttv keyframes`: make the keyframe images -> keyframes/."""

from __future__ import annotations

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
from ttv.core.errors import ConfigError
from ttv.core.project import Project
from ttv.core.steps import keyframes_step


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


@boundary
def keyframes_command(
    project: ProjectOpt = None,
    force: ForceOpt = False,
    only: OnlyOpt = None,
    provider: Annotated[str | None, typer.Option("--provider", help="Override the keyframe provider for this run (written to ttv.toml).")] = None,  # noqa: E501
    from_dir: Annotated[Path | None, typer.Option("--from-dir", help="Use your own images: files named k000.png, k001.png, ... in this folder.")] = None,  # noqa: E501
    dry_run: DryRunOpt = False,
    max_cost: MaxCostOpt = None,
    on_error: OnErrorOpt = "fail",
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    wait_for_lock: WaitLockOpt = 0.0,
) -> None:
    """Make the keyframe images (keyframe mode: one per segment boundary; chaining mode: the first frame)."""
    options = make_options(force=force, only=only, on_error=on_error, max_cost=max_cost, dry_run=dry_run)
    if from_dir is not None or provider is not None:
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
        project = proj.root
    run_steps(project, "keyframes", lambda p, o: [keyframes_step(p, o)], options, json_out=json_out, quiet=quiet,
              wait_for_lock=wait_for_lock)
