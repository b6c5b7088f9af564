"""Snapshots of the dashboard (pytest-textual-snapshot). Update with `pytest tests/tui --snapshot-update`
after checking the new pictures in snapshot_report.html.

The clock is pinned, NVML is the fake from tests/tui/sample.py (or missing), and the time zone is UTC,
so the pictures do not depend on the machine."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.tui.sample import NOW, SCENARIO, FakeNvml, write_events

pytest.importorskip("textual")
pytest.importorskip("pytest_textual_snapshot")

from ttv.tui.app import MonitorApp  # noqa: E402


def dashboard(project: Path) -> MonitorApp:
    write_events(project, SCENARIO)
    # autostart=False: no timers, so nothing moves while the picture is taken
    return MonitorApp(project, clock=lambda: NOW, check_pid=lambda pid: True, autostart=False)


async def warm_up(pilot: Any) -> None:
    """Eight GPU samples, so the sparklines have a history."""
    app = pilot.app
    for _ in range(8):
        app.sample_gpus_now()
    app.refresh_view()
    await pilot.pause()


def test_main_screen_with_gpus(
    project: Path, fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch, snap_compare: Any
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert snap_compare(dashboard(project), terminal_size=(80, 24), run_before=warm_up)


def test_main_screen_without_gpu_no_color(project: Path, monkeypatch: pytest.MonkeyPatch, snap_compare: Any) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(fail_init=True))  # no driver, as on CI or a laptop
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(dashboard(project), terminal_size=(80, 24), run_before=warm_up)


def test_wide_screen_with_details_pane(
    project: Path, fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch, snap_compare: Any
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert snap_compare(dashboard(project), terminal_size=(160, 48), run_before=warm_up, press=["j"] * 4)


def test_details_of_a_failed_segment(
    project: Path, fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch, snap_compare: Any
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert snap_compare(dashboard(project), terminal_size=(80, 24), run_before=warm_up, press=["f", "enter"])
