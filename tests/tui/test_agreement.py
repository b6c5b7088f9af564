"""The dashboard and `ttv status` say the same state for every item at every moment.

A real run (offline backends, one item at a time) is watched event by event: just before each event is
written, `ttv status`'s rows and a dashboard model that has read the log so far (and the records, in that
order, as the app does) must agree on every keyframe, clip and the final video. Both decide with
ttv.core.states; these tests pin that the two readings of the project feed it the same facts.
"""

from __future__ import annotations

import _thread
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ttv.commands.monitor import rest_states
from ttv.commands.status import status_rows
from ttv.core.events import EventLog
from ttv.core.tomlio import load_toml, write_toml
from ttv.pipeline.project import Project
from ttv.tui.state import LiveSource, MonitorState, pid_alive


class Watch:
    """A dashboard model following the project as `ttv monitor` does, compared with `ttv status` on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.model = MonitorState(root, check_pid=pid_alive, rest_states=rest_states(root))
        self.source = LiveSource(root / ".ttv" / "events.jsonl")
        self.checks = 0
        self.seen: list[dict[str, str]] = []

    def dashboard(self) -> dict[str, str]:
        events, reset = self.source.poll()  # the events first, then the records: as the app's tick does
        if reset:
            self.model.reset_events()
        self.model.apply_many(events)
        self.model.reload_files()
        self.model.check_liveness()
        out = {r.id: r.state for r in self.model.rows()}
        out.update({k: self.model.keyframe_state(k) for k in self.model._keyframe_ids()})
        out["final"] = self.model.final_state()
        return out

    def status(self) -> dict[str, str]:
        return {r["id"]: r["status"] for r in status_rows(Project.load(self.root))}

    def agree(self, when: str) -> dict[str, str]:
        if not (self.root / "plan.toml").is_file():
            return {}  # `ttv status` says "no plan yet"; the dashboard shows no rows
        status, board = self.status(), self.dashboard()
        assert board == status, f"{when}: dashboard {board} != ttv status {status}"
        self.checks += 1
        self.seen.append(status)
        return status


@contextmanager
def watching(monkeypatch: pytest.MonkeyPatch, root: Path,
             on_event: Callable[[Watch, str, dict[str, Any]], None] | None = None) -> Iterator[Watch]:
    """Compare before every event the run emits (the event is not in the log yet, its record may be)."""
    watch = Watch(root)
    original = EventLog.emit

    def emit(self: EventLog, type: str, **data: Any) -> None:
        watch.agree(f"before {type} {data.get('item', '')}".strip())
        if on_event is not None:
            on_event(watch, type, data)
        original(self, type, **data)

    monkeypatch.setattr(EventLog, "emit", emit)
    yield watch
    monkeypatch.setattr(EventLog, "emit", original)


def one_at_a_time(root: Path) -> None:
    """One worker: the records change only on the thread that emits, so both readings see the same files."""
    cfg = load_toml(root / "ttv.toml")
    cfg.setdefault("backends", {}).setdefault("animatic", {})["concurrency"] = 1
    write_toml(root / "ttv.toml", cfg)


def status_json(cli: Any, root: Path) -> dict[str, str]:
    result = cli("status", "-p", root, "--json")
    assert result.exit_code == 0, result.output
    return {i["id"]: i["status"] for i in json.loads(result.stdout)["items"]}


def test_forced_run_dashboard_and_status_agree_at_every_event(small_project, cli, monkeypatch) -> None:
    root = small_project("keyframe", segments=3)
    one_at_a_time(root)
    assert cli("run", "-p", root).exit_code == 0
    with watching(monkeypatch, root) as watch:
        forced = cli("run", "-p", root, "--force")
        assert forced.exit_code == 0, forced.output
    assert watch.checks > 20
    # While the forced run works, what it has not redone yet is queued, not done (the old records say done).
    first_clip = next(s for s in watch.seen if s["s000"] == "running")
    assert first_clip["s001"] == first_clip["s002"] == first_clip["final"] == "queued"
    assert all(v == "done" for k, v in first_clip.items() if k.startswith("k"))
    final = [s["final"] for s in watch.seen]
    assert [v for n, v in enumerate(final) if not n or v != final[n - 1]] in (["done", "queued", "done"],
                                                                            ["done", "queued", "running", "done"])
    assert Watch(root).dashboard() == status_json(cli, root) == dict.fromkeys(status_json(cli, root), "done")


def test_interrupted_run_dashboard_and_status_agree(small_project, cli, monkeypatch) -> None:
    root = small_project("keyframe", segments=4)
    one_at_a_time(root)

    def ctrl_c(watch: Watch, type: str, data: dict[str, Any]) -> None:
        if type == "item.started" and data.get("item") == "s002":
            # Ctrl-C while s002 has started (its record says running): it reaches the main thread, as a real
            # one does, and the worker goes on until it sees the stop flag.
            _thread.interrupt_main()
            time.sleep(0.3)

    with watching(monkeypatch, root, ctrl_c) as watch:
        result = cli("run", "-p", root)
    assert result.exit_code == 130, result.output
    assert watch.checks > 10
    after = Watch(root)
    board = after.dashboard()
    assert board == status_json(cli, root)
    assert board["s000"] == board["s001"] == "done" and board["s002"] == "interrupted"
    assert board["s003"] == "planned" and board["final"] == "planned"
    items = {i["id"]: i for i in json.loads(cli("status", "-p", root, "--json").stdout)["items"]}
    assert items["s002"]["backend"] == "animatic"  # the backend it was interrupted on (it was empty)
    # The dashboard says the run was interrupted, stops the clocks, and `f` finds the interrupted item.
    text, level = after.model.status_line(after.model.last_event_ts or 0.0)
    assert "interrupted" in text and "failures" not in text and level == "warn"
    rows = {r.id: r for r in after.model.rows()}
    assert not rows["s002"].clock and rows["s002"].eta(1e12) is None
    assert after.model.overall(1e12).eta is None
    assert [r.id for r in after.model.rows(only_failed=True)] == ["s002"]
    # `ttv estimate` names the states with the same words and the same rule (it said `running` here).
    est = cli("estimate", "-p", root, "--json")
    assert est.exit_code == 0, est.output
    assert {i["id"]: i["status"] for i in json.loads(est.stdout)["items"] if i["kind"] != "plan"} == board
    # The next run resumes: the dashboard agrees with status while it does, and both end done.
    with watching(monkeypatch, root) as watch:
        assert cli("run", "-p", root).exit_code == 0
    resumed = next(s for s in watch.seen if s["s002"] == "running")
    assert resumed["s003"] == "queued"
    assert Watch(root).dashboard() == status_json(cli, root)


def test_stale_items_show_as_stale_on_the_dashboard(small_project, cli) -> None:
    root = small_project("keyframe", segments=2)
    assert cli("run", "-p", root).exit_code == 0
    plan = load_toml(root / "plan.toml")
    plan["segments"][1]["prompt"] = "The same shot, at night"
    write_toml(root / "plan.toml", plan)
    status = status_json(cli, root)
    assert status["s001"] == "stale" and status["final"] == "stale" and status["s000"] == "done"
    assert Watch(root).dashboard() == status
    # Without the pipeline's verdict (a bare model), records alone cannot see it: that is why it is passed in.
    bare = MonitorState(root, check_pid=pid_alive)
    bare.reload_files()
    assert {r.id: r.state for r in bare.rows()}["s001"] == "done"


def test_a_killed_run_is_interrupted_at_once_on_both(small_project, cli) -> None:
    """kill -9: no run.finished, and the log is only seconds old. `ttv status` sees the lock free; the
    dashboard used to trust the young log for 15 s and show the items running, with clocks counting."""
    import os
    import socket

    root = small_project("keyframe", segments=2)
    assert cli("run", "-p", root).exit_code == 0  # leaves .ttv/lock behind, free
    rec = load_toml(root / "clips" / "s001.toml")
    rec["status"] = "running"  # what the killed process left
    write_toml(root / "clips" / "s001.toml", rec)
    proj = Project.load(root)
    proj.events.emit("run.started", command="run", pid=os.getpid(), host=socket.gethostname())  # a live pid
    proj.events.emit("item.started", item="s001", step="render", backend="animatic", attempt=2)
    watch = Watch(root)
    board = watch.dashboard()
    assert board["s001"] == "interrupted" and board == status_json(cli, root)
    assert watch.model.run.alive is False and "gone" in watch.model.status_line(time.time())[0]
