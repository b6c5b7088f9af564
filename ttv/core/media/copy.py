"""The stream-copy stitch: the clips' video packets joined as they are (in-process remux, else
ffmpeg's concat demuxer), the audio rebuilt gapless (see ``ttv.core.media.audio``)."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from ttv.core.media import audio as audio_join
from ttv.core.media.ffmpeg import _run_ffmpeg
from ttv.core.media.files import _AV_ERRORS, _open, _temp_sibling, _unlink_quiet
from ttv.core.media.probing import MediaInfo, probe_many, verify_video


def _ffconcat_line(p: Path) -> str:
    s = str(p.resolve()).replace("'", "'\\''")
    return f"file '{s}'\n"



def _audio_target(infos: Sequence[MediaInfo]) -> audio_join.AudioTarget | None:
    """The audio track a copied stitch of these clips gets (ValueError: they cannot be joined)."""
    return audio_join.plan_audio(
        [i.audio_rate if i.has_audio else 0 for i in infos],
        [i.audio_layout for i in infos],
        [i.audio_bit_rate for i in infos],
        [i.audio_channels for i in infos],
    )


def _audio_uniform(infos: Sequence[MediaInfo]) -> bool:
    """Every clip has the same audio layout (or none): what ffmpeg's concat demuxer can copy."""
    keys = {(i.has_audio, i.audio_codec, i.audio_rate, i.audio_channels) for i in infos}
    return len(keys) == 1



class _NotRemuxable(Exception):
    """The in-process remux does not handle these clips. ``audio``: it is their audio that cannot be
    rebuilt (ffmpeg's concat demuxer would copy it with the seam gaps, so the caller encodes instead)."""

    def __init__(self, message: str, *, audio: bool = False) -> None:
        super().__init__(message)
        self.audio = audio


def _remux_concat(paths: list[Path], tmp: Path, infos: Sequence[MediaInfo] | None = None) -> dict[str, Any]:
    """Stream-copy the clips' video into one mp4 in-process (PyAV), shifting each clip's timestamps by
    the running video duration, like ffmpeg's concat demuxer but without a process start or the
    demuxer's per-file probing decode. Audio is rebuilt, not copied (`ttv.core.media.audio`): decoded,
    placed on the clip's picture timeline, cut or padded to end exactly where the clip's video ends
    (silence for a clip without audio) and encoded once, so seams are gapless and the sound never
    drifts from the picture. The file is written interleaved (audio muxed as the video passes its
    time); one clip's video packets and PCM are held at a time. Raises _NotRemuxable for inputs it
    does not handle (the caller falls back)."""
    infos = list(infos) if infos is not None else probe_many(paths)
    try:
        target = _audio_target(infos)
    except ValueError as exc:
        raise _NotRemuxable(str(exc), audio=True) from exc
    stats: dict[str, Any] = {"audio": "re-encoded (gapless)" if target else "none"}
    audio_errors: list[str] = []
    out = av.open(str(tmp), "w", format="mp4")
    try:
        vout = None
        encoder: audio_join.AudioEncoder | None = None
        pending: deque[Any] = deque()  # encoded audio packets not yet muxed, in time order
        offset = Fraction(0)  # seconds
        samples_done = 0  # audio samples encoded so far (rounded on the running video end: no drift)
        last_dts: int | None = None
        for k, p in enumerate(paths):
            container = _open(p, headers_only=True)
            try:
                if len(container.streams.video) != 1 or len(container.streams.audio) > 1:
                    raise _NotRemuxable("several video or audio streams")
                vs = container.streams.video[0]
                if k == 0:
                    vout = out.add_stream_from_template(vs)  # the video is stream 0 (tools assume 0:0 is video)
                    if target is not None:
                        try:
                            encoder = audio_join.AudioEncoder(out, target)
                        except _AV_ERRORS as exc:
                            raise _NotRemuxable(f"cannot encode {target.layout} AAC: {exc}", audio=True) from exc
                vtb = vs.time_base
                packets = []
                for pkt in container.demux(vs):
                    if pkt.size == 0 or pkt.pts is None or pkt.dts is None:
                        continue
                    if getattr(pkt, "is_corrupt", False):
                        raise _NotRemuxable("corrupt packets")
                    if getattr(pkt, "is_discard", False):
                        raise _NotRemuxable("edit-list discarded video packets")
                    packets.append(pkt)
                if not packets:
                    raise _NotRemuxable(f"clip {k} has no video packets")
                start = int(vs.start_time) if vs.start_time is not None else min(int(pkt.pts) for pkt in packets)
                end = max(int(pkt.pts) + int(pkt.duration or 0) for pkt in packets)
                base = int(offset / vtb)
                vshift = base - start
                clip_end = max(base, end + vshift) * vtb
                if encoder is not None:
                    stop = round(clip_end * encoder.target.rate)
                    try:
                        pcm = audio_join.clip_pcm(p, stop - samples_done, encoder.target, start * vtb, audio_errors)
                    except _AV_ERRORS as exc:  # AudioDecodeError is a ValueError
                        raise _NotRemuxable(f"clip {k} audio: {exc}", audio=True) from exc
                    samples_done = stop
                    try:
                        pending.extend(encoder.encode(pcm))
                    except _AV_ERRORS as exc:
                        raise _NotRemuxable(f"clip {k} audio: the AAC encoder failed: {exc}", audio=True) from exc
                for pkt in packets:
                    pkt.pts += vshift
                    pkt.dts += vshift
                    if last_dts is not None and pkt.dts <= last_dts:
                        raise _NotRemuxable("video timestamps would overlap")
                    last_dts = pkt.dts
                    at = pkt.dts * vtb
                    while pending and _packet_time(pending[0]) <= at:  # keep the file interleaved
                        out.mux(pending.popleft())
                    pkt.stream = vout
                    out.mux(pkt)
                offset = clip_end
            finally:
                container.close()
        if encoder is not None:
            try:
                pending.extend(encoder.flush())
            except _AV_ERRORS as exc:
                raise _NotRemuxable(f"the AAC encoder failed: {exc}", audio=True) from exc
        while pending:
            out.mux(pending.popleft())
    except _AV_ERRORS as exc:
        raise _NotRemuxable(str(exc)) from exc
    finally:
        out.close()
    if audio_errors:
        stats["audio_errors"] = audio_errors
    return stats


