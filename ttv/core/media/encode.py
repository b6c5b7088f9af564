"""The encode stitch: ffmpeg filter graphs normalize size, fps, pixel format and audio (silence
where missing), take colour-corrected clips where the drift correction changed some (``drift``),
add crossfades and a soundtrack, and encode each frame once (long films a chunk of clips per ffmpeg
process, joined by copy)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ttv.core.media import drift
from ttv.core.media.copy import _ffconcat_line, _NotRemuxable, _remux_concat
from ttv.core.media.ffmpeg import _filter_script_args, _run_ffmpeg
from ttv.core.media.files import MediaError, _temp_sibling, _unlink_quiet
from ttv.core.media.probing import MediaInfo, verify_video


def _fmt(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".") or "0"


@dataclass
class _Piece:
    """Part of one clip in a chunk: normalized output frames [lo, hi) of clip ``clip``."""

    clip: int
    lo: int
    hi: int


def _chunks(counts: list[int], cf: int, size: int) -> list[list[_Piece]]:
    """Split clips into chunks of at most ``size`` clips, each encoded by one ffmpeg process and then
    joined by stream copy (every frame is still encoded once). With a crossfade, a chunk ends with the
    blend into the next chunk's first clip; that clip's next chunk starts right after the blend."""
    n = len(counts)
    chunks: list[list[_Piece]] = []
    start = 0
    head = 0  # frames of clip `start` already used by the previous chunk's blend
    while start < n:
        end = min(n, start + size)
        pieces = [_Piece(start, head, counts[start])] + [_Piece(i, 0, counts[i]) for i in range(start + 1, end)]
        if end < n and cf:
            pieces.append(_Piece(end, 0, cf))
            head = cf
        else:
            head = 0
        chunks.append(pieces)
        start = end
    return chunks


def _stitch_encode(
    paths: list[Path],
    infos: list[MediaInfo],
    out: Path,
    *,
    width: int,
    height: int,
    fps: int,
    crossfade: float,
    fit: str,
    drops: list[int],
    tails: list[int],
    correction: drift.Plan | None,
    soundtrack: Path | None,
    crf: int,
    preset: str,
    soundtrack_volume: float,
    info: dict[str, Any],
    chunk_size: int = 32,
    progress: Callable[[float], None] | None = None,
) -> tuple[int, MediaInfo]:
    """Normalize the clips with ffmpeg filter graphs (at most ``chunk_size`` clips per process, so
    long projects stay within argument, file and memory limits) and encode once. Returns the
    expected frame count and the verified output's MediaInfo."""
    n = len(paths)
    F = int(fps)
    counts: list[int] = []  # frames each clip contributes at the output rate, before crossfades
    for i, inf in enumerate(infos):
        kept = inf.frames - drops[i] - tails[i]
        if kept < 1:
            raise MediaError(f"{paths[i].name}: nothing left after dropping {drops[i]} + {tails[i]} frames")
        src_fps = inf.fps if inf.fps > 0 and not inf.vfr else (inf.frames / inf.duration if inf.duration else F)
        counts.append(max(1, round(kept / src_fps * F)))
    cf = round(crossfade * F) if crossfade > 0 and n > 1 else 0
    if cf:
        cf = min(cf, min(counts) - 1)
    expected = sum(counts) - cf * (n - 1)
    starts: list[int] = []
    pos = 0
    for c in counts:
        starts.append(pos)
        pos += c - cf
    info["seam_frames"] = starts[1:]
    info["clip_frames"] = counts
    any_audio = any(inf.has_audio for inf in infos) or soundtrack is not None
    rate = 48000

    workdir = Path(tempfile.mkdtemp(prefix="ttv-stitch-"))
    tmp = _temp_sibling(out, ".mp4")
    try:
        # Corrected clips are written losslessly and read for their picture; their sound still comes
        # from the original clip.
        pictures = list(paths)
        for i in correction.corrected if correction is not None else []:
            assert correction is not None
            pictures[i] = drift.write_corrected(
                paths[i], workdir / f"corrected{i:04}.mp4", infos[i], correction.maps[i], correction.weights[i]
            )

        chunks = _chunks(counts, cf, max(2, chunk_size))
        info["chunks"] = len(chunks)
        done = 0
        parts_out: list[Path] = []
        for k, pieces in enumerate(chunks):
            target = tmp if len(chunks) == 1 else workdir / f"chunk{k:04}.mp4"
            frames = sum(p.hi - p.lo for p in pieces) - cf * (len(pieces) - 1)
            inputs, maps, graph = _chunk_command(
                pieces, paths, pictures, infos, drops=drops, tails=tails, counts=counts, width=width,
                height=height, fps=F, fit=fit, cf=cf, audio=any_audio, rate=rate, soundtrack=soundtrack,
                soundtrack_volume=soundtrack_volume, start=done, total=expected,
            )  # fmt: skip
            if k == 0:
                info["filter_graph"] = graph if len(graph) < 20000 else graph[:20000] + "…"
            script = workdir / f"graph{k:04}.txt"
            script.write_text(graph, encoding="utf-8")
            _run_ffmpeg(
                [*inputs, *_filter_script_args(script), *maps, "-c:v", "libx264", "-preset", preset, "-crf", str(crf),
                 "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", str(target.resolve())],
                what="stitch (normalize + encode)" + (f", part {k + 1} of {len(chunks)}" if len(chunks) > 1 else ""),
                cwd=workdir,
                progress=_scaled_progress(progress, done, expected),
            )  # fmt: skip
            if len(chunks) > 1:
                verify_video(target, frames=frames, width=width, height=height, fps=F, decode="none")
                parts_out.append(target)
            done += frames
        if len(chunks) > 1:
            try:
                _remux_concat(parts_out, tmp)
            except _NotRemuxable:
                lst = workdir / "parts.ffconcat"
                lst.write_text("ffconcat version 1.0\n" + "".join(_ffconcat_line(p) for p in parts_out), "utf-8")
                _run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(lst), "-map", "0", "-c", "copy", "-f", "mp4",
                             str(tmp.resolve())], what="stitch (joining parts)")  # fmt: skip
        final = verify_video(tmp, frames=expected, width=width, height=height, fps=F)
        os.replace(tmp, out)
    finally:
        _unlink_quiet(tmp)
        shutil.rmtree(workdir, ignore_errors=True)
    return expected, final


