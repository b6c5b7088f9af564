"""The dashboard's model: folds the project's files and its event log into rows and totals.

Pure Python (no Textual), so it is unit-testable and reusable by a plain-text follower. It only
*reads* the project: ttv.toml, plan.toml, keyframes/*.toml, clips/*.toml, final.toml and
.ttv/events.jsonl. Every read tolerates a missing, half-written or invalid file.

An item's state is the kernel's (ttv.core.states), decided by the same rule as `ttv status`:
  * the state at rest comes from the item's record; whether it is *stale* needs the inputs hashes,
    which only the pipeline computes, so the command that starts the dashboard passes a function
    (`rest_states`) that returns the pipeline's verdict; without one, records alone speak;
  * the live run (the latest `run.started` in the event log, while its process lives) overrides it:
    what that run queued is `queued`, what it started is `running` or `submitted`; a record left
    `running` by a process that no longer works on it is `interrupted`.
What an item is doing beyond its state (in the provider's queue, throttled, downloading, retrying,
waiting for its keyframes) is its *activity*, from the events, shown next to its progress.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
import tomllib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ttv.core import layout
from ttv.core.events import read_events
from ttv.core.schemas import Plan, ProjectConfig, Record
from ttv.core.states import (
    DONE,
    FAILED,
    IN_FLIGHT,
    INTERRUPTED,
    PLANNED,
    PROBLEMS,
    QUEUED,
    STALE,
    STYLE,
    RunView,
    item_state,
    record_state,
)

EVENTS_FILE = layout.EVENTS_FILE

# The pipeline's verdict on each item at rest ({item id: state}, with `stale`), or None when it cannot say
# (no plan yet, an invalid ttv.toml). Passed in by the command that starts the dashboard: see the docstring.
RestStates = Callable[[], "dict[str, str] | None"]
KIND_HINTS = {
    "retryable": "a transient error: run `ttv render` again; it resumes and polls submitted jobs again",
    "backend": "this backend cannot do it (key, quota, unsupported input): check `ttv doctor`, "
    "or add another backend to `fallback` in ttv.toml",
    "request": "the provider rejected the input itself: edit this segment's prompt in plan.toml, then run `ttv render`",
}


# --------------------------------------------------------------------------- formatting helpers


def fmt_duration(seconds: float | None) -> str:
    """12s, 3m05s, 2h03m; "—" when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def fmt_usd(value: float) -> str:
    if value == 0:
        return "$0"
    return f"${value:,.0f}" if value >= 1000 else f"${value:.2f}"


def fmt_gib(n_bytes: float | None) -> str:
    if n_bytes is None:
        return "?"
    return f"{n_bytes / 2**30:.1f}"


_SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: Iterable[float | None], width: int, maximum: float = 100.0) -> str:
    """The last `width` values as block characters scaled to `maximum` (unknown values as spaces)."""
    vals = list(values)[-width:] if width > 0 else []
    out = []
    for v in vals:
        if v is None or maximum <= 0:
            out.append(" ")
            continue
        frac = min(max(v / maximum, 0.0), 1.0)
        out.append(_SPARK[min(int(frac * len(_SPARK)), len(_SPARK) - 1)])
    return "".join(out).rjust(width)


def parse_time(value: str) -> float | None:
    """ISO 8601 from a record (naive = local time) -> unix seconds; None when absent or garbled."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except (ValueError, TypeError, OverflowError):
        return None


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine (signal 0 sends nothing)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            f = float(value)
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def _int(value: Any) -> int | None:
    f = _float(value)
    return None if f is None else int(f)


def _str(value: Any) -> str:
    return "" if value is None else str(value)


# --------------------------------------------------------------------------- per-item state


@dataclass
class ItemEvents:
    """What the events said about one item (segment, keyframe or "final"), over every run in the log."""

    id: str
    outcome: str = ""  # done | failed, as the last event said (replay shows these instead of the records)
    activity: str = ""  # what it is doing beyond its state: in queue, throttled, downloading, retrying…
    step: str = ""
    backend: str = ""
    fraction: float | None = None
    k: int | None = None
    n: int | None = None
    message: str = ""
    started_ts: float | None = None
    finished_ts: float | None = None
    last_ts: float = 0.0
    seconds: float | None = None
    attempts: int = 0
    job_id: str = ""
    k_first: tuple[float, int] | None = None  # (ts, k) of the first step seen in this denoising loop
    steps_per_s: float | None = None
    cost_by_backend: dict[str, float] = field(default_factory=dict)
    done_cost: float = 0.0
    error: str = ""
    error_kind: str = ""
    hint: str = ""
    history: list[str] = field(default_factory=list)  # short lines for the details pane


@dataclass
class SegmentRow:
    """One row of the segment table: events and record merged."""

    id: str
    index: int
    state: str = PLANNED
    activity: str = ""  # beyond the state: in queue, throttled, downloading, retrying, waiting for k008…
    clock: bool = False  # its elapsed time and ETA are counting: in flight in the live run
    backend: str = ""
    model: str = ""
    fraction: float | None = None
    k: int | None = None
    n: int | None = None
    steps_per_s: float | None = None
    message: str = ""
    started_ts: float | None = None
    finished_ts: float | None = None
    seconds: float | None = None
    attempts: int = 0
    job_id: str = ""
    cost_usd: float = 0.0
    estimated_cost_usd: float = 0.0
    error: str = ""
    error_kind: str = ""
    hint: str = ""
    prompt: str = ""
    negative_prompt: str = ""
    duration: float | None = None
    start_keyframe: str = ""
    end_keyframe: str = ""
    record: Record | None = None
    history: list[str] = field(default_factory=list)

    @property
    def backend_model(self) -> str:
        if self.backend and self.model and self.model != self.backend:
            return f"{self.backend}/{self.model}"
        return self.backend or self.model or "—"

    def progress_text(self) -> str:
        if self.state == DONE:
            return "100%"
        if self.k is not None and self.n:
            return f"{self.k}/{self.n}"
        if self.fraction is not None:
            return f"{int(self.fraction * 100)}%"
        return "—"

    def progress_fraction(self) -> float:
        if self.state == DONE:
            return 1.0
        if self.state not in IN_FLIGHT:
            return 0.0  # a number left from an earlier try is not this item's progress
        if self.k is not None and self.n:
            return min(max(self.k / self.n, 0.0), 1.0)
        if self.fraction is not None:
            return min(max(self.fraction, 0.0), 1.0)
        return 0.0

    def elapsed(self, now: float) -> float | None:
        """How long its latest work took (done, failed, interrupted: the clock stopped) or has taken so far (in
        flight in the live run). None for work not started (planned, stale, queued): an earlier run's time is
        not this one's."""
        if self.state in (DONE, FAILED) and self.seconds is not None:
            return self.seconds
        if self.started_ts is None or self.state in (PLANNED, STALE, QUEUED):
            return None
        if self.clock:
            return max(0.0, now - self.started_ts)
        if self.finished_ts is not None:
            return max(0.0, self.finished_ts - self.started_ts)
        return None

    def eta(self, now: float) -> float | None:
        if not self.clock or self.started_ts is None:
            return None
        f = self.progress_fraction()
        if f <= 0.0 or f >= 1.0:
            return None
        spent = max(0.0, now - self.started_ts)
        return spent * (1.0 - f) / f


