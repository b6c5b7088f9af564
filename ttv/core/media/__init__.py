"""Media: ffmpeg discovery, probing (PyAV), frame I/O, exact last frame, verified stitching.

Design notes (docs/design-notes.md, media). The package is split by concern; every name is
re-exported here, so ``from ttv.core.media import X`` is the import to use:

* ``files``: MediaError, opening files with PyAV, atomic temporary names.
* ``ffmpeg``: finding and running ffmpeg.
* ``probing``: MediaInfo, probe, verify_video.
* ``frames``: FrameWriter, decoding, the exact last frame, PNG frames.
* ``seams``: repeated-frame detection at a seam, the per-seam colour report.
* ``stitching``: the copy-or-encode rule and ``stitch``; ``copy`` and ``encode`` carry the two paths.
* ``audio``: gapless audio for copied stitches; ``colour``: Lab colour maths.
* ``drift``: the colour correction of drift that chain seams reveal (``stitch(color_match=True)``).
"""

from __future__ import annotations

from ttv.core.media.ffmpeg import _ffmpeg_source, ffmpeg_exe, ffmpeg_info
from ttv.core.media.files import MediaError
from ttv.core.media.frames import (
    FrameWriter,
    first_frame,
    frame_difference,
    last_frame,
    last_frame_array,
    last_frames_arrays,
    read_frames,
    save_png,
)
from ttv.core.media.probing import MediaInfo, h264_pix_fmt, probe, probe_many, verify_video
from ttv.core.media.seams import check_duplicate_seam, frames_equal, seam_report
from ttv.core.media.stitching import StitchResult, copy_or_encode, stitch

__all__ = [
    "MediaError",
    "MediaInfo",
    "FrameWriter",
    "StitchResult",
    "ffmpeg_exe",
    "ffmpeg_info",
    "probe",
    "read_frames",
    "last_frame",
    "last_frame_array",
    "last_frames_arrays",
    "first_frame",
    "frames_equal",
    "stitch",
    "seam_report",
    "verify_video",
    "_ffmpeg_source",
    "check_duplicate_seam",
    "frame_difference",
    "h264_pix_fmt",
    "probe_many",
    "save_png",
    "copy_or_encode",
]
