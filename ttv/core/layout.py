"""The project folder's layout: where each file of a project lives, defined once.

The pipeline writes these paths (`ttv.pipeline.project.Project`) and the dashboard reads them
(`ttv.tui.state`), so both name them from here instead of each spelling out the folders.

    ttv.toml, plan.toml          settings and the shot plan
    keyframes/<id>.png + .toml   a keyframe and its record
    clips/<id>.mp4 + .toml       a segment's clip and its record
    final.mp4 + final.toml       the stitched film and its record
    .ttv/events.jsonl            the event log (see ttv.core.events)
    .ttv/lock, .ttv/lock.json    the project lock and who holds it
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

RecordKind = Literal["keyframe", "clip", "final"]

CONFIG_FILE = "ttv.toml"
PLAN_FILE = "plan.toml"
TTV_DIR = ".ttv"
EVENTS_FILE = Path(TTV_DIR) / "events.jsonl"
LOCK_FILE = Path(TTV_DIR) / "lock"
LOCK_INFO_FILE = Path(TTV_DIR) / "lock.json"
KEYFRAMES_DIR = "keyframes"
CLIPS_DIR = "clips"
FRAMES_DIR = "frames"
FINAL_FILE = "final.mp4"

# Each kind of item: the folder of its outputs and records ("" for the project root), and its output's suffix.
_PLACES: dict[str, tuple[str, str]] = {"keyframe": (KEYFRAMES_DIR, ".png"), "clip": (CLIPS_DIR, ".mp4")}


def record_folder(kind: RecordKind) -> str:
    """The folder, relative to the project root, that holds this kind's records ("" for the final video)."""
    return _PLACES[kind][0] if kind in _PLACES else ""


def output_path(root: Path, kind: RecordKind, item_id: str) -> Path:
    """Where an item's output lives: keyframes/<id>.png, clips/<id>.mp4, or final.mp4."""
    if kind in _PLACES:
        folder, suffix = _PLACES[kind]
        return root / folder / f"{item_id}{suffix}"
    return root / FINAL_FILE


def record_path(root: Path, kind: RecordKind, item_id: str) -> Path:
    """An item's record sits next to its output, with the suffix .toml."""
    return output_path(root, kind, item_id).with_suffix(".toml")


def try_lock_folder(root: Path) -> int | None:
    """The project lock: an open descriptor of the project folder holding its exclusive flock (deleting files
    under .ttv cannot release it), or None when another process holds it. OSError when the folder cannot be
    opened; ImportError where there is no flock (Windows)."""
    import fcntl

    fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def lock_held(root: Path) -> bool | None:
    """Whether a process holds the project lock now (`try_lock_folder`), tested without writing anything:
    the question `ttv status` asks, for the dashboard too. None when the folder cannot be opened, or there is
    no flock here (Windows), or no ttv ever locked this project on this machine (no .ttv/lock marker: e.g. a
    synthetic or copied event log, which is judged by its own signs of life)."""
    if not (root / LOCK_FILE).exists():
        return None
    try:
        fd = try_lock_folder(root)
    except (ImportError, OSError):
        return None
    if fd is None:
        return True
    os.close(fd)  # closing the descriptor releases the flock
    return False