@dataclass
class ProviderSpend:
    backend: str
    spent: float = 0.0
    estimated: float = 0.0


@dataclass
class Overall:
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    fraction: float = 0.0
    eta: float | None = None
    elapsed: float | None = None
    spent: float = 0.0
    estimated: float = 0.0
    budget: float | None = None
    providers: list[ProviderSpend] = field(default_factory=list)
    keyframes_total: int = 0
    keyframes_done: int = 0
    keyframe_counts: dict[str, int] = field(default_factory=dict)  # state -> how many keyframes
    final_state: str = ""


@dataclass
class RunInfo(RunView):
    """The latest run (the kernel's fold of the log) and whether its process still lives."""

    alive: bool | None = None  # None: unknown (replay, another machine, no pid)

    @property
    def running(self) -> bool:
        return self.started_ts is not None and self.finished_ts is None and self.alive is not False


@dataclass
class LogLine:
    ts: float
    level: str  # info | warn | error
    text: str


@dataclass
class GpuHistory:
    """The last samples of each GPU, for sparklines."""

    length: int = 120
    gpus: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    util: dict[int, deque[float | None]] = field(default_factory=dict)
    mem: dict[int, deque[float | None]] = field(default_factory=dict)
    power: dict[int, deque[float | None]] = field(default_factory=dict)
    samples: int = 0

    def add(self, gpus: list[dict[str, Any]], reason: str) -> None:
        self.gpus = list(gpus)
        self.reason = reason
        self.samples += 1
        for g in gpus:
            i = int(g.get("index", 0))
            used, total = g.get("mem_used"), g.get("mem_total")
            mem_pct = used / total * 100 if used is not None and total else None
            pw, lim = g.get("power_w"), g.get("power_limit_w")
            pw_pct = pw / lim * 100 if pw is not None and lim else None
            for store, value in ((self.util, g.get("util")), (self.mem, mem_pct), (self.power, pw_pct)):
                store.setdefault(i, deque(maxlen=self.length)).append(value)


# --------------------------------------------------------------------------- file cache


class _FileCache:
    """Parse a TOML file again only when its size or mtime changed."""

    def __init__(self) -> None:
        self._seen: dict[Path, tuple[int, int]] = {}
        self._data: dict[Path, Any] = {}

    def load(self, path: Path, parse: Callable[[dict[str, Any]], Any]) -> tuple[Any, str | None, bool]:
        """(parsed value or None, error message or None, changed?)."""
        try:
            st = path.stat()
        except OSError:
            changed = path in self._seen
            self._seen.pop(path, None)
            self._data.pop(path, None)
            return None, None, changed
        key = (st.st_mtime_ns, st.st_size)
        if self._seen.get(path) == key:
            value, err = self._data[path]
            return value, err, False
        try:
            with path.open("rb") as f:
                raw = tomllib.load(f)
            value, err = parse(raw), None
        except Exception as e:  # TOMLDecodeError, pydantic ValidationError, OSError, ...
            value, err = None, _first_line(e)
        self._seen[path] = key
        self._data[path] = (value, err)
        return value, err, True

    def forget_missing(self, keep: set[Path], folder: Path) -> None:
        for p in [p for p in self._seen if p.parent == folder and p not in keep]:
            self._seen.pop(p, None)
            self._data.pop(p, None)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}".strip()


def _record(kind: str) -> Callable[[dict[str, Any]], Record | None]:
    def parse(raw: dict[str, Any]) -> Record | None:
        rec = Record.model_validate(raw)
        if rec.kind != kind:
            raise ValueError(f"kind is {rec.kind!r}, expected {kind!r}")
        return rec

    return parse


