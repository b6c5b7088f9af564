"""Running a pipeline step from the CLI: lock, progress, report, exit code."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from ttv.commands._common import (
    check_non_negative,
    check_on_error,
    emit_json,
    err,
    exit_for_reports,
    out,
    parse_gpus,
    parse_only,
)
from ttv.commands._progress import live_progress
from ttv.core.keys import redact
from ttv.pipeline.project import Project
from ttv.pipeline.steps import RunOptions, StepReport


def make_options(*, force: bool = False, only: str | None = None, on_error: str = "fail", max_cost: float | None = None,
                 dry_run: bool = False, detach: bool = False, executor: str = "local",
                 address: str | None = None, gpus: str | None = None) -> RunOptions:
    if executor not in ("local", "ray"):
        from ttv.core.errors import ConfigError

        raise ConfigError(f"--executor must be 'local' or 'ray', not {executor!r}")
    check_non_negative(max_cost, "--max-cost", hint="a budget in USD, e.g. --max-cost 5")
    if address and executor != "ray":
        from ttv.core.errors import ConfigError

        raise ConfigError("--address is for --executor ray", hint="add --executor ray")
    return RunOptions(force=force, only=parse_only(only), on_error=check_on_error(on_error),  # type: ignore[arg-type]
                      max_cost=max_cost, dry_run=dry_run, detach=detach, executor=executor,  # type: ignore[arg-type]
                      ray_address=address, gpus=parse_gpus(gpus))


def run_steps(project_dir: Path | Project | None, command: str, body: Callable[[Project, RunOptions], list[StepReport]],
              options: RunOptions, *, json_out: bool, quiet: bool, wait_for_lock: float = 0.0) -> list[StepReport]:
    check_non_negative(wait_for_lock, "--wait-for-lock")
    # A Project object is a dry run's in-memory view (e.g. `keyframes --provider X --dry-run`).
    project = project_dir if isinstance(project_dir, Project) else Project.discover(project_dir)
    reports: list[StepReport] = []
    if options.dry_run:
        reports = body(project, options)
    else:
        with project.locked(command, wait=wait_for_lock):
            project.events.emit("run.started", command=command, pid=os.getpid(), host=socket.gethostname())
            ok, interrupted = False, False
            try:
                with live_progress(project, quiet=quiet or json_out):
                    try:
                        reports = body(project, options)
                    except KeyboardInterrupt:
                        options.stop.set()
                        interrupted = True
                        raise
                ok = not any(r.failed for r in reports)
            finally:
                # `interrupted`: stopped (Ctrl-C, a timeout), not failed; the dashboard says so, as `ttv status` does
                failed = [o.id for r in reports for o in r.failed]
                project.events.emit("run.finished", command=command, ok=ok, interrupted=interrupted or None,
                                    failed=failed or None)
    render_reports(reports, json_out=json_out, quiet=quiet, dry_run=options.dry_run, project=project)
    exit_for_reports(reports, options.on_error)
    return reports


def render_reports(reports: list[StepReport], *, json_out: bool, quiet: bool, dry_run: bool,
                   project: Project | None = None) -> None:
    if json_out:
        emit_json({"ok": not any(r.failed for r in reports), "steps": [r.to_json() for r in reports],
                   "dry_run": dry_run}, project=project.root if project else None)
        return
    if quiet:  # ids only: what was done, or in a dry run what would run
        for r in reports:
            for item_id in ([p.id for p in r.planned] if dry_run else [o.id for o in r.outcomes if o.status == "done"]):
                out.print(item_id)
        return
    for r in reports:
        for note in r.notes:  # e.g. end keyframes not used (end_frame = "ignore"): never only in a record
            err.print(f"[yellow]{r.step}:[/] {escape(note)}")
        if dry_run:
            if not r.planned:
                err.print(f"[green]{r.step}:[/] nothing to do ({len(r.skipped)} fresh)")
                continue
            table = Table(title=f"{r.step}: would run {len(r.planned)}", title_justify="left")
            notes = any(p.note for p in r.planned)
            for col in ("item", "backend", "why", "est. cost", "est. time", *(["note"] if notes else [])):
                table.add_column(col)
            for p in r.planned:
                table.add_row(p.id, p.backend, escape("; ".join(p.reasons)), f"${p.cost_usd:.2f}", f"{p.seconds:.0f} s",
                              *([escape(p.note.split(":")[0])] if notes else []))  # in full below
            out.print(table)
            for note in dict.fromkeys(f"{p.backend}: {p.note}" for p in r.planned if p.note):
                err.print(f"[yellow]warning:[/] {escape(note)}", highlight=False)
            continue
        if not r.outcomes:
            what = f"{len(r.skipped)} fresh item(s) kept" if r.skipped else "nothing selected"
            err.print(f"[green]{r.step}:[/] nothing to do ({what})")
            continue
        # Compact: plain successes are counted in the summary line; what needs a look is listed in full.
        notable = [o for o in r.outcomes if o.status != "done" or o.fallback_from]
        if notable:
            table = Table(title=f"{r.step}: needs a look", title_justify="left")
            for col in ("item", "result", "backend", "cost", "note"):
                table.add_column(col)
            for o in notable:
                style = {"done": "green", "failed": "red", "submitted": "cyan"}.get(o.status, "")
                note = redact(o.error)[:160] if o.error else (
                    f"made by fallback {o.backend} ({o.fallback_from} could not)" if o.fallback_from else "")
                table.add_row(escape(o.id), f"[{style}]{o.status}[/]" if style else o.status, escape(o.backend),
                              f"${o.cost_usd:.2f}" if o.cost_usd else "", escape(note))
            out.print(table)
        extra = f"; {len(r.skipped)} fresh kept" if r.skipped else ""
        fallbacks = sum(1 for o in r.done if o.fallback_from)
        extra += f"; {fallbacks} by a fallback backend" if fallbacks else ""
        spent = sum(o.cost_usd for o in r.outcomes)
        extra += f"; ${spent:.2f}" if spent else ""
        err.print(f"{r.step}: {len(r.done)} done, {len(r.failed)} failed{extra} in {r.seconds:.1f} s"
                  + (f" -> {r.output}" if r.output and r.done else ""))
