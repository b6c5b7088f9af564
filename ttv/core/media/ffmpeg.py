"""ffmpeg discovery and invocation. ffmpeg comes from ``TTV_FFMPEG``, else PATH (when it has
libx264), else the ``imageio-ffmpeg`` wheel. ffprobe is never required: probing and decoding go
through PyAV, which bundles its libav*."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ttv.core.media.files import MediaError

_STDERR_TAIL = 1500


@functools.lru_cache(maxsize=1)
def _ffmpeg_source() -> tuple[str, str]:
    """(path, source). ``TTV_FFMPEG`` forces a binary; else ``ffmpeg`` on PATH when it has libx264,
    else the imageio-ffmpeg binary, else a PATH ffmpeg without libx264 (doctor reports h264: false)."""
    forced = os.environ.get("TTV_FFMPEG", "").strip()
    if forced:
        exe = shutil.which(forced) or (forced if os.access(forced, os.X_OK) else None)
        if not exe:
            raise MediaError(f"TTV_FFMPEG={forced} is not an executable", hint="fix or unset TTV_FFMPEG")
        return exe, "TTV_FFMPEG"
    on_path = shutil.which("ffmpeg")
    if on_path and _has_libx264(on_path):
        return on_path, "PATH"
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe(), "imageio-ffmpeg"
    except Exception as exc:  # ImportError, RuntimeError when the wheel has no binary
        if on_path:
            return on_path, "PATH"
        raise MediaError(
            f"no ffmpeg found: not on PATH and imageio-ffmpeg has no binary ({exc})",
            hint="install ffmpeg (apt-get install ffmpeg) or `pip install imageio-ffmpeg`",
        ) from exc


def _has_libx264(exe: str) -> bool:
    try:
        enc = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(re.search(r"^\s*V\S*\s+libx264\s", enc.stdout, re.MULTILINE))


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: ``ffmpeg`` on PATH, else the imageio-ffmpeg one (cached)."""
    return _ffmpeg_source()[0]


@functools.lru_cache(maxsize=1)
def ffmpeg_info() -> dict[str, Any]:
    """``{"path", "source": "PATH"|"imageio-ffmpeg"|"TTV_FFMPEG", "version", "h264": bool}`` for ``ttv doctor``."""
    path, source = _ffmpeg_source()
    version = ""
    h264 = False
    try:
        out = subprocess.run([path, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30)
        m = re.search(r"ffmpeg version (\S+)", out.stdout)
        version = m.group(1) if m else out.stdout.splitlines()[0] if out.stdout else ""
        h264 = _has_libx264(path)
    except (OSError, subprocess.SubprocessError):
        pass
    return {"path": path, "source": source, "version": version, "h264": h264}


def _tail(text: str | bytes, n: int = _STDERR_TAIL) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.strip()
    return text[-n:]


def _run_ffmpeg(
    args: Sequence[str],
    *,
    what: str,
    timeout: float | None = None,
    cwd: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Run ffmpeg with ``args`` (without the executable); MediaError with the stderr tail on failure.
    ``progress`` is called with the number of frames written so far (from ``-progress pipe:1``)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    if progress is not None:
        cmd += ["-progress", "pipe:1", "-nostats"]
    cmd += list(args)
    if progress is None:
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, cwd=cwd)
        except subprocess.TimeoutExpired as exc:
            raise MediaError(f"{what}: ffmpeg timed out after {timeout} s") from exc
        except OSError as exc:
            raise MediaError(f"{what}: could not run ffmpeg: {exc}") from exc
        if proc.returncode != 0:
            raise MediaError(f"{what}: ffmpeg exited with {proc.returncode}: {_tail(proc.stderr)}")
        return
    with tempfile.TemporaryFile() as err:
        try:
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, cwd=cwd, text=True)
        except OSError as exc:
            raise MediaError(f"{what}: could not run ffmpeg: {exc}") from exc
        try:
            assert p.stdout is not None
            for line in p.stdout:
                if line.startswith("frame="):
                    with contextlib.suppress(ValueError):
                        progress(int(line[6:].strip()))
            rc = p.wait(timeout=timeout)
        except BaseException:
            p.kill()
            p.wait()
            raise
        if rc != 0:
            err.seek(0)
            raise MediaError(f"{what}: ffmpeg exited with {rc}: {_tail(err.read())}")



def _filter_script_args(script: Path) -> list[str]:
    """Pass a filter graph from a file: ``-/filter_complex`` on ffmpeg >= 7, ``-filter_complex_script``
    before (a graph for many clips can exceed the 128 KiB limit on one command-line argument)."""
    version = str(ffmpeg_info().get("version", ""))
    m = re.match(r"n?(\d+)\.", version)
    major = int(m.group(1)) if m else 99  # git builds ("N-1234-g...") are recent
    return ["-/filter_complex", str(script)] if major >= 7 else ["-filter_complex_script", str(script)]
