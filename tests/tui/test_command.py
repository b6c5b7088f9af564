"""`ttv monitor` as a command: the CLI imports without textual, and then says which extra to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.tui.sample import SCENARIO, build_project, write_events
from ttv.commands.monitor import monitor
from ttv.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def run_py(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_without_textual_import_works_and_command_names_the_extra(tmp_path: Path) -> None:
    project = build_project(tmp_path / "p")
    out = run_py(
        f"""
        import sys
        sys.modules["textual"] = None  # as if the tui extra were not installed
        import ttv.commands.monitor as m
        from ttv.core.errors import ConfigError
        try:
            m.monitor(__import__("pathlib").Path({str(project)!r}))
        except ConfigError as e:
            print("ERR", e.message, "|", e.hint, "|", e.exit_code)
        print("textual loaded:", any(k == "textual" or k.startswith("textual.") for k, v in sys.modules.items() if v))
        """,
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "ERR the dashboard needs the tui extra | pip install 'ttv[tui]' | 2" in out.stdout
    assert "textual loaded: False" in out.stdout


def test_cli_without_textual_exits_2_with_the_hint(tmp_path: Path) -> None:
    project = build_project(tmp_path / "p")
    out = run_py(
        """
        import sys
        sys.modules["textual"] = None
        sys.argv = ["ttv", "monitor"]
        from ttv.cli import main
        main()
        """,
        project,
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "tui extra" in out.stderr and "pip install 'ttv[tui]'" in out.stderr


def test_importing_the_cli_does_not_import_textual_or_nvml(tmp_path: Path) -> None:
    out = run_py(
        """
        import sys
        import ttv.cli, ttv.commands.monitor, ttv.core.gpu, ttv.tui.state
        print(sorted(k for k in sys.modules if k.split(".")[0] in ("textual", "pynvml")))
        """,
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_help_lists_the_options(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ttv.cli import app

    result = CliRunner().invoke(app, ["monitor", "--help"])
    assert result.exit_code == 0
    for option in ("--project", "--replay", "--speed", "--interval"):
        assert option in result.output


@pytest.mark.parametrize(
    ("setup", "kwargs", "message"),
    [
        ("empty", {}, "is not a ttv project"),
        ("missing", {}, "is not a folder"),
        ("project", {"replay": True}, "nothing to replay"),
        ("events", {"speed": 0}, "--speed must be above 0"),
        ("events", {}, "needs an interactive terminal"),
    ],
)
def test_clear_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setup: str, kwargs: dict[str, object], message: str
) -> None:
    import ttv.commands.monitor as command

    monkeypatch.setattr(command, "_interactive", lambda: False)  # as under CI or with a pipe
    root = tmp_path / "p"
    if setup == "empty":
        root.mkdir()
    elif setup in ("project", "events"):
        build_project(root)
        if setup == "events":
            write_events(root, SCENARIO)
    with pytest.raises(ConfigError, match=message):
        monitor(root, **kwargs)  # type: ignore[arg-type]


def test_the_real_command_in_a_terminal_replays_and_quits_on_q(tmp_path: Path) -> None:
    """`ttv monitor --replay` in a pseudo-terminal (80x24): it draws, then `q` ends it with exit 0."""
    pytest.importorskip("textual")
    pty = pytest.importorskip("pty")
    import fcntl
    import os
    import select
    import struct
    import termios
    import time

    project = build_project(tmp_path / "lighthouse")
    write_events(project, SCENARIO)
    before = sorted(p.name for p in project.rglob("*"))
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "TERM": "xterm-256color", "HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ttv", "monitor", "--replay", "--speed", "100", "--project", str(project)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline and not (b"replay" in seen and b"s008" in seen):
            if select.select([master], [], [], 0.2)[0]:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
        assert b"replay" in seen and b"s008" in seen, seen[-2000:]
        os.write(master, b"q")
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    os.read(master, 65536)
                except OSError:
                    break
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert sorted(p.name for p in project.rglob("*")) == before