def _packet_time(pkt: Any) -> Fraction:
    return Fraction(pkt.dts if pkt.dts is not None else pkt.pts or 0) * (pkt.time_base or Fraction(1))


def _stitch_copy(
    paths: list[Path],
    infos: Sequence[MediaInfo],
    out: Path,
    expected: int,
    width: int,
    height: int,
    fps: float,
    info: dict[str, Any],
) -> MediaInfo | None:
    """Stream copy: in-process remux (video packets copied, audio rebuilt gapless), else ffmpeg's
    concat demuxer where every clip has the same audio layout; None when neither applies (the caller
    encodes). The video packets are the clips' own, so verification checks the container (every packet
    present, frame count, size, fps) without decoding again."""
    tmp = _temp_sibling(out, ".mp4")
    lst = _temp_sibling(out, ".ffconcat")
    try:
        try:
            info.update(_remux_concat(paths, tmp, infos))
            info["copy_via"] = "pyav-remux"
        except _NotRemuxable as why:
            if why.audio:
                info["reason"] = f"stream copy not possible: {why}"
                return None
            if not _audio_uniform(infos):
                info["reason"] = f"stream copy not possible ({why}) and the clips' audio differs"
                return None
            info["copy_via"] = f"ffmpeg concat demuxer ({why})"
            lst.write_text("ffconcat version 1.0\n" + "".join(_ffconcat_line(p) for p in paths), encoding="utf-8")
            _run_ffmpeg(
                ["-f", "concat", "-safe", "0", "-i", str(lst), "-map", "0", "-c", "copy", "-f", "mp4", str(tmp)],
                what="stitch (stream copy)",
            )
        final = verify_video(tmp, frames=expected, width=width, height=height, fps=fps, decode="none")
        if info.get("copy_via") == "pyav-remux" and info.get("audio") != "none":
            # the rebuilt audio must cover the picture (within one AAC frame and one video frame)
            slack = 1024 / max(1, final.audio_rate) + 1 / max(fps, 1.0) + 0.01
            if not final.has_audio or abs(final.audio_duration - final.duration) > slack:
                info["reason"] = (
                    f"stream copy not used: the rebuilt audio lasts {final.audio_duration:.3f} s, "
                    f"the picture {final.duration:.3f} s"
                )
                return None
        os.replace(tmp, out)
        return final
    finally:
        _unlink_quiet(lst)
        _unlink_quiet(tmp)
