"""Append-only event log `.ttv/events.jsonl`: one JSON object per line, for monitors.

The run never reads it (resume and staleness come from the records); the dashboard and `ttv status` fold it
to know what a live run has queued and started (ttv.core.states). Readers must tolerate a truncated or
half-written last line.

Every event has: `ts` (unix seconds, float), `type`, and usually `item` (a segment/keyframe id or
"final") and `step` ("plan", "keyframes", "render", "chain", "stitch"). Types in use:
  run.started {command, pid, host}      run.finished {command, ok, interrupted?, failed?: [ids]}
  run.queued {ids}                      (every item the run will make, before its first step)
  item.started {item, step, backend, attempt}
  item.progress {item, step, fraction?, k?, n?, status?, message?}   (status: queued|throttled|
                running|downloading|...; k/n: denoising step k of n)
  item.submitted {item, backend, job_id}
  item.done {item, step, seconds, cost_usd}
  step.started {step, items, ids}        (how many items the step will work on, and which)
  item.attempt_failed {item, backend, attempt, error, error_kind, hint}   (a fallback may follow)
  item.failed {item, step, error, error_kind, hint, attempts}   (final: every backend in the chain gave up)
  item.retry {item, step, backend, attempt, delay, error}
  item.fallback {item, from, to, reason}
  item.skipped {item, reason}
  cost {item, usd, backend}
  item.job_dropped {item, job_id, backend, outcome, reason}
  log {level, message}
"""

from __future__ import annotations

import errno
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

_write_lock = threading.Lock()


class EventLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        # In-process subscribers (the CLI's progress display); called on the emitting thread.
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self.broken: str | None = None  # why the file is no longer written (the run goes on without it)
        self._warned = False

    def emit(self, type: str, **data: Any) -> None:
        event = {"ts": round(time.time(), 3), "type": type, **{k: v for k, v in data.items() if v is not None}}
        for listener in list(self.listeners):
            listener(event)
        if self.broken is None:
            self._append(event)
        if self.broken is not None and not self._warned and self.listeners:
            self._warned = True  # said once, to the first listener there is (the progress display)
            warning = {"ts": event["ts"], "type": "log", "level": "warning",
                       "message": f"the event log is off for this run: {self.broken}"}
            for listener in list(self.listeners):
                listener(warning)

    def _append(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, default=str, separators=(",", ":")) + "\n"
        # One write() of a whole line in append mode, so concurrent writers do not interleave. O_NOFOLLOW:
        # events carry user text, and a link planted at this name must never append it to, say, ~/.bashrc.
        # Nothing depends on this file, so a fault (disk full, a link, permissions) disables it, not the run.
        try:
            if self.path.parent.is_symlink():
                raise OSError(errno.ELOOP, "symbolic link", str(self.path.parent))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with _write_lock:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
                try:
                    os.write(fd, line.encode())
                finally:
                    os.close(fd)
        except OSError as exc:
            from ttv.core.fsutil import describe_os_error

            self.broken = describe_os_error(exc, self.path)


def read_events(path: Path, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Read complete lines from `offset`; return (events, new offset). Garbage lines are skipped;
    a half-written last line is left for the next call. A truncated file restarts from 0."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return [], 0
    if size < offset:
        offset = 0
    with path.open("rb") as f:
        f.seek(offset)
        data = f.read()
    events: list[dict[str, Any]] = []
    consumed = 0
    for raw in data.splitlines(keepends=True):
        if not raw.endswith(b"\n"):
            break
        consumed += len(raw)
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict) and "type" in obj:
            events.append(obj)
    return events, offset + consumed


def iter_events(path: Path) -> Iterator[dict[str, Any]]:
    events, _ = read_events(path)
    yield from events


_RUN_STARTED = re.compile(rb'"type"\s*:\s*"run\.started"')


def latest_run_offset(path: Path, chunk: int = 1 << 16) -> int:
    """Byte offset of the line of the last `run.started` event (0 when there is none), found by reading the
    file backwards, so that `ttv status` reads only the latest run, however long the log has grown."""
    try:
        size = path.stat().st_size
    except OSError:
        return 0
    with path.open("rb") as f:
        end = size
        while end > 0:
            start = max(0, end - chunk)
            f.seek(start)
            data = f.read(end - start + 64)  # a little past `end`: a marker split across two chunks is found
            for m in reversed(list(_RUN_STARTED.finditer(data))):
                if start + m.start() >= end:
                    continue  # seen in the chunk after this one
                line_start = _line_start(f, start + m.start())
                f.seek(line_start)
                try:
                    event = json.loads(f.readline())
                except ValueError:
                    continue
                if isinstance(event, dict) and event.get("type") == "run.started":
                    return line_start
            end = start
    return 0


def _line_start(f: BinaryIO, pos: int) -> int:
    """The offset where the line holding byte `pos` begins."""
    while pos > 0:
        begin = max(0, pos - 4096)
        f.seek(begin)
        data = f.read(pos - begin)
        nl = data.rfind(b"\n")
        if nl >= 0:
            return begin + nl + 1
        pos = begin
    return 0
