"""What happens at a seam between two clips: is the next clip's first frame a repeat of the
previous clip's last (chaining hands that frame over), and how different are their colours."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ttv.core.media.colour import delta_e, mean_lab
from ttv.core.media.files import MediaError
from ttv.core.media.frames import (
    _decode_frames,
    _first_frames,
    _last_frames,
    _small,
    first_frame,
    frame_difference,
    last_frame_array,
)


def _luma_small(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return _small(arr, size) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean()
    y = y - y.mean()
    den = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum()) / den if den > 1e-6 else 0.0


def check_duplicate_seam(prev: Path, cur: Path, *, prev_tail: int = 0, threshold: float = 3.0) -> dict[str, Any]:
    """Is ``cur``'s frame 0 a repeat of ``prev``'s last kept frame (``prev_tail`` frames before the end)?

    Measured on luma at up to 180 px high. A repeat differs from that frame only by codec noise:
    small mean absolute difference (below ``threshold``) with no region that differs much, and
    either clearly less than the motion between neighbouring frames inside the clips, or a
    difference image that is uncorrelated with that motion (noise), where the next frame of a
    moving shot would continue it. A slow pan, whose consecutive frames are also similar, is thus
    not mistaken for a repeat. Returns the measures and ``duplicate``."""
    tail = _last_frames(prev, prev_tail + 2)
    frames_prev = [f.to_ndarray(format="rgb24") for f in tail[: len(tail) - prev_tail]]
    if not frames_prev:
        raise MediaError(f"{prev.name} has only {len(tail)} frames")
    head = _first_frames(cur, 2)
    a, b = frames_prev[-1], head[0]
    row: dict[str, Any] = {"duplicate": False}
    if abs(a.shape[1] / a.shape[0] - b.shape[1] / b.shape[0]) > 0.02:
        row["why"] = "different aspect ratios"
        return row
    h = min(a.shape[0], b.shape[0], 180)
    size = (max(1, round(h * a.shape[1] / a.shape[0])), h)
    p1, c0 = _luma_small(a, size), _luma_small(b, size)
    d_seam = c0 - p1
    seam = float(np.abs(d_seam).mean())
    p99 = float(np.percentile(np.abs(d_seam), 99))
    motions: list[float] = []
    corrs: list[float] = []
    if len(frames_prev) >= 2:
        d_prev = p1 - _luma_small(frames_prev[-2], size)
        motions.append(float(np.abs(d_prev).mean()))
        corrs.append(_corr(d_seam, d_prev))
    if len(head) >= 2:
        d_next = _luma_small(head[1], size) - c0
        motions.append(float(np.abs(d_next).mean()))
        corrs.append(_corr(d_seam, d_next))
    motion = min(motions) if motions else float("inf")
    corr = max(corrs) if corrs else 0.0
    row.update(mean=round(seam, 3), p99=round(p99, 3), motion=round(motion, 3), corr=round(corr, 3))
    ratio = seam / motion if motion > 1e-6 else (0.0 if seam < 1e-6 else float("inf"))
    row["ratio"] = round(ratio, 3) if ratio != float("inf") else None
    identical = seam < 0.5 and p99 < 2 * threshold
    static = motion < 0.25 and seam < 1.0  # nothing moves: dropping the frame cannot be seen either way
    similar = seam < threshold and p99 < 6 * threshold
    # Calibrated on textured pans, moving objects and counters at crf 18-35 (tests/media): repeats
    # sit at ratio <= ~0.9 (codec noise only), continuations at >= ~1.0 (motion + noise).
    row["duplicate"] = bool(identical or static or (similar and (ratio <= 0.85 or (corr < 0.0 and ratio <= 1.0))))
    return row


def frames_equal(a: np.ndarray, b: np.ndarray, threshold: float = 3.0) -> bool:
    """True when two frames are the same picture up to lossy-codec noise: mean absolute difference
    below ``threshold`` and no region that differs much (99th percentile below 4 x threshold)."""
    if abs(a.shape[1] / a.shape[0] - b.shape[1] / b.shape[0]) > 0.02:
        return False
    d = frame_difference(a, b)
    return d["mean"] < threshold and d["p99"] < 4 * threshold



def seam_report(clips: Sequence[Path | str], *, trim_tail: list[int] | None = None) -> list[dict[str, Any]]:
    """Per-seam colour difference. For each seam i (clip i-1 -> clip i): ``delta_e`` is the CIE76
    difference between the mean Lab colour of clip i-1's last (kept) frame and clip i's first frame,
    ``mad`` their mean absolute RGB difference, and ``drift`` the delta E of clip i's first frame from
    clip 0's first frame (how far colour has wandered from the anchor)."""
    paths = [Path(c) for c in clips]
    tails = list(trim_tail or [0] * len(paths))
    if not paths:
        return []
    firsts = [first_frame(p) for p in paths]
    anchor = mean_lab(firsts[0])
    rows: list[dict[str, Any]] = []
    for i in range(1, len(paths)):
        last = last_frame_array(paths[i - 1], offset=tails[i - 1])
        rows.append(_seam_row(i, last, firsts[i], anchor))
    return rows


def _seam_row(i: int, last: np.ndarray, first: np.ndarray, anchor: np.ndarray) -> dict[str, Any]:
    fl = mean_lab(first)
    return {
        "seam": i,
        "delta_e": round(delta_e(mean_lab(last), fl), 3),
        "mad": round(frame_difference(last, first)["mean"], 3),
        "drift": round(delta_e(fl, anchor), 3),
    }


def _output_seam_report(out: Path, seam_frames: list[int], before: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge the per-seam report of the source clips with the same measures taken on the output
    around each seam (frame before / at the seam start)."""
    if not seam_frames:
        return [{**{f"{k}_before": v for k, v in row.items() if k != "seam"}, "seam": row["seam"]} for row in before]
    need = {0} | set(seam_frames) | {max(0, s - 1) for s in seam_frames}
    got: dict[int, np.ndarray] = {}
    last_needed = max(need)
    for idx, frame in enumerate(_decode_frames(out)):
        if idx in need:
            got[idx] = frame.to_ndarray(format="rgb24")
        if idx >= last_needed:
            break
    anchor = mean_lab(got[0])
    rows: list[dict[str, Any]] = []
    for k, s in enumerate(seam_frames):
        after = _seam_row(k + 1, got[max(0, s - 1)], got[s], anchor)
        row: dict[str, Any] = {"seam": k + 1}
        b = before[k] if k < len(before) else {}
        for key in ("delta_e", "mad", "drift"):
            row[f"{key}_before"] = b.get(key)
            row[f"{key}_after"] = after[key]
        rows.append(row)
    return rows
