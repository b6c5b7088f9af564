"""`ttv render`: keyframe mode, one clip per segment, in parallel -> clips/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import typer

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
)

ExecutorOpt = Annotated[Literal["local", "ray"], typer.Option("--executor", help="local: this machine (one worker per GPU); ray: local models run in Ray actors, one per GPU of the cluster (pip install 'ttv[ray]').")]  # noqa: E501
AddressOpt = Annotated[str | None, typer.Option("--address", metavar="ADDRESS", help="Ray cluster to join with --executor ray (e.g. ray://head:10001, or auto); default: start Ray here.", show_default=False)]  # noqa: E501
DetachOpt = Annotated[bool, typer.Option("--detach", help="Remote backends: submit the jobs and exit; `ttv wait` collects them.")]  # noqa: E501


def make_clips_command(step: str, doc: str) -> Callable[..., None]:
    """`render` and `chain` take the same options; only the step (and its mode check) differs."""

    @boundary
    def command(
        project: ProjectOpt = None,
        force: ForceOpt = False,
        only: OnlyOpt = None,
        dry_run: DryRunOpt = False,
        max_cost: MaxCostOpt = None,
        on_error: OnErrorOpt = "fail",
        detach: DetachOpt = False,
        executor: ExecutorOpt = "local",
        address: AddressOpt = None,
        gpus: GpusOpt = None,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
        wait_for_lock: WaitLockOpt = 0.0,
    ) -> None:
        from ttv.commands._steps import make_options, run_steps
        from ttv.pipeline.steps import clips_step

        options = make_options(force=force, only=only, on_error=on_error, max_cost=max_cost, dry_run=dry_run,
                               detach=detach, executor=executor, address=address, gpus=gpus)
        run_steps(project, step, lambda p, o: [clips_step(p, o, step=step)], options, json_out=json_out,
                  quiet=quiet, wait_for_lock=wait_for_lock)

    command.__doc__ = doc
    command.__name__ = f"{step}_command"
    return command


render_command = make_clips_command(
    "render",
    "Keyframe mode: render every stale segment from its first to its last keyframe, in parallel.\n\n"
    "Examples:\n\n\b\n"
    "  ttv render                          # every missing or stale clip\n"
    "  ttv render --dry-run                # what would run, why, and its cost\n"
    "  ttv render --only s001,s003 --force # redo two clips (new jobs, paid again)\n"
    "  ttv render --detach && ttv wait     # remote jobs: submit now, collect later\n"
    "  ttv render --executor ray --address auto",
)
