"""`ttv status`: what is done, stale (and why), running, failed; spend so far."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ttv.commands._common import JsonOpt, ProjectOpt, QuietOpt, boundary, emit_json, err, escape, out
from ttv.core.layout import EVENTS_FILE
from ttv.core.states import QUEUED, RUNNING, STYLE, SUBMITTED, RunView, item_state


def live_run(project: Any) -> dict[str, Any] | None:
    """The ttv process working on this project now (who holds its lock), or None."""
    try:
        return project.lock_holder()  # type: ignore[no-any-return]
    except OSError:
        return None


def latest_run(project: Any) -> RunView:
    """The latest run in the project's event log, folded (what it queued and started)."""
    from ttv.core.events import latest_run_offset, read_events

    run = RunView()
    path = project.root / EVENTS_FILE
    try:
        events, _ = read_events(path, latest_run_offset(path))  # that run only: the log may be long
    except OSError:
        events = []
    run.apply_many(events)
    return run


def live_view(project: Any) -> tuple[RunView, bool, dict[str, Any] | None]:
    """(the latest run in the log, whether a process works on it now, the lock holder): what turns an item's
    state at rest into its state now (ttv.core.states.item_state). Read before the records: a record is
    written before the event that announces it, so read in this order the records are never behind the
    events (the dashboard reads them in the same order)."""
    holder = live_run(project)
    run = latest_run(project)
    return run, holder is not None and not run.finished, holder


def status_rows(project: Any) -> list[dict[str, Any]]:
    """Every item with its state (ttv.core.states: the same rule as the dashboard's) and why."""
    from ttv.pipeline.graph import backend_chain, build_graph

    run, live, holder = live_view(project)
    segments = {seg.id: seg for seg in project.plan.segments}
    rows = []
    for st in build_graph(project).all():
        rec = st.record
        # A clip made by a fallback backend says so: its primary could not make it.
        primary = backend_chain(project, segments[st.id])[0] if st.kind == "clip" and st.id in segments else ""
        made_by = rec.backend if rec is not None and rec.status == "done" else ""
        status, why = item_state(st.id, st.status, run, live), list(st.reasons)
        if status in (RUNNING, SUBMITTED) and live and holder is not None:
            why = [f"{'running' if status == RUNNING else 'submitted'} now (`ttv {holder.get('command')}`, "
                   f"pid {holder.get('pid')})"]
        elif status == QUEUED and holder is not None:
            why = [f"queued in the run working now (`ttv {holder.get('command')}`)"] + (why if not st.fresh else [])
        rows.append({
            "kind": st.kind, "id": st.id, "status": status, "why": why,
            # the backend that made it, else the one its last attempt tried (failed and interrupted items too)
            "backend": (rec.backend or (rec.attempts[-1].backend if rec.attempts else "")) if rec else "",
            "fallback_from": primary if made_by and primary and made_by != primary else "",
            "job_id": rec.job_id if rec else "",
            "cost_usd": rec.cost_usd if rec else 0.0, "attempts": len(rec.attempts) if rec else 0,
            "output": project.rel(project.output_path(st.kind, st.id)) if st.fresh else "",
        })
    return rows


@boundary
def status_command(
    project: ProjectOpt = None,
    why: Annotated[bool, typer.Option("--why", help="Say why each item that is not done needs work.")] = False,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Then print events as they happen (another process's run), until it finishes or Ctrl-C.")] = False,  # noqa: E501
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Show the state of each keyframe, clip and the final video (and why it needs work), and the spend.

    States: planned, stale, queued, running, submitted, done, failed, interrupted, cancelled (README "States").

    With -q: prints the ids that still need work and exits 1 when there are any (0 when all is done).

    Examples:

    \b
      ttv status --why      # why each stale item is stale
      ttv status --json     # for scripts
      ttv status --follow   # stream another process's run
    """
    from rich.table import Table

    from ttv.pipeline.project import Project

    proj = Project.discover(project)
    if not proj.has_plan:
        if json_out:
            emit_json({"project": str(proj.root), "planned": False, "items": []})
        else:
            err.print("no plan yet: run `ttv plan` (or `ttv run`)")
        return
    rows = status_rows(proj)
    spent = sum(r["cost_usd"] for r in rows)
    todo = [r for r in rows if r["status"] != "done"]
    from ttv.pipeline.estimate import mode_verdicts

    # backends that cannot use what the mode hands them, or use only the first keyframe (verdict.py)
    modes = [v for v in mode_verdicts(proj) if v.outcome != "ok"]
    if json_out:
        emit_json({"project": str(proj.root), "planned": True, "mode": proj.config.mode, "items": rows,
                   "spent_usd": round(spent, 4), "todo": len(todo), "budget_usd": proj.config.max_cost_usd,
                   "modes": [v.to_json() for v in modes]})
        return
    if quiet:
        for r in todo:
            out.print(r["id"])
        raise typer.Exit(1 if todo else 0)
    table = Table(title=f"{proj.root.name}: {proj.config.mode} mode, {len(proj.plan.segments)} segments",
                  title_justify="left")
    for col in ("kind", "id", "status", "backend", "cost", "attempts"):
        table.add_column(col)
    if why:
        table.add_column("why")
    for r in rows:
        style = STYLE.get(r["status"], "")
        backend = r["backend"] + (f" (fallback for {r['fallback_from']})" if r["fallback_from"] else "")
        cells = [r["kind"], escape(r["id"]), f"[{style}]{r['status']}[/]", escape(backend),
                 f"${r['cost_usd']:.2f}" if r["cost_usd"] else "", str(r["attempts"] or "")]
        if why:
            cells.append(escape("; ".join(r["why"])))
        table.add_row(*cells)
    out.print(table)
    budget = f" of ${proj.config.max_cost_usd:.2f} budget" if proj.config.max_cost_usd is not None else ""
    working = [r for r in rows if r["status"] in (QUEUED, RUNNING)]
    if working:  # a live run has them: telling the user to start another would only meet the lock
        holder = live_run(proj) or {}
        nxt = f"; `ttv {holder.get('command', 'run')}` is working on {len(working)} (`ttv monitor` shows it live)"
    else:
        nxt = "" if not todo else "; run `ttv run` to finish" + ("" if why else " (`ttv status --why` says why)")
    err.print(f"{len(rows) - len(todo)}/{len(rows)} done; spent ${spent:.2f}{budget}" + nxt)
    for v in modes:
        label = "[bold red]refused:[/]" if v.outcome == "refused" else "[yellow]first frame only:[/]"
        err.print(f"{label} {escape(v.message)}" + (f"; fix: {escape(v.fix)}" if v.fix else ""))
    sheet = proj.keyframes_dir / "contact-sheet.png"
    if sheet.is_file():
        err.print(f"keyframes at a glance: {proj.rel(sheet)}")
    if follow:
        follow_events(proj)


def follow_events(project: Any, poll: float = 0.5) -> None:
    """Print new events of the project (written by another ttv process) until its run finishes."""
    import time

    from ttv.commands._progress import event_line
    from ttv.core.events import read_events

    path = project.ttv_dir / "events.jsonl"
    _, offset = read_events(path)  # start at the end: only what happens from now on
    running = (project.ttv_dir / "lock.json").is_file()
    if not running:
        err.print("no ttv process is working on this project; waiting for one (Ctrl-C to stop)")
    while True:
        events, offset = read_events(path, offset)
        for event in events:
            line = event_line(event, with_time=True)
            if line:
                out.print(line, highlight=False, markup=False)
            if event.get("type") == "run.finished":
                return
        time.sleep(poll)
