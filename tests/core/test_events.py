"""Reading only the latest run of a long event log."""

from __future__ import annotations

import json
from pathlib import Path

from ttv.core.events import latest_run_offset, read_events


def test_latest_run_offset_finds_the_last_run_started(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    assert latest_run_offset(path) == 0  # no log
    lines = [{"ts": 1, "type": "run.started", "pid": 1}]
    lines += [{"ts": 2 + i, "type": "item.progress", "item": f"s{i:03d}", "k": i} for i in range(300)]
    lines += [{"ts": 400, "type": "run.started", "pid": 2}, {"ts": 401, "type": "item.started", "item": "s001"}]
    lines += [{"ts": 402, "type": "log", "message": 'quoting "type":"run.started" in a message'}]
    text = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in lines)
    path.write_text(text)
    for chunk in (7, 64, 1000, 1 << 16):  # markers split across chunk boundaries are still found
        events, _ = read_events(path, latest_run_offset(path, chunk=chunk))
        assert [e["type"] for e in events] == ["run.started", "item.started", "log"] and events[0]["pid"] == 2
    path.write_text(json.dumps({"ts": 1, "type": "item.done", "item": "s0"}) + "\n")  # no run at all
    assert latest_run_offset(path) == 0
    path.write_text("".join(json.dumps(e) + "\n" for e in lines[1:3] + lines[301:303]))  # spaces after colons
    events, _ = read_events(path, latest_run_offset(path))
    assert [e["type"] for e in events] == ["run.started", "item.started"]
