"""Colour drift correction (``ttv.core.media.drift``) on synthetic chains with known ground truth:
(a) the same shot with a colour/contrast shift compounding at each of 6 hops is pulled back;
(b) content that legitimately changes (a day card dissolving to a night card) keeps its own look
outside the seam window; (c) no seam ever gets worse; and a chain without drift stays a stream copy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ttv.core import media
from ttv.core.media import colour, drift

from .conftest import write_clip

W, H, FPS = 96, 54, 12
N, L = 7, 16  # 7 clips: 6 hops; frames per clip
LC = 30  # frames per card clip: hold, dissolve, then the card on its own (longer than the 1 s fade)


def shot(t: int, palette: tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]) -> np.ndarray:
    """A small landscape: sky gradient, rolling hills, a sun drifting right (t = frame of the shot).
    Values stay within 30..210 so a few hops of cast do not clip."""
    sky, hill, sun = (np.array(c, dtype=np.float32) for c in palette)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    img = sky * (0.75 + 0.25 * yy[..., None] / H)
    ridge = H * 0.6 + 5 * np.sin(xx / 9 + 0.3)
    img = np.where((yy > ridge)[..., None], hill * (0.8 + 0.2 * np.cos(xx / 7))[..., None], img)
    disc = (xx - (20 + t)) ** 2 + (yy - 14) ** 2 < 36
    img[disc] = sun
    return img.clip(0, 255).astype(np.uint8)


DAY = ((150, 170, 200), (70, 140, 60), (210, 200, 120))
NIGHT = ((30, 35, 70), (35, 50, 45), (190, 190, 170))


def hop_cast(frame: np.ndarray, hops: int) -> np.ndarray:
    """What each chained hop does to the picture: warmer, a little more contrast, lifted."""
    f = frame.astype(np.float32)
    for _ in range(hops):
        f = (f - 128) * 1.04 + 128
        f = f * np.array([1.05, 1.0, 0.94], dtype=np.float32) + 2.0
    return f.clip(0, 255).astype(np.uint8)


def mean_de(a: np.ndarray, b: np.ndarray) -> float:
    return colour.delta_e(colour.mean_lab(a), colour.mean_lab(b))


def truth_a(k: int, t: int) -> np.ndarray:
    # clip k starts on clip k-1's last picture: shot frame k*(L-1) + t
    return shot(k * (L - 1) + t, DAY)


@pytest.fixture(scope="module")
def drift_chain(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("drift")
    return [
        write_clip(d / f"c{k}.mp4", (hop_cast(truth_a(k, t), k) for t in range(L)), FPS, width=W, height=H)
        for k in range(N)
    ]


def _stitch(clips: list[Path], out: Path, **kw: object) -> media.StitchResult:
    return media.stitch(clips, out, width=W, height=H, fps=FPS, report=True, **kw)  # type: ignore[arg-type]


def _no_seam_worse(result: media.StitchResult) -> None:
    for row in result.info["seams"]:
        assert row["delta_e_after"] <= row["delta_e_before"] + drift.SLACK, row


def test_a_compounding_drift_is_pulled_back(drift_chain: list[Path], tmp_path: Path) -> None:
    plain = _stitch(drift_chain, tmp_path / "plain.mp4")
    fixed = _stitch(drift_chain, tmp_path / "fixed.mp4", color_match=True)
    assert plain.method == "copy" and fixed.method == "encode"
    assert plain.frames == fixed.frames == N * L
    out_plain, out_fixed = list(media.read_frames(tmp_path / "plain.mp4")), list(media.read_frames(tmp_path / "fixed.mp4"))
    last = slice((N - 1) * L, N * L)
    truth = np.concatenate([truth_a(N - 1, t) for t in range(L)])
    before = mean_de(np.concatenate(out_plain[last]), truth)
    after = mean_de(np.concatenate(out_fixed[last]), truth)
    assert before > 12, f"the cast compounds over 6 hops: {before:.1f}"
    assert after <= 0.3 * before, f"drift of the last clip falls by >= 70 %: {before:.1f} -> {after:.1f}"
    rows = fixed.info["seams"]
    assert [r["colour"] for r in rows] == ["corrected"] * (N - 1), rows
    assert all(r["delta_e_after"] < 1.5 < r["delta_e_before"] for r in rows), rows
    _no_seam_worse(fixed)


@pytest.fixture(scope="module")
def day_to_night(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[np.ndarray]]:
    """Three clips like the offline animatic's: each holds the previous clip's last picture, then
    dissolves to its own card (day, night, day again)."""
    d = tmp_path_factory.mktemp("cards")
    cards = [DAY, NIGHT, DAY]
    clips: list[list[np.ndarray]] = []
    for k, pal in enumerate(cards):
        frames = []
        for t in range(LC):
            own = shot(t, pal)
            if k == 0:
                frames.append(own)
                continue
            prev = clips[k - 1][-1]
            a = np.clip((t - 3) / 5, 0.0, 1.0)  # 4 frames of hold, then a 5-frame dissolve
            frames.append(((1 - a) * prev + a * own).round().astype(np.uint8))
        clips.append(frames)
    return d, [np.stack(c) for c in clips]


def _write(d: Path, name: str, clips: list[np.ndarray]) -> list[Path]:
    return [write_clip(d / f"{name}{k}.mp4", list(c), FPS, width=W, height=H) for k, c in enumerate(clips)]


def test_b_no_drift_no_change_stays_a_stream_copy(day_to_night: tuple[Path, list[np.ndarray]], tmp_path: Path) -> None:
    d, clips = day_to_night
    res = _stitch(_write(d, "clean", clips), tmp_path / "clean.mp4", color_match=True)
    assert res.method == "copy", res.info["reason"]
    assert [r["colour"] for r in res.info["seams"]] == ["left", "left"]
    assert all("already matches" in r["why"] for r in res.info["seams"])


def test_b_legitimate_change_keeps_its_look(day_to_night: tuple[Path, list[np.ndarray]], tmp_path: Path) -> None:
    d, clips = day_to_night
    cast = [np.stack([hop_cast(f, k) for f in c]) for k, c in enumerate(clips)]  # each hop also drifts
    paths = _write(d, "cast", cast)
    res = _stitch(paths, tmp_path / "cards.mp4", color_match=True)
    assert res.method == "encode"
    rows = res.info["seams"]
    assert [r["colour"] for r in rows] == ["corrected", "corrected"], rows
    got = list(media.read_frames(tmp_path / "cards.mp4"))
    originals = [f for p in paths for f in media.read_frames(p)]
    for k, row in enumerate(rows, start=1):
        assert row["window"] < LC, "the correction fades out once the clip shows its own card"
        for t in range(row["window"], LC):
            de = mean_de(got[k * LC + t], originals[k * LC + t])
            assert de < 2.0, f"clip {k} frame {t} outside the seam window moved by {de:.2f}"
        assert row["delta_e_after"] < row["delta_e_before"]
    _no_seam_worse(res)


def test_c_a_cut_after_a_corrected_clip_is_not_made_worse(drift_chain: list[Path], tmp_path: Path) -> None:
    # a cut to another picture in the colours clip 1 came out with: correcting clip 1 to its end would
    # make that seam jump, so clip 1's correction must fade out before it
    frames = (hop_cast(shot(t, DAY)[::-1], 1) for t in range(L))
    cut = write_clip(tmp_path / "cut.mp4", frames, FPS, width=W, height=H)
    res = _stitch([*drift_chain[:2], cut], tmp_path / "cut_film.mp4", color_match=True)
    rows = res.info["seams"]
    assert rows[0]["colour"] == "corrected" and rows[1]["colour"] == "left"
    assert "a cut" in rows[1]["why"] and "fades out" in rows[1]["why"], rows[1]
    _no_seam_worse(res)


def test_fit_map_recovers_a_known_cast() -> None:
    src = shot(0, DAY)
    dst = hop_cast(src, 1)
    m = drift.fit_map(src, dst)
    assert m.gain == pytest.approx((1.04 * 1.05, 1.04, 1.04 * 0.94), abs=0.01)
    assert mean_de(m.apply(src), dst) < 0.5
    assert drift.same_picture(src, dst) > 0.99 and drift.same_picture(src, shot(0, NIGHT)[::-1]) < 0.5


def test_lab_round_trip_and_known_values() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    back = np.round(colour.lab_to_srgb(colour.srgb_to_lab(rgb)) * 255).astype(int)
    assert np.abs(back - rgb).max() <= 1
    assert colour.srgb_to_lab(np.array([255, 255, 255], np.uint8)) == pytest.approx([100, 0, 0], abs=1e-3)
    assert colour.srgb_to_lab(np.array([255, 0, 0], np.uint8)) == pytest.approx([53.24, 80.09, 67.20], abs=0.02)


def test_seam_report(drift_chain: list[Path]) -> None:
    rows = media.seam_report(drift_chain[:3])
    assert [r["seam"] for r in rows] == [1, 2]
    assert set(rows[0]) == {"seam", "delta_e", "mad", "drift"}
    assert rows[1]["drift"] > rows[0]["drift"] > 2


def test_c_a_film_measured_worse_is_stitched_again_without_correction(
    drift_chain: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last guard is the film itself: should a planned correction come out worse at a seam it
    touches (here a deliberately wrong one), the stitch is redone without any correction."""
    real = drift.plan

    def wrong(*args: object, **kw: object) -> drift.Plan:
        p = real(*args, **kw)  # type: ignore[arg-type]
        p.maps[1] = drift.ChannelMap((1.6, 0.7, 1.0), (0.0, 0.0, 0.0))
        return p

    monkeypatch.setattr(drift, "plan", wrong)
    res = _stitch(drift_chain[:2], tmp_path / "worse.mp4", color_match=True)
    assert res.method == "copy", res.info["reason"]
    row = res.info["seams"][0]
    assert row["colour"] == "left" and "measured worse at seam(s) 1" in row["why"], row
    _no_seam_worse(res)


