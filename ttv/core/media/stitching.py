"""Stitching: which path a film takes, and the entry point.

The rule: **stream copy** when every clip already matches the target (H.264 yuv420p at the
project's size and fps, square pixels, constant frame rate, identical codec data, time base and
profile, audio that can be joined) and nothing has to change (no dropped repeat frame, no trimmed
tail, no crossfade, no colour correction, no soundtrack, no ``force_encode``): the video packets
are copied and only the audio is rebuilt (``copy``). Otherwise **normalize and encode** once
(``encode``). A copy that turns out impossible (odd audio, overlapping timestamps) falls back to
the encode path; ``StitchResult.info["reason"]`` always says why the path was taken.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ttv.core.media import drift
from ttv.core.media.copy import _audio_target, _stitch_copy
from ttv.core.media.encode import _stitch_encode
from ttv.core.media.files import MediaError
from ttv.core.media.probing import MediaInfo, _decoded_pix_fmt, probe_many
from ttv.core.media.seams import _output_seam_report, check_duplicate_seam, seam_report


@dataclass
class StitchResult:
    method: str  # "copy" | "encode"
    frames: int
    duration: float
    dropped_seams: list[int] = field(default_factory=list)  # clip indices whose frame 0 was dropped
    info: dict[str, Any] = field(default_factory=dict)


def copy_or_encode(
    paths: Sequence[Path], infos: Sequence[MediaInfo], *, width: int, height: int, fps: float, changes: Sequence[str]
) -> tuple[bool, str]:
    """The rule of this module: (True, why) when the clips can be stream-copied as they are, else
    (False, the reason for encoding). ``changes``: what the caller asks to alter in the picture
    (dropped repeats, trimmed tails, crossfade, colour correction, soundtrack, forced encode)."""
    ok, why = _copyable(infos, width, height, fps)
    if ok:
        # identical codec data means an identical pixel format; confirm it by decoding (full-range
        # "yuvj420p" is only visible to the decoder)
        decoded_fmt = _decoded_pix_fmt(paths[0])
        if decoded_fmt != "yuv420p":
            ok, why = False, f"clips decode as {decoded_fmt}, not yuv420p"
    if not ok:
        return False, why
    if changes:
        return False, "changes requested: " + ", ".join(changes)
    return True, why


def _copyable(infos: Sequence[MediaInfo], width: int, height: int, fps: float) -> tuple[bool, str]:
    first = infos[0]
    for i, inf in enumerate(infos):
        if inf.codec != "h264" or inf.pix_fmt != "yuv420p":
            return False, f"clip {i} is {inf.codec}/{inf.pix_fmt}, not h264/yuv420p"
        if (inf.width, inf.height) != (width, height):
            return False, f"clip {i} is {inf.width}x{inf.height}, project is {width}x{height}"
        if inf.sar != "1:1":
            return False, f"clip {i} has non-square pixels ({inf.sar})"
        if abs(inf.fps - fps) > 1e-3 or inf.vfr:
            return False, f"clip {i} is {inf.fps:g} fps{' VFR' if inf.vfr else ''}, project is {fps:g}"
        for attr in ("time_base", "extradata_sha1", "profile"):
            if getattr(inf, attr) != getattr(first, attr):
                return False, f"clip {i} differs from clip 0 in {attr}"
    try:  # the audio is rebuilt on copy (gapless), so it only has to be joinable
        _audio_target(infos)
    except ValueError as exc:
        return False, str(exc)
    return True, "uniform"


def _made_worse(row: dict[str, Any], correction: drift.Plan) -> bool:
    """Did the output get worse at this seam where a correction touched it (either side corrected)?"""
    i = row["seam"]
    touched = correction.touches(i)
    before, after = row.get("delta_e_before"), row.get("delta_e_after")
    return touched and before is not None and after is not None and after > before + drift.SLACK


def stitch(
    clips: Sequence[Path | str],
    output: Path | str,
    *,
    width: int,
    height: int,
    fps: int,
    crossfade: float = 0.0,
    fit: str = "letterbox",
    drop_first_frame: list[bool] | None = None,
    color_match: bool = False,
    soundtrack: Path | str | None = None,
    trim_tail: list[int] | None = None,
    trim_head: list[int] | None = None,
    dup_threshold: float = 3.0,
    crf: int = 18,
    preset: str = "veryfast",
    soundtrack_volume: float = 0.5,
    report: bool = False,
    force_encode: bool = False,
    progress: Callable[[float], None] | None = None,
    chunk_size: int = 32,
    color_strength: float = 1.0,
) -> StitchResult:
    """Join ``clips`` into ``output`` at ``width``x``height``@``fps``; returns what was done.

    * Stream copy when every clip is H.264 yuv420p at the target size and fps, with identical codec
      data, time base and audio layout, and nothing has to change: in-process remux (PyAV), or
      ffmpeg's concat demuxer for layouts the remux does not handle (``info["copy_via"]``).
    * Otherwise normalize + encode once: square pixels, scale with ``fit`` ("letterbox" pads,
      "crop" fills), fps conversion to exactly round(kept_frames / src_fps * fps) frames per clip,
      yuv420p, 48 kHz stereo AAC with silence for clips without audio (when any clip or the
      soundtrack has audio), optional ``crossfade`` seconds (xfade/acrossfade), optional
      ``soundtrack`` mixed under the clip audio at ``soundtrack_volume`` and faded out at the end,
      optional ``color_match``: colour drift revealed at the seams is corrected (``drift``; only
      when a seam shows drift does the stitch encode; ``color_strength`` < 1 corrects part of it).
      More than ``chunk_size`` clips are encoded a chunk per ffmpeg process and joined by copy.
    * ``drop_first_frame[i]``: clip i's frame 0 MAY repeat clip i-1's last kept frame; it is dropped
      only when :func:`check_duplicate_seam` says the pixels really repeat (``info["seam_checks"]``).
    * ``trim_tail[i]``: drop that many frames from the end of clip i (chaining with ``seam_offset``:
      the frames after the one handed to the next segment).
    * ``trim_head[i]``: drop exactly that many frames from the start of clip i, unchecked (the backend
      reported that its output repeats that many conditioning frames: ``continue_frames``, extension);
      such a clip gets no ``drop_first_frame`` check.
    * ``report``: ``info["seams"]``, per seam delta E / mean abs diff / drift from clip 0, before and
      after, and with ``color_match`` what the colour correction did there and why (also in
      ``info["colour"]`` without ``report``). ``progress`` gets 0..1 while encoding.

    The output is written to a temporary name beside ``output``, verified (frame count, size, fps,
    every packet present, the end decodes) and then moved into place; on any failure ``output`` is
    left as it was and MediaError explains why.
    """
    paths = [Path(c) for c in clips]
    out = Path(output)
    if not paths:
        raise MediaError("nothing to stitch: no clips")
    if fit not in ("letterbox", "crop"):
        raise MediaError(f"fit must be 'letterbox' or 'crop', got {fit!r}")
    if width % 2 or height % 2:
        raise MediaError(f"output size {width}x{height} must be even for yuv420p")
    n = len(paths)
    drop_flags = list(drop_first_frame or [False] * n)
    tails = list(trim_tail or [0] * n)
    heads = list(trim_head or [0] * n)
    if len(drop_flags) != n or len(tails) != n or len(heads) != n:
        raise MediaError("drop_first_frame / trim_tail / trim_head must have one entry per clip")
    infos = probe_many(paths)
    for p, inf in zip(paths, infos, strict=True):
        if inf.frames == 0:
            raise MediaError(f"{p.name} has no video frames")

    # Which seams really are duplicates? Compare clip i's frame 0 with clip i-1's last kept frame.
    dropped: list[int] = []
    seam_checks: list[dict[str, Any]] = []
    for i in range(1, n):
        if not drop_flags[i] or heads[i]:
            continue
        row = check_duplicate_seam(paths[i - 1], paths[i], prev_tail=tails[i - 1], threshold=dup_threshold)
        seam_checks.append({"clip": i, **row})
        if row["duplicate"]:
            dropped.append(i)
    drops = [heads[i] or (1 if i in dropped else 0) for i in range(n)]

    st_path = Path(soundtrack) if soundtrack else None
    if st_path is not None and not st_path.is_file():
        raise MediaError(f"soundtrack not found: {st_path}")

    correction: drift.Plan | None = None
    corrected: list[int] = []
    if color_match and n > 1:
        correction = drift.plan(paths, infos, drops, tails, fps=infos[0].fps or fps, strength=color_strength)
        corrected = correction.corrected
    changes = [
        name
        for name, wanted in (
            ("dropped repeat frames", bool(dropped)),
            ("trimmed tails", any(tails)),
            ("trimmed repeated heads", any(heads)),
            ("crossfade", crossfade > 0),
            ("colour correction", bool(corrected)),
            ("soundtrack", st_path is not None),
            ("forced encode", force_encode),
        )
        if wanted
    ]
    copyable, why = copy_or_encode(paths, infos, width=width, height=height, fps=fps, changes=changes)
    info: dict[str, Any] = {
        "reason": why,
        "seam_checks": seam_checks,
        "clips": [i.summary() for i in infos],
    }
    if correction is not None:
        info["colour"] = [{"seam": d.seam, **d.row()} for d in correction.seams]
    if report or corrected:  # a corrected film is always measured: a seam it made worse undoes it
        info["seams_before"] = seam_report(paths, trim_tail=tails)

    final: MediaInfo | None = None
    if copyable:
        expected = sum(i.frames for i in infos)
        final = _stitch_copy(paths, infos, out, expected, width, height, fps, info)
        method = "copy"
    if final is None:
        expected, final = _stitch_encode(
            paths,
            infos,
            out,
            width=width,
            height=height,
            fps=fps,
            crossfade=crossfade,
            fit=fit,
            drops=drops,
            tails=tails,
            correction=correction if corrected else None,
            soundtrack=st_path,
            crf=crf,
            preset=preset,
            soundtrack_volume=soundtrack_volume,
            info=info,
            chunk_size=chunk_size,
            progress=progress,
        )
        method = "encode"
    if (report or corrected) and method == "copy":  # the same pixels: after == before
        info["seams"] = [
            {
                "seam": row["seam"],
                **{f"{k}_{w}": row[k] for k in ("delta_e", "mad", "drift") for w in ("before", "after")},
            }
            for row in info["seams_before"]
        ]
    elif report or corrected:
        info["seams"] = _output_seam_report(out, info.get("seam_frames", []), info.get("seams_before", []))
    if correction is not None:
        worse = [row["seam"] for row in info.get("seams", []) if _made_worse(row, correction)]
        if worse:  # measured on the film itself: the correction is not kept
            again = stitch(
                clips, output, width=width, height=height, fps=fps, crossfade=crossfade, fit=fit,
                drop_first_frame=drop_first_frame, color_match=False, soundtrack=soundtrack, trim_tail=trim_tail,
                trim_head=trim_head,
                dup_threshold=dup_threshold, crf=crf, preset=preset, soundtrack_volume=soundtrack_volume,
                report=report, force_encode=force_encode, progress=progress, chunk_size=chunk_size,
            )  # fmt: skip
            why = f"the corrected film measured worse at seam(s) {', '.join(map(str, worse))}: correction dropped"
            again.info["colour"] = [{"seam": d.seam, "colour": "left", "why": why} for d in correction.seams]
            for row in again.info.get("seams", []):
                row.update(colour="left", why=why)
            return again
        by_seam = {d.seam: d.row() for d in correction.seams}
        for row in info.get("seams", []):
            row.update(by_seam.get(row["seam"], {}))
    return StitchResult(
        method=method,
        frames=final.frames,
        duration=final.duration,
        dropped_seams=dropped,
        info=info | {"expected_frames": expected, "output": final.summary()},
    )