def _scaled_progress(cb: Callable[[float], None] | None, done: int, total: int) -> Callable[[int], None] | None:
    if cb is None:
        return None

    def report(frames: int) -> None:
        cb(min(1.0, (done + frames) / max(1, total)))

    return report


def _chunk_command(
    pieces: list[_Piece],
    paths: list[Path],
    pictures: list[Path],
    infos: list[MediaInfo],
    *,
    drops: list[int],
    tails: list[int],
    counts: list[int],
    width: int,
    height: int,
    fps: int,
    fit: str,
    cf: int,
    audio: bool,
    rate: int,
    soundtrack: Path | None,
    soundtrack_volume: float,
    start: int,
    total: int,
) -> tuple[list[str], list[str], str]:
    """ffmpeg input arguments, output maps and the filter graph for one chunk. ``pictures[i]`` is where
    clip i's picture is read from (a colour-corrected copy, or the clip itself); its sound is always
    read from ``paths[i]``."""
    F = fps
    square = "scale='trunc(iw*sar/2)*2':ih"  # anamorphic sources: square pixels first
    if fit == "letterbox":
        size_f = f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2"
        frame_f = f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black"
    else:
        size_f = f"scale={width}:{height}:force_original_aspect_ratio=increase"
        frame_f = f"crop={width}:{height}"
    afmt = f"aformat=sample_fmts=fltp:sample_rates={rate}:channel_layouts=stereo"

    def samples(frames: int) -> int:
        return round(frames * rate / F)

    parts: list[str] = []
    args: list[str] = []

    def add_input(path: Path) -> int:
        args.extend(["-i", str(path.resolve())])
        return len(args) // 2 - 1

    for j, pc in enumerate(pieces):
        i, inf = pc.clip, infos[pc.clip]
        vin = add_input(pictures[i])
        ain = vin if pictures[i] == paths[i] else (add_input(paths[i]) if audio and inf.has_audio else -1)
        chain: list[str] = []
        if drops[i] or tails[i]:
            chain.append(f"trim=start_frame={drops[i]}:end_frame={inf.frames - tails[i]}")
        chain += ["setpts=PTS-STARTPTS", square, size_f, frame_f]
        chain += ["setsar=1", f"fps={F}", "format=yuv420p", "tpad=stop_mode=clone:stop=2"]
        chain.append(f"trim=start_frame={pc.lo}:end_frame={pc.hi}" if pc.lo else f"trim=end_frame={pc.hi}")
        chain.append(f"setpts=N/({F}*TB)")
        parts.append(f"[{vin}:v:0]" + ",".join(chain) + f"[v{j}]")
        if audio:
            span = f"atrim=start_sample={samples(pc.lo)}:end_sample={samples(pc.hi)},asetpts=PTS-STARTPTS"
            if inf.has_audio:
                src_fps = inf.fps if inf.fps > 0 else F
                # mono plays on both speakers at full level (aformat's upmix would lower it 3 dB); first_pts=0
                # pads audio that starts after the picture with silence instead of pulling it forward
                upmix = "pan=stereo|c0=c0|c1=c0," if inf.audio_channels == 1 else ""
                parts.append(
                    f"[{ain}:a:0]{upmix}aresample={rate}:async=1:first_pts=0,{afmt},atrim=start={_fmt(drops[i] / src_fps)},asetpts=PTS-STARTPTS,"
                    f"apad,atrim=end_sample={samples(counts[i])},{span}[a{j}]"
                )
            else:
                parts.append(f"anullsrc=r={rate}:cl=stereo,{afmt},atrim=end_sample={samples(counts[i])},{span}[a{j}]")
    m = len(pieces)
    frames = sum(p.hi - p.lo for p in pieces) - cf * (m - 1)
    if m == 1:
        parts.append("[v0]null[vout]" + (";[a0]anull[ac]" if audio else ""))
    elif cf:
        d = _fmt(cf / F)
        vl, al = "v0", "a0"
        acc = pieces[0].hi - pieces[0].lo
        for j in range(1, m):
            parts.append(f"[{vl}][v{j}]xfade=transition=fade:duration={d}:offset={_fmt((acc - cf) / F)}[xv{j}]")
            vl = f"xv{j}"
            if audio:
                parts.append(f"[{al}][a{j}]acrossfade=d={d}:c1=tri:c2=tri[xa{j}]")
                al = f"xa{j}"
            acc += pieces[j].hi - pieces[j].lo - cf
        parts.append(f"[{vl}]null[vout]" + (f";[{al}]anull[ac]" if audio else ""))
    elif audio:
        parts.append("".join(f"[v{j}][a{j}]" for j in range(m)) + f"concat=n={m}:v=1:a=1[vout][ac]")
    else:
        parts.append("".join(f"[v{j}]" for j in range(m)) + f"concat=n={m}:v=1:a=0[vout]")
    maps = ["-map", "[vout]"]
    if audio:
        has_clip_audio = any(infos[p.clip].has_audio for p in pieces)
        if soundtrack is not None:
            sin = add_input(soundtrack)
            total_s = total / F
            fade_d = min(1.0, total_s / 4)  # the music fades out instead of stopping dead
            parts.append(
                f"[{sin}:a:0]aresample={rate},{afmt},volume={_fmt(soundtrack_volume)},apad,"
                f"atrim=end_sample={samples(total)},afade=t=out:st={_fmt(total_s - fade_d)}:d={_fmt(fade_d)},"
                f"atrim=start_sample={samples(start)}:end_sample={samples(start + frames)},asetpts=PTS-STARTPTS[st]"
            )
            if has_clip_audio:
                parts.append("[ac][st]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[aout]")
            else:
                parts.append("[ac]anullsink;[st]anull[aout]")
        else:
            parts.append("[ac]anull[aout]")
        maps += ["-map", "[aout]", "-c:a", "aac", "-b:a", "160k"]
    return args, maps, ";".join(parts)
