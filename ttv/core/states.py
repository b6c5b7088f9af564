"""One vocabulary for an item's state, and the one rule that decides it.

An item is a keyframe, a segment's clip, or the final video. `ttv status` (table and `--json`), the
dashboard and `ttv estimate` all say what an item is with these words, decided by `item_state` below:

    planned      not made yet, never tried
    stale        made or tried before, but its inputs changed (or its output is missing or was
                 modified): the next run redoes it
    queued       the run working now will make it and has not started it yet
    running      the run working now is making it
    submitted    a remote job holds it: polled by the run working now, or parked (--detach) until
                 `ttv wait` or `ttv run` collects it
    done         made, with the current inputs, and its output is intact
    failed       the last try failed with the current inputs (`ttv status --why` says why)
    interrupted  work started and stopped without an outcome (Ctrl-C, a killed process): the next
                 run resumes it
    cancelled    its remote job was cancelled (`ttv cancel`)
    uncertain    a submit's answer was lost (a timeout or reset after sending, or a crash in
                 between): a paid job may exist; ttv never submits it again on its own (`--force`)

Two inputs decide it:
  * the state *at rest*, from the record alone (`record_state`) or, in the pipeline, also from the
    recomputed inputs hash (which is where `stale` comes from);
  * the *live run*: the latest run in the event log, folded by `RunView`, and whether its process
    still works. What a live run has queued or started overrides the state at rest (a `--force` run
    redoes items whose records still say done); a record left `running` by a run that is no longer
    working on it is `interrupted`.
What the dashboard shows beyond that (in the provider's queue, throttled, downloading, retrying) is
the item's *activity*, not its state: no record holds it, so `ttv status` could not agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

PLANNED: Final = "planned"
STALE: Final = "stale"
QUEUED: Final = "queued"
RUNNING: Final = "running"
SUBMITTED: Final = "submitted"
DONE: Final = "done"
FAILED: Final = "failed"
INTERRUPTED: Final = "interrupted"
CANCELLED: Final = "cancelled"
UNCERTAIN: Final = "uncertain"

STATES: Final = (PLANNED, STALE, QUEUED, RUNNING, SUBMITTED, DONE, FAILED, INTERRUPTED, CANCELLED, UNCERTAIN)

MEANING: Final = {
    PLANNED: "not made yet, never tried",
    STALE: "made or tried before, but inputs changed or the output is missing: will be redone",
    QUEUED: "the run working now will make it; not started yet",
    RUNNING: "the run working now is making it",
    SUBMITTED: "a remote job holds it (polled now, or collected by `ttv wait` / `ttv run`)",
    DONE: "made with the current inputs; output intact",
    FAILED: "the last try failed (`ttv status --why` says why)",
    INTERRUPTED: "started and stopped without an outcome; the next run resumes it",
    CANCELLED: "its remote job was cancelled",
    UNCERTAIN: "a submit's answer was lost: a paid job may exist; check, then `--force` to submit again",
}

IN_FLIGHT: Final = frozenset({RUNNING, SUBMITTED})  # work on it has started and has no outcome yet
PROBLEMS: Final = frozenset({FAILED, INTERRUPTED, CANCELLED, UNCERTAIN})  # what the dashboard's `f` filter keeps

# Rich styles, shared by the status table and the dashboard.
STYLE: Final = {
    PLANNED: "dim",
    STALE: "yellow",
    QUEUED: "cyan",
    RUNNING: "bold cyan",
    SUBMITTED: "cyan",
    DONE: "green",
    FAILED: "bold red",
    INTERRUPTED: "red",
    CANCELLED: "red dim",
    UNCERTAIN: "magenta",
}

# A record's `status` field -> the state at rest. A record says `running` while a process works on it,
# and still says so after that process died: `item_state` tells the two apart.
_RECORD: Final = {"planned": PLANNED, "submitted": SUBMITTED, "running": RUNNING, "done": DONE, "failed": FAILED,
                  "cancelled": CANCELLED, "uncertain": UNCERTAIN}


def record_state(status: str | None) -> str:
    """The state at rest that a record alone says (no staleness check: that needs the pipeline)."""
    if status is None:
        return PLANNED
    return _RECORD.get(status, PLANNED)


def rest_state(status: str | None, *, fresh: bool, inputs_match: bool, made_before: bool) -> str:
    """The state at rest with the staleness check: `fresh` (done, same inputs, output intact) and whether the
    record's inputs hash equals the recomputed one. `made_before`: without a record, an output exists."""
    if fresh:
        return DONE
    if status is None:
        return STALE if made_before else PLANNED
    if not inputs_match:
        return STALE
    if status == "done":
        return STALE  # same inputs, but the output is missing or was modified
    return record_state(status)


