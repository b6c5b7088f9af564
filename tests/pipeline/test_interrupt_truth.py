"""Ctrl-C reaches the whole process group: the ffmpeg a backend runs dies with the run. That failure is the
interruption's echo, so the item is interrupted (resumable), not failed with a misleading error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ttv.core.states import INTERRUPTED, RunView, item_state
from ttv.pipeline.graph import build_graph
from ttv.pipeline.project import Project
from ttv.pipeline.runner import BackendPool, Clock, Interrupted, ItemRun, StopFlag, run_item


class _DiesWithTheRun:
    """A backend whose child process is killed by the same Ctrl-C that stops the run."""

    def __init__(self, stop: StopFlag) -> None:
        self.stop = stop

    def generate(self) -> Any:
        self.stop.set()  # the main thread saw the Ctrl-C
        raise RuntimeError("No ffmpeg exe could be found")  # imageio-ffmpeg, its check process killed


def test_a_failure_while_the_run_stops_is_an_interruption(small_project, cli) -> None:
    root = small_project("keyframe", segments=1)
    assert cli("plan", "-p", root).exit_code == 0
    project = Project.load(root)
    stop = StopFlag()
    run = ItemRun(project, build_graph(project).clips[0], "render", stop, Clock())
    pool = BackendPool(lambda name: _DiesWithTheRun(stop))  # type: ignore[arg-type, return-value]

    def generate(backend: Any, out: Path, ctx: Any) -> Any:
        return backend.generate()

    with pytest.raises(Interrupted):
        run_item(run, ["dying"], pool, generate, lambda p: {}, retries=3)
    rec = Project.load(root).read_record("clip", "s000")
    assert rec is not None and rec.status == "running" and len(rec.attempts) == 1  # no retries either
    assert rec.attempts[0].status == "interrupted" and "ffmpeg" in rec.attempts[0].error
    assert item_state("s000", "running", RunView(), live=False) == INTERRUPTED
