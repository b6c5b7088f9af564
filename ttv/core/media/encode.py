"""The encode stitch: ffmpeg filter graphs normalize size, fps, pixel format and audio (silence
where missing), take colour-corrected clips where the drift correction changed some (``drift``),
add crossfades and a soundtrack, and encode each frame once (long films a chunk of clips per ffmpeg
process, joined by copy). The graphs are built with ffmpeg-python through ``graph`` (its notes list
the library's quirks); nothing here writes filter-graph text."""

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

    # Next to the output (in the project), named like ttv's other temp files: a killed stitch leaves nothing
    # in the system temp dir, and the next run under the project lock recognises and removes it.
    workdir = Path(tempfile.mkdtemp(prefix=f".{out.stem}.stitch-", suffix=".tmp", dir=out.parent))
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
    from ttv.core.media.graph import Graph, Step, step

    F = fps
    g = Graph()
    square = step("scale", "trunc(iw*sar/2)*2", "ih")  # anamorphic sources: square pixels first
    if fit == "letterbox":
        size_f = step("scale", width, height, force_original_aspect_ratio="decrease", force_divisible_by=2)
        frame_f = step("pad", width, height, "(ow-iw)/2", "(oh-ih)/2", color="black")
    else:
        size_f = step("scale", width, height, force_original_aspect_ratio="increase")
        frame_f = step("crop", width, height)
    afmt = step("aformat", sample_fmts="fltp", sample_rates=rate, channel_layouts="stereo")

    def samples(frames: int) -> int:
        return round(frames * rate / F)

    restart = step("asetpts", "PTS-STARTPTS")
    m = len(pieces)
    frames = sum(p.hi - p.lo for p in pieces) - cf * (m - 1)
    # A chunk whose clips have no sound under a soundtrack plays the soundtrack alone: its silence is
    # not built at all (it would only be discarded).
    clip_audio = audio and (soundtrack is None or any(infos[p.clip].has_audio for p in pieces))
    vs: list[Any] = []
    aus: list[Any] = []
    for pc in pieces:
        i, inf = pc.clip, infos[pc.clip]
        vnode = g.input(pictures[i].resolve())
        chain: list[Step] = []
        if drops[i] or tails[i]:
            chain.append(step("trim", start_frame=drops[i], end_frame=inf.frames - tails[i]))
        chain += [step("setpts", "PTS-STARTPTS"), square, size_f, frame_f]
        chain += [step("setsar", 1), step("fps", F), step("format", "yuv420p")]
        chain.append(step("tpad", stop_mode="clone", stop=2))
        chain.append(step("trim", start_frame=pc.lo, end_frame=pc.hi) if pc.lo else step("trim", end_frame=pc.hi))
        chain.append(step("setpts", f"N/({F}*TB)"))
        vs.append(g.chain(g.select(vnode, "v:0"), *chain))
        if not clip_audio:
            continue
        span = [step("atrim", start_sample=samples(pc.lo), end_sample=samples(pc.hi)), restart]
        if inf.has_audio:
            anode = vnode if pictures[i] == paths[i] else g.input(paths[i].resolve())
            src_fps = inf.fps if inf.fps > 0 else F
            # mono plays on both speakers at full level (aformat's upmix would lower it 3 dB); first_pts=0
            # pads audio that starts after the picture with silence instead of pulling it forward
            upmix = [step("pan", args="stereo|c0=c0|c1=c0")] if inf.audio_channels == 1 else []
            a = g.chain(
                g.select(anode, "a:0"),
                *upmix,
                step("aresample", rate, **{"async": 1, "first_pts": 0}),
                afmt,
                step("atrim", start=_fmt(drops[i] / src_fps)),
                restart,
                step("apad"),
                step("atrim", end_sample=samples(counts[i])),
                *span,
            )
        else:
            a = g.chain(
                g.source("anullsrc", r=rate, cl="stereo"), afmt, step("atrim", end_sample=samples(counts[i])), *span
            )
        aus.append(a)
    vout, ac = vs[0], aus[0] if clip_audio else None
    if m > 1 and cf:
        d = _fmt(cf / F)
        acc = pieces[0].hi - pieces[0].lo
        for j in range(1, m):
            vout = g.filter([vout, vs[j]], "xfade", transition="fade", duration=d, offset=_fmt((acc - cf) / F))
            if clip_audio:
                ac = g.filter([ac, aus[j]], "acrossfade", d=d, c1="tri", c2="tri")
            acc += pieces[j].hi - pieces[j].lo - cf
    elif m > 1 and clip_audio:
        vout, ac = g.outputs([s for j in range(m) for s in (vs[j], aus[j])], "concat", 2, n=m, v=1, a=1)
    elif m > 1:
        vout = g.filter(vs, "concat", n=m, v=1, a=0)
    outs = [vout]
    if audio:
        if soundtrack is not None:
            total_s = total / F
            fade_d = min(1.0, total_s / 4)  # the music fades out instead of stopping dead
            st = g.chain(
                g.select(g.input(soundtrack.resolve()), "a:0"),
                step("aresample", rate),
                afmt,
                step("volume", _fmt(soundtrack_volume)),
                step("apad"),
                step("atrim", end_sample=samples(total)),
                step("afade", t="out", st=_fmt(total_s - fade_d), d=_fmt(fade_d)),
                step("atrim", start_sample=samples(start), end_sample=samples(start + frames)),
                restart,
            )
            outs.append(
                g.filter([ac, st], "amix", inputs=2, duration="first", dropout_transition=0, normalize=0)
                if clip_audio
                else st
            )
        else:
            outs.append(ac)
    args, maps, graph = g.compile(outs)
    if audio:
        maps += ["-c:a", "aac", "-b:a", "160k"]
    return args, maps, graph
