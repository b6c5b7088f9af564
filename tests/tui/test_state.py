"""The dashboard model (no Textual): folding records and events, and surviving broken input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.tui.sample import NOW, SCENARIO, T0, build_project, clip_record, ev, iso, write_events, write_toml
from ttv.tui.state import (
    LiveSource,
    MonitorState,
    ReplaySource,
    details,
    fmt_duration,
    fmt_usd,
    sparkline,
)


def load(root: Path, *, alive: bool = True, **kw: object) -> MonitorState:
    state = MonitorState(root, check_pid=lambda pid: alive, **kw)  # type: ignore[arg-type]
    state.reload_files()
    events, _ = LiveSource(root / ".ttv" / "events.jsonl").poll()
    state.apply_many(events)
    return state


def states(state: MonitorState) -> dict[str, str]:
    return {r.id: r.state for r in state.rows()}


def test_every_state_of_the_scenario(project: Path) -> None:
    write_events(project, SCENARIO)
    state = load(project)
    # The states are the kernel's (ttv.core.states), as `ttv status` says them; what an item does beyond
    # its state is its activity.
    assert states(state) == {
        "s000": "done",
        "s001": "done",
        "s002": "running",
        "s003": "submitted",
        "s004": "failed",
        "s005": "running",
        "s006": "submitted",
        "s007": "planned",
        "s008": "submitted",
    }
    rows = {r.id: r for r in state.rows()}
    assert {k: r.activity for k, r in rows.items() if r.activity} == {
        "s003": "in queue",
        "s005": "throttled",
        "s006": "downloading",
        "s007": "awaits k008",  # its end keyframe k008 is being made
    }
    assert rows["s002"].progress_text() == "12/30"
    assert rows["s006"].progress_text() == "90%"
    assert rows["s008"].backend == "veo" and rows["s008"].attempts == 3 and rows["s008"].job_id == "operations/veo-8"
    assert rows["s004"].error.startswith("Runway rejected") and "prompt in plan.toml" in rows["s004"].hint
    assert rows["s002"].eta(NOW) == pytest.approx((NOW - (T0 + 2)) * (18 / 12))
    assert rows["s001"].elapsed(NOW) == 80.0


def test_overall_and_spend(project: Path) -> None:
    write_events(project, SCENARIO + [ev(250, "cost", item="k008", usd=0.04, backend="gemini-image")])
    state = load(project)
    o = state.overall(NOW)
    assert o.total == 9 and o.counts["failed"] == 1
    assert o.budget == 20.0
    assert o.keyframes_total == 10 and o.keyframes_done == 8
    assert o.keyframe_counts == {"done": 8, "running": 1, "planned": 1}  # k008 is being made
    assert o.elapsed == pytest.approx(300.0)
    assert o.eta is not None and o.eta > 0
    spend = {p.backend: (round(p.spent, 4), round(p.estimated, 4)) for p in o.providers}
    # s000 record ($1.25) + s001 cost event ($1.25, also in item.done: not counted twice)
    assert spend["runway"] == (2.5, 3.75)
    assert spend["gemini-image"] == (0.04, 0.0)
    assert o.spent == pytest.approx(2.54)


def test_records_alone_without_events(project: Path) -> None:
    """A project monitored after the fact, or with events.jsonl deleted: the records speak."""
    write_toml(project / "clips" / "s001.toml", clip_record("s001", status="running", started_at=iso(T0 + 1)))
    state = load(project)
    state.check_liveness()
    assert states(state)["s000"] == "done"
    assert states(state)["s001"] == "interrupted"  # its record says running, and no process holds the project
    assert states(state)["s004"] == "failed"
    assert states(state)["s003"] == "planned"
    assert state.status_line(NOW)[0].startswith("waiting for events")
    # A live process holding the lock (as `ttv status` asks it): the record is right, it is running.
    import os
    import socket

    (project / ".ttv" / "lock.json").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    state.check_liveness()
    assert states(state)["s001"] == "running"


def test_record_written_after_the_last_event_wins(project: Path) -> None:
    write_events(project, [ev(0, "run.started", command="render", pid=1), ev(1, "item.started", item="s003")])
    write_toml(
        project / "clips" / "s003.toml",
        {"schema": 1, "kind": "clip", "id": "s003", "status": "done", "finished_at": iso(T0 + 30), "seconds": 29},
    )
    assert states(load(project))["s003"] == "done"


def test_runner_error_with_hint_is_split(project: Path) -> None:
    write_toml(
        project / "clips" / "s005.toml",
        {
            "schema": 1,
            "kind": "clip",
            "id": "s005",
            "status": "failed",
            "error": "401 Unauthorized — run `ttv keys set runway`",
        },
    )
    row = next(r for r in load(project).rows() if r.id == "s005")
    assert row.error == "401 Unauthorized" and row.hint == "run `ttv keys set runway`"


def test_dead_render_process_marks_active_rows_interrupted(project: Path) -> None:
    write_events(project, SCENARIO)
    state = load(project, alive=False)
    state.check_liveness()
    s = states(state)
    assert s["s002"] == "interrupted" and s["s001"] == "done" and s["s004"] == "failed"
    assert "gone" in state.status_line(NOW)[0]
    assert state.overall(NOW).eta is None
    assert state.overall(NOW).elapsed == state.overall(NOW + 600).elapsed == 240.0  # stopped at its last event


def test_finished_run(project: Path) -> None:
    write_events(project, SCENARIO + [ev(290, "run.finished", command="render", ok=False)])
    state = load(project)
    text, level = state.status_line(NOW)
    assert "finished with failures 10s ago" in text and level == "error"


def test_garbage_lines_and_half_written_last_line(project: Path) -> None:
    path = write_events(project, SCENARIO[:3])
    write_toml(project / "clips" / "s001.toml", clip_record("s001", status="running", started_at=iso(T0 + 1)))
    with path.open("ab") as f:
        f.write(b'not json at all\n\x00\xff\xfe binary\n[1, 2, 3]\n{"no": "type"}\n')
        f.write(b'{"ts": 1790000010, "type": "item.done", "item": "s001", "sec')  # half a line
    src = LiveSource(path)
    state = MonitorState(project, check_pid=None)
    state.reload_files()
    events, reset = src.poll()
    state.apply_many(events)
    assert not reset and len(events) == 3
    assert states(state)["s001"] == "running"
    write_toml(project / "clips" / "s001.toml", clip_record("s001", status="done"))  # the record, then the event
    with path.open("ab") as f:
        f.write(b'onds": 9}\n')  # the writer finishes the line
    events, _ = src.poll()
    state.apply_many(events)
    state.reload_files()
    assert [e["type"] for e in events] == ["item.done"] and states(state)["s001"] == "done"


def test_strange_field_types_do_not_break_the_fold(project: Path) -> None:
    state = load(project)
    state.apply_many(
        [
            {"type": "item.progress", "item": "s002", "k": "many", "n": None, "fraction": "nan"},
            {"type": "item.started", "item": ["s002"]},
            {"type": "item.done", "item": "s003", "seconds": {"x": 1}, "cost_usd": "lots", "ts": "yesterday"},
            {"type": "cost", "item": "s003", "usd": None},
            {"type": "log"},
            {"type": "future.event", "item": "s009"},
        ]
    )
    assert states(state)["s003"] == "planned"  # an event alone never makes an item done: its record does
    state.overall(NOW)  # still computable


def test_truncated_or_replaced_event_log_is_read_again(project: Path) -> None:
    path = write_events(project, SCENARIO)
    src = LiveSource(path)
    state = MonitorState(project, check_pid=None)
    events, _ = src.poll()
    state.apply_many(events)
    path.write_text(json.dumps(ev(400, "run.started", command="render", pid=7)) + "\n")  # truncated and restarted
    events, reset = src.poll()
    assert reset
    state.reset_events()
    state.apply_many(events)
    assert state.run.pid == 7 and len(events) == 1
    path.unlink()
    assert src.poll() == ([], True)
    assert src.poll() == ([], False)


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    root = build_project(tmp_path / "p")
    (root / "clips" / "s001.toml").write_text("status = 'done\n")  # broken TOML
    (root / "clips" / "s004.toml").write_text("schema = 1\nkind = 'final'\nid = 's004'\n")  # wrong kind
    (root / "clips" / "s000.toml").unlink()
    (root / "ttv.toml").write_text("schema = 1\nidea = 'x'\nmax_cost_usd = 5\nbogus_key = 1\n")  # invalid but readable
    state = load(root)
    assert set(state.problems) == {"clips/s001.toml", "clips/s004.toml", "ttv.toml"}
    assert state.budget() == 5.0
    assert len(state.rows()) == 9
    assert any("cannot read clips/s001.toml" in line.text for line in state.log)
    # the writer fixes the file: the problem goes away
    write_toml(root / "clips" / "s001.toml", {"schema": 1, "kind": "clip", "id": "s001", "status": "done"})
    state.reload_files()
    assert "clips/s001.toml" not in state.problems and states(state)["s001"] == "done"


def test_invalid_plan_still_names_segments(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "plan.toml").write_text("[[segments]]\nid = 's000'\n[[segments]]\nid = 's001'\nprompt = 'x'\n")
    state = load(root)
    assert [r.id for r in state.rows()] == ["s000", "s001"] and "plan.toml" in state.problems


def test_empty_folder(tmp_path: Path) -> None:
    state = load(tmp_path)
    assert state.rows() == [] and state.overall(NOW).total == 0


def test_segments_known_only_from_events(tmp_path: Path) -> None:
    write_events(
        tmp_path,
        [
            ev(0, "item.started", item="s042", step="render", backend="animatic"),
            ev(0, "item.progress", item="plan", step="plan", fraction=0.5),
            ev(0, "item.started", item="k003", step="keyframes"),
        ],
    )
    assert [r.id for r in load(tmp_path).rows()] == ["s042"]


def test_stitch_shows_in_overall(project: Path) -> None:
    write_events(project, [ev(0, "run.started", command="run", pid=4242),
                           ev(1, "item.started", item="final", step="stitch", backend="ffmpeg")])
    assert load(project).overall(NOW).final_state == "running"


def test_replay_source_plays_at_speed(project: Path) -> None:
    write_events(project, SCENARIO)
    clock = [100.0]
    src = ReplaySource(project / ".ttv" / "events.jsonl", speed=10, clock=lambda: clock[0])
    assert [e["type"] for e in src.poll()[0]] == ["run.started"]
    clock[0] += 0.5  # 5 s of the original run
    assert len(src.poll()[0]) == 9 and src.virtual_now() == T0 + 5
    clock[0] += 100
    src.poll()
    assert src.finished and src.virtual_now() == SCENARIO[-1]["ts"]
    # replay takes states from events only: the records of a finished project would spoil it
    state = MonitorState(project, use_record_status=False, check_pid=None)
    state.reload_files()
    assert states(state)["s000"] == "planned" and states(state)["s004"] == "planned"
    # ... except what was finished before the replayed log starts
    state = MonitorState(project, use_record_status=False, records_before=src.t0, check_pid=None)
    state.reload_files()
    assert states(state)["s000"] == "done" and states(state)["s004"] == "planned"
    assert state.overall(NOW).keyframes_done == 8


def test_details(project: Path) -> None:
    write_events(project, SCENARIO)
    state = load(project)
    row = next(r for r in state.rows() if r.id == "s004")
    lines = {label: value for label, value, _ in details(row, project)}
    assert lines["prompt"] == "The keeper wades in and grabs the bottle"
    assert lines["start frame"] == "keyframes/k004.png"
    assert lines["last error"].endswith("[request]") and "plan.toml" in lines["fix"]
    row7 = next(r for r in state.rows() if r.id == "s007")
    assert dict((a, b) for a, b, _ in details(row7, project))["end frame"] == "keyframes/k008.png (not made yet)"


def test_formatting() -> None:
    assert [fmt_duration(x) for x in (None, -1, 0, 59.6, 65, 3725)] == ["—", "—", "0s", "1m00s", "1m05s", "1h02m"]
    assert [fmt_usd(x) for x in (0, 0.04, 12.5, 1234.5)] == ["$0", "$0.04", "$12.50", "$1,234"]
    assert sparkline([0, 50, 100, None], 6) == "  ▁▅█ "
    assert sparkline([], 3) == "   "


def test_liveness_on_another_host_is_unknown(project: Path) -> None:
    write_events(project, [ev(0, "run.started", command="render", pid=4242, host="render-box-7"), *SCENARIO[1:]])
    state = load(project, alive=False)
    state.check_liveness()
    assert state.run.alive is None and states(state)["s002"] == "running"


def test_liveness_host_from_the_lock_file(project: Path) -> None:
    write_events(project, SCENARIO)
    (project / ".ttv" / "lock.json").write_text(json.dumps({"pid": 4242, "host": "render-box-7", "command": "render"}))
    state = load(project, alive=False)
    state.check_liveness()
    assert state.run.alive is None
    (project / ".ttv" / "lock.json").write_text(json.dumps({"pid": 4242, "host": __import__("socket").gethostname()}))
    state.check_liveness()
    assert state.run.alive is False and states(state)["s002"] == "interrupted"


def test_a_growing_log_means_alive(project: Path) -> None:
    import time

    write_events(project, [dict(ev(0, "run.started", command="render", pid=4242), ts=time.time())])
    state = load(project, alive=False)
    state.check_liveness()
    assert state.run.alive is True


def test_denoising_speed(project: Path) -> None:
    write_events(project, SCENARIO)
    row = next(r for r in load(project).rows() if r.id == "s002")
    assert row.steps_per_s == pytest.approx(6 / 80)  # steps 6 -> 12 between t=20 and t=100
    assert dict((a, b) for a, b, _ in details(row, project))["progress"] == "12/30 · 13.3 s/step"


def test_overall_eta_is_never_shorter_than_the_slowest_segment(project: Path) -> None:
    write_events(project, SCENARIO)
    state = load(project)
    rows = {r.id: r for r in state.rows()}
    assert state.overall(NOW).eta == pytest.approx(rows["s002"].eta(NOW))  # 12/30 steps after ~5 minutes


def test_after_an_interrupted_run_clocks_stop_and_it_says_interrupted(project: Path) -> None:
    """Before: the interrupted items stayed `running` with elapsed and ETA counting, the title said
    "finished with failures" and the failed-only filter found nothing."""
    write_events(project, SCENARIO + [ev(250, "run.finished", command="render", ok=False, interrupted=True)])
    state = load(project)
    rows = {r.id: r for r in state.rows()}
    assert {k for k, r in rows.items() if r.state == "interrupted"} == {"s002", "s003", "s005", "s006", "s008"}
    for r in (rows["s002"], rows["s008"]):
        assert r.eta(NOW) is None and not r.clock
        assert r.elapsed(NOW) == r.elapsed(NOW + 3600) == pytest.approx(250 - (r.started_ts or 0) + T0)
    assert state.overall(NOW).eta is None
    text, level = state.status_line(NOW)
    assert text == "ttv render interrupted 50s ago" and level == "warn"
    assert {r.id for r in state.rows(only_failed=True)} == {"s002", "s003", "s004", "s005", "s006", "s008"}


def test_forced_run_shows_what_it_will_redo_as_queued(project: Path) -> None:
    """Before: a --force run showed "2/9 done" and "final.mp4 done" from the old records while all was redone."""
    ids = [f"s00{i}" for i in range(9)] + ["final"]
    write_toml(project / "final.toml", {"schema": 1, "kind": "final", "id": "final", "status": "done"})
    write_toml(project / "clips" / "s000.toml", clip_record("s000", status="running"))  # rewritten as it starts
    write_events(project, [ev(0, "run.started", command="run", pid=4242), ev(1, "run.queued", ids=ids),
                           ev(2, "item.started", item="s000", step="render", backend="runway", attempt=2)])
    state = load(project)
    rows = {r.id: r for r in state.rows()}
    assert rows["s000"].state == "running"
    assert {r.state for k, r in rows.items() if k != "s000"} == {"queued"}
    assert rows["s001"].elapsed(NOW) is None  # its record's 80 s belong to the earlier run
    o = state.overall(NOW)
    assert o.counts == {"running": 1, "queued": 8} and o.final_state == "queued"


def test_elapsed_means_the_same_in_every_state(project: Path) -> None:
    """Elapsed: what the latest work took or has taken so far; nothing for work not started."""
    write_events(project, SCENARIO)
    rows = {r.id: r for r in load(project).rows()}
    assert rows["s000"].elapsed(NOW) == 61.0 and rows["s001"].elapsed(NOW) == 80.0  # done: took
    assert rows["s002"].elapsed(NOW) == pytest.approx(NOW - (T0 + 2))  # running: so far
    assert rows["s002"].elapsed(NOW + 10) == pytest.approx(NOW + 10 - (T0 + 2))
    assert rows["s004"].elapsed(NOW) == 56.0  # failed: took
    assert rows["s007"].elapsed(NOW) is None and rows["s007"].eta(NOW) is None  # planned