# --------------------------------------------------------------------------- the model


class MonitorState:
    """Everything the dashboard shows, built from the project folder and fed events.

    `use_record_status=False` (replay) takes states from the events only: a finished project's
    records all say "done", which would spoil the playback. With `records_before=t`, records that
    were finished before `t` (the start of the replayed log) still count: that work was done already.
    """

    def __init__(
        self,
        project: Path,
        *,
        use_record_status: bool = True,
        records_before: float | None = None,
        log_length: int = 500,
        check_pid: Callable[[int], bool] | None = pid_alive,
        rest_states: RestStates | None = None,
    ) -> None:
        self.project = project
        self.use_record_status = use_record_status
        self.records_before = records_before
        self.check_pid = check_pid
        self.rest_states = rest_states
        self._rest: dict[str, str] | None = None  # the last answer of rest_states
        self._rest_at = -math.inf  # time.monotonic() of that answer
        self.lock_alive: bool | None = None  # no run in the log: whether a live process holds .ttv/lock
        self.config: ProjectConfig | None = None
        self.raw_config: dict[str, Any] = {}
        self.plan: Plan | None = None
        self.plan_segments: list[dict[str, Any]] = []
        self.plan_keyframes: list[dict[str, Any]] = []
        self.clips: dict[str, Record] = {}
        self.keyframes: dict[str, Record] = {}
        self.final: Record | None = None
        self.items: dict[str, ItemEvents] = {}
        self.run = RunInfo()
        self.log: deque[LogLine] = deque(maxlen=log_length)
        self.problems: dict[str, str] = {}  # file -> why it could not be read
        self.events_seen = 0
        self.last_event_ts: float | None = None
        self._cache = _FileCache()
        self._warned: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------ files

    def reload_files(self) -> bool:
        """Re-read what changed on disk; return whether anything changed."""
        changed = False
        raw, err, ch = self._cache.load(self.project / "ttv.toml", lambda r: r)
        if ch:
            changed = True
            self.raw_config = raw if isinstance(raw, dict) else {}
            self.config = None
            if raw is not None:
                try:
                    self.config = ProjectConfig.model_validate(raw)
                except Exception as e:
                    err = _first_line(e)
            self._problem("ttv.toml", err)
        raw, err, ch = self._cache.load(self.project / "plan.toml", lambda r: r)
        if ch:
            changed = True
            self.plan = None
            self.plan_segments, self.plan_keyframes = [], []
            if isinstance(raw, dict):
                try:
                    self.plan = Plan.model_validate(raw)
                except Exception as e:
                    err = _first_line(e)
                if self.plan is not None:
                    self.plan_segments = [s.model_dump() for s in self.plan.segments]
                    self.plan_keyframes = [k.model_dump() for k in self.plan.keyframes]
                else:  # best effort: an invalid plan still names its segments
                    segs, kfs = raw.get("segments"), raw.get("keyframes")
                    self.plan_segments = (
                        [s for s in segs if isinstance(s, dict) and "id" in s] if isinstance(segs, list) else []
                    )
                    self.plan_keyframes = (
                        [k for k in kfs if isinstance(k, dict) and "id" in k] if isinstance(kfs, list) else []
                    )
            self._problem("plan.toml", err)
        changed |= self._load_records(layout.record_folder("clip"), "clip", self.clips)
        changed |= self._load_records(layout.record_folder("keyframe"), "keyframe", self.keyframes)
        final_path = layout.record_path(self.project, "final", "final")
        final, err, ch = self._cache.load(final_path, _record("final"))
        if ch:
            changed = True
            self.final = final
            self._problem(final_path.name, err)
        self.refresh_rest(force=changed)
        return changed

    def refresh_rest(self, *, force: bool = False, every: float = 2.0) -> None:
        """Ask the pipeline for each item's state at rest (stale or not) when the files changed, and every
        `every` seconds anyway (an output modified by hand changes no record)."""
        if self.rest_states is None or (not force and time.monotonic() - self._rest_at < every):
            return
        self._rest_at = time.monotonic()
        try:
            self._rest = self.rest_states()
            self._problem("staleness check", None)
        except Exception as e:  # a half-written plan.toml, say: records alone speak until it reads again
            self._rest = None
            self._problem("staleness check", _first_line(e))

    def _load_records(self, folder: str, kind: str, into: dict[str, Record]) -> bool:
        d = self.project / folder
        changed = False
        present: set[Path] = set()
        try:
            names = sorted(e.name for e in os.scandir(d) if e.name.endswith(".toml") and not e.name.startswith("."))
        except OSError:
            names = []
        for name in names:
            path = d / name
            present.add(path)
            rec, err, ch = self._cache.load(path, _record(kind))
            if not ch:
                continue
            changed = True
            stem = name[: -len(".toml")]
            into.pop(stem, None)
            if isinstance(rec, Record):
                into[rec.id or stem] = rec
            self._problem(f"{folder}/{name}", err)
        for stem in [s for s in into if (d / f"{s}.toml") not in present]:
            into.pop(stem, None)
            changed = True
        for key in [k for k in self.problems if k.startswith(f"{folder}/") and (self.project / k) not in present]:
            self.problems.pop(key, None)
        self._cache.forget_missing(present, d)
        return changed

    def _problem(self, name: str, err: str | None) -> None:
        if err:
            self.problems[name] = err
            if (name, err) not in self._warned:
                self._warned.add((name, err))
                self.log.append(LogLine(time.time(), "warn", f"cannot read {name}: {err}"))
        else:
            self.problems.pop(name, None)

    # ------------------------------------------------------------------ events

    def reset_events(self) -> None:
        """The event log was truncated or replaced: forget what it said (records stay)."""
        self.items.clear()
        self.run = RunInfo()
        self.events_seen = 0
        self.last_event_ts = None
        self.log.append(LogLine(time.time(), "warn", "events.jsonl was truncated or replaced; reading it again"))

    def apply_many(self, events: Iterable[dict[str, Any]]) -> None:
        for e in events:
            self.apply(e)

    def apply(self, e: dict[str, Any]) -> None:
        """Fold one event. Unknown types and malformed fields are ignored, never fatal."""
        try:
            self._apply(e)
        except Exception as exc:  # a monitor must not die on a strange event
            self.log.append(LogLine(time.time(), "warn", f"ignored an event: {_first_line(exc)}"))

    def _item(self, e: dict[str, Any]) -> ItemEvents | None:
        item = e.get("item")
        if not isinstance(item, (str, int)) or item == "":
            return None
        key = str(item)
        it = self.items.get(key)
        if it is None:
            it = self.items[key] = ItemEvents(key)
        step = e.get("step")
        if isinstance(step, str) and step:
            it.step = step
        return it

    def _apply(self, e: dict[str, Any]) -> None:
        ts = _float(e.get("ts")) or (self.last_event_ts or 0.0)
        self.events_seen += 1
        self.last_event_ts = ts if self.last_event_ts is None else max(self.last_event_ts, ts)
        typ = _str(e.get("type"))
        it = self._item(e)
        if it is not None:
            it.last_ts = max(it.last_ts, ts)
        name = it.id if it else ""
        in_flight = it is not None and self.run.phase.get(it.id) in IN_FLIGHT  # before this event
        self.run.apply(e)  # the kernel's fold: what the latest run queued and started (the items' states)

        if typ == "run.started":
            self.run.alive = None
            self._log(ts, "info", f"run started: ttv {self.run.command}".rstrip() + _pid(self.run.pid))
        elif typ == "run.finished":
            if self.run.interrupted:
                self._log(ts, "warn", "run interrupted (finished work is kept; the next run resumes)")
            else:
                what = "ok" if self.run.ok else ("failed: " + ", ".join(self.run.failed) if self.run.failed else "failed")
                self._log(ts, "info" if self.run.ok else "error", f"run finished ({what})")
        elif typ == "item.started" and it:
            if not in_flight or it.started_ts is None:  # a retry or a fallback keeps the clock of its item
                it.started_ts = ts
            it.finished_ts = None
            it.fraction, it.k, it.n = None, None, None
            it.k_first, it.steps_per_s = None, None
            it.message, it.activity = "", ""
            backend = _str(e.get("backend"))
            if backend:
                it.backend = backend
            attempt = _int(e.get("attempt"))
            it.attempts = max(it.attempts, attempt or 1)
            resumed = _str(e.get("resumed_job"))
            if resumed:  # an earlier run submitted this job: it is polled again, not resubmitted
                it.job_id = resumed
            elif it.job_id and it.step != "keyframes":
                it.job_id = ""
            again = f", polling job {resumed} again" if resumed else ""
            it.history.append(f"{_clock(ts)} started{_on(backend)} (attempt {attempt or 1}{again})")
        elif typ == "item.progress" and it:
            it.activity = _activity(_str(e.get("status")))
            if it.started_ts is None:
                it.started_ts = ts
            frac = _float(e.get("fraction"))
            if frac is not None:
                it.fraction = min(max(frac, 0.0), 1.0)
            k, n = _int(e.get("k")), _int(e.get("n"))
            if k is not None and n:
                if it.k_first is None or it.k is None or k < it.k:  # a new denoising loop
                    it.k_first = (ts, k)
                it.k, it.n = k, n
                t_first, k_first = it.k_first
                it.steps_per_s = (k - k_first) / (ts - t_first) if ts > t_first and k > k_first else None
            msg = e.get("message")
            if msg is not None:
                it.message = _str(msg)
        elif typ == "item.submitted" and it:
            it.job_id = _str(e.get("job_id")) or it.job_id
            backend = _str(e.get("backend"))
            if backend:
                it.backend = backend
            it.activity = "in queue"  # in the provider's queue until it reports progress
            if it.started_ts is None:
                it.started_ts = ts
            it.history.append(f"{_clock(ts)} submitted{_on(backend)} job {it.job_id}")
            self._log(ts, "info", f"{name} submitted to {backend or '?'}: job {it.job_id}")
        elif typ == "item.done" and it:
            it.outcome, it.activity = DONE, ""
            it.finished_ts = ts
            it.fraction = 1.0
            it.seconds = _float(e.get("seconds"))
            it.done_cost = _float(e.get("cost_usd")) or 0.0
            it.message = ""
            took = f" in {fmt_duration(it.seconds)}" if it.seconds is not None else ""
            it.history.append(f"{_clock(ts)} done{took}")
            self._log(ts, "info", f"{name} done{took}" + (f" ({fmt_usd(it.done_cost)})" if it.done_cost else ""))
        elif typ == "item.failed" and it:
            it.outcome, it.activity = FAILED, ""
            it.finished_ts = ts
            it.error = _str(e.get("error")) or "failed"
            it.error_kind = _str(e.get("error_kind"))
            it.hint = _str(e.get("hint"))
            it.history.append(f"{_clock(ts)} failed: {it.error}")
            self._log(ts, "error", f"{name} failed: {it.error}" + (f" [{it.error_kind}]" if it.error_kind else ""))
        elif typ == "item.retry" and it:
            it.activity = "retrying"
            attempt = _int(e.get("attempt"))
            if attempt:
                it.attempts = max(it.attempts, attempt)
            delay = _float(e.get("delay"))
            backend = _str(e.get("backend"))
            if backend:
                it.backend = backend
            wait = f" in {fmt_duration(delay)}" if delay is not None else ""
            reason = _str(e.get("error") or e.get("reason"))
            it.message = f"retry{wait}" + (f": {reason}" if reason else "")
            if reason:
                it.error = reason
            it.history.append(f"{_clock(ts)} retry {attempt or ''}{_on(backend)}{wait}".replace("  ", " "))
            self._log(
                ts,
                "warn",
                f"{name} retry {attempt or ''}{_on(backend)}{wait}".replace("  ", " ")
                + (f": {reason}" if reason else ""),
            )
        elif typ == "item.fallback" and it:
            src, dst, reason = _str(e.get("from")), _str(e.get("to")), _str(e.get("reason"))
            if dst:
                it.backend = dst
            it.activity = "fallback"
            it.job_id = ""
            it.fraction, it.k, it.n = None, None, None
            if reason:
                it.error = reason
            it.message = f"fallback from {src}" if src else "fallback"
            it.history.append(f"{_clock(ts)} fallback {src} → {dst}: {reason}")
            self._log(ts, "warn", f"{name} fallback {src} → {dst}" + (f": {reason}" if reason else ""))
        elif typ == "item.skipped" and it:
            it.outcome, it.activity = DONE, ""
            it.message = _str(e.get("reason"))
            it.history.append(f"{_clock(ts)} skipped: {it.message}")
        elif typ == "cost" and it:
            usd = _float(e.get("usd")) or 0.0
            backend = _str(e.get("backend")) or it.backend or "?"
            it.cost_by_backend[backend] = it.cost_by_backend.get(backend, 0.0) + usd
        elif typ == "log":
            level = _str(e.get("level")).lower() or "info"
            level = {"warning": "warn", "critical": "error", "debug": "info"}.get(level, level)
            if level not in ("info", "warn", "error"):
                level = "info"
            prefix = f"{name}: " if name else ""
            self._log(ts, level, prefix + _str(e.get("message")))


    def _log(self, ts: float, level: str, text: str) -> None:
        self.log.append(LogLine(ts, level, text))

    def note(self, level: str, text: str) -> None:
        """A line of the monitor's own (a problem reading the project) in the log tail."""
        self._log(time.time(), level, text)

    # ------------------------------------------------------------------ liveness

    def check_liveness(self) -> None:
        """Notice a render process that died without writing run.finished.

        Only on the machine that runs it: the host comes from run.started or from .ttv/lock.json
        (written by the lock holder); on another host (shared storage) liveness stays unknown.
        A log that is still growing means alive, whatever the pid says."""
        if self.check_pid is None:
            return
        if not self.run.seen:
            self.lock_alive = self._lock_alive()
            return
        if self.run.finished_ts is not None or not self.run.pid:
            return
        host = self.run.host or self._lock_host(self.run.pid)
        if host and host != socket.gethostname():
            self.run.alive = None
            return
        recent = self.last_event_ts is not None and time.time() - self.last_event_ts < 15.0
        # A run holds the project lock from before run.started to after run.finished: a free lock means its
        # process is gone (killed), whatever the log's age says; this is what `ttv status` asks too.
        alive = layout.lock_held(self.project) is not False and (recent or self.check_pid(self.run.pid))
        if self.run.alive is not False and not alive:
            self._log(time.time(), "error", f"render process {self.run.pid} is gone without finishing")
        self.run.alive = alive

    def _lock_info(self) -> dict[str, Any]:
        try:
            info = json.loads((self.project / layout.LOCK_INFO_FILE).read_text())
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}

    def _lock_host(self, pid: int) -> str:
        info = self._lock_info()
        return _str(info.get("host")) if _int(info.get("pid")) == pid else ""

    def _lock_alive(self) -> bool | None:
        """No run in the log (deleted, or never written): whether the lock holder named in lock.json lives."""
        held = layout.lock_held(self.project)
        if held is not None:
            return held
        info = self._lock_info()
        pid = _int(info.get("pid"))
        if not pid or self.check_pid is None:
            return False
        if _str(info.get("host")) not in ("", socket.gethostname()):
            return None
        return self.check_pid(pid)

    @property
    def live(self) -> bool:
        """Whether a process works on the project now: the latest run, unfinished and (as far as can be told)
        alive; with no run in the log, a live lock holder (what `ttv status` asks the lock)."""
        if self.run.seen:
            return not self.run.finished and self.run.alive is not False
        return self.lock_alive is True

    # ------------------------------------------------------------------ derived views

    def segment_ids(self) -> list[str]:
        ids = [str(s["id"]) for s in self.plan_segments]
        known = set(ids) | self._keyframe_ids() | {"final"}
        extra = set(self.clips) - known
        for key, it in self.items.items():
            if key not in known and it.step not in ("keyframes", "plan", "stitch"):
                extra.add(key)
        return ids + sorted(extra)

    def _keyframe_ids(self) -> set[str]:
        ids = {str(k["id"]) for k in self.plan_keyframes} | set(self.keyframes)
        ids |= {k for k, it in self.items.items() if it.step == "keyframes"}
        return ids

    def rest_state(self, item_id: str, rec: Record | None) -> str:
        """The state at rest: the pipeline's verdict (with stale) when it was given, else the record's.
        Replay (use_record_status=False) takes the events' outcomes instead, and records only when they were
        finished before the replayed log began."""
        if not self.use_record_status:
            it = self.items.get(item_id)
            if it is not None and it.outcome:
                return it.outcome
            return record_state(rec.status) if rec is not None and self._record_counts(rec) else PLANNED
        if self._rest is not None and item_id in self._rest:
            return self._rest[item_id]
        return record_state(rec.status) if rec is not None else PLANNED

    def _record_counts(self, rec: Record) -> bool:
        if self.records_before is None:
            return False
        done_at = parse_time(rec.finished_at)
        return done_at is not None and done_at <= self.records_before

    def item_state(self, item_id: str, rec: Record | None) -> str:
        """The item's state: the kernel's rule (ttv.core.states.item_state), as `ttv status` decides it."""
        return item_state(item_id, self.rest_state(item_id, rec), self.run, self.live)

    def keyframe_state(self, kf_id: str) -> str:
        return self.item_state(kf_id, self.keyframes.get(kf_id))

    def final_state(self) -> str:
        return self.item_state("final", self.final)

    def rows(self, *, only_failed: bool = False) -> list[SegmentRow]:
        plan_by_id = {str(s["id"]): s for s in self.plan_segments}
        kf_states = {k: self.keyframe_state(k) for k in self._keyframe_ids()}
        out: list[SegmentRow] = []
        for index, sid in enumerate(self.segment_ids()):
            spec = plan_by_id.get(sid, {})
            rec = self.clips.get(sid)
            it = self.items.get(sid)
            state = self.item_state(sid, rec)
            row = SegmentRow(id=sid, index=index, state=state)
            row.clock = state in IN_FLIGHT and self.live
            row.prompt = _str(spec.get("prompt"))
            row.negative_prompt = _str(spec.get("negative_prompt"))
            row.duration = _float(spec.get("duration"))
            row.start_keyframe = _str(spec.get("start_keyframe"))
            row.end_keyframe = _str(spec.get("end_keyframe"))
            row.backend = _str(spec.get("backend")) or (self.config.backend if self.config else "")
            row.record = rec
            if rec is not None:
                row.backend = rec.backend or row.backend
                row.model = rec.model
                row.job_id = rec.job_id
                row.cost_usd = rec.cost_usd
                row.estimated_cost_usd = rec.estimated_cost_usd
                row.attempts = len(rec.attempts)
                row.started_ts = parse_time(rec.started_at)
                row.finished_ts = parse_time(rec.finished_at)
                if state == INTERRUPTED and rec.attempts:  # the runner stamps the interrupted attempt's end
                    row.finished_ts = parse_time(rec.attempts[-1].ended_at)
                row.seconds = rec.seconds or None
                if rec.status == "failed" or (rec.error and state == FAILED):
                    last = rec.attempts[-1] if rec.attempts else None
                    row.error_kind = last.error_kind if last else ""
                    hint = rec.info.get("hint") if isinstance(rec.info, dict) else None
                    row.error, row.hint = rec.error, _str(hint)
                    if not row.hint and " — " in rec.error:  # the runner writes "message — hint"
                        row.error, row.hint = (p.strip() for p in rec.error.split(" — ", 1))
            if it is not None:
                row.history = list(it.history)
                row.backend = it.backend or row.backend
                if it.backend and rec is not None and rec.backend and it.backend != rec.backend:
                    row.model = ""  # the record's model belongs to another backend
                row.job_id = it.job_id or row.job_id
                row.attempts = max(row.attempts, it.attempts)
                row.cost_usd = max(row.cost_usd, self._item_cost(it))
                rec_ts = (parse_time(rec.finished_at) or parse_time(rec.started_at)) if rec is not None else None
                # The events tell the latest work's timing, unless the record was written after them (a cut log).
                if it.started_ts is not None and not (rec_ts is not None and rec_ts > it.last_ts + 1.0):
                    row.started_ts = it.started_ts
                    if state != INTERRUPTED:
                        row.finished_ts = it.finished_ts
                    elif self.run.finished_ts is not None and self.run.phase.get(sid) in IN_FLIGHT:
                        row.finished_ts = self.run.finished_ts  # the clock stops when its run stopped
                    else:  # a process that died: its last sign of life (records keep whole seconds only)
                        row.finished_ts = max(it.last_ts, row.finished_ts or 0.0)
                    if it.seconds is not None:
                        row.seconds = it.seconds
                if state in IN_FLIGHT:
                    row.fraction, row.k, row.n = it.fraction, it.k, it.n
                    row.steps_per_s = it.steps_per_s if row.clock else None
                    row.message, row.activity = it.message, it.activity
                if it.error and state in IN_FLIGHT | PROBLEMS:
                    row.error, row.error_kind, row.hint = it.error, it.error_kind, it.hint or row.hint
            if state in (PLANNED, STALE, QUEUED):
                waiting = [k for k in (row.start_keyframe, row.end_keyframe) if k and kf_states.get(k) != DONE]
                if any(kf_states.get(k) in IN_FLIGHT | {QUEUED} for k in waiting):
                    row.activity = "awaits " + ", ".join(waiting)  # its keyframes are being made
            if row.error and not row.hint:
                row.hint = KIND_HINTS.get(row.error_kind, "")
            if only_failed and row.state not in PROBLEMS:
                continue
            out.append(row)
        return out

    @staticmethod
    def _item_cost(it: ItemEvents) -> float:
        return max(sum(it.cost_by_backend.values()), it.done_cost)

    def spend(self) -> list[ProviderSpend]:
        """Actual (and estimated) spend per provider over keyframes, clips and the final video."""
        by: dict[str, ProviderSpend] = {}

        def add(backend: str, spent: float, estimated: float = 0.0) -> None:
            p = by.setdefault(backend or "?", ProviderSpend(backend or "?"))
            p.spent += spent
            p.estimated += estimated

        records: dict[str, Record] = {**self.keyframes, **self.clips}
        if self.final is not None:
            records.setdefault("final", self.final)
        for item_id in set(records) | set(self.items):
            rec, it = records.get(item_id), self.items.get(item_id)
            rec_by: dict[str, float] = {}
            if rec is not None:
                for a in rec.attempts:
                    rec_by[a.backend] = rec_by.get(a.backend, 0.0) + a.cost_usd
                rest = rec.cost_usd - sum(rec_by.values())
                if rest > 1e-9:
                    rec_by[rec.backend] = rec_by.get(rec.backend, 0.0) + rest
            ev_by = dict(it.cost_by_backend) if it else {}
            merged = {b: max(rec_by.get(b, 0.0), ev_by.get(b, 0.0)) for b in set(rec_by) | set(ev_by)}
            if it is not None and it.done_cost > sum(merged.values()) + 1e-9:
                b = it.backend or (rec.backend if rec else "") or self._planned_backend(item_id)
                merged[b] = merged.get(b, 0.0) + it.done_cost - sum(merged.values())
            for b, usd in merged.items():
                if usd:
                    add(b, usd)
            if rec is not None and rec.estimated_cost_usd:
                add(rec.backend, 0.0, rec.estimated_cost_usd)
        return sorted(by.values(), key=lambda p: (-p.spent, -p.estimated, p.backend))

    def _planned_backend(self, item_id: str) -> str:
        for spec in self.plan_segments:
            if str(spec.get("id")) == item_id:
                return _str(spec.get("backend")) or (self.config.backend if self.config else "") or "?"
        return "?"

    def budget(self) -> float | None:
        if self.config is not None:
            return self.config.max_cost_usd
        return _float(self.raw_config.get("max_cost_usd"))

    def overall(self, now: float, rows: list[SegmentRow] | None = None) -> Overall:
        rows = self.rows() if rows is None else rows
        o = Overall(total=len(rows))
        for r in rows:
            o.counts[r.state] = o.counts.get(r.state, 0) + 1
        if rows:
            o.fraction = sum(r.progress_fraction() for r in rows) / len(rows)
        kf_ids = self._keyframe_ids()
        o.keyframes_total = len(kf_ids)
        for k in kf_ids:
            st = self.keyframe_state(k)
            o.keyframe_counts[st] = o.keyframe_counts.get(st, 0) + 1
        o.keyframes_done = o.keyframe_counts.get(DONE, 0)
        if "final" in self.items or self.final is not None or "final" in self.run.phase:
            o.final_state = self.final_state()
        providers = self.spend()
        o.providers = providers
        o.spent = sum(p.spent for p in providers)
        o.estimated = sum(p.estimated for p in providers)
        o.budget = self.budget()
        if self.run.started_ts is not None:
            end = self.run.finished_ts if self.run.finished_ts is not None else now
            if self.run.finished_ts is None and self.run.alive is False:
                end = self.last_event_ts or end  # a killed run's clock stops at its last sign of life
            o.elapsed = max(0.0, end - self.run.started_ts)
        o.eta = self._eta(rows, now) if self.run.running and self.live else None
        return o

    def _eta(self, rows: list[SegmentRow], now: float) -> float | None:
        """Remaining work over throughput (the mean time of finished segments, spread over the active
        ones), and never less than the slowest active segment's own ETA."""
        remaining = [r for r in rows if r.state not in PROBLEMS | {DONE}]
        if not remaining:
            return 0.0 if rows else None
        took = [r.seconds for r in rows if r.state == DONE and r.seconds]
        active = [r for r in rows if r.clock]
        etas = [e for e in (r.eta(now) for r in active) if e is not None]
        slowest = max(etas) if etas else None
        if took:
            mean = sum(took) / len(took)
            work = sum(1.0 - r.progress_fraction() for r in remaining)
            estimate = work * mean / max(1, len(active))
            return max(estimate, slowest) if slowest is not None else estimate
        if slowest is not None and len(remaining) == len(active):
            return slowest
        return None

    def status_line(self, now: float) -> tuple[str, str]:
        """(text, level) for the title bar: what the render process is doing."""
        r = self.run
        if r.started_ts is None:
            if self.events_seen == 0:
                return "waiting for events (.ttv/events.jsonl)", "info"
            return "no run in progress", "info"
        what = f"ttv {r.command}".strip()
        if r.finished_ts is not None:
            ago = fmt_duration(max(0.0, now - r.finished_ts))
            if r.interrupted:  # Ctrl-C or a timeout: nothing failed, the next run resumes
                return f"{what} interrupted {ago} ago", "warn"
            if r.ok:
                return f"{what} finished ok {ago} ago", "info"
            failed = f" ({len(r.failed)} failed)" if r.failed else ""
            return f"{what} finished with failures{failed} {ago} ago", "error"
        if r.alive is False:
            return f"{what} stopped: process {r.pid} is gone", "error"
        quiet = now - (self.last_event_ts or now)
        stale = f" · quiet for {fmt_duration(quiet)}" if quiet > 120 else ""
        return f"{what} running{_pid(r.pid)}{stale}", "warn" if stale else "info"


