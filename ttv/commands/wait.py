"""`ttv wait`: wait for submitted remote jobs (after `--detach` or a crash) and collect their clips."""

from __future__ import annotations

import os
import socket
from typing import Annotated

import typer

from ttv.commands._common import (
    JsonOpt,
    ProjectOpt,
    QuietOpt,
    WaitLockOpt,
    boundary,
    check_non_negative,
    emit_json,
    err,
    exit_for_reports,
    out,
)


@boundary
def wait_command(
    project: ProjectOpt = None,
    timeout: Annotated[float | None, typer.Option("--timeout", metavar="SECONDS", help="Give up after this many seconds (exit 4); the jobs keep running.")] = None,  # noqa: E501
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    wait_for_lock: WaitLockOpt = 0.0,
) -> None:
    """Poll every submitted remote job until it finishes; download, verify and record each clip.

    Examples:

    \b
      ttv render --detach && ttv wait   # submit, then collect
      ttv wait --timeout 900            # give up after 15 minutes (exit 4); jobs keep running
    """
    from rich.table import Table

    from ttv.commands._progress import live_progress
    from ttv.pipeline.jobs import job_table, wait_for_jobs
    from ttv.pipeline.project import Project
    from ttv.pipeline.steps import RunOptions

    check_non_negative(timeout, "--timeout", hint="seconds, e.g. --timeout 900")
    check_non_negative(wait_for_lock, "--wait-for-lock")
    proj = Project.discover(project)
    if not proj.has_plan:  # nothing was ever submitted
        if json_out:
            emit_json({"jobs": []}, project=proj.root)
        elif not quiet:
            err.print("no remote jobs in flight (no plan yet)")
        return
    options = RunOptions()
    with proj.locked("wait", wait=wait_for_lock), live_progress(proj, quiet=quiet or json_out):
        # A run like any other in the event log, so the dashboard and `ttv status` see the jobs it polls as live.
        proj.events.emit("run.started", command="wait", pid=os.getpid(), host=socket.gethostname())
        ok, interrupted = False, False
        try:
            report, ids = wait_for_jobs(proj, timeout, options)
            ok = report is None or not report.failed
        except KeyboardInterrupt:
            options.stop.set()
            interrupted = True
            raise
        finally:
            proj.events.emit("run.finished", command="wait", ok=ok, interrupted=interrupted or None)
    rows = job_table(proj, ids)
    if json_out:
        emit_json({"jobs": [r.to_json() for r in rows]}, project=proj.root)
    elif quiet:
        for r in rows:
            if r.status == "done":
                out.print(r.id)
    elif not rows:
        err.print("no remote jobs in flight")
    else:
        table = Table(title="remote jobs", title_justify="left")
        for col in ("segment", "backend", "job", "status", "cost", "error"):
            table.add_column(col)
        for r in rows:
            table.add_row(r.id, r.backend, r.job_id, r.status, f"${r.cost_usd:.2f}" if r.cost_usd else "", r.error[:80])
        out.print(table)
    if report is not None:
        exit_for_reports([report], "keep-going")
