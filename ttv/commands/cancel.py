"""`ttv cancel SEG...`: cancel submitted remote jobs (the provider refunds what it refunds)."""

from __future__ import annotations

from typing import Annotated

import typer

from ttv.commands._common import (
    JsonOpt,
    ProjectOpt,
    WaitLockOpt,
    boundary,
    check_non_negative,
    emit_json,
    err,
    escape,
    out,
)


@boundary
def cancel_command(
    segments: Annotated[list[str] | None, typer.Argument(metavar="IDS", help="Segment ids; default: every segment with a job in flight.")] = None,  # noqa: E501
    project: ProjectOpt = None,
    json_out: JsonOpt = False,
    wait_for_lock: WaitLockOpt = 0.0,
) -> None:
    """Cancel remote jobs in flight; their segments are marked cancelled (a later run redoes them).

    Examples:

    \b
      ttv cancel             # every job in flight
      ttv cancel s003 s004
    """
    from rich.table import Table

    from ttv.pipeline.jobs import cancel_jobs, pending_jobs
    from ttv.pipeline.project import Project

    check_non_negative(wait_for_lock, "--wait-for-lock")
    proj = Project.discover(project)
    if not segments and not proj.has_plan:  # nothing was ever submitted
        if json_out:
            emit_json({"jobs": []}, project=proj.root)
        else:
            err.print("no remote jobs in flight (no plan yet)")
        return
    with proj.locked("cancel", wait=wait_for_lock):
        rows = cancel_jobs(proj, segments or pending_jobs(proj))
    if json_out:
        emit_json({"jobs": [r.to_json() for r in rows]}, project=proj.root)
        return
    if not rows:
        err.print("no remote jobs in flight")
        return
    table = Table(title="cancel", title_justify="left")
    for col in ("segment", "job", "result"):
        table.add_column(col)
    for r in rows:
        table.add_row(escape(r.id), escape(r.job_id), escape(r.status if not r.error else f"{r.status}: {r.error}"))
    out.print(table)