def details(row: SegmentRow, project: Path) -> list[tuple[str, str, str]]:
    """(label, value, style) lines for the details pane of one segment."""
    out: list[tuple[str, str, str]] = [("segment", row.id, "bold"), ("state", row.state, state_style(row.state))]
    if row.activity:
        out.append(("doing", row.activity, ""))
    out.append(("backend", row.backend_model, ""))
    if row.duration is not None:
        out.append(("duration", f"{row.duration:g}s", ""))
    out.append(("prompt", row.prompt or "—", ""))
    if row.negative_prompt:
        out.append(("negative", row.negative_prompt, ""))
    for label, kf in (("start frame", row.start_keyframe), ("end frame", row.end_keyframe)):
        if kf:
            path = layout.output_path(Path(), "keyframe", kf)
            exists = (project / path).exists()
            out.append((label, f"{path}" + ("" if exists else " (not made yet)"), "" if exists else "dim"))
    clip = layout.output_path(Path(), "clip", row.id)
    if (project / clip).exists():
        out.append(("clip", str(clip), ""))
    if row.job_id:
        out.append(("job id", row.job_id, ""))
    out.append(("attempts", str(row.attempts), ""))
    cost = fmt_usd(row.cost_usd)
    if row.estimated_cost_usd:
        cost += f" (estimated {fmt_usd(row.estimated_cost_usd)})"
    out.append(("cost", cost, ""))
    if row.state in IN_FLIGHT and (row.k is not None or row.fraction is not None):
        speed = ""
        if row.steps_per_s:
            speed = (
                f" · {row.steps_per_s:.2f} steps/s" if row.steps_per_s >= 1 else f" · {1 / row.steps_per_s:.1f} s/step"
            )
        out.append(("progress", row.progress_text() + speed, ""))
    if row.message:
        out.append(("status", row.message, ""))
    if row.error:
        kind = f" [{row.error_kind}]" if row.error_kind else ""
        out.append(("last error", row.error + kind, "red"))
        if row.hint:
            out.append(("fix", row.hint, "green"))
    if row.record is not None and row.record.attempts:
        for a in row.record.attempts[-5:]:
            err = f": {a.error}" if a.error else ""
            out.append((f"attempt {a.n}", f"{a.backend} {a.status}{err}", "dim"))
    for h in row.history[-6:]:
        out.append(("event", h, "dim"))
    return out