@dataclass
class RunView:
    """The latest run in the event log, folded: which command, and what it has queued and started.

    `phase` maps an item to what this run did with it last: queued (a step or the run listed it),
    running, submitted, or the outcome (done, failed). A new `run.started` forgets the previous run."""

    command: str = ""
    pid: int | None = None
    host: str = ""
    started_ts: float | None = None
    finished_ts: float | None = None
    ok: bool | None = None
    interrupted: bool = False
    failed: list[str] = field(default_factory=list)
    phase: dict[str, str] = field(default_factory=dict)

    @property
    def seen(self) -> bool:
        """Whether the log holds a run at all."""
        return self.started_ts is not None

    @property
    def finished(self) -> bool:
        return self.finished_ts is not None

    def apply(self, e: dict[str, Any]) -> None:
        typ, ts = e.get("type"), _num(e.get("ts"))
        item = e.get("item")
        item = str(item) if isinstance(item, str | int) and not isinstance(item, bool) and item != "" else None
        if typ == "run.started":
            pid = _num(e.get("pid"))
            new = RunView(command=_text(e.get("command")), pid=int(pid) if pid else None, host=_text(e.get("host")),
                          started_ts=ts or 0.0)
            vars(self).update(vars(new))  # a new run: what the previous one queued or started no longer counts
        elif typ == "run.finished":
            self.finished_ts = ts or self.started_ts or 0.0
            ok = e.get("ok")
            self.ok = bool(ok) if ok is not None else None
            self.interrupted = bool(e.get("interrupted"))
            failed = e.get("failed")
            self.failed = [str(x) for x in failed] if isinstance(failed, list) else []
        elif typ in ("step.started", "run.queued"):
            for i in _ids(e.get("ids")):
                self.phase[i] = QUEUED
        elif item is None:
            return
        elif typ in ("item.started", "item.retry", "item.fallback"):
            if self.phase.get(item) != SUBMITTED or typ != "item.retry":
                self.phase[item] = SUBMITTED if e.get("resumed_job") else RUNNING
        elif typ == "item.submitted":
            self.phase[item] = SUBMITTED
        elif typ == "item.progress" and self.phase.get(item) not in (RUNNING, SUBMITTED):
            self.phase[item] = RUNNING
        elif typ == "item.done":
            self.phase[item] = DONE
        elif typ == "item.failed":
            self.phase[item] = FAILED
        elif typ == "item.skipped":
            self.phase.pop(item, None)  # fresh: its record says done

    def apply_many(self, events: Iterable[dict[str, Any]]) -> None:
        for e in events:
            self.apply(e)


def item_state(item_id: str, rest: str, run: RunView | None, live: bool) -> str:
    """The state of one item now: its state at rest, overridden by what the latest run did with it.

    `run`: the latest run in the event log (None when there is no log); `live`: a process works on the project
    now and, if the log holds a run, that run has not finished. Records are written before the events that
    announce them, so read after the events a record is never behind them: it may be ahead (done, failed,
    submitted while the event is still to come), and then it wins."""
    phase = run.phase.get(item_id) if run is not None else None
    if phase == FAILED and rest == PLANNED:
        return FAILED  # it failed before any record was written (the budget guard refused to start it)
    if live and phase in IN_FLIGHT:
        return rest if rest in (DONE, FAILED, SUBMITTED) else phase  # type: ignore[return-value]
    if live and phase == QUEUED:
        return QUEUED
    if phase in IN_FLIGHT and rest in (PLANNED, RUNNING):
        return INTERRUPTED  # the latest run stopped while it worked on this item
    if rest == RUNNING and (not live or (run is not None and run.seen)):
        return INTERRUPTED  # the record says running, but no process is working on it
    return rest


def _ids(value: Any) -> list[str]:
    return [str(x) for x in value if isinstance(x, str | int) and not isinstance(x, bool)] if isinstance(value, list) else []


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)
