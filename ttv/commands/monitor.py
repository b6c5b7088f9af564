"""`ttv monitor`: the live dashboard (optional extra `ttv[tui]`).

Importing this module needs only typer; textual is imported when the command runs, so `ttv --help`
stays fast and works without the extra.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from ttv.commands._common import ProjectOpt, boundary
from ttv.core.errors import ConfigError, TtvError

TUI_EXTRA_HINT = "pip install 'ttv[tui]'"


def _textual_available() -> bool:
    if "textual" in sys.modules:
        return sys.modules["textual"] is not None
    try:
        return importlib.util.find_spec("textual") is not None
    except (ImportError, ValueError):
        return False


def _interactive() -> bool:
    """Textual draws on stderr and reads keys from stdin: both must be a terminal."""
    streams = (sys.__stdin__, sys.__stderr__)
    try:
        return all(s is not None and s.isatty() for s in streams)
    except (AttributeError, ValueError):
        return False


def rest_states(root: Path) -> Callable[[], dict[str, str] | None]:
    """The pipeline's verdict on each item at rest (done, stale, planned, failed…), for the dashboard.

    The dashboard (ttv.tui) reads the project through the kernel only; whether an item is stale needs the
    inputs hashes, which the pipeline computes. This command sits above both floors, so it hands the
    dashboard this function: the same `build_graph` that `ttv status` uses, so the two cannot disagree."""

    loaded: dict[tuple[tuple[int, int], ...], Any] = {}

    def verdict() -> dict[str, str] | None:
        from ttv.pipeline.graph import build_graph
        from ttv.pipeline.project import CONFIG_FILE, PLAN_FILE, Project

        try:
            # Loaded again when ttv.toml or plan.toml changed; else kept, with its cache of parsed records.
            key = tuple(_stamp(root / name) for name in (CONFIG_FILE, PLAN_FILE))
            if key not in loaded:
                loaded.clear()
                loaded[key] = Project.load(root)
            project = loaded[key]
            if not project.has_plan:
                return None
            return {st.id: st.status for st in build_graph(project).all()}
        except TtvError:
            loaded.clear()
            return None  # an invalid ttv.toml or plan.toml: the records alone speak until it is fixed

    return verdict


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (0, -1)
    return (st.st_mtime_ns, st.st_size)


def require_dashboard(*, terminal: bool = False) -> None:
    """ConfigError unless the dashboard can run here (`run --monitor` checks before it starts any work)."""
    if not _textual_available():
        raise ConfigError("the dashboard needs the tui extra", hint=TUI_EXTRA_HINT)
    if terminal:
        _require_terminal()


def _require_terminal() -> None:
    if not _interactive():
        raise ConfigError(
            "ttv monitor needs an interactive terminal",
            hint="for a plain log, read .ttv/events.jsonl (or use `ttv status`)",
        )


def monitor(project: Path, *, replay: bool = False, speed: float = 1.0, interval: float = 0.5) -> None:
    """Run the dashboard on `project` until the user quits. Reads the project; never writes it."""
    require_dashboard()
    try:
        from ttv.tui.app import MonitorApp
    except ImportError as e:
        raise ConfigError(f"the dashboard needs the tui extra ({e})", hint=TUI_EXTRA_HINT) from e

    project = project.expanduser()
    if not project.is_dir():
        raise ConfigError(f"{project} is not a folder", hint="pass the project folder: ttv monitor --project DIR")
    events = project / ".ttv" / "events.jsonl"
    if not (project / "ttv.toml").is_file() and not events.is_file():
        raise ConfigError(
            f"{project.resolve()} is not a ttv project (no ttv.toml)",
            hint="run it inside a project folder, or pass one: ttv monitor --project DIR",
        )
    if replay and not events.is_file():
        raise ConfigError(
            f"nothing to replay: {events} does not exist",
            hint="replay needs a project that has run at least once (ttv run)",
        )
    if speed <= 0:
        raise ConfigError(f"--speed must be above 0, not {speed}", hint="e.g. --speed 10")
    if interval <= 0:
        raise ConfigError(f"--interval must be above 0, not {interval}", hint="e.g. --interval 0.5")
    _require_terminal()
    MonitorApp(project, rest_states=rest_states(project), replay=replay, speed=speed, interval=interval).run()


@boundary
def monitor_command(
    project: ProjectOpt = None,
    replay: Annotated[
        bool, typer.Option("--replay", help="Play back a finished project's event log (demos, tests).")
    ] = False,
    speed: Annotated[float, typer.Option("--speed", metavar="FACTOR", help="Replay speed, times real time.")] = 1.0,
    interval: Annotated[float, typer.Option("--interval", metavar="SECONDS", help="Seconds between reads of the event log.")] = 0.5,
) -> None:
    """Live dashboard: GPUs, segments, remote jobs, spend and the event log. Read-only.

    Run it in a second terminal (or over ssh) while `ttv run` / `ttv render` works.
    Keys: ↑/↓ or j/k move, enter details, f failed/interrupted/cancelled only, q quit. Needs `pip install 'ttv[tui]'`.

    Examples:

    \b
      ttv monitor                       # watch a run from a second terminal
      ttv monitor --replay --speed 10   # play back a finished project's events
      ttv run --monitor                 # run and watch in one terminal
    """
    if not _textual_available():  # before looking at the project: say what to install first
        raise ConfigError("the dashboard needs the tui extra", hint=TUI_EXTRA_HINT)
    from ttv.pipeline.project import find_project_root

    root = project if project is not None else (find_project_root(Path.cwd()) or Path.cwd())
    monitor(root, replay=replay, speed=speed, interval=interval)
