"""`ttv stitch`: join the clips -> final.mp4 (stream copy when uniform, else normalize and encode once)."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from typing import Annotated

import typer

from ttv.commands._common import (
    DryRunOpt,
    ForceOpt,
    JsonOpt,
    ProjectOpt,
    QuietOpt,
    WaitLockOpt,
    boundary,
    emit_json,
    escape,
    out,
)


@boundary
def stitch_command(
    project: ProjectOpt = None,
    force: ForceOpt = False,
    crossfade: Annotated[float | None, typer.Option("--crossfade", metavar="SECONDS", help="Seconds of crossfade between segments, for this stitch only (keep it with [stitch] crossfade in ttv.toml).")] = None,  # noqa: E501
    report: Annotated[bool, typer.Option("--report", help="Print the per-seam colour difference report.")] = False,
    dry_run: DryRunOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    wait_for_lock: WaitLockOpt = 0.0,
) -> None:
    """Join the finished clips into final.mp4, verified (frame count, size, fps) before it is recorded.

    Examples:

    \b
      ttv stitch                            # join the clips into final.mp4
      ttv stitch --crossfade 0.5 --report   # half-second crossfades and the per-seam colour report
    """
    from rich.table import Table

    from ttv.commands._steps import make_options, run_steps
    from ttv.pipeline.project import Project
    from ttv.pipeline.steps import stitch_step

    if crossfade is not None and not 0 <= crossfade <= 5:
        from ttv.core.errors import ConfigError

        raise ConfigError(f"--crossfade must be between 0 and 5 seconds, not {crossfade:g}",
                          hint="e.g. --crossfade 0.5; 0 joins the clips with hard cuts")
    options = make_options(force=force, dry_run=dry_run)
    steps_json = io.StringIO()
    try:
        # with --report --json, stdout gets one JSON document: the steps and the seams together
        with contextlib.redirect_stdout(steps_json) if json_out and report else contextlib.nullcontext():
            run_steps(project, "stitch", lambda p, o: [stitch_step(p, o, crossfade=crossfade)], options,
                      json_out=json_out, quiet=quiet, wait_for_lock=wait_for_lock)
    except BaseException:
        sys.stdout.write(steps_json.getvalue())
        raise
    if report:
        proj = Project.discover(project)
        rec = proj.read_record("final", "final")
        seams = (rec.info.get("seams") if rec else None) or []
        if json_out:
            steps = json.loads(steps_json.getvalue() or "{}")
            steps = {k: v for k, v in steps.items() if k not in ("schema", "command", "project")}
            emit_json(steps | {"seams": seams, "method": rec.info.get("method") if rec else None}, project=proj.root)
            return
        method = rec.info.get("method") if rec else None
        table = Table(title=f"seams, before → after (ΔE: colour difference; mad: mean abs difference; drift: ΔE "
                      f"from clip 0){f'; stitched by {method}' if method else ''}", title_justify="left")
        for name in ("seam", "ΔE", "mad", "drift"):
            table.add_column(name, no_wrap=True, justify="right" if name == "seam" else "left")
        if any("colour" in row for row in seams):
            table.add_column("colour", no_wrap=True)
            table.add_column("why", overflow="fold", ratio=1)
        for row in seams:
            cells = [str(row.get("seam", ""))]
            for key in ("delta_e", "mad", "drift"):
                cells.append(f"{_num(row.get(key + '_before'))} → {_num(row.get(key + '_after'))}")
            if "colour" in row or any("colour" in r for r in seams):
                cells += [str(row.get("colour", "")), str(row.get("why", ""))]
            table.add_row(*(escape(c) for c in cells))
        out.print(table)


def _num(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else "–"
