"""The one rule for an item's state (ttv.core.states), case by case."""

from __future__ import annotations

import pytest

from ttv.core.states import STATES, RunView, item_state, record_state, rest_state


def run(*events: dict[str, object], finished: bool = False) -> RunView:
    view = RunView()
    view.apply_many([{"type": "run.started", "ts": 1.0, "command": "run", "pid": 7}, *events])
    if finished:
        view.apply({"type": "run.finished", "ts": 9.0, "ok": False, "interrupted": True})
    return view


def started(item: str) -> dict[str, object]:
    return {"type": "item.started", "item": item, "ts": 2.0}


@pytest.mark.parametrize(("rest", "view", "live", "expected"), [
    ("done", None, False, "done"),
    ("stale", None, False, "stale"),
    ("running", None, False, "interrupted"),  # a record left running, nobody works on it
    ("running", None, True, "running"),  # the lock is held and the log says nothing: trust the record
    ("running", run(), True, "interrupted"),  # the live run has not touched it: left by an earlier run
    ("running", run(started("s1")), True, "running"),
    ("running", run(started("s1"), finished=True), False, "interrupted"),
    ("done", run({"type": "run.queued", "ids": ["s1"]}), True, "queued"),  # --force: redone, though done
    ("done", run({"type": "run.queued", "ids": ["s1"]}), False, "done"),  # that run is over
    ("submitted", run(started("s1")), True, "submitted"),  # the record is ahead of item.submitted
    ("done", run(started("s1")), True, "done"),  # the record is ahead of item.done
    ("planned", run(started("s1")), False, "interrupted"),  # the run died on it before its record
    ("planned", run({"type": "item.failed", "item": "s1"}), False, "failed"),  # refused before any record
    ("submitted", None, False, "submitted"),  # parked by --detach: a remote job holds it
    ("cancelled", None, False, "cancelled"),
])
def test_item_state(rest: str, view: RunView | None, live: bool, expected: str) -> None:
    assert item_state("s1", rest, view, live) == expected
    assert expected in STATES


def test_rest_state_and_record_state() -> None:
    assert rest_state(None, fresh=False, inputs_match=False, made_before=False) == "planned"
    assert rest_state(None, fresh=False, inputs_match=False, made_before=True) == "stale"
    assert rest_state("done", fresh=True, inputs_match=True, made_before=True) == "done"
    assert rest_state("done", fresh=False, inputs_match=True, made_before=True) == "stale"  # output gone
    assert rest_state("failed", fresh=False, inputs_match=False, made_before=True) == "stale"  # prompt edited
    assert rest_state("cancelled", fresh=False, inputs_match=True, made_before=True) == "cancelled"
    assert record_state("submitted") == "submitted" and record_state(None) == "planned"


def test_a_new_run_forgets_the_last() -> None:
    view = run({"type": "run.queued", "ids": ["s1", "s2"]}, started("s1"))
    view.apply({"type": "run.started", "ts": 20.0, "command": "wait", "pid": 8})
    assert view.phase == {} and view.command == "wait" and view.pid == 8 and not view.finished
