"""`ttv plan`: write the shot list to plan.toml (editable by hand)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ttv.commands._common import (
    ForceOpt,
    JsonOpt,
    ProjectOpt,
    QuietOpt,
    WaitLockOpt,
    boundary,
    check_non_negative,
    emit_json,
    err,
    escape,
    out,
)
from ttv.core.errors import ConfigError


@boundary
def plan_command(
    project: ProjectOpt = None,
    force: ForceOpt = False,
    planner: Annotated[str | None, typer.Option("--planner", metavar="NAME", help="Override the planner in ttv.toml (`ttv backends list --kind planner`).")] = None,  # noqa: E501
    segments: Annotated[int | None, typer.Option("--segments", "-n", metavar="N", help="Number of segments.")] = None,
    duration: Annotated[float | None, typer.Option("--duration", "-d", metavar="SECONDS", help="Total seconds (the planner derives the count unless --segments is given).")] = None,  # noqa: E501
    style: Annotated[str | None, typer.Option("--style", metavar="TEXT", help="Style carried into every prompt.")] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    wait_for_lock: WaitLockOpt = 0.0,
) -> None:
    """Plan the shots: segments with prompts, durations, camera and continuity notes, and keyframe
    prompts -> plan.toml.

    With an LLM planner (`ttv backends list --kind planner`) the model writes the plan (durations
    snapped to the video backend's allowed values; the raw request/response is kept in .ttv/planner/).
    A planner that cannot run here (no key, missing extra) is an error (exit 3) that says how to set it
    up; nothing is changed. An existing plan.toml is kept (you may have edited
    it); --force re-plans, keeping segments with `locked = true`.

    Examples:

    \b
      ttv plan                                           # write plan.toml (kept if it exists)
      ttv plan --force --style "35mm film, warm light"   # re-plan, keeping locked = true segments
      ttv plan --planner gemini -n 8                     # an LLM planner (needs a Google key)
    """
    if segments is not None and segments < 1:
        raise ConfigError(f"--segments must be at least 1, not {segments}")
    if duration is not None and duration <= 0:
        raise ConfigError(f"--duration must be positive, not {duration:g}")
    from rich.table import Table

    from ttv.pipeline.planning import plan_step
    from ttv.pipeline.project import Project

    check_non_negative(wait_for_lock, "--wait-for-lock")
    proj = Project.discover(project)
    info: dict[str, Any] = {}
    with proj.locked("plan", wait=wait_for_lock):
        plan, changed = plan_step(proj, force=force, planner=planner, segments=segments, duration=duration,
                                  style=style, warn=lambda msg: err.print(f"[yellow]warning:[/] {escape(msg)}", highlight=False),
                                  info=info)
    if json_out:
        emit_json({"changed": changed, "plan": plan.model_dump(by_alias=True), "notes": info.get("notes", []),
                   "audit": info.get("audit", "")}, project=proj.root)
        return
    if quiet:
        for s in plan.segments:
            out.print(s.id)
        return
    if not changed:
        err.print(f"plan.toml exists ({len(plan.segments)} segments); kept. Edit it by hand, or re-plan with --force.")
    for note in info.get("notes", []):
        err.print(f"note: {escape(note)}", highlight=False)
    if info.get("audit"):
        err.print(f"planner request/response kept in {escape(str(info['audit']))}", highlight=False)
    table = Table(title=f"plan: {len(plan.segments)} segments, {sum(s.duration for s in plan.segments):g} s "
                        f"(planner: {plan.planner})", title_justify="left")
    for col in ("id", "dur", "keyframes", "camera", "prompt"):
        table.add_column(col)
    for s in plan.segments:
        kfs = " -> ".join(k for k in (s.start_keyframe, s.end_keyframe) if k)
        table.add_row(escape(s.id) + (" 🔒" if s.locked else ""), f"{s.duration:g}", escape(kfs), escape(s.camera),
                      escape(s.prompt))
    out.print(table)
