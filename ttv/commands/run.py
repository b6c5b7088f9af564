"""`ttv run`: every step in order, resuming whatever is already done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

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
    err,
    escape,
)
from ttv.commands.render import AddressOpt, DetachOpt, ExecutorOpt


@boundary
def run_command(
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
    monitor: Annotated[bool, typer.Option("--monitor", help="Show the live dashboard while the run works (needs the tui extra); quitting it stops the run, resumably.")] = False,  # noqa: E501
) -> None:
    """Plan (if there is no plan.toml), keyframes, render or chain, stitch: only what is missing or stale.

    Examples:

    \b
      ttv run                                       # every step, resuming whatever is done
      ttv run --dry-run                             # what would run, why, and its cost
      ttv run --only s003 --force                   # redo one segment (and stitch again)
      ttv run --on-error keep-going --max-cost 10
    """
    from ttv.commands._steps import make_options, run_steps

    if monitor:
        _run_with_monitor(project, force=force, only=only, max_cost=max_cost, on_error=on_error, detach=detach,
                          executor=executor, address=address, gpus=gpus)
        return
    from ttv.pipeline.steps import run_all_steps

    options = make_options(force=force, only=only, on_error=on_error, max_cost=max_cost, dry_run=dry_run,
                           detach=detach, executor=executor, address=address, gpus=gpus)
    reports = run_steps(project, "run", lambda p, o: run_all_steps(p, o, warn=lambda m: err.print(f"[yellow]warning:[/] {escape(m)}", highlight=False)),
                        options, json_out=json_out, quiet=quiet, wait_for_lock=wait_for_lock)
    if not json_out and not quiet and not dry_run:
        if all(not r.outcomes for r in reports):
            err.print("[green]everything is up to date[/]; nothing was run.")
        final = [r for r in reports if r.step == "stitch" and (r.done or r.skipped)]
        if final:
            err.print(f"film: [bold]{escape(final[0].output)}[/]")


def _run_with_monitor(project: Path | None, **flags: object) -> None:
    """The run works in a child process (its messages go to .ttv/run.log) while the dashboard owns the
    terminal. Quitting the dashboard interrupts the run like Ctrl-C: finished work is kept."""
    from ttv.commands.monitor import monitor as show_dashboard
    from ttv.commands.monitor import require_dashboard
    from ttv.pipeline.project import Project

    proj = Project.discover(project)
    require_dashboard(terminal=True)  # before the run starts: no "stopping the run" for a run that never could be watched
    args = [sys.executable, "-m", "ttv", "run", "-p", str(proj.root), "--on-error", str(flags["on_error"])]
    for name in ("force", "detach"):
        if flags[name]:
            args.append(f"--{name}")
    if flags["only"]:
        args += ["--only", str(flags["only"])]
    if flags["max_cost"] is not None:
        args += ["--max-cost", str(flags["max_cost"])]
    if flags["executor"] != "local":
        args += ["--executor", str(flags["executor"])]
    if flags["address"]:
        args += ["--address", str(flags["address"])]
    if flags["gpus"]:
        args += ["--gpus", str(flags["gpus"])]
    from ttv.core.fsutil import guard_path
    from ttv.core.keys import session_env

    guard_path(proj.ttv_dir, proj.root, what="write into")
    proj.ttv_dir.mkdir(parents=True, exist_ok=True)
    log_path = guard_path(proj.ttv_dir / "run.log", proj.root)
    # O_NOFOLLOW: a link planted at run.log must never truncate its target.
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "wb") as log:
        # --key values reach the child through its environment (they live only in this process's memory).
        child = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env={**os.environ, "NO_COLOR": "1", **session_env()})
        try:
            show_dashboard(proj.root)
        finally:
            if child.poll() is None:
                err.print("dashboard closed: stopping the run (finished work is kept; `ttv run` resumes)")
                child.send_signal(signal.SIGINT)
            code = child.wait()
    tail = log_path.read_text(errors="replace").strip().splitlines()[-12:]
    for line in tail:
        err.print(line, markup=False, highlight=False)
    err.print(f"run log: {proj.rel(log_path)}")
    if code:
        raise typer.Exit(code)
