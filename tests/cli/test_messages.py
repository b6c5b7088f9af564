"""Messages say what is true and what to run next."""

from __future__ import annotations

import sys

import pytest

from ttv.commands import _common


@pytest.mark.parametrize(("argv", "advice"), [
    (["ttv", "render"], "run the same command again to resume"),
    (["ttv", "render", "--force", "--only", "s001"], "resume with `ttv render --only s001` (without --force"),
    (["ttv", "keyframes", "--reroll", "k002", "-p", "film"], "resume with `ttv keyframes -p film` (without --reroll"),
    (["ttv", "run", "--reroll=k1", "--force"], "resume with `ttv run` (without --reroll, --force"),
])
def test_ctrl_c_names_the_command_that_resumes(monkeypatch, argv: list[str], advice: str) -> None:
    monkeypatch.setattr(sys, "argv", argv)
    assert _common.resume_advice().startswith(advice)


def test_run_monitor_without_the_dashboard_starts_no_run(small_project, cli, monkeypatch) -> None:
    from ttv.commands import monitor

    monkeypatch.setattr(monitor, "_textual_available", lambda: False)
    root = small_project("keyframe", segments=2)
    result = cli("run", "-p", root, "--monitor")
    assert result.exit_code == 2
    assert "tui extra" in result.stderr and "stopping the run" not in result.stderr
    assert not (root / "plan.toml").exists() and not (root / ".ttv" / "run.log").exists()


def test_retry_lines_say_why() -> None:
    from ttv.commands._progress import event_line

    line = event_line({"type": "item.retry", "item": "s001", "backend": "runway", "delay": 7.0,
                       "error": "runway: 503 Service Unavailable"})
    assert line is not None and "in 7.0 s: runway: 503 Service Unavailable" in line
