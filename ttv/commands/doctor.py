"""`ttv doctor`: ffmpeg, Python packages, GPUs and VRAM, model files, API keys (live with --online), disk."""

from __future__ import annotations

from typing import Annotated

import typer

from ttv.commands._common import JsonOpt, ProjectOpt, QuietOpt, boundary, emit_json, err, escape, out

OnlineOpt = Annotated[bool, typer.Option(
    "--online", help="Also verify each API key with one cheap read-only request (credit balance, model list).")]

STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


@boundary
def doctor_command(
    project: ProjectOpt = None,
    online: OnlineOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Check that this machine (and the project, when run inside one) is ready before spending anything.

    Each check is ok, warn or fail, with a one-line fix. Exit code 0 when every required check passes,
    1 otherwise. Keys are never printed. With -q: prints the names of failed checks only.

    Examples:

    \b
      ttv doctor            # this machine, and the project when inside one
      ttv doctor --online   # also check API keys live
      ttv doctor -q         # only problems; exit 1 if any
    """
    from rich.table import Table

    from ttv.pipeline.doctor import run_checks

    report = run_checks(project, online=online)
    if json_out:
        emit_json(report.to_json())
    elif quiet:
        for c in report.checks:
            if c.status == "fail":
                out.print(c.name)
    else:
        title = "ttv doctor" + (f": {report.project}" if report.project else " (outside a project)")
        table = Table(title=title, title_justify="left")
        table.add_column("check", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("detail")
        table.add_column("fix")
        for c in report.checks:
            style = STYLE[c.status]
            # escape: a fix like `pip install 'ttv[remote]'` must not be read as Rich markup
            table.add_row(escape(c.name), f"[{style}]{c.status}[/]", escape(c.detail), escape(c.fix))
        out.print(table)
        counts = report.counts()
        summary = f"{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failed"
        if report.ok:
            err.print(f"[green]ready:[/] {summary}" + ("" if online else "; `ttv doctor --online` also verifies keys"))
        else:
            err.print(f"[bold red]not ready:[/] {summary}; fix the failed checks above")
    if not report.ok:
        raise typer.Exit(1)
