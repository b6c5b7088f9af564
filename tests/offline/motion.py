"""Measure how the picture moved between two frames: phase correlation with numpy's FFT (no OpenCV)."""

from __future__ import annotations

import numpy as np


def _gray(frame: np.ndarray) -> np.ndarray:
    g = frame.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    g -= g.mean()
    win = np.outer(np.hanning(g.shape[0]), np.hanning(g.shape[1]))  # no wrap-around edge for the FFT to lock on
    return g * win


def shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(dx, dy) in pixels such that b looks like a moved by (dx, dy); sub-pixel by a parabola on the peak."""
    fa, fb = np.fft.fft2(_gray(a)), np.fft.fft2(_gray(b))
    cross = fb * np.conj(fa)
    r = np.fft.ifft2(cross / np.maximum(np.abs(cross), 1e-9)).real
    py, px = np.unravel_index(int(np.argmax(r)), r.shape)

    def refine(c_m: float, c_0: float, c_p: float) -> float:
        den = c_m - 2 * c_0 + c_p
        return 0.0 if abs(den) < 1e-12 else 0.5 * (c_m - c_p) / den

    h, w = r.shape
    dx = px + refine(r[py, (px - 1) % w], r[py, px], r[py, (px + 1) % w])
    dy = py + refine(r[(py - 1) % h, px], r[py, px], r[(py + 1) % h, px])
    dx = dx - w if dx > w / 2 else dx
    dy = dy - h if dy > h / 2 else dy
    return float(dx), float(dy)


def divergence(a: np.ndarray, b: np.ndarray) -> float:
    """Positive when the picture grows from a to b (push in), negative when it shrinks (pull out):
    the right third moves right of the left third, the bottom third below the top third."""
    h, w = a.shape[:2]
    left = shift(a[:, : w // 3], b[:, : w // 3])[0]
    right = shift(a[:, -(w // 3):], b[:, -(w // 3):])[0]
    top = shift(a[: h // 3], b[: h // 3])[1]
    bottom = shift(a[-(h // 3):], b[-(h // 3):])[1]
    return (right - left) + (bottom - top)
