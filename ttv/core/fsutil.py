"""Atomic writes, content digests, partial names, and the guards that keep writes inside a project."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path

from ttv.core.errors import LocalIOError, UnsafePathError

PARTIAL_SUFFIX = ".partial"
# Names of ttv's own temporary files: `<stem>.partial.<pid>-<hex><suffix>` (media being made) and
# `.<name>.<random>.tmp[<suffix>]` (atomic writes). Under the project lock nobody else writes them, so
# any left in a project folder belongs to a killed process and `clean_stale_temp` removes it.
TMP_DIR = "tmp"  # `.ttv/tmp`: scratch folders of a stitch (never the system temp dir)


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write via a temp file in the same folder, fsync, then os.replace: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes 0600 files; project files get the usual umask-based mode unless told otherwise.
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def atomic_write_text(path: Path, text: str, mode: int | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def partial_path(path: Path) -> Path:
    """Where media is written before it is checked and renamed (`clips/s000.partial.<pid>-<hex>.mp4`):
    unique per process and call, so two writers can never share one, and a planted file or symlink
    cannot be guessed in advance."""
    return path.with_name(f"{path.stem}{PARTIAL_SUFFIX}.{os.getpid()}-{secrets.token_hex(3)}{path.suffix}")


_PARTIAL_RE = re.compile(r"^[^.].*\.partial\.(\d+-[0-9a-f]+\.)?[A-Za-z0-9]{2,4}$")  # older ttv: no pid part
_TMP_RE = re.compile(r"^\..+\.tmp(\.[A-Za-z0-9]{2,4})?$")  # atomic writes, media temp siblings, stitch folders


def is_temp_name(name: str) -> bool:
    """A name only ttv's partial or atomic-write temp files have."""
    return bool(_PARTIAL_RE.match(name) or _TMP_RE.match(name))


def clean_stale_temp(folders: list[Path]) -> list[Path]:
    """Remove the temp files a killed ttv left in `folders` (call it only while holding the project lock).
    Symlinks are removed as links, never followed. Returns what was removed."""
    removed: list[Path] = []
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if not is_temp_name(entry.name):
                continue
            path = Path(entry.path)
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed.append(path)
    return removed


def guard_path(path: Path, root: Path, *, what: str = "write") -> Path:
    """Refuse to write/append/rename/delete `path` when it is a symlink or resolves outside `root` (a file
    planted in a project folder must never redirect ttv's writes to, say, ~/.bashrc). Returns `path`."""
    try:
        is_link = path.is_symlink()
    except OSError:
        is_link = False
    if is_link:
        raise UnsafePathError(f"refusing to {what} {path}: it is a symbolic link (ttv never follows links "
                              "inside a project)", hint="remove the link; ttv recreates the file")
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    if real != real_root and real_root not in real.parents:
        raise UnsafePathError(f"refusing to {what} {path}: it resolves to {real}, outside the project {real_root}",
                              hint="replace the linked folder by a real one inside the project")
    return path


def open_append_nofollow(path: Path) -> int:
    """An O_APPEND descriptor that refuses a symlink at `path` (ELOOP), e.g. for the event log."""
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)


def describe_os_error(exc: OSError, path: Path | str | None = None, *, needed: int | None = None) -> str:
    """A plain sentence for a local I/O fault (no raw `[Errno 28] ...`), naming the file and, when the
    disk is full, how much space the write needed and how much is free."""
    where = str(path or exc.filename or "a file")
    code = exc.errno
    if code == errno.ENOSPC or code == errno.EDQUOT:
        text = f"the disk is full while writing {where}"
        with contextlib.suppress(OSError):
            free = shutil.disk_usage(Path(where).parent if path else ".").free
            text += f" ({_mb(free)} free"
            text += f", {_mb(needed)} needed)" if needed else ")"
        return text + "; free some space and run the command again"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"no permission to write {where} ({os.strerror(code)}); check the folder's owner and mode"
    if code == errno.ENOENT:
        return f"{where} does not exist (or vanished while ttv was using it)"
    if code == errno.ELOOP:
        return f"refusing to follow the symbolic link {where}"
    if code == errno.EIO:
        return f"an input/output error on {where}: the disk or file system reported a fault"
    return f"cannot write {where}: {os.strerror(code) if code else type(exc).__name__}"


def local_io_error(exc: OSError, path: Path | str | None = None, *, needed: int | None = None) -> LocalIOError:
    return LocalIOError(describe_os_error(exc, path, needed=needed))


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n < 10**9 else f"{n / 1e9:.2f} GB"


def commit_partial(partial: Path, final: Path) -> None:
    with open(partial, "rb") as f:
        os.fsync(f.fileno())
    os.replace(partial, final)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()