def state_style(state: str) -> str:
    return STYLE.get(state, "")


def _activity(status: str) -> str:
    """A provider's or a step's status word -> the dashboard's activity ("" when it only says running)."""
    s = status.strip().lower()
    if not s or s in ("running", "processing", "in_progress", "generating"):
        return ""
    if any(w in s for w in ("queue", "pending", "waiting", "submitted", "starting")):
        return "in queue"
    if "throttl" in s or "rate" in s:
        return "throttled"
    if "download" in s:
        return "downloading"
    return s.replace("_", " ")[:20]


def _pid(pid: int | None) -> str:
    return f" (pid {pid})" if pid else ""


def _on(backend: str) -> str:
    return f" on {backend}" if backend else ""


def _clock(ts: float) -> str:
    try:
        return time.strftime("%H:%M:%S", time.localtime(ts))
    except (OverflowError, ValueError, OSError):
        return "--:--:--"


# --------------------------------------------------------------------------- event sources


class LiveSource:
    """Follows .ttv/events.jsonl by polling its size: complete lines only, restarts on truncation."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self._ino: int | None = None

    def poll(self) -> tuple[list[dict[str, Any]], bool]:
        """(new events, whether the file was truncated or replaced since the last poll)."""
        reset = False
        try:
            st = self.path.stat()
        except OSError:
            if self.offset:
                self.offset, self._ino, reset = 0, None, True
            return [], reset
        if (self._ino is not None and st.st_ino != self._ino) or st.st_size < self.offset:
            self.offset, reset = 0, True
        self._ino = st.st_ino
        if st.st_size == self.offset:
            return [], reset
        try:
            events, self.offset = read_events(self.path, self.offset)
        except OSError:
            return [], reset
        return events, reset


class ReplaySource:
    """Plays back a finished event log at `speed` times real time (`clock` is the real clock)."""

    def __init__(self, path: Path, speed: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.speed = speed if speed > 0 else 1.0
        self.clock = clock
        try:
            self.events, _ = read_events(path, 0)
        except OSError:
            self.events = []
        ts = [t for t in (_float(e.get("ts")) for e in self.events) if t is not None]
        self.t0 = min(ts) if ts else 0.0
        self.t_end = max(ts) if ts else 0.0
        self.pos = 0
        self.start = clock()

    def virtual_now(self) -> float:
        return min(self.t0 + (self.clock() - self.start) * self.speed, max(self.t_end, self.t0))

    def poll(self) -> tuple[list[dict[str, Any]], bool]:
        now = self.t0 + (self.clock() - self.start) * self.speed
        out = []
        while self.pos < len(self.events):
            e = self.events[self.pos]
            t = _float(e.get("ts"))
            if t is not None and t > now:
                break
            out.append(e)
            self.pos += 1
        return out, False

    @property
    def finished(self) -> bool:
        return self.pos >= len(self.events)

    @property
    def fraction(self) -> float:
        return self.pos / len(self.events) if self.events else 1.0
