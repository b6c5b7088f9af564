"""Test helpers: decode videos and read records (real outcomes, not mocks)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ttv.core.media import probe, read_frames
from ttv.core.tomlio import load_toml


def frames_of(path: Path) -> list[np.ndarray]:
    return list(read_frames(path))


def record(root: Path, rel: str) -> dict:
    return load_toml(root / rel)


def tree_digest(root: Path) -> dict[str, str]:
    """Digest of every file in a project (to prove a failed command changed nothing)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".ttv" not in p.parts:
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def mtimes(root: Path, pattern: str) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.glob(pattern))}


__all__ = ["frames_of", "record", "tree_digest", "mtimes", "probe"]
