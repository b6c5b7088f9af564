"""The dashboard under Textual's Pilot: it follows a project whose events are appended during the
test, survives broken input, obeys the keys, and never writes into the project."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.tui.sample import (
    NOW,
    SCENARIO,
    T0,
    append_raw,
    clip_record,
    ev,
    iso,
    tree_snapshot,
    write_events,
    write_toml,
)

pytest.importorskip("textual")

from textual.widgets import DataTable  # noqa: E402

from ttv.tui.app import DetailsPanel, DetailsScreen, MonitorApp  # noqa: E402

pytestmark = pytest.mark.anyio

NO_GPU: tuple[list[dict[str, Any]], str] = ([], "no NVIDIA GPU (test)")


def make_app(project: Path, **kw: Any) -> MonitorApp:
    kw.setdefault("gpu_sampler", lambda: NO_GPU)
    kw.setdefault("check_pid", lambda pid: True)
    kw.setdefault("interval", 0.05)
    return MonitorApp(project, **kw)


def table_states(app: MonitorApp) -> dict[str, str]:
    table: DataTable[Any] = app.query_one(DataTable)
    out = {}
    for i in range(table.row_count):
        row = table.get_row_at(i)
        out[str(row[0])] = str(row[1])
    return out


async def wait_for(pilot: Any, cond: Any, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


async def test_follows_events_appended_while_running(project: Path) -> None:
    write_events(project, SCENARIO[:2])
    write_toml(project / "clips" / "s001.toml", clip_record("s001", status="running", started_at=iso(T0 + 1)))
    app = make_app(project)
    async with app.run_test(size=(80, 24)) as pilot:
        assert table_states(app)["s000"] == "done"
        # its record says running, but the live run has not reached it yet: left by an earlier run
        assert table_states(app)["s001"] == "interrupted"
        write_events(project, [ev(1, "item.started", item="s001", step="render", backend="runway", attempt=1)])
        await wait_for(pilot, lambda: table_states(app)["s001"] == "running")
        write_events(project, [ev(2, "item.progress", item="s001", step="render", k=3, n=10)])
        await wait_for(pilot, lambda: "3/10" in str(app.query_one(DataTable).get_row_at(1)))
        write_toml(project / "clips" / "s001.toml", clip_record("s001", status="done", cost_usd=0.5))  # then the event
        write_events(project, [ev(3, "item.done", item="s001", step="render", seconds=2, cost_usd=0.5)])
        await wait_for(pilot, lambda: table_states(app)["s001"] == "done")
        write_events(
            project,
            [
                ev(
                    4,
                    "item.failed",
                    item="s002",
                    step="render",
                    error="CUDA out of memory",
                    error_kind="backend",
                    hint="set offload = 'sequential'",
                )
            ],
        )
        await wait_for(pilot, lambda: table_states(app)["s002"] == "failed")
        assert any("CUDA out of memory" in line.text for line in app.model.log)
        assert app.overall.spent == pytest.approx(1.75)  # s000 record $1.25 + s001 $0.50


async def test_keys_navigate_filter_details_quit(project: Path) -> None:
    write_events(project, SCENARIO)
    app = make_app(project, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        table: DataTable[Any] = app.query_one(DataTable)
        assert table.cursor_row == 0
        await pilot.press("j", "j", "down")
        assert table.cursor_row == 3
        await pilot.press("k")
        assert app.selected_row() is not None and app.selected_row().id == "s002"  # type: ignore[union-attr]
        # f: failed only, and back
        await pilot.press("f")
        assert list(table_states(app)) == ["s004"]
        assert "failed only" in str(table.border_title)
        # a failure appended while filtering shows up
        write_toml(project / "clips" / "s005.toml", clip_record("s005", status="failed", error="quota"))
        write_events(project, [ev(280, "item.failed", item="s005", step="render", error="quota", error_kind="backend")])
        await wait_for(pilot, lambda: list(table_states(app)) == ["s004", "s005"])
        # enter: details of the selected (failed) segment, with the error and its fix
        await pilot.press("enter")
        assert isinstance(app.screen, DetailsScreen) and app.screen.seg_id == "s004"
        text = str(app.screen.query_one(DetailsPanel).render())
        panel_lines = {
            label: value
            for label, value, _ in __import__("ttv.tui.state", fromlist=["details"]).details(
                app.row_by_id("s004"), project
            )
        }
        assert "SAFETY.INPUT.TEXT" in panel_lines["last error"] and "plan.toml" in panel_lines["fix"]
        assert text  # rendered
        await pilot.press("j")  # next segment inside the details
        assert app.screen.seg_id == "s005"
        await pilot.press("escape")
        assert not isinstance(app.screen, DetailsScreen)
        await pilot.press("f")
        assert len(table_states(app)) == 9
        await pilot.press("q")
    assert app.return_code == 0


async def test_selection_survives_new_rows_and_refresh(project: Path) -> None:
    write_events(project, SCENARIO)
    app = make_app(project)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("j", "j")
        write_events(project, [ev(290, "item.started", item="s099", step="render", backend="animatic")])
        await wait_for(pilot, lambda: "s099" in table_states(app))
        assert app.selected_row().id == "s002"  # type: ignore[union-attr]


async def test_survives_garbage_truncation_and_broken_records(project: Path) -> None:
    before = tree_snapshot(project)
    write_events(project, SCENARIO)
    app = make_app(project)
    async with app.run_test(size=(80, 24)) as pilot:
        append_raw(project, b'garbage\n\xff\xfe\n{"type": "item.done", "item": "s00')  # half a line
        await pilot.pause(0.2)
        assert table_states(app)["s003"] == "submitted"
        write_toml(project / "clips" / "s003.toml", clip_record("s003", status="done"))  # the runner's order
        append_raw(project, b'3"}\n')
        await wait_for(pilot, lambda: table_states(app)["s003"] == "done")
        # the writer truncates and starts a new log
        (project / ".ttv" / "events.jsonl").write_text(json.dumps(ev(500, "run.started", command="run", pid=99)) + "\n")
        await wait_for(pilot, lambda: app.model.run.pid == 99)
        # records vanish or get corrupted mid-run
        (project / "clips" / "s000.toml").unlink()
        (project / "clips" / "s004.toml").write_bytes(b"\x00\x01 not toml")
        (project / "plan.toml").write_text("[[segments]\nbroken")
        await wait_for(pilot, lambda: "clips/s004.toml" in app.model.problems and "plan.toml" in app.model.problems)
        await pilot.pause(0.2)
        assert app.is_running
        # the event log disappears altogether
        (project / ".ttv" / "events.jsonl").unlink()
        await pilot.pause(0.2)
        write_toml(project / "plan.toml", {"schema": 1, "segments": [{"id": "s000", "duration": 5, "prompt": "p"}]})
        # records outside the plan still show; s004.toml is corrupt
        await wait_for(pilot, lambda: list(table_states(app)) == ["s000", "s001", "s003"])
    assert app.return_code in (0, None)
    assert before.keys() <= tree_snapshot(project).keys() | {"clips/s000.toml"}


async def test_render_process_dies(project: Path) -> None:
    write_events(project, SCENARIO)
    alive = [True]
    app = make_app(project, check_pid=lambda pid: alive[0])
    async with app.run_test(size=(80, 24)) as pilot:
        assert table_states(app)["s002"] == "running"
        alive[0] = False
        await wait_for(pilot, lambda: table_states(app)["s002"] == "interrupted")
        assert "gone" in app.status()[0]


async def test_never_writes_into_the_project(project: Path) -> None:
    write_events(project, SCENARIO)
    before = tree_snapshot(project)
    app = make_app(project)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("j", "enter", "escape", "f", "f")
        await pilot.pause(0.3)
    assert tree_snapshot(project) == before
    assert not any(p.name.endswith((".tmp", ".partial")) for p in project.rglob("*"))


async def test_replay_plays_a_finished_project(project: Path) -> None:
    finished = (
        SCENARIO
        + [
            ev(300, "item.done", item=s, step="render", seconds=60)
            for s in ("s002", "s003", "s005", "s006", "s007", "s008")
        ]
        + [ev(301, "run.finished", command="render", ok=False)]
    )
    write_events(project, finished)
    for seg in ("s002", "s003"):  # records of a finished project say done; replay must not show that at t=0
        write_toml(project / "clips" / f"{seg}.toml", {"schema": 1, "kind": "clip", "id": seg, "status": "done"})
    app = make_app(project, replay=True, speed=1000.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.source, object) and app.status()[0].startswith("replay ×1000 finished")
        )
        assert table_states(app)["s008"] == "done" and table_states(app)["s004"] == "failed"
        assert app.model.run.finished_ts == T0 + 301


async def test_slow_replay_starts_from_the_beginning(project: Path) -> None:
    write_events(project, SCENARIO)
    app = make_app(project, replay=True, speed=0.001)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        states = table_states(app)
        assert states.pop("s000") == "done"  # finished before the replayed log starts
        assert set(states.values()) == {"planned"}
        assert "replay ×0.001" in app.status()[0]


@pytest.mark.parametrize("size", [(80, 24), (120, 30), (160, 48), (200, 60)])
async def test_layout_at_sizes(project: Path, size: tuple[int, int]) -> None:
    write_events(project, SCENARIO)
    app = make_app(project, clock=lambda: NOW)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        table = app.query_one(DataTable)
        assert table.region.height >= 8, "the table keeps room for rows"
        assert table.region.right <= size[0]
        details = app.query_one("#details")
        assert details.display == (size[0] >= 150)
        table_w = size[0] - 64 if size[0] >= 150 else size[0]
        labels = [str(c.label) for c in table.columns.values()]
        assert ("Note" in labels) == (table_w >= 130)
        assert ("Job id" in labels) == (table_w >= 110)
        assert table.virtual_size.width <= table.size.width, "no sideways scrolling: every column fits"


async def test_gpu_sampler_errors_are_shown_not_raised(project: Path) -> None:
    def boom() -> tuple[list[dict[str, Any]], str]:
        raise RuntimeError("driver fell over")

    app = make_app(project, gpu_sampler=boom, interval=0.05, gpu_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        assert "driver fell over" in app.gpu.reason and app.is_running


def test_no_color_is_respected(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert make_app(project).no_color
    monkeypatch.delenv("NO_COLOR")
    assert not make_app(project).no_color


def test_environment_untouched() -> None:
    assert os.environ.get("TZ") == "UTC"  # the conftest pins it for log clock times


async def test_q_quits_from_the_details_too(project: Path) -> None:
    write_events(project, SCENARIO)
    app = make_app(project)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        assert isinstance(app.screen, DetailsScreen)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running


async def test_project_written_in_small_pieces_while_watched(project: Path) -> None:
    """A writer that splits event lines across writes and rewrites records in place (not atomically):
    the dashboard keeps running and ends with the writer's final state."""
    import random
    import threading

    rng = random.Random(7)
    final = SCENARIO + [ev(300 + i, "item.done", item=f"s00{i}", step="render", seconds=5) for i in range(9)]
    blob = "".join(json.dumps(e) + "\n" for e in final).encode()
    done = threading.Event()

    def writer() -> None:
        pos = 0
        path = project / ".ttv" / "events.jsonl"
        while pos < len(blob):
            n = rng.randint(1, 300)
            with path.open("ab") as f:
                f.write(blob[pos : pos + n])
            pos += n
            rec = project / "clips" / f"s00{rng.randint(0, 8)}.toml"
            text = f'schema = 1\nkind = "clip"\nid = "{rec.stem}"\nstatus = "running"\n'.encode()
            with rec.open("wb") as f:  # truncate, then write in two halves
                f.write(text[: len(text) // 2])
                f.flush()
                time.sleep(0.002)
                f.write(text[len(text) // 2 :])
            time.sleep(rng.random() * 0.01)
        for i in range(9):  # the runner's last word: every record done (written before its item.done event)
            write_toml(project / "clips" / f"s00{i}.toml", clip_record(f"s00{i}", status="done"))
        done.set()

    app = make_app(project, interval=0.02)
    async with app.run_test(size=(80, 24)) as pilot:
        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        await wait_for(pilot, done.is_set, timeout=30)
        await wait_for(pilot, lambda: set(table_states(app).values()) == {"done"})
        assert app.is_running
    thread.join(timeout=5)


async def test_summary_counts_each_state_once(project: Path) -> None:
    """Before: "6 active · 2 running …": the same items counted twice under two words."""
    write_events(project, SCENARIO)
    app = make_app(project, clock=lambda: NOW)
    async with app.run_test(size=(160, 30)):
        from ttv.tui.app import OverallPanel

        line = str(app.query_one(OverallPanel).render()).splitlines()[0]
    assert "active" not in line
    assert line.endswith("2/9 done · 1 failed · ETA 7m27s · 2 running · 3 submitted")
