"""`ttv run`: every step in order, resuming whatever is already done."""

from __future__ import annotations

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
from ttv.commands.render import DetachOpt


@boundary
def run_command(
    project: ProjectOpt = None,
    force: ForceOpt = False,
    only: OnlyOpt = None,
    dry_run: DryRunOpt = False,
    max_cost: MaxCostOpt = None,
    on_error: OnErrorOpt = "fail",
    detach: DetachOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    wait_for_lock: WaitLockOpt = 0.0,
) -> None:
    """Plan (if there is no plan.toml), keyframes, render or chain, stitch: only what is missing or stale."""
    from ttv.commands._steps import make_options, run_steps
    from ttv.core.steps import run_all_steps

    options = make_options(force=force, only=only, on_error=on_error, max_cost=max_cost, dry_run=dry_run,
                           detach=detach)
    reports = run_steps(project, "run", lambda p, o: run_all_steps(p, o, warn=lambda m: err.print(f"[yellow]warning:[/] {m}")),
                        options, json_out=json_out, quiet=quiet, wait_for_lock=wait_for_lock)
    if not json_out and not quiet and not dry_run:
        if all(not r.outcomes for r in reports):
            err.print("[green]everything is up to date[/]; nothing was run.")
        final = [r for r in reports if r.step == "stitch" and (r.done or r.skipped)]
        if final:
            err.print(f"film: [bold]{final[0].output}[/]")
