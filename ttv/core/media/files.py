"""Opening media files (PyAV, with a MediaError for anything unreadable) and writing outputs
atomically: every output goes to a temporary name in the destination folder and is moved into
place with ``os.replace`` after it has been verified."""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import Any

import av

from ttv.core.errors import StepFailed

_CORRUPT_HINT = "the file is corrupt or truncated (an interrupted download or render?); make it again"


class MediaError(StepFailed):
    """Corrupt or undecodable media, or an ffmpeg failure (the message carries ffmpeg's stderr tail)."""



def _temp_sibling(path: Path, suffix: str | None = None) -> Path:
    """A fresh temporary name in ``path``'s folder (same filesystem, so os.replace is atomic).
    The file is not created here, so whoever writes it gets normal (umask) permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sfx = suffix if suffix is not None else path.suffix
    while True:
        cand = path.parent / f".{path.stem}.{secrets.token_hex(4)}.tmp{sfx}"
        if not cand.exists():
            return cand


def _unlink_quiet(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()



def _av_errors() -> tuple[type[BaseException], ...]:
    errs: list[type[BaseException]] = [OSError, EOFError, ValueError, IndexError, RuntimeError]
    for name in ("FFmpegError", "AVError"):
        cls = getattr(av, name, None) or getattr(getattr(av, "error", None), name, None)
        if isinstance(cls, type):
            errs.append(cls)
    return tuple(errs)


_AV_ERRORS = _av_errors()


def _open(path: Path | str, *, headers_only: bool = False) -> Any:
    """av.open with a MediaError for anything unreadable. ``headers_only`` skips decoding while the
    streams are probed (an order of magnitude faster for large frames): sizes, rates, time bases and
    codec data still come from the container, but the pixel format may be unknown."""
    p = Path(path)
    if not p.is_file():
        raise MediaError(f"no such media file: {p}")
    if p.stat().st_size == 0:
        raise MediaError(f"empty media file: {p}")
    try:
        options = {"skip_frame": "all", "threads": "1"} if headers_only else {}
        return av.open(str(p), metadata_errors="ignore", options=options)
    except _AV_ERRORS as exc:
        raise MediaError(
            f"cannot open {p.name}: {exc}", hint="the file is corrupt or not a video; render it again"
        ) from exc


def _video_stream(container: Any, p: Path) -> Any:
    if not container.streams.video:
        raise MediaError(f"{p.name} has no video stream")
    return container.streams.video[0]
