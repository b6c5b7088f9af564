"""`ttv estimate`: cost and time of what remains, per item and in total, per backend, before spending."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ttv.pipeline.estimate import ProjectEstimate

from ttv.commands._common import (
    JsonOpt,
    ProjectOpt,
    QuietOpt,
    boundary,
    check_non_negative,
    emit_json,
    err,
    escape,
    out,
)
from ttv.commands.status import live_view
from ttv.core.states import STYLE as STATE_STYLE
from ttv.core.states import item_state

WorstCaseOpt = Annotated[bool, typer.Option(
    "--worst-case", help="Assume every backend of each segment's fallback chain runs and bills once.")]

BudgetOpt = Annotated[float | None, typer.Option(
    "--max-cost", metavar="USD", help="Budget in USD to compare with (default: max_cost_usd in ttv.toml), as render/run --max-cost.",
    show_default=False)]



@boundary
def estimate_command(
    project: ProjectOpt = None,
    worst_case: WorstCaseOpt = False,
    max_cost: BudgetOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Estimate the cost (USD, provider credits) and wall time of every item still to do.

    Done items cost 0, so a half-finished project shows what remains; `spent` is what the records say
    was paid so far. Prices come from a dated table (override them under [prices] in ttv.toml).
    With -q: prints the ids still to do and exits 1 when anything remains.

    Examples:

    \b
      ttv estimate                             # cost and time per item and in total
      ttv estimate --worst-case --json
      ttv estimate -q || echo 'work remains'   # exit 1 while work remains
    """
    from ttv.pipeline.estimate import estimate_project
    from ttv.pipeline.project import Project

    check_non_negative(max_cost, "--max-cost", hint="a budget in USD, e.g. --max-cost 5")
    proj = Project.discover(project)
    run, live, _ = live_view(proj)  # before the records are read (see live_view)
    est = estimate_project(proj, worst_case=worst_case)
    for item in est.items:  # the state now, as `ttv status` says it (interrupted, queued…), not only at rest
        if item.kind != "plan":
            item.status = item_state(item.id, item.status, run, live)
    if max_cost is not None:
        est.budget_usd = max_cost  # the budget `ttv render --max-cost` would apply
    if json_out:
        emit_json(est.to_json())
    elif quiet:
        for item in est.remaining:
            out.print(item.id)
    else:
        _render(est)
    if quiet:  # -q is the scripting form: its exit code says whether work remains, with or without --json
        raise typer.Exit(1 if est.remaining else 0)


def _render(est: ProjectEstimate) -> None:
    from rich.table import Table

    from ttv.pipeline.estimate import format_seconds, format_usd

    worst = est.worst_case
    title = (f"estimate: {est.mode} mode, {sum(1 for i in est.items if i.kind == 'clip')} segments"
             + (" (worst case: whole fallback chain)" if worst else ""))
    table = Table(title=title, title_justify="left")
    show_credits = any(i.credits is not None and not i.done for i in est.items)
    show_spent = any(i.spent_usd for i in est.items)
    columns = [("item", "left"), ("backend / model", "left"), ("dur", "right"), ("status", "left"),
               ("est. cost", "right")]
    columns += [("credits", "right")] if show_credits else []
    columns += [("est. time", "right")]
    columns += [("spent", "right")] if show_spent else []
    for col, justify in columns:
        table.add_column(col, justify=justify, no_wrap=col in ("item", "status", "est. cost"))  # type: ignore[arg-type]
    for i in est.items:
        usd = i.worst_usd if worst else i.usd
        secs = i.worst_seconds if worst else i.seconds
        style = STATE_STYLE.get(i.status, "")
        status = f"[{style}]{i.status}[/]" if style else i.status
        cost = "?" if i.error and not i.done else ("" if i.done else format_usd(usd))
        who = " → ".join(i.chain) if worst and len(i.chain) > 1 else i.backend
        if i.model and i.model != i.backend:
            who += f" / {i.model}"
        row = [i.id, who, f"{i.duration:g}s" if i.kind == "clip" else "", status, cost]
        if show_credits:
            row.append(f"{i.credits:g}" if i.credits is not None and not i.done else "")
        row.append("" if i.done else format_seconds(secs))
        if show_spent:
            row.append(format_usd(i.spent_usd) if i.spent_usd else "")
        table.add_row(*(escape(cell) for cell in row))
    remaining = est.worst_usd if worst else est.usd
    wall = est.worst_wall_seconds if worst else est.wall_seconds
    credits = ", ".join(f"{v:g} {k}" for k, v in est.credits().items())
    table.add_section()
    total = ["total", "", f"{sum(i.duration for i in est.items if i.kind == 'clip'):g}s", f"{len(est.remaining)} to do",
             format_usd(remaining) + ("" if est.complete else " + ?")]
    if show_credits:
        total.append(credits)
    total.append(format_seconds(wall))
    if show_spent:
        total.append(format_usd(est.spent_usd))
    table.add_row(*total)
    out.print(table)
    backends = [b for b in est.by_backend() if b.remaining or b.spent_usd]
    if len(backends) > 1:
        per = Table(title="per backend", title_justify="left")
        for col in ("backend", "to do", "est. cost", "credits", "GPU/API time", "spent"):
            per.add_column(col)
        for b in backends:
            per.add_row(b.backend, f"{b.remaining}/{b.items}", format_usd(b.worst_usd if worst else b.usd),
                        f"{b.credits:g}" if b.credits is not None else "", format_seconds(b.seconds),
                        format_usd(b.spent_usd) if b.spent_usd else "")
        out.print(per)
    busy = sum((i.worst_seconds if worst else i.seconds) for i in est.items)
    if busy > wall + 1:
        err.print(f"wall time ≈ {format_seconds(wall)} ({format_seconds(busy)} of API/GPU time, in parallel where "
                  "the backends allow)")
    for note in est.notes:
        err.print(f"GPU plan: {note}")
    for w in est.warnings:
        err.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    for m in est.modes:  # the same verdict as `ttv doctor` (mode: NAME) and the steps
        if m["outcome"] == "refused":
            err.print(f"[bold red]refused:[/] {escape(m['role'])} {escape(m['message'])}; render/run would stop "
                      f"before the keyframes (exit 2). fix: {escape(m['fix'])}")
        elif m["outcome"] == "first-frame-only":
            err.print(f"[yellow]first frame only:[/] {escape(m['message'])}")
        else:
            err.print(f"mode: {escape(m['message'])}")
    if est.budget_usd is not None:
        verdict = "[red]over budget[/]" if est.over_budget else "within budget"
        err.print(f"spent {format_usd(est.spent_usd)} + remaining {format_usd(remaining)} = "
                  f"{format_usd(est.projected_usd)} of the {format_usd(est.budget_usd)} budget: {verdict}")
    else:
        err.print(f"spent {format_usd(est.spent_usd)}; remaining {format_usd(remaining)}; no budget set "
                  "(max_cost_usd in ttv.toml or --max-cost)")
    if not worst and est.worst_usd > est.usd + 1e-9:
        err.print(f"worst case with fallbacks: {format_usd(est.worst_usd)} (`ttv estimate --worst-case`)")
