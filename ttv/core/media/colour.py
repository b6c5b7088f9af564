"""Colour helpers in numpy only: sRGB <-> CIE Lab (D65), Lab statistics, statistics-transfer 3D LUTs
(written as .cube files for ffmpeg's ``lut3d``) and CIE76 delta E. Used for colour anchoring of
stitched clips (drift compounds over chained hops) and for the per-seam colour report."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_D65 = np.array([0.95047, 1.0, 1.08883], dtype=np.float64)
_RGB2XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]],
    dtype=np.float64,
)
_XYZ2RGB = np.linalg.inv(_RGB2XYZ)
_EPS = 216 / 24389
_KAPPA = 24389 / 27


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """``rgb``: (..., 3) uint8 (0-255) or float (0-1) sRGB -> (..., 3) float64 Lab (L 0-100)."""
    c = np.asarray(rgb)
    c = c.astype(np.float64) / 255.0 if c.dtype == np.uint8 else c.astype(np.float64)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = lin @ _RGB2XYZ.T / _D65
    f = np.where(xyz > _EPS, np.cbrt(xyz), (_KAPPA * xyz + 16) / 116)
    lab = np.empty_like(f)
    lab[..., 0] = 116 * f[..., 1] - 16
    lab[..., 1] = 500 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200 * (f[..., 1] - f[..., 2])
    return lab


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """(..., 3) Lab -> (..., 3) float sRGB in 0-1 (clipped)."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16) / 116
    fx = fy + lab[..., 1] / 500
    fz = fy - lab[..., 2] / 200
    f = np.stack([fx, fy, fz], axis=-1)
    f3 = f**3
    xyz = np.where(f3 > _EPS, f3, (116 * f - 16) / _KAPPA)
    xyz[..., 1] = np.where(lab[..., 0] > _KAPPA * _EPS, f3[..., 1], lab[..., 0] / _KAPPA)
    lin = (xyz * _D65) @ _XYZ2RGB.T
    lin = np.clip(lin, 0.0, 1.0)
    out = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * np.power(lin, 1 / 2.4) - 0.055)
    return np.clip(out, 0.0, 1.0)


@dataclass(frozen=True)
class LabStats:
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def lab_stats(frames: list[np.ndarray] | np.ndarray) -> LabStats:
    """Per-channel Lab mean and standard deviation over all pixels of ``frames`` (RGB uint8)."""
    arrs = [frames] if isinstance(frames, np.ndarray) and frames.ndim == 3 else list(frames)
    if not arrs:
        raise ValueError("lab_stats needs at least one frame")
    lab = np.concatenate([srgb_to_lab(a).reshape(-1, 3) for a in arrs], axis=0)
    m = lab.mean(axis=0)
    s = lab.std(axis=0)
    return LabStats(mean=(float(m[0]), float(m[1]), float(m[2])), std=(float(s[0]), float(s[1]), float(s[2])))


def mean_lab(frame: np.ndarray) -> np.ndarray:
    return srgb_to_lab(frame).reshape(-1, 3).mean(axis=0)


def delta_e(lab1: np.ndarray | tuple[float, ...], lab2: np.ndarray | tuple[float, ...]) -> float:
    """CIE76 colour difference between two Lab colours."""
    return float(np.linalg.norm(np.asarray(lab1, dtype=np.float64) - np.asarray(lab2, dtype=np.float64)))


def transfer_params(
    source: LabStats, target: LabStats, *, max_gain: float = 2.0, strength: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(src_mean, gain, dst_mean) so that lab' = (lab - src_mean) * gain + dst_mean moves ``source``
    statistics onto ``target`` (gain clamped to [1/max_gain, max_gain]; ``strength`` blends 0..1)."""
    sm = np.array(source.mean)
    tm = np.array(target.mean)
    ss = np.maximum(np.array(source.std), 1e-3)
    ts = np.array(target.std)
    gain = np.clip(ts / ss, 1 / max_gain, max_gain)
    gain = 1.0 + strength * (gain - 1.0)
    dst = sm + strength * (tm - sm)
    return sm, gain, dst


def apply_transfer(rgb: np.ndarray, source: LabStats, target: LabStats, **kw: float) -> np.ndarray:
    """Apply the statistics transfer directly to an RGB uint8 image (reference implementation)."""
    sm, gain, dst = transfer_params(source, target, **kw)
    lab = (srgb_to_lab(rgb) - sm) * gain + dst
    return np.round(lab_to_srgb(lab) * 255).astype(np.uint8)


def transfer_lut(source: LabStats, target: LabStats, size: int = 33, **kw: float) -> np.ndarray:
    """A (size, size, size, 3) float LUT indexed [b, g, r] (so red varies fastest when flattened,
    the .cube order) implementing the Lab statistics transfer from ``source`` to ``target``."""
    sm, gain, dst = transfer_params(source, target, **kw)
    axis = np.linspace(0.0, 1.0, size)
    b, g, r = np.meshgrid(axis, axis, axis, indexing="ij")
    rgb = np.stack([r, g, b], axis=-1)
    lab = (srgb_to_lab(rgb) - sm) * gain + dst
    return lab_to_srgb(lab)


def write_cube(lut: np.ndarray, path: Path | str) -> Path:
    """Write a LUT from :func:`transfer_lut` as an Adobe/Resolve .cube file (atomic)."""
    p = Path(path)
    size = lut.shape[0]
    flat = lut.reshape(-1, 3)
    body = ("%.6f %.6f %.6f\n" * len(flat)) % tuple(flat.ravel().tolist())  # one C-level format call
    fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=".tmp.cube", dir=p.parent)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(f'TITLE "ttv colour anchor"\nLUT_3D_SIZE {size}\nDOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 1 1\n{body}')
    os.replace(tmp, p)
    return p
