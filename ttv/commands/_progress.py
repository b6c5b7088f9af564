"""Live progress on stderr, driven by the project's events (the same ones `ttv monitor` reads)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ttv.commands._common import err
from ttv.pipeline.project import Project


def event_line(event: dict[str, Any], *, with_time: bool = False) -> str | None:
    """One plain line for an event worth a line (finished, failed, retried, fallen back, submitted, warned)."""
    t, item = event.get("type"), event.get("item", "")
    line: str | None = None
    if t == "item.done":
        cost = f", ${event['cost_usd']:.2f}" if event.get("cost_usd") else ""
        line = f"  done    {item} ({event.get('backend', '')}, {float(event.get('seconds') or 0):.1f} s{cost})"
    elif t == "item.failed":
        line = f"  failed  {item}: {event.get('error', '')}"
    elif t == "item.retry" and "delay" in event:
        why = f": {event['error']}" if event.get("error") else ""
        line = f"  retry   {item} on {event.get('backend')} in {event['delay']} s{why}"
    elif t == "item.fallback":
        line = f"  fallback {item}: {event.get('from')} -> {event.get('to')}"
    elif t == "item.submitted":
        line = f"  submitted {item}: job {event.get('job_id')} on {event.get('backend')}"
    elif t == "item.job_dropped":
        line = f"  new job {item} ({event.get('reason', '--force')}): earlier job {event.get('job_id')} on {event.get('backend')} " \
               f"{event.get('outcome', 'dropped')}"
    elif t == "log" and event.get("level") == "warning":
        line = f"warning: {event.get('message', '')}"
    elif with_time and t in ("run.started", "run.finished"):
        line = f"{t.replace('.', ' ')}: ttv {event.get('command', '')}" + (
            "" if t == "run.started" else (" (ok)" if event.get("ok") else " (with failures)"))
    if line and with_time:
        import time

        line = time.strftime("%H:%M:%S ", time.localtime(float(event.get("ts") or 0))) + " ".join(line.split())
    return line  # no key in it: the project's event log redacts every event before it is kept or shown


@contextmanager
def live_progress(project: Project, quiet: bool = False) -> Iterator[None]:
    """Rich progress bars (with ETA) on a terminal; one plain line per finished/failed item otherwise."""
    lock = threading.Lock()
    if quiet:
        yield
        return
    if not err.is_terminal:
        def plain(event: dict[str, Any]) -> None:
            line = event_line(event)
            if line:
                err.print(line, highlight=False, markup=False)

        project.events.listeners.append(plain)
        try:
            yield
        finally:
            project.events.listeners.remove(plain)
        return

    progress = Progress(SpinnerColumn(), TextColumn("{task.fields[item]:<8}"), TextColumn("{task.fields[status]:<12}"),
                        BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), TimeRemainingColumn(),
                        console=err.real(), transient=False)
    tasks: dict[str, TaskID] = {}

    overall: list[TaskID] = []

    def say(event: dict[str, Any], style: str) -> None:
        """The plain-output line of this event (event_line), above the bars."""
        line = event_line(event)
        if line:
            progress.console.print(f"[{style}]{escape(' '.join(line.split()))}[/]", highlight=False)

    def on_event(event: dict[str, Any]) -> None:
        t = event["type"]
        if t == "log" and event.get("level") == "warning":
            progress.console.print(f"[yellow]warning:[/] {escape(str(event.get('message', '')))}", highlight=False)
            return
        if t == "step.started":
            with lock:
                overall.clear()
                overall.append(progress.add_task(event["step"], total=float(event.get("items", 1)),
                                                 item=f"[bold]{event['step']}[/]", status="all items"))
            return
        item = event.get("item")
        if not item or item == "plan":
            return
        with lock:
            if overall and t in ("item.done", "item.failed"):
                progress.advance(overall[0], 1.0)
            if item not in tasks:
                if t not in ("item.started",):
                    return
                tasks[item] = progress.add_task(item, total=1.0, item=item, status="starting")
            tid = tasks[item]
            if t == "item.started":
                progress.update(tid, status=f"{event.get('backend', '')}")
            elif t == "item.progress":
                status = event.get("status") or "running"
                if "k" in event and "n" in event:
                    status = f"{status} {event['k']}/{event['n']}"
                fields: dict[str, Any] = {"status": status}
                if event.get("fraction") is not None:
                    fields["completed"] = float(event["fraction"])
                progress.update(tid, **fields)
            elif t == "item.submitted":
                progress.update(tid, status="submitted")
            elif t == "item.retry":
                progress.update(tid, status="retrying")
                say(event, "yellow")  # why, once per retry
            elif t == "item.fallback":
                progress.update(tid, status=f"-> {event.get('to')}")
            elif t in ("item.done", "item.failed"):
                # Collapse finished rows: the overall bar counts them, the summary lists what needs a look.
                progress.remove_task(tasks.pop(item))
                if t == "item.failed":
                    say(event, "red")

    project.events.listeners.append(on_event)
    try:
        with progress:
            yield
    finally:
        project.events.listeners.remove(on_event)