def test_seam_offset_measures_the_frame_that_was_handed_over(tmp_path: Path) -> None:
    """With chaining's seam_offset the next clip starts from the frame k before the end (the last k
    frames are trimmed): that frame, not the clip's last, is the seam's other side."""
    k = 2
    clips = []
    for c in range(3):
        start = c * (L - 1 - k)  # clip c starts on clip c-1's frame L-1-k
        frames = (hop_cast(shot(start + t, DAY), c) for t in range(L))
        clips.append(write_clip(tmp_path / f"o{c}.mp4", frames, FPS, width=W, height=H))
    res = _stitch(clips, tmp_path / "offset.mp4", color_match=True, trim_tail=[k, k, 0])
    assert res.frames == 3 * L - 2 * k
    rows = res.info["seams"]
    assert [r["colour"] for r in rows] == ["corrected", "corrected"], rows
    assert all(r["delta_e_after"] < 1.0 < 2.5 < r["delta_e_before"] for r in rows), rows


def test_maps_scale_and_carry_over_to_yuv() -> None:
    m = drift.ChannelMap((1.2, 1.0, 0.8), (10.0, 0.0, -10.0))
    assert m.scaled(0.5) == drift.ChannelMap((1.1, 1.0, 0.9), (5.0, 0.0, -5.0))
    assert m.scaled(0).identity
    mat, off = drift.yuv_affine(m, 0.0)
    assert mat == pytest.approx(np.eye(3)) and off == pytest.approx(np.zeros(3), abs=1e-9)
    # lifting R, G and B alike lifts luma only (limited range: 219 of 255 levels)
    mat, off = drift.yuv_affine(drift.ChannelMap(offset=(10.0, 10.0, 10.0)), 1.0)
    assert mat == pytest.approx(np.eye(3)) and off == pytest.approx([10 * 219 / 255, 0, 0], abs=1e-6)
    planar = np.random.default_rng(2).integers(16, 235, (H * 3 // 2, W), dtype=np.uint8)
    assert drift.apply_yuv420(planar, m, 0.0) is planar
